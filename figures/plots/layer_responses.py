"""layer_responses: std of each 3x3 layer's response, in layer order and sorted (He et al. Fig. 7)."""
from __future__ import annotations

from figures.plotstyle import Theme, band, figure, legend, net_label, per_seed, spread_note, vega_spec

EXPERIMENT = "layer_responses"
WIDTH = "page"


def _nets(result) -> list[str]:
    return [f"{k}{d}" for d in result.data["depths"] for k in ("plain", "resnet")]


def _style(theme: Theme, name: str, depths: list[int]) -> dict:
    depth = int(name.removeprefix("plain").removeprefix("resnet"))
    deepest = depth == max(depths)
    return {"color": theme.plain if name.startswith("plain") else theme.residual,
            "linestyle": "-" if deepest else "--", "linewidth": 1.6 if deepest else 1.1}


def draw(result, theme: Theme):
    depths = result.data["depths"]
    fig, axes = figure(theme, WIDTH, aspect=0.36, ncols=2, sharey=True)
    for name in _nets(result):
        style = _style(theme, name, depths)
        ordered = [float("nan") if v is None else v for v in result.data["std"][name]]
        ranked = result.data["sorted"][name]
        for ax, key in ((axes[0][0], "std"), (axes[0][1], "sorted")):
            seeds = band(per_seed(result, key, name))
            if seeds:  # mean over seeds, lowest to highest shaded
                ax.fill_between(range(1, len(seeds[0]) + 1), seeds[1], seeds[2], color=style["color"],
                                alpha=0.15, linewidth=0)
                ordered, ranked = (seeds[0], ranked) if key == "std" else (ordered, seeds[0])
        axes[0][0].plot(range(1, len(ordered) + 1), ordered, label=net_label(name), **style)
        axes[0][1].plot(range(1, len(ranked) + 1), ranked, **style)
    axes[0][0].set_title("in layer order", fontsize=9)
    axes[0][1].set_title("sorted by magnitude", fontsize=9)
    axes[0][0].set_xlabel("layer index")
    axes[0][1].set_xlabel("rank")
    axes[0][0].set_ylabel("std of the response")
    legend(axes[0][0], theme, fontsize=7, loc="upper right", ncol=2)
    return fig


def caption(result) -> str:
    return (f"Standard deviation of each 3×3 layer's response (the output of its batch "
            f"normalization, before the ReLU and before the addition) over {result.data['n_images']:,} "
            f"test images, for trained plain and residual networks of "
            f"{' and '.join(str(d) for d in result.data['depths'])} layers, in the order of the "
            f"layers and sorted from largest to smallest (the interactive chart switches between them). Compare He et al. 2016, Fig. 7."
            + spread_note(result))


def alt(result) -> str:
    parts = []
    for name in _nets(result):
        m = result.metrics[name]
        mean = "n/a" if m["mean_std"] is None else f"{m['mean_std']:.2f}"
        parts.append(f"{net_label(name)} mean std {mean}")
    return "Line charts of response standard deviation against layer. " + "; ".join(parts) + "."


def chart(result):
    rows = []
    for name in _nets(result):
        kind = "plain" if name.startswith("plain") else "residual"
        depth = int(name.removeprefix("plain").removeprefix("resnet"))
        std = result.data["std"][name]
        mean, lo, hi = band(per_seed(result, "std", name)) or (std, std, std)
        values = [(i + 1, v, a, z) for i, (v, a, z) in enumerate(zip(mean, lo, hi)) if v is not None and v == v]
        ranks = {i: r + 1 for r, (i, *_) in enumerate(sorted(values, key=lambda t: -t[1]))}
        rows += [{"network": kind, "depth": depth, "net": net_label(name), "layer": i, "rank": ranks[i],
                  "std": v, "lo": a, "hi": z} for i, v, a, z in values]
    y = {"field": "std", "type": "quantitative", "title": "std of the response"}
    dash = {"field": "depth", "type": "ordinal", "title": "layers",
            "legend": {"symbolType": "stroke", "symbolSize": 400, "symbolStrokeWidth": 2,
                       "symbolStrokeColor": "#8a8a8a", "symbolOpacity": 1}}
    tooltip = [{"field": "net", "title": "network"}, {"field": "layer"}, {"field": "rank"},
               {"field": "std", "title": "std (mean)", "format": ".3f"},
               {"field": "lo", "title": "lowest seed", "format": ".3f"},
               {"field": "hi", "title": "highest seed", "format": ".3f"}]
    return vega_spec(
        rows,
        params=[{"name": "order", "value": "layer",
                 "bind": {"input": "radio", "options": ["layer", "rank"],
                          "labels": ["layer order", "sorted"], "name": "x axis: "}}],
        transform=[{"calculate": "order == 'rank' ? datum.rank : datum.layer", "as": "x"}],
        encoding={
            "x": {"field": "x", "type": "quantitative", "title": "layer index (or rank when sorted)",
                  "axis": {"tickMinStep": 1, "format": "d"}},
            # the legend's swatches opaque, not the seed band's 15 %
            "color": {"field": "network", "type": "nominal", "scale": {"domain": ["plain", "residual"]},
                      "legend": {"symbolOpacity": 1}},
            "detail": {"field": "net"},
        },
        layer=[
            {"mark": {"type": "area", "opacity": 0.15},  # lowest to highest seed, in layer order
             "transform": [{"filter": "order == 'layer'"}],
             "encoding": {"y": {"field": "lo", "type": "quantitative"}, "y2": {"field": "hi"}}},
            # the lines carry the dashes and the legend draws them; a line with point=true would
            # make the legend draw (unfilled, invisible) points instead, so the dots are a layer
            {"mark": "line", "encoding": {"y": y, "strokeDash": dash, "tooltip": tooltip}},
            {"mark": {"type": "point", "size": 12, "filled": True}, "encoding": {"y": y, "tooltip": tooltip}},
        ],
        height=260,
    )
