"""Vega-Lite charts: the look they take in each theme (one source for the page's script,
static/charts.js, and for the build), and an author's chart drawn to static SVG.

An author's chart (a spec in the project, sitegen.render.images) is drawn here at
build time by vl-convert (Vega and Vega-Lite in an embedded JavaScript engine, no
network, no browser), light and dark, with the colours the page's script uses. The
SVGs are what print, readers without JavaScript and feed readers get; the page's
script replaces them with the interactive chart. They are cached by the spec (its
data is inline), the theme and vl-convert's version: a rebuild redraws nothing, and
the same spec gives the same bytes.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

from ..cache import Cache, key, source
from ..errors import BuildError

# the page's --sans (templates/static/article.css): the SVG names the fonts the page uses
FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
VEGA_LITE = "6.4"  # of those vl-convert bundles, the nearest to the page's vendored 6.5


def vega_config(t: dict) -> dict:
    """Vega's config for one theme ({fg, muted, category}), as charts.js embeds it."""
    fg, muted = t["fg"], t["muted"]
    text = {"labelColor": fg, "titleColor": fg, "labelFontSize": 11, "titleFontSize": 12,
            "labelFont": FONT, "titleFont": FONT}
    return {
        "background": None, "font": FONT, "padding": 4,
        "axis": {**text, "domainColor": muted, "tickColor": muted, "gridColor": muted, "gridOpacity": 0.25,
                 "titleFontWeight": "normal"},
        # legends of dash, size or opacity (not colour) draw their symbols in the text's colour
        "legend": {**text, "symbolBaseFillColor": fg, "symbolBaseStrokeColor": fg},
        "header": {"labelColor": fg, "titleColor": fg},
        "title": {"color": fg, "font": FONT, "fontWeight": 600},
        "text": {"color": fg},
        "view": {"stroke": None},
        "range": {"category": t["category"]},
    }


@functools.lru_cache(maxsize=1)
def converter_version() -> str:
    from lab.keys import library_version  # not `import vl_convert`: a cache hit needs none

    return library_version("vl-convert-python")


def static_svgs(name: str, spec: dict, theme_json: str, cache_root: Path, path: Path) -> tuple[bytes, bytes]:
    """(light SVG, dark SVG) of the spec; a spec Vega cannot draw is the author's, at `path`."""
    themes = json.loads(theme_json)
    text = json.dumps(spec, sort_keys=True, allow_nan=False)
    entry = key(text, themes["light"]["vega"], themes["dark"]["vega"], VEGA_LITE, converter_version(),
                source("sitegen.render.charts"))

    def draw() -> dict:
        import vl_convert

        try:
            return {t: vl_convert.vegalite_to_svg(json.loads(text), vl_version=VEGA_LITE, config=themes[t]["vega"])
                    for t in ("light", "dark")}
        except Exception as e:  # what Vega said, without vl-convert's heading and the stack traces
            lines = [ln.strip() for ln in str(e).split("Stack backtrace:")[0].splitlines()]
            said = " ".join(ln for ln in lines if ln and not ln.startswith("at ") and not ln.endswith("failed:"))
            raise BuildError(f"chart spec could not be drawn: {said[:300]}", path) from None

    doc = Cache(cache_root, "charts").json(name, entry, draw)
    return doc["light"].encode("utf-8"), doc["dark"].encode("utf-8")
