"""Plot figures: stored result -> light and dark SVG, a Vega-Lite spec, caption,
alt text and a provenance card, as RenderedFigures; and a figure's HTML.

Figures are cached by what they depend on (the plot module, the shared style,
the result's checksum, matplotlib's version), so an edited plot module redraws
only its own figure and a rebuild with nothing changed draws nothing. The figures
to draw go to one forked process, started before the build's pandoc threads, that
imports matplotlib and the plot modules and shares them with processes it forks
in turn (sitegen.render.drawing): the build itself imports neither and goes
straight on to pandoc. Each figure is drawn once, in the light theme, and
recoloured for the dark one unless it picks its look by the theme's name; the
captions go through one pandoc run.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import html
import importlib.util
import json
import re
import sys
import traceback
import types
from pathlib import Path
from typing import Any, Callable, NamedTuple

from lab.keys import library_version
from lab.store import StoredResult

from .. import pandoc
from ..cache import Cache, key, source
from ..errors import BuildError
from ..model import RenderedFigure
from ..modules import load_plot, plot_experiment
from . import drawing

STYLE = ("figures.plotstyle", "figures.themes", "lab.spread", "sitegen.render.figures")  # every figure's code


def figure_key(name: str, result: StoredResult, style: str) -> str:
    """`style`: source(*STYLE), hashed once for all the figures of a build."""
    # result.json's checksum covers metrics, data, arrays and the provenance the card
    # shows: a rerun that changes only the provenance still redraws the card
    # matplotlib's version from its metadata, not `import matplotlib`: a cache hit needs none
    return key(source(f"figures.plots.{name}"), style, result.key, result.checksum, library_version("matplotlib"))


class Drawing:
    """The figures of one build: the cached ones read, the others being drawn."""

    def __init__(self, names: list[str], results: dict[str, StoredResult], cache_root: Path,
                 also: Callable[[], Any] | None = None):
        """`also`: work for the drawing process once it has drawn (a page image it caches)."""
        self.names, self.results = names, results
        self.cache = Cache(cache_root, "figures")
        style = source(*STYLE) if names else ""
        self.keys = {n: figure_key(n, results[n], style) for n in names}
        self.misses = [n for n in names if self._entry(n) is None]  # missing or damaged
        if self.misses:  # one forked process imports matplotlib and draws, sharing the figures with
            # processes it forks in turn, while this one goes on with the build; where matplotlib is
            # imported already (the preview server), this one does, in finish()
            self.workers = drawing.start([self.misses], functools.partial(draw_all, results=results, also=also),
                                         processes=1, own_share="matplotlib" in sys.modules)

    @classmethod
    def ahead(cls, names: list[str], load: Callable[[str], StoredResult], cache_root: Path,
              also: Callable[[], Any] | None = None) -> Drawing | None:
        """The figures the chapters name in their source, started before the plan phase, so that
        matplotlib's import and the drawing overlap it; None where a result is not stored yet
        (the run phase makes it first). The build uses it if the run phase changed no result
        and the chapters place exactly these figures (sitegen.build)."""
        try:
            return cls(names, {n: load(plot_experiment(n)) for n in names}, cache_root, also)
        except BuildError:  # the plan, the run phase or the chapters say it with its line
            return None

    def finish(self) -> dict[str, RenderedFigure]:
        """{name: RenderedFigure}, in the order of `names`."""
        drawn: dict[str, RenderedFigure] = {}
        if self.misses:
            for name, d in zip(self.misses, self.workers.finish()[0]):
                fig = RenderedFigure(name, d.width, d.light, d.dark, d.spec, d.caption_html, d.alt,
                                     provenance_card(self.results[name]), self.results[name].key)
                drawn[name] = fig
                # not sort_keys: the card lists its fields in reading order, drawn now or read back
                self.cache.put(name, self.keys[name], json.dumps({
                    "width": d.width, "svg_light": d.light.decode(), "svg_dark": d.dark.decode(), "spec": d.spec,
                    "caption_html": d.caption_html, "alt": d.alt, "provenance": fig.provenance}).encode())
        return {n: drawn[n] if n in drawn else self._cached(n) for n in self.names}

    def __enter__(self) -> Drawing:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the drawing still under way (the build failed, or draws these figures anew)."""
        if self.misses:
            self.workers.close()

    def _entry(self, name: str) -> dict | None:
        try:
            return json.loads(self.cache.get(name, self.keys[name]) or "null")
        except ValueError:
            return None

    def _cached(self, name: str) -> RenderedFigure:
        doc = self._entry(name)
        return RenderedFigure(name, doc["width"], doc["svg_light"].encode(), doc["svg_dark"].encode(),
                              doc["spec"], doc["caption_html"], doc["alt"], doc["provenance"], self.results[name].key)


def _import_plotstyle() -> None:
    """figures.plotstyle, and so matplotlib, imported without the docstrings of every artist's
    set(): matplotlib writes them at import (a fifth of its import time) and no build reads them;
    and with fontTools' glyph list (a sixth) loaded only if used: matplotlib's TeX font reader
    imports it, and only usetex text, which no figure uses, reads it."""
    if "figures.plotstyle" in sys.modules:
        return
    _lazy("fontTools.agl")
    try:
        from matplotlib import artist
        kwdoc = artist.kwdoc
    except (ImportError, AttributeError):  # load_plot says what is missing; another matplotlib: as it is
        return
    artist.kwdoc = lambda *a, **k: ""
    try:
        import figures.plotstyle  # noqa: F401
    except Exception:
        pass  # load_plot reports it, with the plot module's line
    finally:
        artist.kwdoc = kwdoc


def _lazy(name: str) -> None:
    """Module `name` run only when first used: a placeholder in sys.modules whose first missing
    attribute imports the real module. (importlib.util.LazyLoader does not serve here: the import
    statement that meets it reads its __spec__, and that runs it.)"""
    if name in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(name)
    except ImportError:
        return
    if spec is None or spec.loader is None:
        return
    sys.modules[name] = module = _Deferred(name)
    module.__spec__, module.__file__ = spec, spec.origin
    parent, _, leaf = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], leaf, module)


class _Deferred(types.ModuleType):
    """A module not imported yet (_lazy): the first attribute it lacks imports it, in its place."""

    def __getattr__(self, attr: str):
        if attr.startswith("__"):  # copy, pickle and the import system ask for these: not a use
            raise AttributeError(attr)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)  # and the parent package's attribute


class Drawn(NamedTuple):
    """What a plot module makes of its result: both pictures and its texts."""
    width: str
    light: bytes
    dark: bytes
    spec: dict | None
    caption_html: str
    alt: str


def draw_all(names: list[str], results: dict[str, StoredResult], also: Callable[[], Any] | None = None) -> list[Drawn]:
    """Each figure of `names`, drawn from its stored result, shared among forked processes
    that inherit matplotlib and the plot modules imported here; the captions go through
    pandoc while they draw, and `also` beside them, its mistakes left for the build to meet."""
    _import_plotstyle()
    modules = {n: load_plot(n) for n in names}
    from figures.plotstyle import view  # matplotlib: only where something is drawn

    seen = {n: view(results[n]) for n in names}  # means, and spreads beside
    texts, wrong = {}, None
    try:
        for n in names:
            with _plot_errors(modules[n]):
                spec = modules[n].chart(seen[n]) if hasattr(modules[n], "chart") else None
                texts[n] = (spec, modules[n].caption(seen[n]), " ".join(modules[n].alt(seen[n]).split()))
    except BuildError as e:
        wrong = e

    def work(job: str | None) -> tuple[bytes, bytes] | None:
        if job is None:  # `also`, beside the figures
            with contextlib.suppress(BuildError):
                also()
            return None
        return draw_pair(modules[job], seen[job])

    # `also` second: a forked worker's share, as this process runs the captions through pandoc
    jobs = [*names[:1], None, *names[1:]] if also is not None else names
    with drawing.start(jobs, work) as workers:  # forked now
        captions = pandoc.inline_markdown_many([texts[n][1] for n in names]) if wrong is None else []
        # a drawing's error first: the picture comes before its words
        pairs = [p for job, p in zip(jobs, workers.finish()) if job is not None]
    if wrong is not None:
        raise wrong
    return [Drawn(getattr(modules[n], "WIDTH", "body"), light, dark, texts[n][0], caption, texts[n][2])
            for n, (light, dark), caption in zip(names, pairs, captions)]


def draw_pair(module, result: StoredResult) -> tuple[bytes, bytes]:
    """(light SVG, dark SVG) of a plot module's figure. A figure that uses the theme's
    colours as they are is drawn once and recoloured; one that asks the theme its name
    (to pick a colour map per theme) is drawn in each theme."""
    from figures.plotstyle import DARK, LIGHT, recolour, svg_bytes

    asked: list[str] = []

    class Watched(type(LIGHT)):
        def __getattribute__(self, attr: str):
            if attr == "name":
                asked.append(attr)
            return super().__getattribute__(attr)

    with _plot_errors(module):
        light = svg_bytes(module.draw(result, Watched(**dataclasses.asdict(LIGHT))))
        dark = svg_bytes(module.draw(result, DARK)) if asked else recolour(light, LIGHT, DARK)
    return light, dark


@contextlib.contextmanager
def _plot_errors(module):
    """A plot module's exception is its author's: its file and the line that raised."""
    try:
        yield
    except BuildError:
        raise
    except Exception as e:
        line = next((f.lineno for f in reversed(traceback.extract_tb(e.__traceback__))
                     if f.filename == module.__file__), None)
        raise BuildError(f"drawing failed: {type(e).__name__}: {e}", Path(module.__file__), line) from None


def provenance_card(result: StoredResult) -> dict:
    p = result.provenance
    fields = ["experiment", "profile", "device", "cpu_model", "threads", "precision", "torch", "cuda",
              "data", "data_sha256", "n_train", "n_test", "seed", "seeds", "networks", "trained",
              "commit", "code_hash", "started", "wall_time_s", "command"]
    card = {k: p[k] for k in fields if k in p and p[k] not in ("", None)}
    if isinstance(card.get("seeds"), list):
        card["seeds"] = ", ".join(map(str, card["seeds"])) + f" (n = {len(card['seeds'])})"
    if isinstance(card.get("networks"), dict):  # each by its key's first 12 digits
        card["networks"] = ", ".join(f"{k} {v[:12]}" for k, v in card["networks"].items())
    if isinstance(card.get("trained"), dict):  # per network: epochs, steps, precision, processor
        card["trained"] = "; ".join(f"{k}: {v}" for k, v in card["trained"].items())
    if "wall_time_s" in card:
        card["wall_time_s"] = f"{card['wall_time_s']} s, this experiment's own run (its networks' training not included)"
    # each row says what it is of: the experiment's run (its precision, commit, time) or the networks'
    return {CARD_LABELS.get(k, k): v for k, v in card.items()}


CARD_LABELS = {"precision": "run precision", "trained": "networks trained (each: epochs, steps, precision)",
               "commit": "run at commit", "code_hash": "run code hash", "started": "run started",
               "wall_time_s": "run wall time", "command": "rerun with"}


def _svg_size(svg: bytes) -> tuple[int, int] | None:
    """The SVG's intrinsic size in CSS px, so the page reserves its box before it loads."""
    if svg[:8] == b"\x89PNG\r\n\x1a\n":  # a PNG: width and height from its IHDR chunk
        return int.from_bytes(svg[16:20], "big"), int.from_bytes(svg[20:24], "big")
    head = re.search(rb"<svg[^>]*>", svg[:2000])
    head = head.group(0) if head else b""
    sized = re.search(rb'\swidth="([\d.]+)(pt|px)?"[^>]*?\sheight="([\d.]+)(pt|px)?"', head)
    if sized and sized.group(2) != b"pt":  # in px (vl-convert's charts)
        return round(float(sized.group(1))), round(float(sized.group(3)))
    m = re.search(rb'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"', head)
    return (round(float(m.group(1)) * 4 / 3), round(float(m.group(2)) * 4 / 3)) if m else None  # pt -> px


def picture_html(fig: RenderedFigure) -> str:
    """The static image, light or dark by the screen's theme (and the page's toggle, article.js);
    paper always gets the light one (the dark source is for screens only)."""
    size = _svg_size(fig.svg_light)
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    return (f'<picture class="static-figure">'
            f'<source srcset="figures/{fig.name}-dark.{fig.ext}" media="screen and (prefers-color-scheme: dark)">'
            f'<img src="figures/{fig.name}.{fig.ext}" alt="{html.escape(fig.alt)}"{dims} loading="lazy" '
            f'decoding="async" data-light="figures/{fig.name}.{fig.ext}" data-dark="figures/{fig.name}-dark.{fig.ext}">'
            f'</picture>')


def provenance_html(fig: RenderedFigure, anchor: str) -> str:
    rows = "".join(f"<dt>{html.escape(k.replace('_', ' '))}</dt><dd>{html.escape(str(v))}</dd>"
                   for k, v in fig.provenance.items())
    return (f'<details class="provenance" id="{anchor}-provenance"><summary>How this figure was made</summary>'
            f'<dl>{rows}</dl></details>')


def sized(fig: RenderedFigure) -> str:
    """The media box's class and style: fig.size is a checked length (sitegen.render.images),
    a number and a unit, nothing else."""
    return f' class="figure-media sized" style="max-width: {fig.size}"' if fig.size else ' class="figure-media"'


def figure_html(fig: RenderedFigure, number: int, width: str | None, anchor: str) -> str:
    """The figure: static SVG (light/dark), an optional chart slot that the page's
    script fills when it scrolls into view, the caption and the provenance card."""
    chart = ""
    if fig.spec is not None:
        chart = (f'<div class="vega-chart" data-spec="figures/{fig.name}.vl.json" role="group" '
                 f'aria-label="Interactive version of figure {number}" hidden></div>')
    media = picture_html(fig)
    if fig.spec is not None and not fig.result_key:  # an author's chart: its spec in the page, which a
        # file:// page cannot fetch
        spec = json.dumps(fig.spec, sort_keys=True, allow_nan=False).replace("</", "<\\/")
        media += f'<script type="application/json" class="vega-spec">{spec}</script>'
    return (
        f'<figure class="figure l-{width or fig.width}" id="{anchor}" data-figure="{fig.name}">'
        f'<div{sized(fig)}>{media}{chart}</div>'
        f'<figcaption><span class="figure-number">Figure {number}.</span> {fig.caption_html}'
        f'{provenance_html(fig, anchor)}</figcaption></figure>'
    )
