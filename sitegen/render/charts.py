"""An author's chart: a Vega-Lite spec (a JSON file in the project) placed as a
numbered figure, as a plot module's chart is, but with nothing drawn by us:

    ![Accuracy by depth.](charts/accuracy.vl.json){#fig:accuracy alt="What the chart shows"}

The spec is checked before it is published: the file inside the project, strict
JSON (no NaN), a Vega-Lite spec by the schema that altair ships, and its data
inline (`"data": {"values": [...]}`), since a `url` would be fetched from the
reader's copy of the site, where nothing put it. The page's script renders it in
the reader's theme (light or dark); without JavaScript the alt text stands in.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

from ..errors import BuildError, find_line
from ..model import RenderedFigure

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
                 size: str) -> RenderedFigure:
    src = info["src"]
    path = (ch.path.parent / src).resolve()
    if not path.is_relative_to(project.root.resolve()):
        raise BuildError(f"chart spec {src!r} is outside the project", ch.path, line)
    spec = load_spec(path, src, ch, line)
    if not alt:
        raise BuildError(f"chart {src!r} has no alt text; add what it shows: "
                         f'{{#fig:{info["label"]} alt="..."}} (it stands in where the chart cannot run)', ch.path, line)
    spec.setdefault("description", alt)  # what a screen reader hears of the rendered chart
    prov = {"source": str(path.relative_to(project.root.resolve())), "chart": "Vega-Lite, data inline"}
    return RenderedFigure(info["label"], width, b"", b"", spec, caption, alt, prov, "", ext="", size=size)
