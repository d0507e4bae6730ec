"""gradient_flow_training: per-layer gradient norms at each epoch of training, plain vs residual."""
from __future__ import annotations

import matplotlib
import matplotlib.cm
import matplotlib.colors
import matplotlib.ticker
import numpy as np

from figures.plotstyle import Theme, band, figure, net_label, per_seed, spread_note, vega_spec

EXPERIMENT = "gradient_flow"
WIDTH = "page"


def _nets(result) -> list[str]:
    d = result.data["train_depth"]
    return [f"plain{d}", f"resnet{d}"]


def draw(result, theme: Theme):
    nets = _nets(result)
    fig, axes = figure(theme, WIDTH, aspect=0.36, ncols=2, sharey=True)
    # viridis without its palest yellow, which vanishes on a light page
    cmap = matplotlib.colors.ListedColormap(matplotlib.colormaps["viridis"](np.linspace(0, 0.9, 256)))
    last = max(max(result.data["training"][n]["epoch"]) for n in nets) or 1
    norm = matplotlib.colors.Normalize(0, last)
    for ax, name in zip(axes[0], nets):
        s = result.data["training"][name]
        runs = per_seed(result, "training", name, "norms")
        for k, (epoch, norms) in enumerate(zip(s["epoch"], s["norms"])):
            seeds = band([run[k] for run in runs if k < len(run)])
            if seeds:  # mean over seeds, lowest to highest shaded
                norms = seeds[0]
                ax.fill_between(range(1, len(norms) + 1), seeds[1], seeds[2], color=cmap(norm(epoch)),
                                alpha=0.12, linewidth=0)
            ax.plot(range(1, len(norms) + 1), norms, color=cmap(norm(epoch)), linewidth=1.2)
        ax.set_yscale("log")
        # plain numbers on a log axis that may span less than a decade
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(net_label(name), fontsize=9)
        ax.set_xlabel("layer (input → output)")
    axes[0][0].set_ylabel("‖∂L/∂W‖ on a fixed batch")
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(cmap=cmap, norm=norm), ax=axes[0].tolist(), pad=0.01, fraction=0.03)
    bar.locator = matplotlib.ticker.MaxNLocator(integer=True)
    bar.update_ticks()
    bar.set_label("epoch", color=theme.fg)
    bar.ax.tick_params(colors=theme.fg, labelsize=7)
    bar.outline.set_visible(False)
    return fig


def caption(result) -> str:
    p, r = _nets(result)
    epochs = result.metrics["trained"][p]["epochs"]
    return (f"Gradient norm of each 3×3 convolution on one fixed batch of training images, at "
            f"initialization (dark) and after each of {epochs} epochs of training (light), for the "
            f"{net_label(p)} and {net_label(r)} networks (log scale)." + spread_note(result))


def alt(result) -> str:
    p, r = _nets(result)
    mp, mr = result.metrics["trained"][p], result.metrics["trained"][r]
    return (f"Line charts of gradient norm against layer, one line per epoch. After "
            f"{mp['epochs']} epochs the largest layer gradient of {net_label(p)} is "
            f"{mp['spread']:.3g} times its smallest, and {mr['spread']:.3g} times for {net_label(r)}; "
            f"the first layer gets {mp['first_over_last']:.3g} and {mr['first_over_last']:.3g} times "
            f"the last layer's gradient.")


def chart(result):
    rows = []
    for name in _nets(result):
        s = result.data["training"][name]
        kind = "plain" if name.startswith("plain") else "residual"
        runs = per_seed(result, "training", name, "norms")
        for k, (epoch, step, norms) in enumerate(zip(s["epoch"], s["step"], s["norms"])):
            mean, lo, hi = band([run[k] for run in runs if k < len(run)]) or (norms, norms, norms)
            rows += [{"network": kind, "epoch": epoch, "step": step, "layer": i + 1, "norm": v,
                      "lo": a, "hi": z}
                     for i, (v, a, z) in enumerate(zip(mean, lo, hi)) if v is not None and v > 0]
    steps = sorted({r["step"] for r in rows}) or [0]
    stride = steps[1] - steps[0] if len(steps) > 1 else 1  # probes sit at epoch ends
    norms = [r["norm"] for r in rows] or [1.0]
    return vega_spec(
        rows,
        params=[{"name": "step", "value": 0,
                 "bind": {"input": "range", "min": 0, "max": steps[-1], "step": stride,
                          "name": "after SGD step "}}],
        transform=[{"filter": "datum.step == step"}],
        encoding={
            "x": {"field": "layer", "type": "quantitative", "title": "layer (input → output)",
                  "axis": {"tickMinStep": 1, "format": "d"}},
            # the legend's swatches opaque, not the seed band's 15 %
            "color": {"field": "network", "type": "nominal", "scale": {"domain": ["plain", "residual"]},
                      "legend": {"symbolOpacity": 1}},
        },
        layer=[
            {"mark": {"type": "area", "opacity": 0.15},  # lowest to highest seed
             "encoding": {"y": {"field": "lo", "type": "quantitative", "scale": {"type": "log"}},
                          "y2": {"field": "hi"}}},
            {"mark": {"type": "line", "point": True},
             "encoding": {
                 # fixed axis: moving the slider shows the norms change, not the axis
                 "y": {"field": "norm", "type": "quantitative", "title": "gradient norm",
                       "scale": {"type": "log", "domain": [min(norms), max(norms)]}},
                 "tooltip": [{"field": "network"}, {"field": "layer"}, {"field": "step", "title": "SGD step"},
                             {"field": "epoch"}, {"field": "norm", "title": "norm (mean)", "format": ".3g"},
                             {"field": "lo", "title": "lowest seed", "format": ".3g"},
                             {"field": "hi", "title": "highest seed", "format": ".3g"}]}},
        ],
        height=260,
    )
