"""highway_gates: mean transform gate of each Highway layer over training, and at the end."""
from __future__ import annotations

import matplotlib
import matplotlib.cm
import matplotlib.colors
import matplotlib.ticker
import numpy as np

from figures.plotstyle import Theme, band, figure, per_seed, seeds, vega_spec

EXPERIMENT = "highway_gates"
WIDTH = "page"


def draw(result, theme: Theme):
    d = result.data
    gates = np.array(d["gates"])                     # (checkpoints, layers)
    n = gates.shape[1]
    fig, axes = figure(theme, WIDTH, aspect=0.34, ncols=2)
    fig.subplots_adjust(wspace=0.42)  # room for the colour bar's label beside the second panel's axis
    ax = axes[0][0]
    cmap = matplotlib.colors.ListedColormap(matplotlib.colormaps["viridis"](np.linspace(0, 0.9, 256)))
    for i in range(n):
        ax.plot(d["epoch"], gates[:, i], color=cmap(i / max(n - 1, 1)), linewidth=1.1)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_ylabel("mean transform gate T")
    ax.set_title("during training (fixed training batch)", fontsize=9)
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(1, n)),
                       ax=ax, pad=0.01, fraction=0.05)
    bar.locator = matplotlib.ticker.MaxNLocator(integer=True)
    bar.update_ticks()
    bar.set_label("layer", color=theme.fg)
    bar.ax.tick_params(colors=theme.fg, labelsize=7)
    bar.outline.set_visible(False)
    ax = axes[0][1]
    # after training: the mean over the seeds, the bars spanning the lowest to the highest run
    runs = per_seed(result, "final_test")
    spread = band(runs)
    final = spread[0] if spread else d["final_test"]
    err = None if spread is None else [[m - lo for m, lo in zip(spread[0], spread[1])],
                                       [hi - m for m, hi in zip(spread[0], spread[2])]]
    ax.bar(range(1, n + 1), final, color=theme.accent[0], yerr=err,
           error_kw={"ecolor": theme.fg, "elinewidth": 0.8, "capsize": 2})
    ax.axhline(gates[0].mean(), color=theme.muted, linestyle=":", linewidth=1)
    ax.text(n + 0.4, gates[0].mean(), " start", va="center", fontsize=7, color=theme.muted)
    ax.set_xlabel("layer (input → output)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_title("after training (test images)", fontsize=9)
    ax.set_ylabel("mean transform gate T")
    ax.set_ylim(0, max(1.0, max(max(r) for r in runs) * 1.05))
    return fig


def caption(result) -> str:
    m = result.metrics
    return (f"The mean transform gate T of each of the {m['layers']} layers of a {result.data['depth']}-layer "
            f"Highway network. T = 0 carries the input through unchanged, T = 1 replaces it by the layer's "
            f"transform. On a fixed training batch after each epoch (colour: layer depth) and, in the "
            f"static figure, on test images after training, where the dotted line marks the starting "
            f"value." + _runs_note(result))


def _runs_note(result) -> str:
    """Which run the curves follow, and what the bars average (the curves have no mean: each
    seed's gates wander their own way)."""
    s = seeds(result)
    if len(s) < 2:
        return f" One training run (seed {s[0]})."
    return (f" The curves follow seed {s[0]}'s training run; the bars are the mean over n = {len(s)} runs "
            f"(seeds {', '.join(map(str, s))}), their error bars span the lowest to the highest run.")


def alt(result) -> str:
    m = result.metrics
    return (f"Line chart of gate value against epoch, one line per layer, and a bar chart of the final "
            f"gate per layer. The gates start at {m['init_mean']:.2f} on average and end at "
            f"{m['final_mean']:.2f} (from {m['final_min']:.2f} at layer {m['most_closed_layer']} to "
            f"{m['final_max']:.2f} at layer {m['most_open_layer']}); the first third of the layers "
            f"average {m['early_mean']:.2f}, the last third {m['late_mean']:.2f}.")


def chart(result):
    d = result.data
    rows = [{"layer": i + 1, "name": d["layer_names"][i], "epoch": e, "step": s, "gate": g}
            for e, s, gs in zip(d["epoch"], d["step"], d["gates"]) for i, g in enumerate(gs)]
    return vega_spec(
        rows,
        params=[{"name": "pick", "select": {"type": "point", "fields": ["layer"], "on": "pointerover"},
                 "bind": "legend"}],
        mark={"type": "line", "point": {"size": 14}},
        encoding={
            "x": {"field": "epoch", "type": "quantitative", "title": "epoch", "axis": {"tickMinStep": 1}},
            "y": {"field": "gate", "type": "quantitative", "title": "mean transform gate T"},
            "color": {"field": "layer", "type": "ordinal", "scale": {"scheme": "viridis"}},
            "opacity": {"condition": {"param": "pick", "value": 1}, "value": 0.2},
            "tooltip": [{"field": "layer"}, {"field": "name", "title": "block"}, {"field": "epoch"},
                        {"field": "step", "title": "SGD step"}, {"field": "gate", "format": ".3f"}],
        },
        height=260,
    )
