"""Numbers that show their source.

Every number a chapter quotes through result() or value() leaves Jinja as

    <span class="result-number" data-experiment="depth_sweep" data-path="resnet56/test_error">60.8%</span>

(written as pandoc raw HTML around the text, so the Markdown around it is
untouched). Without JavaScript it reads as the plain number; the page's script
makes it focusable and opens a card built from `sources()`: what the number is,
the experiment, profile, network, epochs, device, and links to the figures drawn
from that experiment and to its provenance entry in the appendix.

value() returns numbers for arithmetic, so it marks them lazily: an int or float
that prints itself marked (`{{ value(...) }}`, `| join`), and is an ordinary number
to everything else (comparisons, `-`), whose results are plain. A format string
that is one number's field alone (`"{:.2f}".format(...)`, `"%.1f" | format(...)`)
prints that number marked too (`formatted`, the chapters' sandbox calls it).
"""
from __future__ import annotations

import html
import re
from typing import Any

from lab.names import net_label

NUMBER = re.compile(r'<span class="result-number" data-experiment="([^"]+)" data-path="([^"]*)"')


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _attr(text: str) -> str:
    return html.escape(text, quote=True).replace("`", "&#96;")


def mark(text: str, experiment: str, path: tuple, derived: bool = False) -> str:
    """`text`, the printed number, wrapped in its source (pandoc raw HTML inlines)."""
    where = "/".join(str(p) for p in path)
    extra = ' data-derived="true"' if derived else ""
    return (f'`<span class="result-number" data-experiment="{_attr(experiment)}" data-path="{_attr(where)}"{extra}>`'
            f'{{=html}}{text}`</span>`{{=html}}')


class _Sourced:
    """Mixin of the marked numbers: printed marked, formatted plain, and arithmetic on
    them stays marked (a number computed from a stored one shows that one's source)."""
    _source: tuple = ()
    _derived = False

    def __str__(self) -> str:  # printed by {{ }}
        return mark(self._base.__repr__(self), *self._source, derived=self._derived)

    def __format__(self, spec: str) -> str:  # "{}".format(n), f-strings: the plain digits
        return self._base.__format__(self._base(self), spec)


def _keep(op: str):
    def method(self, *args):
        out = getattr(self._base, op)(self, *args)
        if out is NotImplemented and self._base is int:  # int ** 0.5, 3 + 0.1: as float, still marked
            out = getattr(float, op)(float(self), *args)
        if isinstance(out, bool) or not isinstance(out, (int, float)):
            return out
        return _wrap(out, self._source, derived=True)
    method.__name__ = op
    return method


ARITHMETIC = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
              "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__neg__", "__abs__",
              "__round__")


class _Int(_Sourced, int):
    _base = int


class _Float(_Sourced, float):
    _base = float


for _cls in (_Int, _Float):
    for _op in ARITHMETIC:
        setattr(_cls, _op, _keep(_op))


# a format string that is one field and nothing else: "{:.2f}", "{:,}", "%.1f"
ONE_FIELD = re.compile(r"\{[^{}]*\}|%[-+ #0]*\d*(?:\.\d+)?[diouxXeEfFgG]")


def formatted(spec: str, text: str, args: tuple) -> str:
    """What a format string made of a stored number (`"{:.2f}".format(value(...))`) is
    marked with that number's source, like result(fmt=); any other format stays plain."""
    if len(args) != 1 or not getattr(args[0], "_source", None) or not ONE_FIELD.fullmatch(spec):
        return text  # a marked number, or a Seeds (sitegen.render.measured): formats as its mean
    return mark(text, *args[0]._source, derived=args[0]._derived)


def _wrap(value, source: tuple, derived: bool = False):
    out = (_Int if isinstance(value, int) else _Float)(value)
    out._source, out._derived = source, derived
    return out


def sourced(value: Any, experiment: str, path: tuple) -> Any:
    """`value` with its numbers (also inside lists and groups) marked with their source."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return _wrap(value, (experiment, tuple(path)))
    if isinstance(value, dict):
        return {k: sourced(v, experiment, (*path, k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(sourced(v, experiment, (*path, i)) for i, v in enumerate(value))
    return value


MARKED = re.compile(r"`<span class=\"result-number\"[^`]*>`\{=html\}(.*?)`</span>`\{=html\}")


def unwrap(p: Any) -> Any:
    """A marked number used in a key (`result("x", d)`, `"resnet" ~ d`): the plain number."""
    if isinstance(p, _Int):
        return int(p)
    if isinstance(p, _Float):
        return float(p)
    if isinstance(p, str) and "result-number" in p:
        return MARKED.sub(r"\1", p)
    return p


def describe(path: list[str], networks: set[str]) -> tuple[str, str]:
    """(what the number is, the network it belongs to or "") from its key path:
    resnet56/test_error -> ("the test error", "resnet56"); depths/1 -> ("item 2 of depths", "")."""
    if "seed" in path[:-1]:  # one seed's value of a number measured on several
        i = path.index("seed")
        what, net = describe(path[:i], networks)
        return f"seed {path[i + 1]}'s value of {what.removeprefix('the ')}", net
    net = next((p for p in path if p in networks), "")
    words = [p for p in path if p != net and not p.isdigit()]
    what = "the " + (words[-1].replace("_", " ") if words else "value")
    if path and path[-1].isdigit():  # one of a list: depths/1
        what = f"item {int(path[-1]) + 1} of {what.removeprefix('the ')}"
    return what, net


def sources(bodies: list[str], store, profile: str, figures: list[dict]) -> dict:
    """The cards' data: per experiment its provenance and figures; per number its description.
    `figures`: [{number, anchor, provenance}] as the page lists them."""
    wanted: dict[str, set[str]] = {}
    for body in bodies:
        for m in NUMBER.finditer(body):
            wanted.setdefault(html.unescape(m.group(1)), set()).add(html.unescape(m.group(2)))
    experiments, numbers = {}, {}
    for exp in sorted(wanted):
        stored = store.load(exp, profile)
        prov = stored.provenance if stored is not None else {}
        trained = prov.get("trained") if isinstance(prov.get("trained"), dict) else {}
        nets = set(trained) | set(prov.get("networks") or {}) | set(stored.metrics if stored else ())
        experiments[exp] = {
            "profile": prov.get("profile", profile), "device": prov.get("device", ""),
            "precision": prov.get("precision", ""), "data": prov.get("data", ""),
            "trained": {n: t for n, t in trained.items()},
            "seeds": list(prov.get("seeds") or [prov.get("seed") or 0]),
            "figures": [{"href": f"#{f['anchor']}", "text": f"Figure {f['number']}"} for f in figures
                        if f["provenance"].get("experiment") == exp],
            "provenance": f"#prov-{exp}",
        }
        for where in sorted(wanted[exp]):
            parts = where.split("/")
            what, net = describe(parts, {n for n in nets if re.search(r"\d$", n)})
            card = {"what": what, "network": net, "label": net_label(net) if net else ""}
            numbers[f"{exp}/{where}"] = {**card, **_seeds_and_quotes(stored, parts)}
    return {"experiments": experiments, "numbers": numbers}


def _seeds_and_quotes(stored, parts: list[str]) -> dict:
    """What a card adds for a number measured on several seeds (n, mean, sd and every
    seed's value) or quoted from a paper (its own source, from the result's `quoted`)."""
    from lab.spread import is_spread

    if stored is None:
        return {}
    quoted = stored.data.get("quoted") if isinstance(stored.data.get("quoted"), dict) else {}
    if parts and parts[-1] in quoted:
        return {"quoted": str(quoted[parts[-1]])}
    at = parts[:parts.index("seed")] if "seed" in parts else parts  # one seed's value of a spread
    try:
        node = stored.get(*at)
    except KeyError:
        return {}
    if not is_spread(node):
        return {}
    return {"seeds": [{"seed": s, "value": v} for s, v in zip(node["seeds"], node["values"])],
            "n": node["n"], "mean": node["mean"], "sd": node["sd"],
            "seed": int(parts[-1]) if "seed" in parts and parts[-1].isdigit() else None}


def provenance_entries(src: dict) -> list[dict]:
    """The appendix's list of the experiments the text quotes, each an anchor for its cards."""
    return [{"experiment": e, "id": info["provenance"][1:], **info} for e, info in src["experiments"].items()]
