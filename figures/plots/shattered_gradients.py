"""shattered_gradients: correlation of input gradients between nearby inputs (Balduzzi et al. 2017)."""
from __future__ import annotations

from figures.plotstyle import Theme, figure, legend, spread_note, vega_spec

EXPERIMENT = "shattered_gradients"
WIDTH = "page"

KINDS = (("plain", "plain"), ("resnet", "residual"))
STATES = (("init", "at initialization", "--"), ("trained", "trained", "-"))


def _deepest(result) -> int:
    return max(result.data["depths"])


def _colour(theme: Theme, kind: str) -> str:
    return theme.plain if kind == "plain" else theme.residual


def draw(result, theme: Theme):
    fig, axes = figure(theme, WIDTH, aspect=0.36, ncols=2)
    left, right = axes[0]
    m = result.metrics
    for kind, label in KINDS:
        for state, when, style in STATES:
            nets = sorted((v["depth"], v["neighbour_correlation"]) for k, v in m[state].items()
                          if k.startswith(kind))
            left.plot([d for d, _ in nets], [c for _, c in nets], color=_colour(theme, kind),
                      linestyle=style, marker="o", markersize=3, label=f"{label}, {when}")
    left.set_xlabel("depth (layers)")
    left.set_ylabel("correlation of neighbouring gradients")
    left.axhline(0, color=theme.muted, linewidth=0.8)
    legend(left, theme, fontsize=7, loc="best")
    d = _deepest(result)
    lags, step = result.data["lags"], m["summary"]["step"]
    for kind, label in KINDS:
        for state, when, style in STATES:
            curve = result.data["correlation"][state].get(f"{kind}{d}")
            if curve:
                right.plot([k * step for k in lags], curve, color=_colour(theme, kind), linestyle=style,
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
    rows = [{"network": label, "state": when, "depth": v["depth"],
             "correlation": v["neighbour_correlation"]}
            for kind, label in KINDS for state, when, _ in STATES
            for k, v in sorted(result.metrics[state].items()) if k.startswith(kind)]
    return vega_spec(rows, mark={"type": "line", "point": True}, height=260, encoding={
        "x": {"field": "depth", "type": "quantitative", "title": "depth (layers)"},
        "y": {"field": "correlation", "type": "quantitative", "title": "correlation of neighbouring gradients"},
        "color": {"field": "network", "type": "nominal"},
        "strokeDash": {"field": "state", "type": "nominal"},
        "tooltip": [{"field": "network"}, {"field": "state"}, {"field": "depth"},
                    {"field": "correlation", "format": ".3f"}],
    })
