"""Figures: stored result -> light and dark SVG, a Vega-Lite spec, caption,
alt text and a provenance card. SVGs are cached by what they depend on (the
plot module, the shared style, the result's checksum), so an edited plot module
redraws only its own figure and a rebuild with nothing changed draws nothing.
"""
from __future__ import annotations

import functools
import html
import importlib.util
import json
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

from figures.store import StoredResult, canonical_json, sha256

from . import pandoc
from .errors import BuildError

STYLE_MODULE = "figures.plotstyle"


@dataclass(frozen=True)
class RenderedFigure:
    name: str
    width: str
    svg_light: bytes
    svg_dark: bytes
    spec: dict | None
    caption_html: str
    alt: str
    provenance: dict
    result_key: str
    drawn: bool = False  # False when it came from the cache
    ext: str = "svg"     # an author's own figure may be a PNG (sitegen.images)


def _source(module_name: str) -> str:
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise BuildError(f"module {module_name} not found")
    return Path(spec.origin).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _matplotlib_version() -> str:
    from importlib.metadata import version  # not `import matplotlib`: a cache hit needs none

    return version("matplotlib")


def figure_key(name: str, result: StoredResult) -> str:
    return sha256(canonical_json({
        "plot": _source(f"figures.plots.{name}"), "style": _source(STYLE_MODULE),
        # result.json's checksum covers metrics, data, arrays and the provenance the card
        # shows: a rerun that changes only the provenance still redraws the card
        "result": result.key, "stored": result.checksum, "matplotlib": _matplotlib_version(),
    }))


def cache_file(name: str, result: StoredResult, cache_dir: Path) -> Path:
    return cache_dir / f"{name}-{figure_key(name, result)[:20]}.json"


def render_figure(name: str, result: StoredResult, cache_dir: Path) -> RenderedFigure:
    """Draw figure `name` from `result`, reusing cached output when nothing changed."""
    cached = cache_file(name, result, cache_dir)
    if cached.exists():
        doc = json.loads(cached.read_text(encoding="utf-8"))
        return RenderedFigure(name, doc["width"], doc["svg_light"].encode(), doc["svg_dark"].encode(),
                              doc["spec"], doc["caption_html"], doc["alt"], doc["provenance"], result.key)
    from figures.plotstyle import THEMES, svg_bytes

    from .freshness import load_plot

    module = load_plot(name)  # a SyntaxError in it: file:line, not a crash
    try:
        svgs = {t: svg_bytes(module.draw(result, THEMES[t])) for t in ("light", "dark")}
        spec = module.chart(result) if hasattr(module, "chart") else None
        caption = pandoc.inline_markdown(module.caption(result))
        alt = " ".join(module.alt(result).split())
    except BuildError:
        raise
    except Exception as e:  # the plot module's mistake: its file and the line that raised
        line = next((f.lineno for f in reversed(traceback.extract_tb(e.__traceback__))
                     if f.filename == module.__file__), None)
        raise BuildError(f"drawing failed: {type(e).__name__}: {e}", Path(module.__file__), line) from None
    width = getattr(module, "WIDTH", "body")
    fig = RenderedFigure(name, width, svgs["light"], svgs["dark"], spec, caption, alt,
                         provenance_card(result), result.key, drawn=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.glob(f"{name}-*.json"):
        old.unlink()
    tmp = cached.with_name(f".{cached.name}.tmp")  # renamed into place: a killed build leaves no half file
    tmp.write_text(json.dumps({
        "width": width, "svg_light": svgs["light"].decode(), "svg_dark": svgs["dark"].decode(),
        "spec": spec, "caption_html": caption, "alt": alt, "provenance": fig.provenance,
    }, sort_keys=True), encoding="utf-8")
    tmp.replace(cached)
    return fig


def provenance_card(result: StoredResult) -> dict:
    p = result.provenance
    fields = ["experiment", "profile", "device", "cpu_model", "threads", "precision", "torch", "cuda",
              "data", "data_sha256", "n_train", "n_test", "seed", "models", "trained",
              "commit", "code_hash", "started", "wall_time_s", "command"]
    card = {k: p[k] for k in fields if k in p and p[k] not in ("", None)}
    if isinstance(card.get("trained"), dict):  # per network: epochs, steps, precision, processor
        card["trained"] = "; ".join(f"{k}: {v}" for k, v in card["trained"].items())
    return card


def _svg_size(svg: bytes) -> tuple[int, int] | None:
    """The SVG's intrinsic size in CSS px, so the page reserves its box before it loads."""
    if svg[:8] == b"\x89PNG\r\n\x1a\n":  # a PNG: width and height from its IHDR chunk
        return int.from_bytes(svg[16:20], "big"), int.from_bytes(svg[20:24], "big")
    m = re.search(rb'<svg[^>]*?viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"', svg[:2000])
    return (round(float(m.group(1)) * 4 / 3), round(float(m.group(2)) * 4 / 3)) if m else None  # pt -> px


def figure_html(fig: RenderedFigure, number: int, width: str | None, anchor: str) -> str:
    """The figure: static SVG (light/dark), an optional chart slot that the page's
    script fills when it scrolls into view, the caption and the provenance card. Paper
    always gets the light SVG (the dark source is for screens only)."""
    w = width or fig.width
    rows = "".join(f"<dt>{html.escape(k.replace('_', ' '))}</dt><dd>{html.escape(str(v))}</dd>"
                   for k, v in fig.provenance.items())
    chart = ""
    if fig.spec is not None:
        chart = (f'<div class="vega-chart" data-spec="figures/{fig.name}.vl.json" role="group" '
                 f'aria-label="Interactive version of figure {number}" hidden></div>')
    size = _svg_size(fig.svg_light)
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    return (
        f'<figure class="figure l-{w}" id="{anchor}" data-figure="{fig.name}">'
        f'<div class="figure-media">'
        f'<picture class="static-figure">'
        f'<source srcset="figures/{fig.name}-dark.{fig.ext}" media="screen and (prefers-color-scheme: dark)">'
        f'<img src="figures/{fig.name}.{fig.ext}" alt="{html.escape(fig.alt)}"{dims} loading="lazy" decoding="async" '
        f'data-light="figures/{fig.name}.{fig.ext}" data-dark="figures/{fig.name}-dark.{fig.ext}">'
        f'</picture>{chart}</div>'
        f'<figcaption><span class="figure-number">Figure {number}.</span> {fig.caption_html}'
        f'<details class="provenance" id="{anchor}-provenance"><summary>How this figure was made</summary>'
        f'<dl>{rows}</dl></details></figcaption></figure>'
    )
