"""lesion: test error after deleting one block, residual vs plain (Veit et al. 2016, Fig. 3), and the
residual net's damage per stage beside it."""
from __future__ import annotations

from matplotlib.ticker import MaxNLocator

from figures.plotstyle import Theme, band, figure, legend, net_label, pct, per_seed, spread_note, vega_spec

EXPERIMENT = "lesion"
WIDTH = "page"


def _nets(result) -> list[str]:
    d = result.data["depth"]
    return [f"resnet{d}", f"plain{d}"]


def _downsampling(result) -> list[int]:
    """1-based positions of the blocks that open a stage (and halve the resolution)."""
    return [i + 1 for i, b in enumerate(result.data["blocks"]) if b.endswith(".0") and not b.startswith("layer1")]


GROUPS = ("stage1", "stage2", "stage3", "downsampling")


def _label(group: str) -> str:
    return "downsampling" if group == "downsampling" else f"stage {group[-1]}"


def _stage_span(result, group: str) -> tuple[int, int] | None:
    """First and last 1-based position of a stage's same-shape blocks (None: downsampling)."""
    if group == "downsampling":
        return None
    at = [i + 1 for i, b in enumerate(result.data["blocks"])
          if b.startswith(f"layer{group[-1]}.") and i + 1 not in _downsampling(result)]
    return (at[0], at[-1]) if at else None


def _per_group(ax, result, theme: Theme, name: str) -> None:
    """The error one deletion adds to `name`, per group: mean (bar) and least to largest."""
    m = result.metrics[name]
    groups = [g for g in GROUPS if isinstance(m.get(g), dict) and m[g]["mean_increase"] is not None]
    for i, g in enumerate(groups):
        mean, lo, hi = (100 * m[g][k] for k in ("mean_increase", "min_increase", "max_increase"))
        ax.bar(i, mean, width=0.6, color=theme.residual, alpha=0.75)
        ax.plot([i, i], [lo, hi], color=theme.fg, linewidth=1.2)
        ax.text(i, hi, f"{mean:+.1f}", ha="center", va="bottom", fontsize=7, color=theme.fg)
    ax.axhline(0, color=theme.muted, linewidth=0.8)
    ax.set_xticks(range(len(groups)), [_label(g) for g in groups], fontsize=7, rotation=20)
    ax.set_ylabel("test error added (points)", fontsize=8)
    ax.set_title(f"{net_label(name)}: per stage (bar: mean; line: least to most)", fontsize=8)
    ax.margins(y=0.15)


def draw(result, theme: Theme):
    fig, axes = figure(theme, WIDTH, aspect=0.34, ncols=2)
    axes[0][0].get_subplotspec().get_gridspec().set_width_ratios([2.3, 1])
    ax = axes[0][0]
    n = len(result.data["blocks"])
    for name in _nets(result):
        colour = theme.plain if name.startswith("plain") else theme.residual
        errs = [100 * e for e in result.data["errors"][name]]
        seeds = band(per_seed(result, "errors", name), scale=100)
        if seeds:  # mean over seeds, lowest to highest shaded
            errs = seeds[0]
            ax.fill_between(range(1, n + 1), seeds[1], seeds[2], color=colour, alpha=0.18, linewidth=0)
        ax.plot(range(1, n + 1), errs, color=colour, marker="o", markersize=3, label=net_label(name))
        ax.axhline(100 * _intact(result, name), color=colour, linestyle="--", linewidth=0.9)
    for x in _downsampling(result):
        ax.axvline(x, color=theme.muted, linestyle=":", linewidth=0.9)
    chance = 100 * result.metrics["summary"]["chance_error"]
    ax.axhline(chance, color=theme.muted, linewidth=0.8)
    ax.text(n + 0.5, chance, " chance", va="center", fontsize=7, color=theme.muted)
    ax.set_xlabel("deleted block (input → output; dotted: blocks that downsample)")
    ax.set_ylabel("test error (%)")
    ax.set_ylim(0, 100)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    legend(ax, theme, fontsize=8, loc="center right")
    _per_group(axes[0][1], result, theme, _nets(result)[0])
    return fig


def caption(result) -> str:
    r, p = _nets(result)
    return (f"Test error of the trained {net_label(r)} and {net_label(p)} networks after deleting one "
            f"block at a time (a block is replaced by its shortcut), on "
            f"{result.metrics['summary']['n_images']:,} test images. Dashed lines: the intact networks. "
            f"Right: the test error one deletion adds to {net_label(r)}, in percentage points, for the "
            f"same-shape blocks of each stage and for the blocks that downsample (in the interactive "
            f"chart, the horizontal segments give each stage's mean for both networks; click a block "
            f"to mark it and read both networks' errors at the foot of the chart). "
            f"Compare Veit et al. 2016, Fig. 3." + spread_note(result))


def alt(result) -> str:
    r, p = _nets(result)
    mr, mp = result.metrics[r], result.metrics[p]
    return (f"Line chart of test error against the deleted block. Intact, {net_label(r)} has "
            f"{pct(mr['baseline_error'])} test error and {net_label(p)} {pct(mp['baseline_error'])}. "
            f"Deleting one block gives {net_label(r)} {pct(mr['mean_error'])} on average "
            f"(worst {pct(mr['max_error'])}, block {mr['worst_block']}) and {net_label(p)} "
            f"{pct(mp['mean_error'])} (worst {pct(mp['max_error'])}). Deletions that leave a net within "
            f"5 points of chance: {mr['near_chance_blocks']} of {mr['blocks']} for {net_label(r)}, "
            f"{mp['near_chance_blocks']} for {net_label(p)}. "
            + " ".join(f"{net_label(n)}, error added per deletion: " + "; ".join(
                f"{_label(g)} {_pts(result.metrics[n][g])}" for g in GROUPS
                if isinstance(result.metrics[n].get(g), dict)) + "." for n in (r, p)))


def _pts(group: dict) -> str:
    if group["mean_increase"] is None:
        return "none"
    return (f"{100 * group['mean_increase']:.1f} points on average "
            f"({100 * group['min_increase']:.1f} to {100 * group['max_increase']:.1f})")


def _intact(result, name: str) -> float:
    """The intact network's test error: over the seeds, their mean (as the deletions')."""
    base = result.metrics[name].get("baseline_error")
    return result.data["baseline"][name] if base is None else base


def chart(result):
    rows = []
    for name in _nets(result):
        kind = "plain" if name.startswith("plain") else "residual"
        base = _intact(result, name)
        errors = result.data["errors"][name]
        mean, lo, hi = band(per_seed(result, "errors", name)) or (errors, errors, errors)
        rows += [{"network": kind, "block": i + 1, "name": b, "error": e, "intact": base,
                  "increase": e - base, "lo": a, "hi": z}
                 for i, (b, e, a, z) in enumerate(zip(result.data["blocks"], mean, lo, hi))]
    segments = []  # each stage's mean error after one deletion, across its same-shape blocks
    for name in _nets(result):
        kind = "plain" if name.startswith("plain") else "residual"
        base = _intact(result, name)
        for g in GROUPS:
            span, m = _stage_span(result, g), result.metrics[name].get(g)
            if span and isinstance(m, dict) and m["mean_increase"] is not None:
                segments.append({"network": kind, "stage": _label(g), "x0": span[0] - 0.3,
                                 "x1": span[1] + 0.3, "level": base + m["mean_increase"],
                                 "added": m["mean_increase"], "least": m["min_increase"],
                                 "most": m["max_increase"]})
    rows += [{"segment": True, **seg} for seg in segments]
    # the legend's swatches opaque, not the seed band's
    colour = {"field": "network", "type": "nominal", "scale": {"domain": ["plain", "residual"]},
              "legend": {"symbolOpacity": 1}}
    x = {"field": "block", "type": "quantitative", "title": "deleted block (input → output)",
         "axis": {"tickMinStep": 1, "format": "d"}}
    y = {"field": "error", "type": "quantitative", "title": "test error", "axis": {"format": ".0%"},
         "scale": {"domain": [0, 1]}}
    # click near a block to select it: a line marks it and its errors are printed at the foot of
    # the chart, clear of the curves (nothing is selected until the reader clicks)
    pick = {"name": "pick", "select": {"type": "point", "fields": ["block"], "on": "click", "nearest": True}}
    picked = {"filter": {"param": "pick", "empty": False}}
    blocks = {"filter": "datum.row == 'block'"}
    return vega_spec(
        rows, height=280,
        transform=[{"calculate": "datum.segment ? 'segment' : 'block'", "as": "row"}],
        layer=[
            # each stage's mean; the layers a click fills start empty, and an empty mark group
            # must not be announced as an image without a name (axe: svg-img-alt): aria off
            {"mark": {"type": "rule", "strokeWidth": 3, "opacity": 0.55, "aria": False},
             "transform": [{"filter": "datum.row == 'segment'"}],
             "encoding": {"x": {**x, "field": "x0"}, "x2": {"field": "x1"},
                          "y": {**y, "field": "level"}, "color": colour,
                          "tooltip": [{"field": "network"}, {"field": "stage"},
                                      {"field": "level", "title": "mean error after one deletion",
                                       "format": ".1%"},
                                      {"field": "added", "title": "added, mean", "format": ".1%"},
                                      {"field": "least", "title": "added, least", "format": ".1%"},
                                      {"field": "most", "title": "added, most", "format": ".1%"}]}},
            {"mark": {"type": "area", "opacity": 0.18}, "transform": [blocks],  # lowest to highest seed
             "encoding": {"x": x, "y": {**y, "field": "lo"}, "y2": {"field": "hi"}, "color": colour}},
            {"mark": "line", "transform": [blocks], "encoding": {"x": x, "y": y, "color": colour}},
            {"mark": {"type": "point", "filled": True, "size": 40}, "params": [pick], "transform": [blocks],
             "encoding": {"x": x, "y": y, "color": colour,
                          "tooltip": [{"field": "network"}, {"field": "name", "title": "block"},
                                      {"field": "error", "format": ".1%"},
                                      {"field": "intact", "title": "intact net", "format": ".1%"}]}},
            {"mark": {"type": "rule", "strokeDash": [4, 3]}, "transform": [blocks],
             "encoding": {"y": {"field": "intact", "aggregate": "mean"}, "color": colour}},
            {"mark": {"type": "rule", "opacity": 0.5, "aria": False}, "transform": [blocks, picked],
             "encoding": {"x": x}},
            {"mark": {"type": "text", "align": "left", "dx": 6, "fontSize": 12, "aria": False},
             "transform": [blocks, picked,
                           {"calculate": "datum.network + ' ' + format(datum.error, '.1%')", "as": "reading"},
                           {"calculate": "datum.network == 'plain' ? 0.09 : 0.03", "as": "foot"}],
             "encoding": {"x": x, "y": {**y, "field": "foot"}, "color": colour, "text": {"field": "reading"}}},
        ],
    )
