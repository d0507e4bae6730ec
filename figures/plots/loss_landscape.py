"""loss_landscape: filter-normalized 2D loss surfaces of a trained ResNet and its plain twin (Li et al. 2018),
one panel per pair of random directions."""
from __future__ import annotations

import numpy as np

from figures.plotstyle import Theme, figure, net_label, pictured_note, seeds, spread, vega_spec

EXPERIMENT = "loss_landscape"
WIDTH = "page"


def _nets(result) -> list[str]:
    d = result.data["depth"]
    return [f"resnet{d}", f"plain{d}"]


def _pairs(result) -> list[int]:
    return list(range(1, int(result.data.get("pairs", 1)) + 1))


def _grid(result, name: str, k: int) -> np.ndarray:
    return result.arrays[f"{name}_loss" if k == 1 else f"{name}_loss_pair{k}"]


def _levels(result) -> np.ndarray:
    """Shared log-spaced contour levels, from the lowest loss to the highest shown."""
    grids = [_grid(result, n, k) for n in _nets(result) for k in _pairs(result)]
    finite = np.concatenate([g[np.isfinite(g)] for g in grids])
    lo = max(float(finite.min()), 1e-3) if finite.size else 1e-3
    hi = min(float(finite.max()), lo * 1e3) if finite.size else 10.0
    return np.geomspace(lo, max(hi, lo * 1.01), 14)


def draw(result, theme: Theme):
    import matplotlib

    coords = result.arrays["coords"]
    levels = _levels(result)
    pairs = _pairs(result)
    fig, axes = figure(theme, WIDTH, aspect=0.62 * 2 / max(len(pairs), 2) + 0.14, ncols=len(pairs), nrows=2,
                       sharey=True)
    cmap = "viridis" if theme.name == "light" else "magma"
    norm = matplotlib.colors.LogNorm(levels[0], levels[-1])
    for row, name in zip(axes, _nets(result)):
        for ax, k in zip(row, pairs):
            z = np.clip(np.nan_to_num(_grid(result, name, k), nan=levels[-1], posinf=levels[-1]),
                        levels[0], levels[-1])
            filled = ax.contourf(coords, coords, z, levels=levels, cmap=cmap, norm=norm)
            ax.contour(coords, coords, z, levels=levels, colors=theme.fg, linewidths=0.3, alpha=0.5)
            ax.plot([0], [0], marker="+", color=theme.fg, markersize=7)
            ax.set_title(f"{net_label(name)}, pair {k}", fontsize=8)
            ax.set_aspect("equal")
            ax.grid(False)
            ax.tick_params(labelsize=7)
        row[0].set_ylabel("direction 2")
    for ax in axes[-1]:
        ax.set_xlabel("direction 1")
    for ax in axes[0]:  # the rows share their x axis: the bottom row's ticks say it
        ax.tick_params(labelbottom=False)
    bar = fig.colorbar(filled, ax=axes.ravel().tolist(), pad=0.02, fraction=0.03)
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
    k = len(_pairs(result))
    return (f"Training loss (cross-entropy on {result.data['n_images']:,} training images) around the "
            f"trained {net_label(r)} (top) and {net_label(p)} (bottom), on a {n}×{n} grid along "
            f"{'one pair' if k == 1 else f'{k} independent pairs'} of random filter-normalized directions "
            f"(one column per pair; the interactive chart shows one network and pair at a time); "
            f"the centre (0, 0) is the trained weights. Same colour scale for all. "
            f"Compare Li et al. 2018, Fig. 5." + pictured_note(result, "The surfaces come from"))


def alt(result) -> str:
    """What the picture shows: the pictured run's numbers (the first seed's), not the means."""
    r, p = _nets(result)
    m = result.metrics

    def pictured(*path):
        s = spread(result, *path)
        return s["values"][0] if s else _at(m, path)

    def f(v):
        return "n/a" if v is None else f"{v:.3g}"

    def rises(name):
        return ", ".join(f(pictured(name, "pairs", str(k), "edge_rise")) for k in _pairs(result))

    def convex(name):
        return ", ".join(f"{100 * pictured(name, 'pairs', str(k), 'convex_fraction'):.0f}%" for k in _pairs(result))

    return (f"{2 * len(_pairs(result))} contour maps of loss (seed {seeds(result)[0]}), one per network and pair "
            f"of directions. {net_label(r)}: loss {f(pictured(r, 'center_loss'))} at the centre; towards the edge "
            f"of the grid it rises by {rises(r)} in the {len(_pairs(result))} pairs; locally convex at "
            f"{convex(r)} of the grid. {net_label(p)}: {f(pictured(p, 'center_loss'))} at the centre, rising by "
            f"{rises(p)}; locally convex at {convex(p)}.")


def _at(node, path):
    for key in path:
        node = node[key]
    return node


def chart(result):
    coords = result.data["coords"]
    pairs = _pairs(result)
    rows = []
    for name in _nets(result):
        kind = "plain" if name.startswith("plain") else "residual"
        for k in pairs:
            grid = result.data["loss"][name][str(k)]
            rows += [{"network": kind, "pair": k, "a": round(a, 4), "b": round(b, 4), "loss": v}
                     for b, row in zip(coords, grid) for a, v in zip(coords, row) if v is not None and v > 0]
    step = (coords[1] - coords[0]) if len(coords) > 1 else 1.0
    axis = {"type": "quantitative", "scale": {"domain": [coords[0] - step / 2, coords[-1] + step / 2]}}
    return vega_spec(
        rows,
        params=[{"name": "net", "value": "residual",
                 "bind": {"input": "radio", "options": ["residual", "plain"], "name": "network "}},
                {"name": "pair", "value": 1,
                 "bind": {"input": "radio", "options": pairs, "name": "pair of directions "}}],
        transform=[{"filter": "datum.network == net && datum.pair == pair"},
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
            "tooltip": [{"field": "network"}, {"field": "pair"}, {"field": "a", "title": "direction 1"},
                        {"field": "b", "title": "direction 2"}, {"field": "loss", "format": ".3g"}],
        },
        height=320,
    )
