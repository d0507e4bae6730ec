"""architectures: test error, parameters and training time of each architecture, one recipe."""
from __future__ import annotations

from figures.plotstyle import Theme, figure, net_label, pct, spread, spread_note, vega_spec

EXPERIMENT = "architectures"
WIDTH = "page"


def _colour(theme: Theme, i: int, name: str):
    if name.startswith("plain"):
        return theme.plain
    if name.startswith("resnet"):
        return theme.residual
    return theme.accent[i % len(theme.accent)]


def draw(result, theme: Theme):
    names = result.data["models"]
    m = result.metrics
    fig, axes = figure(theme, WIDTH, aspect=0.3, ncols=3)
    labels = [net_label(n) for n in names]
    colours = [_colour(theme, i, n) for i, n in enumerate(names)]
    panels = (
        ("test error (%)", [100 * (m[n]["test_error"] or 0) for n in names]),
        ("parameters (thousands)", [m[n]["params"] / 1e3 for n in names]),
        ("time per epoch, timed side by side (s)", [m[n]["seconds_per_epoch"] for n in names]),
    )
    for k, (ax, (title, values)) in enumerate(zip(axes[0], panels)):
        # the test error's lowest to highest seed (parameters are the same for every seed; the
        # time is of one side-by-side timing)
        err = [_extent(result, n, "test_error", 100) for n in names] if k == 0 else None
        bars = [[e[0] for e in err], [e[1] for e in err]] if err and any(map(any, err)) else None
        ax.barh(range(len(names)), values, color=colours, xerr=bars, ecolor=theme.fg, capsize=2)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(labels if ax is axes[0][0] else [""] * len(names), fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", visible=False)
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:.3g}", va="center", fontsize=7, color=theme.fg)
    return fig


def _extent(result, name: str, metric: str, scale: float = 1.0) -> tuple[float, float]:
    """(below, above) the mean to the lowest and highest seed; (0, 0) for one seed."""
    s = spread(result, name, metric)
    if not s or s["mean"] is None:
        return (0.0, 0.0)
    return (scale * (s["mean"] - s["min"]), scale * (s["max"] - s["mean"]))


def _place_labels(rows: list[dict]) -> None:
    """Each row's label (name and parameters) and whether it goes above or below its dot: below
    where a dot already labelled above lies within 0.4 points of error and closer along x than
    the two labels' half-widths. A character is about 6 px and the plot at least 300 px wide
    (a phone), so a character spans about 2 % of the x range."""
    xs = [r["seconds_per_epoch"] for r in rows]
    span = (max(xs) - min(xs)) or 1.0
    placed: list[dict] = []
    for r in sorted(rows, key=lambda r: r["test_error"], reverse=True):
        r["label"] = f"{r['net']} ({r['params'] / 1e3:.0f}k)"
        near = any(abs(q["seconds_per_epoch"] - r["seconds_per_epoch"]) < 0.01 * span * (len(q["label"]) + len(r["label"])) and
                   abs(q["test_error"] - r["test_error"]) < 0.004 and q["label_pos"] == "above" for q in placed)
        r["label_pos"] = "below" if near else "above"
        placed.append(r)


def caption(result) -> str:
    s, t = result.metrics["summary"], result.metrics["timing"]
    names = ", ".join(net_label(n) for n in result.data["models"])
    return (f"{names}, each trained {s['epochs']} epochs with the same recipe: final test "
            f"error, number of parameters, and the time an epoch of training costs, timed side by "
            f"side on one machine ({t['host']}, {t['precision']}, the median of {t['rounds']} rounds "
            f"of {t['steps']} steps)." + spread_note(result, "error bars on the test error"))


def alt(result) -> str:
    m = result.metrics
    parts = [f"{net_label(n)} {pct(m[n]['test_error'])} test error, {m[n]['params'] / 1e3:.0f}k parameters, "
             f"{m[n]['seconds_per_epoch']:.3g} s per epoch" for n in result.data["models"]]
    # the lowest mean test error (seeds may each have a different best: the metric is then a list)
    measured = [n for n in result.data["models"] if m[n]["test_error"] is not None]
    best = min(measured, key=lambda n: m[n]["test_error"]) if measured else None
    return ("Bar charts comparing architectures. " + "; ".join(parts) +
            (f". Lowest test error: {net_label(best)}." if best else "."))


def chart(result):
    """Test error against the time an epoch costs, one labelled dot a network: equal parameter
    counts (ResNet, plain and pre-activation nets are the same size) would pile up on a
    parameters axis, so parameters go in the tooltip."""
    m = result.metrics
    rows = [{"net": net_label(n), "family": m[n]["family"], "test_error": m[n]["test_error"],
             "lo": m[n]["test_error"] - _extent(result, n, "test_error")[0],
             "hi": m[n]["test_error"] + _extent(result, n, "test_error")[1],
             "train_error": m[n]["train_error"], "params": m[n]["params"],
             "seconds_per_epoch": m[n]["seconds_per_epoch"]}
            for n in result.data["models"] if m[n]["test_error"] is not None]
    _place_labels(rows)
    x = {"field": "seconds_per_epoch", "type": "quantitative", "title": "seconds per epoch, timed side by side",
         "scale": {"zero": False, "nice": False, "padding": 48}, "axis": {"tickCount": 5, "format": "d"}}
    # ticks a tenth of a point apart print as such (".0%" printed 20 %, 20 %, 19 %, 19 %)
    y = {"field": "test_error", "type": "quantitative", "title": "test error",
         "axis": {"format": ".1%", "tickCount": 5}, "scale": {"zero": False, "padding": 30}}
    colour = {"field": "family", "type": "nominal", "title": None, "legend": None,
              "scale": {"domain": list(dict.fromkeys(m[n]["family"] for n in result.data["models"]))}}
    tooltip = [{"field": "net", "title": "network"},
               {"field": "test_error", "title": "test error (mean)", "format": ".1%"},
               {"field": "lo", "title": "lowest seed", "format": ".1%"},
               {"field": "hi", "title": "highest seed", "format": ".1%"},
               {"field": "train_error", "title": "training error", "format": ".1%"},
               {"field": "params", "title": "parameters", "format": ","},
               {"field": "seconds_per_epoch", "title": "s per epoch", "format": ".1f"}]
    hover = {"name": "hover", "select": {"type": "point", "on": "pointerover", "fields": ["net"]}}
    return vega_spec(
        rows,
        layer=[
            # the test error's lowest to highest seed (a point where there is one seed)
            {"mark": {"type": "rule"},
             "encoding": {"x": x, "y": {**y, "field": "lo"}, "y2": {"field": "hi"}, "color": colour}},
            {"params": [hover], "mark": {"type": "point", "filled": True},
             "encoding": {"x": x, "y": y, "color": colour, "tooltip": tooltip,
                          "size": {"condition": {"param": "hover", "empty": False, "value": 320},
                                   "value": 140}}},
            # each dot's name and parameter count, above it; where two dots nearly coincide
            # (ResNet-20 and its pre-activation twin) the second one's goes below
            *({"transform": [{"filter": f"datum.label_pos === '{pos}'"}],
               "mark": {"type": "text", "align": "center", "dy": dy, "fontSize": {"expr": "width < 460 ? 10 : 12"}},
               "encoding": {"x": x, "y": y, "text": {"field": "label"}, "color": colour, "tooltip": tooltip}}
              for pos, dy in (("above", -14), ("below", 18))),
        ],
        height=260,
    )
