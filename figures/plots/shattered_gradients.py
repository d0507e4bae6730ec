"""shattered_gradients: correlation of input gradients between nearby inputs (Balduzzi et al. 2017)."""
from __future__ import annotations

from figures.plotstyle import Theme, band, figure, legend, per_seed, spread, spread_note, vega_spec

EXPERIMENT = "shattered_gradients"
WIDTH = "page"

KINDS = (("plain", "plain"), ("resnet", "residual"))
STATES = (("init", "at initialization", "--"), ("trained", "trained", "-"))


def _deepest(result) -> int:
    return max(result.data["depths"])


def _colour(theme: Theme, kind: str) -> str:
    return theme.plain if kind == "plain" else theme.residual


def _by_depth(result, kind: str, state: str) -> list[tuple[int, float, float, float]]:
    """(depth, mean, lowest seed, highest seed) of each `kind` network in `state`; at
    initialization, and over one seed, the lowest and highest are the mean itself."""
    out = []
    for k, v in result.metrics[state].items():
        if k.startswith(kind):
            c, s = v["neighbour_correlation"], spread(result, state, k, "neighbour_correlation")
            out.append((v["depth"], c, s["min"], s["max"]) if s else (v["depth"], c, c, c))
    return sorted(out)


def _by_distance(result, state: str, name: str) -> tuple[list, list, list] | None:
    """(mean, lowest, highest) of network `name`'s correlation at each distance, over the seeds."""
    curve = result.data["correlation"][state].get(name)
    if not curve:
        return None
    return band(per_seed(result, "correlation", state, name)) or (curve, curve, curve)


def draw(result, theme: Theme):
    fig, axes = figure(theme, WIDTH, aspect=0.36, ncols=2)
    left, right = axes[0]
    for kind, label in KINDS:
        for state, when, style in STATES:
            nets = _by_depth(result, kind, state)
            depths = [d for d, *_ in nets]
            left.fill_between(depths, [lo for *_, lo, _ in nets], [hi for *_, hi in nets],
                              color=_colour(theme, kind), alpha=0.15, linewidth=0)
            left.plot(depths, [c for _, c, _, _ in nets], color=_colour(theme, kind),
                      linestyle=style, marker="o", markersize=3, label=f"{label}, {when}")
    left.set_xlabel("depth (layers)")
    left.set_ylabel("correlation of neighbouring gradients")
    left.axhline(0, color=theme.muted, linewidth=0.8)
    legend(left, theme, fontsize=7, loc="best")
    d = _deepest(result)
    lags, step = result.data["lags"], result.metrics["summary"]["step"]
    for kind, label in KINDS:
        for state, when, style in STATES:
            curve = _by_distance(result, state, f"{kind}{d}")
            if curve:
                x = [k * step for k in lags]
                right.fill_between(x, curve[1], curve[2], color=_colour(theme, kind), alpha=0.15, linewidth=0)
                right.plot(x, curve[0], color=_colour(theme, kind), linestyle=style,
                           marker="o", markersize=3, label=f"{label}, {when}")
    right.set_xscale("log")
    right.axhline(0, color=theme.muted, linewidth=0.8)
    right.set_xlabel("distance between the two inputs (share of the line between two images)")
    right.set_ylabel(f"gradient correlation, {d} layers")
    return fig


def caption(result) -> str:
    s = result.metrics["summary"]
    return (f"Do nearby inputs get similar gradients? The Pearson correlation of the loss gradient "
            f"with respect to the input at neighbouring points of a line between two test images "
            f"({s['points']} points a line, {s['pairs']} lines), for plain and residual networks at "
            f"initialization (dashed) and trained (solid). Left: neighbouring points, by depth. Right: "
            f"the {_deepest(result)}-layer networks, as the two points move apart. Compare Balduzzi "
            f"et al. 2017, Fig. 1." + spread_note(result))


def alt(result) -> str:
    d = _deepest(result)
    m = result.metrics
    parts = []
    for state, when, _ in STATES:
        p, r = m[state].get(f"plain{d}"), m[state].get(f"resnet{d}")
        if p and r:
            parts.append(f"{when}, the {d}-layer plain network's neighbouring gradients correlate at "
                         f"{_r(p['neighbour_correlation'])} and the residual network's at "
                         f"{_r(r['neighbour_correlation'])}")
    text = "; ".join(parts)
    return ("Two line charts of gradient correlation, against depth and against the distance between "
            "inputs. " + text[:1].upper() + text[1:] + ".")


def _r(v: float) -> str:
    """Two decimals, and no minus sign on a value that rounds to zero."""
    return f"{abs(v) if abs(v) < 0.005 else v:.2f}"


def chart(result):
    rows = [{"network": label, "state": when, "depth": d, "correlation": c, "lo": lo, "hi": hi}
            for kind, label in KINDS for state, when, _ in STATES
            for d, c, lo, hi in _by_depth(result, kind, state)]
    y = {"field": "correlation", "type": "quantitative", "title": "correlation of neighbouring gradients"}
    tooltip = [{"field": "network"}, {"field": "state"}, {"field": "depth"},
               {"field": "correlation", "title": "correlation (mean)", "format": ".3f"},
               {"field": "lo", "title": "lowest seed", "format": ".3f"},
               {"field": "hi", "title": "highest seed", "format": ".3f"}]
    return vega_spec(rows, height=260, encoding={
        "x": {"field": "depth", "type": "quantitative", "title": "depth (layers)"},
        "color": {"field": "network", "type": "nominal", "legend": {"symbolOpacity": 1}},
        "detail": {"field": "state"},
    }, layer=[
        {"mark": {"type": "area", "opacity": 0.15},  # lowest to highest seed
         "encoding": {"y": {"field": "lo", "type": "quantitative"}, "y2": {"field": "hi"}}},
        {"mark": {"type": "line", "point": True},
         "encoding": {"y": y, "strokeDash": {"field": "state", "type": "nominal"}, "tooltip": tooltip}},
    ])
