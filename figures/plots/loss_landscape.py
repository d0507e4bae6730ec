"""loss_landscape: filter-normalized 2D loss surfaces of a trained ResNet and its plain twin (Li et al. 2018)."""
from __future__ import annotations

import numpy as np

from figures.plotstyle import Theme, figure, net_label, vega_spec

EXPERIMENT = "loss_landscape"
WIDTH = "page"


def _nets(result) -> list[str]:
    d = result.data["depth"]
    return [f"resnet{d}", f"plain{d}"]


def _levels(result) -> np.ndarray:
    """Shared log-spaced contour levels, from the lowest loss to the highest shown."""
    grids = [result.arrays[f"{n}_loss"] for n in _nets(result)]
    finite = np.concatenate([g[np.isfinite(g)] for g in grids])
    lo = max(float(finite.min()), 1e-3) if finite.size else 1e-3
    hi = min(float(finite.max()), lo * 1e3) if finite.size else 10.0
    return np.geomspace(lo, max(hi, lo * 1.01), 14)


def draw(result, theme: Theme):
    import matplotlib

    coords = result.arrays["coords"]
    levels = _levels(result)
    fig, axes = figure(theme, WIDTH, aspect=0.42, ncols=2, sharey=True)
    cmap = "viridis" if theme.name == "light" else "magma"
    norm = matplotlib.colors.LogNorm(levels[0], levels[-1])
    for ax, name in zip(axes[0], _nets(result)):
        z = np.clip(np.nan_to_num(result.arrays[f"{name}_loss"], nan=levels[-1], posinf=levels[-1]),
                    levels[0], levels[-1])
        filled = ax.contourf(coords, coords, z, levels=levels, cmap=cmap, norm=norm)
        ax.contour(coords, coords, z, levels=levels, colors=theme.fg, linewidths=0.3, alpha=0.5)
        ax.plot([0], [0], marker="+", color=theme.fg, markersize=8)
        ax.set_title(net_label(name), fontsize=9)
        ax.set_xlabel("direction 1")
        ax.set_aspect("equal")
        ax.grid(False)
    axes[0][0].set_ylabel("direction 2")
    bar = fig.colorbar(filled, ax=axes[0].tolist(), pad=0.02, fraction=0.03)
    ticks = levels[::3]
    bar.set_ticks(ticks, labels=[f"{v:.3g}" for v in ticks])
    bar.minorticks_off()
    bar.set_label("training loss (log scale)", color=theme.fg)
    bar.ax.tick_params(colors=theme.fg, labelsize=7)
    bar.outline.set_visible(False)
    return fig


def caption(result) -> str:
    r, p = _nets(result)
    n = len(result.data["coords"])
    return (f"Training loss (cross-entropy on {result.data['n_images']:,} training images) around the "
            f"trained {net_label(r)} and {net_label(p)} (the interactive chart shows one at a time), along two random "
            f"filter-normalized directions, on a {n}×{n} grid; the centre (0, 0) is the trained weights. "
            f"Same colour scale for both. Compare Li et al. 2018, Fig. 5.")


def alt(result) -> str:
    r, p = _nets(result)
    m = result.metrics

    def f(v):
        return "n/a" if v is None else f"{v:.3g}"

    return (f"Two contour maps of loss. {net_label(r)}: loss {f(m[r]['center_loss'])} at the centre, "
            f"{f(m[r]['edge_loss'])} on average at the edge of the grid, "
            f"{100 * m[r]['convex_fraction']:.0f}% of grid points locally convex. {net_label(p)}: "
            f"{f(m[p]['center_loss'])} at the centre, {f(m[p]['edge_loss'])} at the edge, "
            f"{100 * m[p]['convex_fraction']:.0f}% locally convex.")


def chart(result):
    coords = result.data["coords"]
    rows = []
    for name in _nets(result):
        kind = "plain" if name.startswith("plain") else "residual"
        grid = result.data["loss"][name]
        rows += [{"network": kind, "a": round(a, 4), "b": round(b, 4), "loss": v}
                 for b, row in zip(coords, grid) for a, v in zip(coords, row) if v is not None and v > 0]
    step = (coords[1] - coords[0]) if len(coords) > 1 else 1.0
    axis = {"type": "quantitative", "scale": {"domain": [coords[0] - step / 2, coords[-1] + step / 2]}}
    return vega_spec(
        rows,
        params=[{"name": "net", "value": "residual",
                 "bind": {"input": "radio", "options": ["residual", "plain"], "name": "network "}}],
        transform=[{"filter": "datum.network == net"},
                   {"calculate": f"datum.a - {step / 2}", "as": "a0"},
                   {"calculate": f"datum.a + {step / 2}", "as": "a1"},
                   {"calculate": f"datum.b - {step / 2}", "as": "b0"},
                   {"calculate": f"datum.b + {step / 2}", "as": "b1"}],
        mark={"type": "rect"},
        encoding={
            "x": {"field": "a0", **axis, "title": "direction 1"}, "x2": {"field": "a1"},
            "y": {"field": "b0", **axis, "title": "direction 2"}, "y2": {"field": "b1"},
            "color": {"field": "loss", "type": "quantitative", "title": "loss",
                      "scale": {"type": "log", "scheme": "viridis",
                                "domain": [float(_levels(result)[0]), float(_levels(result)[-1])],
                                "clamp": True}},
            "tooltip": [{"field": "network"}, {"field": "a", "title": "direction 1"},
                        {"field": "b", "title": "direction 2"}, {"field": "loss", "format": ".3g"}],
        },
        height=320,
    )
