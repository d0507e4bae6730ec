"""gradient_flow: per-layer gradient norms at initialization, plain vs residual."""
from __future__ import annotations

from figures.plotstyle import Theme, figure, legend

EXPERIMENT = "gradient_flow"
WIDTH = "page"


def _deepest(result) -> int:
    return max(result.data["depths"])


def draw(result, theme: Theme):
    depths = result.data["depths"]
    fig, axes = figure(theme, WIDTH, aspect=0.36, ncols=len(depths), sharey=True)
    for ax, depth in zip(axes[0], depths):
        for kind, colour, label in (("plain", theme.plain, "plain"), ("resnet", theme.residual, "residual")):
            norms = result.data["grad_norms"][f"{kind}{depth}"]
            ax.plot(range(1, len(norms) + 1), norms, color=colour, label=label, marker="o", markersize=2)
        ax.set_yscale("log")
        ax.set_title(f"{depth} layers", fontsize=9)
        ax.set_xlabel("layer (input → output)")
    axes[0][0].set_ylabel("‖∂L/∂W‖ at initialization")
    legend(axes[0][0], theme, loc="upper right", fontsize=8)  # above the curves: they lie low in the shallow net
    return fig


def _steps(result, name: str) -> tuple[float, float]:
    """The smallest and largest ratio of one layer's gradient norm to the next layer's."""
    n = result.data["grad_norms"][name]
    r = [a / b for a, b in zip(n, n[1:]) if b]
    return (min(r), max(r)) if r else (1.0, 1.0)


def caption(result) -> str:
    d = _deepest(result)
    lo, hi = _steps(result, f"plain{d}")
    return (f"Norm of the loss gradient with respect to the weights of each 3×3 convolution, "
            f"‖∂L/∂W‖, at initialization, for plain and residual networks of "
            f"{', '.join(str(x) for x in result.data['depths'])} layers (log scale). In the "
            f"{d}-layer plain network neighbouring layers differ by factors of only {lo:.2f} to "
            f"{hi:.2f}, but the differences compound into orders of magnitude over depth; with "
            f"identity shortcuts the gradient stays within a small band. (The equations in the "
            f"text are about ‖∂L/∂x‖, the gradient with respect to each layer's output; with "
            f"batch normalization the two differ.)")


def alt(result) -> str:
    d = _deepest(result)
    p = result.metrics[f"plain{d}"]
    r = result.metrics[f"resnet{d}"]
    return (f"Line charts of gradient norm against layer index. In the {d}-layer plain network the "
            f"largest layer gradient is {p['spread']:.3g} times the smallest; in the "
            f"residual network the ratio is {r['spread']:.3g}.")


def chart(result):
    rows = []
    for name, norms in sorted(result.data["grad_norms"].items()):
        kind = "plain" if name.startswith("plain") else "residual"
        depth = int(name.removeprefix("plain").removeprefix("resnet"))
        rows += [{"network": kind, "depth": depth, "layer": i + 1, "norm": v} for i, v in enumerate(norms)]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": rows},
        "params": [{"name": "depth", "value": max(result.data["depths"]),
                    "bind": {"input": "select", "options": list(result.data["depths"]), "name": "depth "}}],
        "transform": [{"filter": "datum.depth == depth"}],
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "layer", "type": "quantitative", "title": "layer (input → output)"},
            "y": {"field": "norm", "type": "quantitative", "scale": {"type": "log"}, "title": "gradient norm"},
            "color": {"field": "network", "type": "nominal"},
            "tooltip": [{"field": "network"}, {"field": "layer"}, {"field": "norm", "format": ".3g"}],
        },
        "width": "container", "height": 260,
    }
