"""Results over seeds: each measured number as every seed's value and their summary.

A profile trains each network from several seeds (lab.experiments.profiles.SEEDS)
and an experiment runs once per seed it analyses. `merge` folds those runs into one
result: wherever the seeds measured different numbers, the leaf becomes a spread

    {"spread": true, "mean": 0.158, "sd": 0.003, "n": 3, "min": 0.155, "max": 0.161,
     "seeds": [0, 1, 2], "values": [0.155, 0.158, 0.161]}

and wherever they agree (a parameter count, a depth, a setting) it stays the one
value. The rule a comparison of two spreads must pass to count as beyond the noise
lives here too (`beyond_noise`), so the build's claims and any caller apply the same.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

KEYS = ("spread", "mean", "sd", "n", "min", "max", "seeds", "values")
# A difference of means counts as beyond the noise when it exceeds this many standard
# errors of the difference (Welch: sqrt(sd_a^2/n_a + sd_b^2/n_b)), about a 95% two-sided
# interval for a normal difference.
STANDARD_ERRORS = 2.0


def is_spread(node: Any) -> bool:
    return isinstance(node, dict) and node.get("spread") is True and "values" in node


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def summarize(values: Sequence[float | None], seeds: Sequence[int]) -> dict:
    """Every seed's value and their mean, sample standard deviation, n, min and max
    (over the finite values: a diverged run's None is kept in `values`, not averaged)."""
    ok = [float(v) for v in values if _number(v) and math.isfinite(v)]
    n = len(ok)
    mean = sum(ok) / n if n else None
    sd = math.sqrt(sum((v - mean) ** 2 for v in ok) / (n - 1)) if n > 1 else (0.0 if n else None)
    return {"spread": True, "mean": mean, "sd": sd, "n": n, "min": min(ok) if ok else None,
            "max": max(ok) if ok else None, "seeds": list(seeds), "values": list(values)}


def merge(runs: Sequence[Any], seeds: Sequence[int]) -> Any:
    """One tree from the same tree measured once per seed (`runs[i]` from `seeds[i]`)."""
    first = runs[0]
    if all(_same(r, first) for r in runs[1:]):
        return first
    if all(isinstance(r, dict) for r in runs) and all(r.keys() == first.keys() for r in runs):
        return {k: merge([r[k] for r in runs], seeds) for k in first}
    if all(isinstance(r, (list, tuple)) for r in runs) and len({len(r) for r in runs}) == 1 \
            and any(_number(x) or isinstance(x, (dict, list)) for r in runs for x in r):
        return [merge([r[i] for r in runs], seeds) for i in range(len(first))]
    if all(_number(r) or r is None for r in runs):
        return summarize(runs, seeds)
    return list(runs)  # text or flags that differ by seed: every seed's, in seed order


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def means(node: Any) -> Any:
    """The mean wherever a tree holds spreads: what a figure draws as its line."""
    if is_spread(node):
        return node["mean"]
    if isinstance(node, dict):
        return {k: means(v) for k, v in node.items()}
    if isinstance(node, list):
        return [means(v) for v in node]
    return node


def standard_error(a: dict, b: dict | None = None) -> float:
    """Standard error of a's mean, or of the difference of a's and b's means (Welch)."""
    se2 = (a["sd"] or 0.0) ** 2 / max(a["n"], 1)
    if b is not None:
        se2 += (b["sd"] or 0.0) ** 2 / max(b["n"], 1)
    return math.sqrt(se2)


def beyond_noise(a: dict, b: dict | float, sign: int) -> tuple[bool, bool]:
    """(holds on the means, holds beyond the noise) for `a > b` (sign +1) or `a < b` (-1).

    The rule, for spreads over seeds: the difference of the means, in the claimed
    direction, exceeds STANDARD_ERRORS standard errors of that difference. Against a
    plain number (a constant, a paper's value) only a's own standard error counts. When
    neither side has more than one seed there is no spread to test against, and the
    comparison is of the values themselves (both flags say the same)."""
    if not is_spread(b):
        b = {"mean": float(b), "sd": 0.0, "n": 1}
    if a["mean"] is None or b["mean"] is None:
        return False, False
    diff = sign * (a["mean"] - b["mean"])
    if a["n"] < 2 and b["n"] < 2:
        return diff > 0, diff > 0
    return diff > 0, diff > STANDARD_ERRORS * standard_error(a, b)


def describe(s: dict, fmt=lambda v: f"{v:.3g}") -> str:
    """'0.158 ± 0.003 (n = 3, seeds 0, 1, 2: 0.155, 0.158, 0.161)' for error messages."""
    values = ", ".join("–" if v is None else fmt(v) for v in s["values"])
    sd = "" if s["sd"] is None else f" ± {fmt(s['sd'])}"
    mean = "–" if s["mean"] is None else fmt(s["mean"])
    return f"{mean}{sd} (n = {s['n']}, seeds {', '.join(map(str, s['seeds']))}: {values})"
