"""Notebooks as the author wrote them: a .ipynb validated against its nbformat
schema, and a notebook chapter (content/NN-name.ipynb) as a Markdown chapter.

A notebook chapter is shown as committed, outputs included: nbconvert writes its
cells as Markdown that goes through the same pipeline as a .md chapter. Its front
matter comes from metadata["chapter"] or a first raw cell holding a `---` YAML
block. A notebook that is not valid JSON or nbformat stops the build with one
line naming the file and the cell. Companion notebooks are executed and rendered
by sitegen.render.notebooks.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml

from ..errors import BuildError


def read(path: Path, text: str | None = None):
    """The notebook at `path`, validated against its nbformat schema."""
    import nbformat

    text = path.read_text(encoding="utf-8") if text is None else text
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        raise BuildError(f"invalid notebook: not JSON ({e.msg})", path, e.lineno) from None
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        where = list(getattr(e, "absolute_path", []) or [])
        cell = f"cell {where[1] + 1}: " if len(where) > 1 and where[0] == "cells" else ""
        raise BuildError(f"invalid notebook: {cell}{' '.join(str(e.message).split())[:200]}", path) from None
    except Exception as e:  # nbformat's reader errors (unknown version, missing keys)
        raise BuildError(f"invalid notebook: {type(e).__name__}: {e}", path) from None
    return nb


def _protect(text: str) -> str:
    """Code and outputs are shown, never run through the chapter's Jinja."""
    return "{% raw %}" + text + "{% endraw %}" if ("{{" in text or "{%" in text) else text


def chapter_markdown(path: Path, text: str | None = None) -> str:
    """A notebook chapter as a Markdown chapter: front matter, then cells as nbconvert writes them."""
    from nbconvert import MarkdownExporter

    nb = read(path, text)
    meta = nb.metadata.get("chapter")
    cells = list(nb.cells)
    if meta is None and cells and cells[0].cell_type in ("raw", "markdown") \
            and cells[0].source.lstrip().startswith("---"):
        front = cells.pop(0).source.strip()
    elif isinstance(meta, dict):
        front = "---\n" + yaml.safe_dump(dict(meta), sort_keys=False, allow_unicode=True) + "---"
    else:
        raise BuildError('a notebook chapter needs front matter: metadata "chapter" {title: ...} '
                         "or a first raw cell with a --- YAML block ---", path)
    for cell in cells:
        if cell.cell_type == "code":
            cell.source = _protect(cell.source)
            for out in cell.get("outputs", []):
                if "text" in out:
                    out.text = _protect(out.text)
                if "text/plain" in out.get("data", {}):
                    out.data["text/plain"] = _protect(out.data["text/plain"])
    nb.cells = cells
    body, resources = MarkdownExporter().from_notebook_node(nb)
    for name, data in (resources.get("outputs") or {}).items():
        mime = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "svg": "image/svg+xml"}.get(
            name.rsplit(".", 1)[-1], "application/octet-stream")
        body = body.replace(f"]({name})", f"](data:{mime};base64,{base64.b64encode(data).decode()})")
    return front + "\n\n" + body
