"""Which of the article's rankings hold beyond the noise of the seeds, read from the stored results.

Every comparison the text could make between our networks, each with both summaries and its
verdict under the build's own rule (lab.spread.beyond_noise: the difference of the means
exceeds twice its standard error): the depth sweep by depth and with or without shortcuts,
the five architectures pairwise, the layer responses by depth, the lesions by kind of block,
and the trained networks' gradient correlations. A closing note's "rankings that survived"
is this script's output, not a reading by eye.

    .venv/bin/python scripts/seed_rankings.py [--profile cifar10-10ep]

One line a comparison, in Markdown; a result measured on one seed compares its values.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab import paths, spread  # noqa: E402
from lab.store import ResultStore  # noqa: E402


def summary(v) -> dict:
    """A stored number as a spread (one seed's value: a spread of one)."""
    return v if spread.is_spread(v) else {"spread": True, "mean": v, "sd": 0.0, "n": 1, "values": [v], "seeds": [0]}


def text(s: dict, pct: bool) -> str:
    """'16.7 ± 0.3 % (n = 3)', '1.11 ± 0.018 (n = 3)'; one seed's value alone."""
    if pct:
        mean, sd, unit = f"{100 * s['mean']:.1f}", f"{100 * s['sd']:.1f}", " %"
    else:
        mean, sd, unit = f"{s['mean']:.3g}", f"{s['sd']:.2g}", ""
    return f"{mean} ± {sd}{unit} (n = {s['n']})" if s["n"] > 1 else f"{mean}{unit}"


def verdict(label: str, a, b, pct: bool = True) -> str:
    """`label` claims a < b: does it hold beyond the noise, on the means only, or the other way?"""
    a, b = summary(a), summary(b)
    on, beyond = spread.beyond_noise(a, b, -1)
    if a["n"] < 2 and b["n"] < 2:  # no spread to test against: the rule compares the values
        word = f"{'holds' if on else 'reversed'} on one seed each, no spread to test"
    elif on:
        word = "holds beyond the noise" if beyond else "holds on the means only, inside the noise"
    else:
        word = "reversed beyond the noise" if spread.beyond_noise(a, b, +1)[1] else "reversed on the means, inside the noise"
    return f"- {label}: {text(a, pct)} vs {text(b, pct)}: **{word}**"


def rankings(store: ResultStore, profile: str) -> list[str]:
    out: list[str] = []

    def metrics(name: str) -> dict:
        stored = store.load(name, profile)
        return stored.metrics if stored is not None else {}

    ds = metrics("depth_sweep")
    depths = sorted(int(k[5:]) for k in ds if k.startswith("plain") and k[5:].isdigit())
    if ds:
        out.append("## Depth sweep")
        for m in ("train_error", "test_error"):
            out += [verdict(f"plain-{a} {m} < plain-{b}", ds[f"plain{a}"][m], ds[f"plain{b}"][m])
                    for a, b in zip(depths, depths[1:])]
            out += [verdict(f"ResNet-{b} {m} < ResNet-{a}", ds[f"resnet{b}"][m], ds[f"resnet{a}"][m])
                    for a, b in itertools.combinations(depths, 2)]
            out += [verdict(f"ResNet-{d} {m} < plain-{d}", ds[f"resnet{d}"][m], ds[f"plain{d}"][m]) for d in depths]
    ar = metrics("architectures")
    nets = [n for n in ar.get("models", []) if n in ar] or sorted(k for k, v in ar.items()
                                                                   if isinstance(v, dict) and "test_error" in v)
    if nets:
        out.append("## Architectures")
        for m in ("test_error", "train_error"):
            for a, b in itertools.combinations(nets, 2):
                if summary(ar[a][m])["mean"] > summary(ar[b][m])["mean"]:
                    a, b = b, a
                out.append(verdict(f"{a} {m} < {b}", ar[a][m], ar[b][m]))
    lr = metrics("layer_responses").get("summary", {})
    ratios = sorted((int(k.rsplit("_", 1)[1]), v) for k, v in lr.items() if k.startswith("plain_over_resnet_"))
    if ratios:
        out.append("## Layer responses (plain over residual)")
        out += [verdict(f"ratio at {a} layers < at {b}", va, vb, pct=False)
                for (a, va), (b, vb) in itertools.combinations(ratios, 2)]
        out += [verdict(f"1 < ratio at {d} layers", 1.0, v, pct=False) for d, v in ratios]
    le = metrics("lesion")
    for net, kinds in sorted((n, v) for n, v in le.items() if n.startswith("resnet") and isinstance(v, dict)):
        stages = [k for k in ("stage1", "stage2", "stage3", "downsampling") if isinstance(kinds.get(k), dict)]
        if stages:
            out.append(f"## Lesions of {net} (mean increase of test error per deleted block)")
            for a, b in itertools.combinations(stages, 2):
                x, y = kinds[a]["mean_increase"], kinds[b]["mean_increase"]
                if summary(x)["mean"] > summary(y)["mean"]:
                    a, b, x, y = b, a, y, x
                out.append(verdict(f"{a} < {b}", x, y))
    sg = metrics("shattered_gradients").get("trained", {})
    pairs = sorted(int(n[5:]) for n in sg if n.startswith("plain") and f"resnet{n[5:]}" in sg)
    if pairs:
        out.append("## Trained networks' neighbouring-gradient correlation")
        out += [verdict(f"plain-{d} < ResNet-{d}", sg[f"plain{d}"]["neighbour_correlation"],
                        sg[f"resnet{d}"]["neighbour_correlation"], pct=False) for d in pairs]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cifar10-10ep")
    args = ap.parse_args(argv)
    lines = rankings(ResultStore(paths.results()), args.profile)
    print("\n".join(lines) if lines else f"no stored results for profile {args.profile}")
    return 0 if lines else 1


if __name__ == "__main__":
    sys.exit(main())
