"""A number measured once per seed, as chapters and claims see it.

Where a result holds a spread over seeds (lab.spread), `result()` prints its
summary, `15.8% ± 0.3%` (mean ± sample standard deviation; `spread=False`: the
mean alone), marked with its source like any quoted number; the card lists n and
every seed's value. `value()` gives a `Seeds`: the per-seed values to iterate,
index or join, with `.mean`, `.sd`, `.n`, `.min`, `.max` and `.seeds`.

Arithmetic on a Seeds is seed by seed (`a - b` pairs each seed's values), so a
ratio or a difference gets its own spread. A comparison (`<`, `>`, `<=`, `>=`)
holds only beyond the noise, by the one rule of lab.spread.beyond_noise; a
comparison that holds on the means but not beyond the noise is false, and is
noted (`noted()`) so that a failing claim can say so with both summaries.
"""
from __future__ import annotations

import contextvars
import operator
import re
from typing import Any, Callable

from lab import spread

from ..errors import BuildError
from . import numbers

_NOTES: contextvars.ContextVar[list | None] = contextvars.ContextVar("noise_notes", default=None)


class noted:
    """`with noted() as notes:` collects the comparisons that held only on the means."""

    def __enter__(self) -> list[str]:
        self.notes: list[str] = []
        self._token = _NOTES.set(self.notes)
        return self.notes

    def __exit__(self, *exc) -> None:
        _NOTES.reset(self._token)


class Seeds:
    """Every seed's value of one measured number, and their summary."""

    def __init__(self, summary: dict, source: tuple = (), derived: bool = False):
        self._s = summary
        self._source = source
        self._derived = derived

    # the summary, by name (the sandbox allows public attributes)
    mean = property(lambda self: self._s["mean"])
    sd = property(lambda self: self._s["sd"])
    n = property(lambda self: self._s["n"])
    min = property(lambda self: self._s["min"])
    max = property(lambda self: self._s["max"])
    seeds = property(lambda self: tuple(self._s["seeds"]))

    @property
    def values(self) -> tuple:
        """The per-seed values, each a marked number (None for a run that measured none)."""
        src, path = (self._source or ("", ()))
        return tuple(v if v is None else numbers.sourced(v, src, (*path, "seed", s))
                     for s, v in zip(self._s["seeds"], self._s["values"]))

    @property
    def source(self) -> tuple:
        """(experiment, path) of the stored number this one is, or was computed from."""
        return self._source

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self._s["values"])

    def __getitem__(self, i):
        return self.values[i]

    def text(self, fmt: str | None = None, with_spread: bool = True,
             format_value: Callable[[Any, str | None], str] | None = None) -> str:
        """'mean ± sd' (the mean alone for one seed, or without `with_spread`), each printed
        by `format_value` (results.format_value, which checks `fmt`; plain 3 digits here)."""
        format_value = format_value or _three_digits
        if self.mean is None:
            return "–"
        mean = format_value(self.mean, fmt)
        if not (with_spread and self.n > 1):
            return mean
        # no-break spaces: "44.4 ± 1.5" never wraps between its parts
        return f"{mean}\u00a0±\u00a0{_visible(self.sd, fmt, format_value)}"

    def __str__(self) -> str:  # {{ value(...) }}: the summary, marked
        return numbers.mark(self.text(), *self._source, derived=self._derived) if self._source else self.text()

    def __format__(self, spec: str) -> str:  # "{:.1f}".format(value(...)): the mean
        return format(self.mean, spec)

    def sort_key(self) -> float:  # `| max`, `| min` (sitegen.sandbox): by the mean
        return float("-inf") if self.mean is None else float(self.mean)

    def __float__(self) -> float:  # "%.1f" | format(value(...)) and float(): the mean
        return float("nan") if self.mean is None else float(self.mean)

    def __repr__(self) -> str:
        return f"Seeds({spread.describe(self._s)})"

    # -- arithmetic, seed by seed ------------------------------------------------
    def _apply(self, other: Any, op: Callable, flip: bool = False) -> "Seeds":
        if isinstance(other, Seeds):
            if other.seeds != self.seeds:
                raise BuildError(f"cannot combine numbers measured on seeds {list(self.seeds)} "
                                 f"and {list(other.seeds)}: seed by seed, they must share their seeds")
            theirs = other._s["values"]
        elif numbers.is_number(other):
            theirs = [other] * len(self)
        else:
            return NotImplemented
        out = []
        for a, b in zip(self._s["values"], theirs):
            a, b = (b, a) if flip else (a, b)
            out.append(None if a is None or b is None else op(float(a), float(b)))
        return Seeds(spread.summarize(out, self._s["seeds"]), self._source, derived=True)

    def __neg__(self):
        return self._apply(-1, operator.mul)

    def __abs__(self):
        return Seeds(spread.summarize([None if v is None else abs(v) for v in self._s["values"]],
                                      self._s["seeds"]), self._source, derived=True)

    # -- comparisons, beyond the noise --------------------------------------------
    def _compare(self, other: Any, sign: int) -> bool:
        if not (isinstance(other, Seeds) or numbers.is_number(other)):
            return NotImplemented
        theirs = other._s if isinstance(other, Seeds) else float(other)
        on_means, beyond = spread.beyond_noise(self._s, theirs, sign)
        notes = _NOTES.get()
        if on_means and not beyond and notes is not None:
            other_text = spread.describe(theirs) if isinstance(other, Seeds) else f"{float(other):.3g}"
            notes.append(f"{_name(self)} {spread.describe(self._s)} {'>' if sign > 0 else '<'} "
                         f"{_name(other) if isinstance(other, Seeds) else ''}{other_text}")
        return beyond

    def __gt__(self, other):
        return self._compare(other, +1)

    def __ge__(self, other):
        return self._compare(other, +1)

    def __lt__(self, other):
        return self._compare(other, -1)

    def __le__(self, other):
        return self._compare(other, -1)

    __hash__ = object.__hash__


def _visible(sd: float, fmt: str | None, format_value: Callable) -> str:
    """The spread in the mean's format, with more decimals where that format would round a
    nonzero spread to zero (`4 ± 0` reads as no spread at all: `4 ± 0.2`)."""
    text = format_value(sd, fmt)
    m = re.fullmatch(r"(\{:[^.}]*\.)(\d+)([f%])(\})", fmt or "")
    if sd and not re.search(r"[1-9]", text):
        if m:  # {:.1%} -> {:.2%} ...
            for extra in range(1, 6):
                text = format_value(sd, f"{m[1]}{int(m[2]) + extra}{m[3]}{m[4]}")
                if re.search(r"[1-9]", text):
                    break
        elif fmt and re.fullmatch(r"\{:,?\.0f\}", fmt):  # {:,.0f}: whole numbers
            text = f"{sd:.1g}"
    return text


def _three_digits(v: float, fmt: str | None = None) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def _name(s: Seeds) -> str:
    if not s._source:
        return ""
    exp, path = s._source
    return f"{'computed from ' if s._derived else ''}{exp}/{'/'.join(map(str, path))} "


_OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
        "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow}
for _name_, _op in _OPS.items():
    setattr(Seeds, f"__{_name_}__", lambda self, other, op=_op: self._apply(other, op))
    setattr(Seeds, f"__r{_name_}__", lambda self, other, op=_op: self._apply(other, op, flip=True))


def wrap(value: Any, experiment: str, path: tuple, mark: bool = True) -> Any:
    """A stored value with every spread in it as a Seeds; the other numbers marked with
    their source (`mark`; claims take them plain)."""
    if spread.is_spread(value):
        return Seeds(value, (experiment, tuple(path)))
    if isinstance(value, dict):
        return {k: wrap(v, experiment, (*path, k), mark) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and any(spread.is_spread(v) or isinstance(v, (dict, list, tuple))
                                                for v in value):
        return tuple(wrap(v, experiment, (*path, i), mark) for i, v in enumerate(value))
    return numbers.sourced(value, experiment, path) if mark else value
