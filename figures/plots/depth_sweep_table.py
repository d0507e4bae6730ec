"""depth_sweep_table: final error against depth, ours next to He et al.'s Table 6."""
from __future__ import annotations

from figures.plotstyle import Theme, data_name, figure, legend, net_label, pct, spread, spread_note, vega_spec

EXPERIMENT = "depth_sweep"
WIDTH = "page"


def _final(result, kind: str, what: str) -> list[float]:
    return [100 * v if (v := result.metrics[f"{kind}{d}"][what]) is not None else float("nan")
            for d in result.data["depths"]]


def _extent(result, name: str, what: str) -> tuple[float | None, float | None]:
    """(lowest, highest) seed of a metric, as fractions; the mean twice for one seed."""
    s = spread(result, name, what)
    v = result.metrics[name][what]
    return (s["min"], s["max"]) if s else (v, v)


def _bars(result, kind: str, what: str) -> list[list[float]]:
    """matplotlib's yerr, in points of error: below and above each mean to the extreme seeds."""
    out: list[list[float]] = [[], []]
    for d, mean in zip(result.data["depths"], _final(result, kind, what)):
        lo, hi = _extent(result, f"{kind}{d}", what)
        out[0].append(0.0 if lo is None or mean != mean else mean - 100 * lo)
        out[1].append(0.0 if hi is None or mean != mean else 100 * hi - mean)
    return out


def draw(result, theme: Theme):
    depths = result.data["depths"]
    paper = result.data["paper_test_error"]
    fig, axes = figure(theme, WIDTH, aspect=0.34, ncols=2)
    for ax, what, title in zip(axes[0], ("train_error", "test_error"),
                               ("final training error", "final test error")):
        # means, with bars from the lowest to the highest seed (none for one seed)
        ax.errorbar(depths, _final(result, "plain", what), yerr=_bars(result, "plain", what),
                    color=theme.plain, marker="o", capsize=2, label="plain (ours)")
        ax.errorbar(depths, _final(result, "resnet", what), yerr=_bars(result, "resnet", what),
                    color=theme.residual, marker="o", capsize=2, label="residual (ours)")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("layers")
        ax.set_xticks(depths)
    pd = sorted(int(k.removeprefix("resnet")) for k in paper)
    # accent[0]: the colour the interactive chart gives its third series, so the caption holds for both
    axes[0][1].plot(pd, [100 * paper[f"resnet{d}"] for d in pd], color=theme.accent[0], marker="s",
                    linestyle=":", label="ResNet, He et al. Table 6")
    axes[0][0].set_ylabel("error (%)")
    legend(axes[0][1], theme, fontsize=7, loc="center right")
    return fig


def caption(result) -> str:
    s = result.metrics["summary"]
    return (f"Error at the end of training against depth: training error (on screen first; the "
            f"chart switches to test error below it), where the plain networks show the degradation "
            f"problem, and test error, with the ResNet test errors "
            f"He et al. 2016 report in Table 6 after 64,000 iterations on all 50,000 images (teal, "
            f"“ResNet, He et al. Table 6” in the legend). "
            f"Ours: {s['epochs']} epochs on {s['n_train']:,} {data_name(result)} images."
            + spread_note(result, "error bars"))


def alt(result) -> str:
    m = result.metrics
    parts = []
    for d in result.data["depths"]:
        p, r = m[f"plain{d}"], m[f"resnet{d}"]
        paper = r.get("paper_test_error")
        parts.append(f"{d} layers: plain {pct(p['train_error'])} training / {pct(p['test_error'])} test, "
                     f"residual {pct(r['train_error'])} / {pct(r['test_error'])}"
                     + (f" (paper {pct(paper, 2)} test)" if paper is not None else ""))
    return "Line charts of final error against depth. " + "; ".join(parts) + "."


def chart(result):
    rows = []
    for d in result.data["depths"]:
        for kind, label in (("plain", "plain (ours)"), ("resnet", "residual (ours)")):
            m = result.metrics[f"{kind}{d}"]
            for what, split in (("train_error", "training"), ("test_error", "test")):
                if m[what] is not None:
                    lo, hi = _extent(result, f"{kind}{d}", what)
                    rows.append({"depth": d, "series": label, "split": split, "error": m[what],
                                 "lo": lo, "hi": hi, "net": net_label(f"{kind}{d}")})
    for name, v in result.data["paper_test_error"].items():
        rows.append({"depth": int(name.removeprefix("resnet")), "series": "ResNet, He et al. Table 6",
                     "split": "test", "error": v, "lo": v, "hi": v, "net": net_label(name)})
    return vega_spec(
        rows,
        params=[{"name": "split", "value": "training",  # the caption's argument starts from training error
                 "bind": {"input": "radio", "options": ["training", "test"], "name": "error on "}}],
        transform=[{"filter": "datum.split == split"}],
        encoding={
            "x": {"field": "depth", "type": "quantitative", "title": "layers",
                  "axis": {"values": result.data["depths"]}},
            "color": {"field": "series", "type": "nominal", "title": None,
                      "scale": {"domain": ["plain (ours)", "residual (ours)", "ResNet, He et al. Table 6"]}},
        },
        layer=[
            {"mark": "rule",  # lowest to highest seed
             "encoding": {"y": {"field": "lo", "type": "quantitative"}, "y2": {"field": "hi"}}},
            {"mark": {"type": "line", "point": {"size": 50}},
             "encoding": {
                 "y": {"field": "error", "type": "quantitative", "title": "final error", "axis": {"format": ".0%"}},
                 "tooltip": [{"field": "net", "title": "network"}, {"field": "series", "title": "source"},
                             {"field": "split", "title": "error on"},
                             {"field": "error", "title": "error (mean)", "format": ".2%"},
                             {"field": "lo", "title": "lowest seed", "format": ".2%"},
                             {"field": "hi", "title": "highest seed", "format": ".2%"}]}},
        ],
        height=260,
    )
