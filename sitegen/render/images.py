"""Figures of the author's own: an image, or a diagram drawn from the models.

    ![The residual block.](images/block.svg){#fig:block alt="What the image shows"}
    ![The CIFAR ResNet.](diagram:stages){#fig:stages .screen models="resnet20 resnet20_b"}
    ![Accuracy by depth.](charts/accuracy.vl.json){#fig:accuracy alt="..." width=80%}

The Lua filter turns each into the slot a plot figure gets, preceded by its
source (a JSON comment) and caption; here they become RenderedFigures, so the
post-pass numbers them with the plot figures and `@fig:name` refers to them.
An image is SVG or PNG, relative to the chapter, with alt text, and an optional
dark variant (`dark="..."`, or `name-dark.svg` beside it). A diagram names a
module of figures/diagrams and the models it draws; its alt text is written
from the same traced structure. Diagrams are cached by everything they read. A
Vega-Lite spec is a chart (below). `width=` narrows any of them;
an attribute or class the figure would ignore is an error, not a silent loss.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path

from ..cache import Cache, key, source
from ..errors import BuildError, find_line
from ..model import RenderedFigure
from ..project import REPO
from . import charts

SLOT = re.compile(r'<!--image-figure (\{.*?\})-->\s*<figcaption class="image-caption">(.*?)</figcaption>\s*', re.S)
KINDS = {".svg": "svg", ".png": "png"}
ATTRIBUTES = ("alt", "fig-alt", "dark", "models", "width")
WIDTHS = ("body", "page", "screen")
SIZE = re.compile(r"(\d{1,4}(?:\.\d+)?)(%|px|em|rem)?")


def collect(chapters, project, theme_json: str) -> dict[str, RenderedFigure]:
    """Every author figure of the chapters, by name; their source comments leave the HTML."""
    out: dict[str, RenderedFigure] = {}
    for ch in chapters:
        for m in SLOT.finditer(ch.html):
            info = json.loads(m.group(1))
            line = label_line(ch, info["label"])
            size = checked_size(info, ch, line)
            if info["src"].lower().endswith(".json"):
                fig = chart_figure(info, m.group(2), ch, line, project, alt_of(info), width_of(info, "body"), size,
                                   theme_json)
            else:
                draw = diagram_figure if info["src"].startswith("diagram:") else image_figure
                fig = draw(info, m.group(2), ch, line, project, theme_json)
            out[fig.name] = dataclasses.replace(fig, size=size)
        ch.html = SLOT.sub("", ch.html)
    return out


def label_line(ch, label: str) -> int | None:
    """The line that labels a figure `{#fig:label}` (or Quarto's `{#fig-label}`)."""
    return ch.line_of(re.compile(r"\{#fig[:-]" + re.escape(label) + r"[\s}]"))


def checked_size(info: dict, ch, line) -> str:
    """Every attribute and class of the figure is one it uses; its `width=`, as a CSS length."""
    for name in info["attributes"]:
        if name not in ATTRIBUTES:
            raise BuildError(f"figure attribute {name} is not supported (it would be dropped); known: "
                             f"{', '.join(ATTRIBUTES)}", ch.path, line)
    for c in info.get("classes", []):
        if c.removeprefix("l-") not in WIDTHS:
            raise BuildError(f"figure class .{c} is not supported; a figure's width is .body, .page or .screen, "
                             f"or width=60%", ch.path, line)
    width = str(info["attributes"].get("width", ""))
    m = SIZE.fullmatch(width)
    if width and not (m and 0 < float(m.group(1)) and (m.group(2) != "%" or float(m.group(1)) <= 100)):
        raise BuildError(f"figure width {width!r} must be a percentage up to 100% or a length in px, em or rem, "
                         f"such as width=60%", ch.path, line)
    return width + ("px" if m and not m.group(2) else "")


def width_of(info: dict, default: str) -> str:
    for c in info.get("classes", []):
        w = c.removeprefix("l-")
        if w in ("body", "page", "screen"):
            return w
    return default


def alt_of(info: dict) -> str:
    a = info["attributes"]
    return " ".join(str(a.get("alt") or a.get("fig-alt") or "").split())


def image_figure(info: dict, caption: str, ch, line, project, theme_json) -> RenderedFigure:
    src = info["src"]
    path = (ch.path.parent / src).resolve()
    if path.suffix.lower() not in KINDS:
        raise BuildError(f"figure image {src!r} must be .svg or .png (or a Vega-Lite spec, .json)", ch.path, line)
    if not path.is_relative_to(project.root.resolve()):
        raise BuildError(f"figure image {src!r} is outside the project", ch.path, line)
    if not path.is_file():
        raise BuildError(f"figure image {src!r} not found (looked for {path})", ch.path, line)
    alt = alt_of(info)
    if not alt:
        raise BuildError(f"figure image {src!r} has no alt text; add what it shows: "
                         f'{{#fig:{info["label"]} alt="..."}}', ch.path, line)
    dark_src = info["attributes"].get("dark")
    dark = (ch.path.parent / dark_src).resolve() if dark_src else path.with_name(f"{path.stem}-dark{path.suffix}")
    if dark_src and not dark.is_file():
        raise BuildError(f"dark variant {dark_src!r} of figure {info['label']!r} not found", ch.path, line)
    if (dark.exists() or dark.is_symlink()) and not dark.resolve().is_relative_to(project.root.resolve()):
        raise BuildError(f"dark variant {dark_src or dark.name!r} of figure {info['label']!r} is outside the project "
                         f"(a link to {dark.resolve()})", ch.path, line)
    dark = dark.resolve()
    light = path.read_bytes()
    prov = {"source": str(path.relative_to(project.root.resolve()))}
    if dark.is_file():
        prov["dark variant"] = str(dark.relative_to(project.root.resolve()))
    return RenderedFigure(info["label"], width_of(info, "body"), light, dark.read_bytes() if dark.is_file() else light,
                          None, caption, alt, prov, "", ext=KINDS[path.suffix.lower()])


def themes(theme_json: str) -> dict[str, dict]:
    """The chart colours (sitegen.render.page_meta.chart_theme) as a diagram uses them."""
    out = {}
    for name, t in json.loads(theme_json).items():
        out[name] = {"fg": t["fg"], "muted": t["muted"], "plain": t["category"][0], "residual": t["category"][1]}
    return out


def diagram_figure(info: dict, caption: str, ch, line, project, theme_json) -> RenderedFigure:
    from lab.keys import library_version

    name = info["src"].removeprefix("diagram:")
    known = sorted(p.stem for p in (REPO / "figures" / "diagrams").glob("*.py") if not p.stem.startswith("_"))
    if name not in known:
        raise BuildError(f"unknown diagram {name!r}; known: {', '.join(known)}", ch.path, line)
    models = str(info["attributes"].get("models", "")).split()
    # what a diagram is read from: the diagrams, the models and how the experiments build them
    entry = key(name, models, theme_json, source("figures.diagrams", "lab.models", "lab.networks"),
                library_version("torch"))

    def draw() -> dict:
        from figures import diagrams

        unknown = [m for m in models if m not in diagrams.known_models()]
        if unknown:
            raise BuildError(f"diagram {name!r}: unknown model {unknown[0]!r}; known: "
                             f"{', '.join(diagrams.known_models())}", ch.path, line)
        module = diagrams.get(name)
        try:
            svgs = {t: module.draw(models, colours) for t, colours in themes(theme_json).items()}
            return {"light": svgs["light"], "dark": svgs["dark"], "alt": module.alt(models),
                    "width": getattr(module, "WIDTH", "body"), "models": models or list(module.DEFAULT)}
        except Exception as e:  # a model this diagram cannot read: say which
            raise BuildError(f"diagram {name!r} could not be drawn: {type(e).__name__}: {e}", ch.path, line) from None

    doc = Cache(project.cache, "diagrams").json(name, entry, draw)
    prov = {"diagram": f"figures/diagrams/{name}.py", "models": ", ".join(doc["models"]),
            "read from": "lab/models through lab.networks: the layers from a torch.fx trace, "
                         "the shapes from one 3×32×32 image", "torch": library_version("torch")}
    return RenderedFigure(info["label"], width_of(info, doc["width"]), doc["light"].encode(), doc["dark"].encode(),
                          None, caption, alt_of(info) or doc["alt"], prov, "")


# -- an author's chart ----------------------------------------------------------------------
# An author's chart: a Vega-Lite spec (a JSON file in the project) placed as a
# numbered figure, as a plot module's chart is, but with nothing drawn by us:
#
#     ![Accuracy by depth.](charts/accuracy.vl.json){#fig:accuracy alt="What the chart shows"}
#
# The spec is checked before it is published: the file inside the project, strict
# JSON (no NaN), a Vega-Lite spec by the schema that altair ships, and its data
# inline (`"data": {"values": [...]}`), since a `url` would be fetched from the
# reader's copy of the site, where nothing put it. The build draws it to static SVG,
# light and dark (sitegen.render.charts), for print, readers without JavaScript and
# feeds; the page's script replaces that with the chart, in the reader's theme.

MAX_BYTES = 2_000_000  # a spec with its data inline; more is not a figure's worth


@functools.lru_cache(maxsize=1)
def _validator():
    import altair
    import jsonschema

    schema = Path(altair.__file__).parent / "vegalite" / "v6" / "schema" / "vega-lite-schema.json"
    return jsonschema.Draft7Validator(json.loads(schema.read_text(encoding="utf-8")))


def _strict(token: str):
    raise ValueError(f"{token} is not JSON (write null, or leave the point out)")


def load_spec(path: Path, src: str, ch, line: int | None) -> dict:
    """The spec in `path`, checked; every mistake is one line at the chapter or in the spec."""
    if not path.is_file():
        raise BuildError(f"chart spec {src!r} not found (looked for {path})", ch.path, line)
    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        raise BuildError(f"chart spec {src!r} is {len(raw):,} bytes, more than {MAX_BYTES:,}; "
                         f"aggregate its data first", ch.path, line)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BuildError(f"not valid UTF-8 (byte {raw[e.start]:#x}); save the file as UTF-8", path,
                         raw.count(b"\n", 0, e.start) + 1) from None
    try:
        spec = json.loads(text, parse_constant=_strict)
    except json.JSONDecodeError as e:
        raise BuildError(f"chart spec is not valid JSON: {e.msg} (column {e.colno})", path, e.lineno) from None
    except (ValueError, RecursionError) as e:
        raise BuildError(f"chart spec is not valid JSON: {e}", path) from None
    if not isinstance(spec, dict):
        raise BuildError("a chart spec is a JSON object, such as {\"mark\": \"bar\", ...}", path, 1)
    schema = str(spec.get("$schema", ""))
    if schema and "vega-lite" not in schema:
        raise BuildError(f"chart spec must be Vega-Lite, not {schema}", path, find_line(text, '"$schema"'))
    if url := _data_url(spec):
        raise BuildError(f"chart data from a url ({url[:80]!r}) is not published with the site; put the values "
                         f'in the spec: "data": {{"values": [...]}}', path, find_line(text, '"url"'))
    import jsonschema

    error = jsonschema.exceptions.best_match(_validator().iter_errors(spec))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "the top level"
        keys = [p for p in error.absolute_path if isinstance(p, str)]
        found = find_line(text, f'"{keys[-1]}"') if keys else None
        raise BuildError(f"chart spec is not Vega-Lite at {where}: {_short(error.message)}", path, found or 1)
    return spec


def _short(message: str) -> str:
    return message if len(message) <= 200 else message[:200] + "..."


def _data_url(node) -> str | None:
    """The first `"data": {"url": ...}` anywhere in the spec (layers, facets and concats have their own)."""
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict) and "url" in data:
            return str(data["url"])
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    return next(filter(None, (_data_url(c) for c in children)), None)


def chart_figure(info: dict, caption: str, ch, line: int | None, project, alt: str, width: str,
                 size: str, theme_json: str) -> RenderedFigure:
    src = info["src"]
    path = (ch.path.parent / src).resolve()
    if not path.is_relative_to(project.root.resolve()):
        raise BuildError(f"chart spec {src!r} is outside the project", ch.path, line)
    spec = load_spec(path, src, ch, line)
    if not alt:
        raise BuildError(f"chart {src!r} has no alt text; add what it shows: "
                         f'{{#fig:{info["label"]} alt="..."}} (it stands in where the chart cannot run)', ch.path, line)
    spec.setdefault("description", alt)  # what a screen reader hears of the rendered chart
    light, dark = charts.static_svgs(info["label"], spec, theme_json, project.cache, path)
    prov = {"source": str(path.relative_to(project.root.resolve())), "chart": "Vega-Lite, data inline",
            "static image": f"drawn by vl-convert {charts.converter_version()} (Vega-Lite {charts.VEGA_LITE})"}
    return RenderedFigure(info["label"], width, light, dark, spec, caption, alt, prov, "", size=size)
