"""depth_sweep_curves: training and test error per epoch, plain vs residual, by depth (He et al. Fig. 6)."""
from __future__ import annotations

from matplotlib.ticker import MaxNLocator

from figures.plotstyle import Theme, data_name, figure, legend, net_label, pct, vega_spec

EXPERIMENT = "depth_sweep"
WIDTH = "page"
FAMILIES = (("plain", "plain"), ("resnet", "residual"))


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
                ax.plot(c["epoch"], [_p(v) for v in c[split]], color=_shade(theme, kind, i, len(depths)),
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
            f"recipe; darker lines are deeper networks. Training error is drawn above test error, plain "
            f"networks left of residual ones; the interactive chart shows one error at a time, training "
            f"first. Compare He et al. 2015, Fig. 6.")


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
                rows += [{"network": label, "depth": d, "net": net_label(f"{kind}{d}"), "epoch": e,
                          "split": "training" if split == "train" else "test", "error": v}
                         for e, v in zip(c["epoch"], c[f"{split}_error"]) if v is not None]
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
        mark={"type": "line", "point": {"size": 18}},
        encoding={
            "x": {"field": "epoch", "type": "quantitative", "title": "epoch", "axis": {"tickMinStep": 1}},
            "y": {"field": "error", "type": "quantitative", "title": "error",
                  "axis": {"format": ".0%"}},
            "color": {"field": "network", "type": "nominal", "scale": {"domain": ["plain", "residual"]}},
            "opacity": {"field": "depth", "type": "ordinal", "scale": {"range": [0.35, 1]},
                        "title": "layers"},
            "detail": {"field": "net"},
            "tooltip": [{"field": "net", "title": "network"}, {"field": "epoch"},
                        {"field": "split", "title": "error on"},
                        {"field": "error", "format": ".1%"}],
        },
        height=300,
    )
