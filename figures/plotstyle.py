"""One look for every static figure, in a light and a dark variant.

Plot modules draw with the colours of a Theme and call `svg_bytes`, which
writes a deterministic SVG: no date, fixed ids, text kept as text (small and
searchable, rendered in the page's own font).
"""
from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_mixed import MixedModeRenderer  # noqa: E402
from matplotlib.backends.backend_svg import RendererSVG  # noqa: E402

from lab.names import FAMILIES, net_label  # noqa: E402, F401 (the plot modules' names)
from figures.themes import DARK, LIGHT, THEMES, Theme, palette  # noqa: E402, F401 (theirs too)


def recolour(svg: bytes, source: Theme, target: Theme) -> bytes:
    """`svg`, drawn in `source`'s colours, in `target`'s: each palette colour swapped for its
    counterpart. Right for a figure that uses the theme's colours as they are (as most do);
    one that reads `theme.name` (a colour map per theme) must be drawn in each."""
    pairs = dict(zip(palette(source), palette(target)))
    assert len(pairs) == len(palette(source)), "a theme's colours must differ from one another"
    pattern = re.compile("|".join(re.escape(c) for c in pairs))
    return pattern.sub(lambda m: pairs[m.group(0)], svg.decode("utf-8")).encode("utf-8")

WIDTHS = {"body": 6.4, "page": 9.0, "screen": 12.0}  # figure width (inches) per layout column


def figure(theme: Theme, width: str = "body", aspect: float = 0.5, ncols: int = 1, nrows: int = 1,
           sharey: bool = False):
    w = WIDTHS[width]
    rc = {
        "svg.hashsalt": "resnet-explainer",  # stable clip-path ids
        "svg.fonttype": "none",
        "font.family": ["sans-serif"],
        "font.size": 9,
        "text.color": theme.fg,
        "axes.labelcolor": theme.fg,
        "axes.edgecolor": theme.muted,
        "xtick.color": theme.fg,
        "ytick.color": theme.fg,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": theme.muted,
        "grid.alpha": 0.25,
        "grid.linewidth": 0.6,
        "legend.frameon": False,
        "lines.linewidth": 1.6,
    }
    with plt.rc_context(rc):
        fig, axes = plt.subplots(nrows, ncols, figsize=(w, w * aspect), sharey=sharey, squeeze=False)
    fig.patch.set_alpha(0.0)
    for ax in axes.flat:
        ax.set_facecolor("none")
        ax.grid(True, color=theme.muted, alpha=0.25, linewidth=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_color(theme.muted)
        ax.tick_params(colors=theme.fg, labelsize=8)
        ax.xaxis.label.set_color(theme.fg)
        ax.yaxis.label.set_color(theme.fg)
        ax.title.set_color(theme.fg)
    return fig, axes


def svg_bytes(fig) -> bytes:
    """Deterministic SVG of `fig`, cropped to its tight box as savefig's bbox_inches="tight"
    would; closes the figure. One pass: the SVG is drawn once and the tight box then measured
    with the same renderer, whose text sizes are cached by then (savefig measures it in a
    layout pass of its own first), and the crop is the root element's viewBox."""
    buf = io.StringIO()
    fig.patch.set_facecolor("none")  # as savefig(transparent=True)
    fig.patch.set_edgecolor("none")
    for ax in fig.axes:
        ax.patch.set_facecolor("none")
        ax.patch.set_edgecolor("none")
    pad = matplotlib.rcParams["savefig.pad_inches"]
    dpi = fig.dpi  # raster parts (imshow) keep the figure's own resolution, as savefig keeps them
    fig.set_dpi(72)  # the SVG's unit is the point
    width, height = fig.get_size_inches()
    with plt.rc_context({"svg.hashsalt": "resnet-explainer", "svg.fonttype": "none"}):
        svg = RendererSVG(width * 72, height * 72, buf, image_dpi=dpi, metadata={"Date": None, "Creator": None})
        renderer = MixedModeRenderer(fig, width, height, dpi, svg)
        fig.draw(renderer)
        renderer.finalize()
        tight = fig.get_tightbbox(renderer).padded(pad)
    plt.close(fig)
    x, y, w, h = (_pt(v * 72) for v in (tight.x0, height - tight.y1, tight.width, tight.height))
    root = re.compile(r'(<svg [^>]*?)width="[^"]*" height="[^"]*" viewBox="[^"]*"')  # the first element
    return root.sub(rf'\1width="{w}pt" height="{h}pt" viewBox="{x} {y} {w} {h}"', buf.getvalue(), count=1).encode("utf-8")


def _pt(v: float) -> str:
    """A length in points as matplotlib's SVG writes them: up to six decimals, no trailing zeros."""
    return f"{v:f}".rstrip("0").rstrip(".")


def legend(ax, theme: Theme, **kw):
    """A legend in the theme's colours. It is made outside figure()'s rc_context, so its frame
    would be matplotlib's default (white, 80 %): in dark mode light text on a light box."""
    leg = ax.legend(**kw)
    for text in leg.get_texts():
        text.set_color(theme.fg)
    if leg.get_title().get_text():
        leg.get_title().set_color(theme.fg)
    leg.get_frame().set_facecolor(theme.page)
    leg.get_frame().set_edgecolor("none")
    return leg


# --- shared by the plot modules: names, numbers and Vega-Lite specs ---------

VEGA_LITE = "https://vega.github.io/schema/vega-lite/v5.json"


def data_name(result) -> str:
    """'CIFAR-10' or 'synthetic', from the provenance: captions never claim data they lack."""
    return "synthetic" if str(result.provenance.get("data", "")).startswith("synthetic") else "CIFAR-10"


def pct(v, digits: int = 1) -> str:
    """A fraction as a percentage for captions and alt text; 'n/a' where not measured."""
    return "n/a" if v is None else f"{100 * v:.{digits}f}%"


def vega_spec(rows: list, **spec) -> dict:
    """A Vega-Lite spec with inline data, full container width and no NaN (strict JSON)."""
    import math

    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    out = {"$schema": VEGA_LITE, "data": {"values": clean(rows)}, "width": "container"}
    out.update(spec)
    return out


# --- the spread over seeds (lab.spread; figures.plots says what a plot gets) ---

def view(result):
    """The stored result as a plot module sees it: where it holds spreads over seeds, its
    metrics are their means (every plot draws those as it always did) and
    `data["spreads"]` holds the spreads themselves, for error bars."""
    import dataclasses

    from lab.spread import means

    if "per_seed" not in result.data:
        return result
    return dataclasses.replace(result, metrics=means(result.metrics),
                               data={**result.data, "spreads": result.metrics})


def seeds(result) -> list[int]:
    """The seeds the result's networks were trained from, in order."""
    return list(result.provenance.get("seeds") or [result.provenance.get("seed") or 0])


def per_seed(result, *path) -> list:
    """The data at `path` once per seed (the one seed's alone where there is one)."""
    runs = result.data.get("per_seed") or {}
    out = []
    for run in ([runs[str(s)] for s in seeds(result)] if runs else [result.data]):
        for p in path:
            run = run[p]
        out.append(run)
    return out


def spread(result, *path) -> dict | None:
    """The spread over seeds of the metric at `path`, or None where one seed measured it."""
    from lab.spread import is_spread

    node = result.data.get("spreads")
    try:
        for p in path:
            node = node[p]
    except (KeyError, TypeError, IndexError):
        return None
    return node if is_spread(node) else None


def band(curves: list, scale: float = 1.0) -> tuple[list, list, list] | None:
    """(mean, lowest, highest) at each point of curves measured once per seed; None for one seed."""
    if len(curves) < 2:
        return None
    out: tuple[list, list, list] = ([], [], [])
    for column in zip(*curves):
        vals = [scale * v for v in column if v is not None and v == v]
        for row, v in zip(out, (sum(vals) / len(vals), min(vals), max(vals)) if vals else (None,) * 3):
            row.append(float("nan") if v is None else v)
    return out


def spread_note(result, marks: str = "shaded bands") -> str:
    """The caption's sentence on what the bands or bars are (or that there is one seed)."""
    s = seeds(result)
    if len(s) < 2:
        return f" One training run per network (seed {s[0]}): no spread across seeds is shown."
    return (f" Each value is the mean over n = {len(s)} training runs (seeds {', '.join(map(str, s))}); "
            f"{marks} span the lowest to the highest run.")


def pictured_note(result, pictured: str) -> str:
    """The caption's sentence for a figure that pictures one training run of several (a surface or
    a map has no mean): which run it is, and that the text's numbers are over all of them."""
    s = seeds(result)
    if len(s) < 2:
        return spread_note(result)
    return (f" {pictured} seed {s[0]}'s training run; the numbers the text quotes are the mean ± standard "
            f"deviation over n = {len(s)} runs (seeds {', '.join(map(str, s))}).")

