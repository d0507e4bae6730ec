"""What chapters see of the experiments: result() numbers and figure() slots.

The plan decides beforehand which experiments a chapter needs (by reading its
Jinja calls), the run phase makes them fresh, and the renderer gets this view.
What the helpers return is plain data (numbers, text, tuples, fresh dicts), never
a stored object or a numpy array, whose methods could write files.
"""
from __future__ import annotations

import re
import string
from typing import Any

from lab.store import ResultStore, StoredResult

from lab.spread import is_spread

from ..errors import BuildError
from ..sandbox import code_filter
from . import measured, numbers

WIDTHS = ("body", "page", "screen")
# one replacement field, {} or {0}, with a plain format spec: no attribute or index
# lookups ("{0.__class__}"), no nested fields, widths of two digits at most
SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?\d{0,2}[,_]?(?:\.\d{1,2})?[bcdeEfFgGnosxX%]?\Z", re.S)


def check_format(fmt: Any) -> str:
    if not isinstance(fmt, str):
        raise BuildError(f'fmt= must be a format such as "{{:.1%}}", not {fmt!r}')
    try:
        fields = [f for f in string.Formatter().parse(fmt) if f[1] is not None]
    except ValueError as e:
        raise BuildError(f"fmt {fmt!r} is not a format: {e}") from None
    if len(fields) != 1 or fields[0][1] not in ("", "0") or fields[0][3] or not SPEC.match(fields[0][2] or ""):
        raise BuildError(f'fmt {fmt!r} must hold one field such as "{{:.1%}}" or "{{:,}}" '
                         f"(a plain format spec, no attributes or nested fields)")
    return fmt


def format_value(value: Any, fmt: str | None) -> str:
    if fmt is not None:
        try:
            return check_format(fmt).format(value)
        except (ValueError, TypeError) as e:
            raise BuildError(f"fmt {fmt!r} does not apply to {value!r}: {e}") from None
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def plain(value: Any) -> Any:
    """A copy made of Python's plain types only (numpy arrays and scalars converted)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return plain(value.tolist())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    return str(value)


class ResultsView:
    def __init__(self, store: ResultStore, profile: str):
        self.store = store
        self.profile = profile
        self._cache: dict[str, StoredResult | None] = {}

    def load(self, experiment: str) -> StoredResult:
        if not isinstance(experiment, str):
            raise BuildError(f"an experiment is named by text, not {experiment!r}")
        if experiment not in self._cache:
            self._cache[experiment] = self.store.load(experiment, self.profile)
        stored = self._cache[experiment]
        if stored is None:
            raise BuildError(f"no stored result for experiment {experiment!r} (profile {self.profile}); "
                             f"run `python build.py figures`")
        return stored

    def value(self, experiment: str, *path: Any) -> Any:
        stored = self.load(experiment)
        try:
            found = stored.get(*[str(p) for p in path])
        except KeyError:  # StoredResult.get's own: no such path
            where, keys = _deepest(stored.metrics, [str(p) for p in path])
            at = f"{experiment}/{'/'.join(where)}" if where else experiment
            raise BuildError(f"result {experiment}/{'/'.join(map(str, path))} does not exist; "
                             f"metrics of {at}: {', '.join(keys) or '(none)'}") from None
        return plain(found)

    def number(self, experiment: str, *path: Any) -> Any:
        """One value to print: a group of values would print as Python's repr."""
        v = self.value(experiment, *path)
        where = "/".join([experiment, *map(str, path)])
        if is_spread(v):  # measured once per seed: its summary prints
            return v
        if isinstance(v, dict):
            raise BuildError(f"result {where} is a group of values, not one; name one of: "
                             f"{', '.join(sorted(v)) or '(none)'}")
        if isinstance(v, tuple):
            raise BuildError(f"result {where} is a list of {len(v)} values, not one; pick one "
                             f"(value(...)[0]) or join them (value(...) | join(\", \"))")
        return v

    def helpers(self, known_figures: set[str], used: list[str]) -> dict[str, Any]:
        """The functions a chapter may call."""

        # what they print carries its source (sitegen.render.numbers): the page shows it on a card
        def result(experiment: str, *path: Any, fmt: str | None = None, spread: bool = True,
                   scale: Any = 1, seed: Any = None) -> Any:
            """The stored number, printed (`scale=100`: a fraction as percentage points; `seed=0`:
            that seed's value alone, for prose about one network, such as one shown live)."""
            path = tuple(numbers.unwrap(p) for p in path)
            raw, scale = self.number(experiment, *path), numbers.unwrap(scale)
            if seed is not None:  # its card names the seed (numbers: a path through "seed")
                raw, path = self.of_seed(experiment, path, raw, numbers.unwrap(seed))
            if not numbers.is_number(scale):
                raise BuildError(f"result(..., scale=) takes a number, not {scale!r}")
            scaled = scale != 1
            if is_spread(raw):  # mean ± sd over the seeds (spread=False: the mean alone)
                if fmt is not None:
                    check_format(fmt)
                seeds = measured.Seeds(raw) * scale if scaled else measured.Seeds(raw)
                return numbers.mark(seeds.text(fmt, bool(spread), format_value), experiment, path, derived=scaled)
            if scaled and numbers.is_number(raw):
                raw = raw * scale
            text = format_value(raw, fmt)
            return numbers.mark(text, experiment, path, derived=scaled) if numbers.is_number(raw) else text

        def value(experiment: str, *path: Any) -> Any:  # a number, for claims and arithmetic
            path = tuple(numbers.unwrap(p) for p in path)
            return measured.wrap(self.value(experiment, *path), experiment, path)

        def quote(v: Any, fmt: str | None = None) -> str:
            """A number the chapter computed from stored ones (a difference, a gap), printed as
            result() prints one: mean ± sd where it varies by seed, marked with its source."""
            if fmt is not None:
                check_format(fmt)
            if isinstance(v, measured.Seeds):
                text, source = v.text(fmt, True, format_value), v.source
            elif numbers.is_number(numbers.unwrap(v)):
                text, source = format_value(numbers.unwrap(v), fmt), getattr(v, "_source", ())
            else:
                raise BuildError(f"quote() prints a number, not {numbers.unwrap(v)!r}")
            return numbers.mark(text, *source, derived=True) if source else text

        def figure(name: str, width: str | None = None) -> str:
            if name not in known_figures:
                raise BuildError(f"unknown figure {name!r}; known: {', '.join(sorted(known_figures)) or 'none'}")
            if width is not None and width not in WIDTHS:
                raise BuildError(f"figure width must be one of {', '.join(WIDTHS)}, not {width!r}")
            used.append(name)
            return f"`<!--figure:{name}:{width or ''}-->`{{=html}}"

        return {"result": result, "value": value, "quote": quote, "figure": figure,
                "seeds": self.seeds, "ranked": self.ranked, "compare": compare,
                "mean": mean, "lowest": lowest, "highest": highest, "by_seed": self.by_seed}

    def of_seed(self, experiment: str, path: tuple, raw: Any, seed: Any) -> tuple[Any, tuple]:
        """(one seed's value of a number, the path its card is found by): from its spread, or
        the number itself where the experiment measured that seed alone."""
        where = "/".join([experiment, *map(str, path)])
        measured_on = list(raw["seeds"]) if is_spread(raw) else list(self.seeds(experiment))
        if isinstance(seed, bool) or not isinstance(seed, int) or seed not in measured_on:
            raise BuildError(f"result {where} was measured on seed{'s' if len(measured_on) > 1 else ''} "
                             f"{', '.join(map(str, measured_on))}, not {seed!r}")
        if not is_spread(raw):
            return raw, path
        return raw["values"][raw["seeds"].index(seed)], (*path, "seed", seed)

    def by_seed(self, experiment: str, *path: Any) -> str:
        """A label the experiment stored once per seed (a block's name), for prose: "`a` on every
        seed", or grouped, "`a` on seed 0 and `b` on seeds 1 and 2"; a single label as itself."""
        path = tuple(numbers.unwrap(p) for p in path)
        labels, seeds = self.value(experiment, *path), self.seeds(experiment)
        if len(seeds) < 2 or not isinstance(labels, (list, tuple)) or len(labels) != len(seeds):
            return code_filter(numbers.unwrap(labels))
        groups: dict[str, list[int]] = {}
        for seed, label in zip(seeds, labels):
            groups.setdefault(str(label), []).append(seed)
        if len(groups) == 1:
            return f"{code_filter(next(iter(groups)))} on every seed"
        return _and([f"{code_filter(label)} on seed{'s' if len(on) > 1 else ''} {_and([str(s) for s in on])}"
                     for label, on in groups.items()])

    def seeds(self, experiment: str) -> tuple:
        """The seeds an experiment's stored result was measured on: prose that says
        "one training run" or "three" asks, rather than assuming."""
        return tuple(self.load(experiment).provenance.get("seeds") or [0])

    def ranked(self, experiment: str, names: Any, *metric: Any) -> tuple:
        """`names` ordered by `metric` (a path under each name), lowest mean first; names that
        measured nothing come last. The order of the means: whether a step of it holds beyond
        the noise is for a claim to check (`value(...) < value(...)`)."""
        metric = tuple(numbers.unwrap(p) for p in metric)

        def mean(name: Any) -> float:
            v = self.value(experiment, numbers.unwrap(name), *metric)
            v = v.get("mean") if is_spread(v) else v
            return float("inf") if v is None else float(v)
        if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
            raise BuildError(f"ranked() takes a list of names, not {names!r}")
        return tuple(sorted((numbers.unwrap(n) for n in names), key=lambda n: (mean(n), str(n))))

    def claim_helpers(self) -> dict[str, Any]:
        """Claims compare raw values, result() and value() alike; a number measured on
        several seeds is a measured.Seeds, whose comparisons hold only beyond the noise."""
        def raw(experiment: str, *path: Any) -> Any:
            return measured.wrap(self.value(experiment, *path), experiment, path, mark=False)

        return {"result": raw, "value": raw, "seeds": self.seeds, "ranked": self.ranked,
                "compare": compare, "mean": mean, "lowest": lowest, "highest": highest}


def mean(v: Any) -> Any:
    """A number measured on several seeds: its mean (a plain number is its own). For prose
    that picks the largest or smallest of several, by the means."""
    if isinstance(v, measured.Seeds):
        return v.mean
    return numbers.unwrap(v)


def lowest(v: Any) -> Any:
    """The lowest seed's value (a plain number is its own): "in every pair, on every seed"
    is `lowest(count) == pairs`."""
    return v.min if isinstance(v, measured.Seeds) else numbers.unwrap(v)


def highest(v: Any) -> Any:
    """The highest seed's value (a plain number is its own)."""
    return v.max if isinstance(v, measured.Seeds) else numbers.unwrap(v)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def compare(a: Any, b: Any) -> int:
    """-1 if a < b beyond the noise, +1 if a > b beyond it, 0 if the seeds cannot tell them
    apart: prose that reads a comparison has three cases, not two."""
    if not isinstance(a, measured.Seeds) and not isinstance(b, measured.Seeds):
        a, b = numbers.unwrap(a), numbers.unwrap(b)
        return (a > b) - (a < b)
    return -1 if a < b else 1 if a > b else 0


def _deepest(metrics: dict, path: list[str]) -> tuple[list[str], list[str]]:
    """(the longest prefix of `path` that exists, the keys there): an unknown leaf's error
    lists its neighbours, not the top-level metrics."""
    node, where = metrics, []
    for p in path:
        if not isinstance(node, dict) or p not in node or not isinstance(node[p], dict) \
                or node[p].get("spread") is True:
            break
        node, where = node[p], [*where, p]
    return where, sorted(node) if isinstance(node, dict) else []
