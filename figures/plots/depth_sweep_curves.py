"""depth_sweep_curves: training and test error per epoch, plain vs residual, by depth (He et al. Fig. 6)."""
from __future__ import annotations

from matplotlib.ticker import MaxNLocator

from figures.plotstyle import (Theme, band, data_name, figure, legend, net_label, pct, per_seed,
                               spread_note, vega_spec)

EXPERIMENT = "depth_sweep"
WIDTH = "page"
FAMILIES = (("plain", "plain"), ("resnet", "residual"))
DASHES = ([1, 3], [4, 3], [8, 3], [8, 3, 2, 3], [1, 0])  # shallow to deep: the deepest solid


def _shade(theme: Theme, kind: str, i: int, n: int):
    """Deeper nets drawn darker/stronger: one hue per family, as in the paper."""
    import matplotlib.colors as mc

    base = mc.to_rgb(theme.plain if kind == "plain" else theme.residual)
    alpha = 0.35 + 0.65 * (i / max(n - 1, 1))
    return (*base, alpha)


def draw(result, theme: Theme):
    """Four panels, four curves each: training error above test error, plain beside residual.
    One panel per family and split keeps the depths apart, where 16 curves on two panels tangle."""
    depths = result.data["depths"]
    fig, axes = figure(theme, WIDTH, aspect=0.6, ncols=2, nrows=2, sharey=True)
    for row, (split, what) in enumerate((("train_error", "training"), ("test_error", "test"))):
        for ax, (kind, title) in zip(axes[row], FAMILIES):
            for i, d in enumerate(depths):
                c = result.data["curves"][f"{kind}{d}"]
                colour = _shade(theme, kind, i, len(depths))
                ys = [_p(v) for v in c[split]]
                seeds = band(per_seed(result, "curves", f"{kind}{d}", split), scale=100)
                if seeds:  # the mean, and the lowest to highest seed shaded
                    ys = seeds[0]
                    ax.fill_between(c["epoch"], seeds[1], seeds[2], color=colour, alpha=0.15, linewidth=0)
                ax.plot(c["epoch"], ys, color=colour,
                        linewidth=1.0 + 0.8 * i / max(len(depths) - 1, 1), label=f"{d} layers")
            ax.set_title(f"{title} networks: {what} error", fontsize=9)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if row == 1:
                ax.set_xlabel("epoch")
            if row == 0:
                legend(ax, theme, loc="lower left", fontsize=7, title=None)  # errors fall: it stays clear
        axes[row][0].set_ylabel(f"{what} error (%)")
    fig.tight_layout(h_pad=1.2)
    return fig


def _p(v):
    return float("nan") if v is None else 100 * v  # a gap in the line where not measured


def caption(result) -> str:
    s = result.metrics["summary"]
    depths = ", ".join(str(d) for d in result.data["depths"])
    return (f"Training and test error of plain (red) and residual (blue) networks of {depths} layers, "
            f"trained {s['epochs']} epochs on {s['n_train']:,} {data_name(result)} images with the same "
            f"recipe. On screen, one error at a time (training first; switch to test below the chart), "
            f"each depth in its own line style (the legend: layers), deeper networks darker. "
            f"Printed, training error above test error, plain networks left of residual ones, deeper "
            f"networks darker. Compare He et al. 2016, Fig. 6." + spread_note(result))


def alt(result) -> str:
    s = result.metrics["summary"]
    lo, hi = s["shallowest"], s["deepest"]
    m = result.metrics
    return (f"Four line charts of error against epoch, training error above test error. Plain networks: the {hi}-layer net ends with "
            f"{pct(m[f'plain{hi}']['train_error'])} training error, the {lo}-layer net with "
            f"{pct(m[f'plain{lo}']['train_error'])}. Residual networks: {hi} layers end at "
            f"{pct(m[f'resnet{hi}']['train_error'])} training and {pct(m[f'resnet{hi}']['test_error'])} "
            f"test error, {lo} layers at {pct(m[f'resnet{lo}']['train_error'])} and "
            f"{pct(m[f'resnet{lo}']['test_error'])}.")


def chart(result):
    depths = result.data["depths"]
    rows = []
    for kind, label in FAMILIES:
        for d in depths:
            c = result.data["curves"][f"{kind}{d}"]
            for split in ("train", "test"):
                runs = per_seed(result, "curves", f"{kind}{d}", f"{split}_error")
                mean, lo, hi = band(runs) or (c[f"{split}_error"],) * 3
                rows += [{"network": label, "depth": d, "net": net_label(f"{kind}{d}"), "epoch": e,
                          "split": "training" if split == "train" else "test", "error": v,
                          "lo": a, "hi": b}
                         for e, v, a, b in zip(c["epoch"], mean, lo, hi) if v is not None and v == v]
    y = {"field": "error", "type": "quantitative", "title": "error", "axis": {"format": ".0%"}}
    # deeper is darker; the dashes' legend says the depth, so the shade has none of its own
    shade = {"field": "depth", "type": "ordinal", "scale": {"range": [0.45, 1]}, "legend": None}
    tooltip = [{"field": "net", "title": "network"}, {"field": "epoch"},
               {"field": "split", "title": "error on"},
               {"field": "error", "title": "error (mean)", "format": ".1%"},
               {"field": "lo", "title": "lowest seed", "format": ".1%"},
               {"field": "hi", "title": "highest seed", "format": ".1%"}]
    return vega_spec(
        rows,
        params=[
            {"name": "depth", "value": 0,
             "bind": {"input": "select", "options": [0, *depths],
                      "labels": ["all", *[str(d) for d in depths]], "name": "depth "}},
            {"name": "show_plain", "value": True, "bind": {"input": "checkbox", "name": "plain "}},
            {"name": "show_residual", "value": True, "bind": {"input": "checkbox", "name": "residual "}},
            # one split at a time: both at once are 16 curves that tangle (the static figure's rows)
            {"name": "split", "value": "training",
             "bind": {"input": "radio", "options": ["training", "test"], "name": "error on "}},
        ],
        transform=[{"filter": "datum.split == split && (depth == 0 || datum.depth == depth) && "
                              "((datum.network == 'plain' && show_plain) || "
                              "(datum.network == 'residual' && show_residual))"}],
        encoding={
            "x": {"field": "epoch", "type": "quantitative", "title": "epoch", "axis": {"tickMinStep": 1}},
            # the legend's swatches opaque, not the seed band's 15 %
            "color": {"field": "network", "type": "nominal", "scale": {"domain": ["plain", "residual"]},
                      "legend": {"symbolOpacity": 1}},
            "detail": {"field": "net"},
        },
        layer=[
            # lowest to highest seed (where there is one seed, lo = hi: no band)
            {"mark": {"type": "area", "opacity": 0.15},
             "encoding": {"y": {"field": "lo", "type": "quantitative"}, "y2": {"field": "hi"}}},
            # each depth its own dash as well as its shade: the residual curves lie close together.
            # The dots are a layer of their own: a line with point=true makes the legend draw
            # (unfilled, invisible) points instead of the dashes
            {"mark": "line", "encoding": {"y": y, "opacity": shade, "tooltip": tooltip, "strokeDash": {
                "field": "depth", "type": "ordinal", "title": "layers",
                "scale": {"domain": depths, "range": DASHES[-len(depths):]},
                "legend": {"symbolType": "stroke", "symbolSize": 400, "symbolStrokeWidth": 2,
                           "symbolStrokeColor": "#8a8a8a", "symbolOpacity": 1}}}},
            {"mark": {"type": "point", "size": 18, "filled": True},
             "encoding": {"y": y, "opacity": shade, "tooltip": tooltip}},
        ],
        height=300,
    )
