"""Notebooks, two ways:

* companion notebooks, content/notebooks/*.ipynb: executed by the build in quick
  mode (QUICK=1, nbclient, cached by the notebook and the `figures` package it
  imports), rendered with nbconvert into pages in the site's look, with the
  .ipynb to download;
* notebook chapters, content/NN-name.ipynb: nbconvert to Markdown (shown as
  committed, outputs included) that goes through the same pipeline as a .md
  chapter. Front matter comes from metadata["chapter"] or a first raw cell
  holding a `---` YAML block.

A notebook that is not valid JSON or nbformat, or a cell that raises, stops the
build with one line naming the file and the cell.
"""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from figures.store import canonical_json, sha256

from . import pandoc
from .errors import BuildError
from .project import REPO
from .video import Media

TIMEOUT_S = 600  # per cell


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


def kernel_env() -> dict:
    """Quick mode, the repository's packages importable, no progress bars."""
    env = dict(os.environ, QUICK="1", TQDM_DISABLE="1", PYTHONHASHSEED="0", MPLBACKEND="module://matplotlib_inline.backend_inline")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def execute(nb, path: Path):
    """Run every cell in a fresh kernel (in place); a failing cell is a one-line error."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        # the kernel's own log (a TCP warning) is not the author's business; cell errors come as messages
        client.execute(env=kernel_env(), stderr=subprocess.DEVNULL)
    except CellExecutionError as e:
        for i, cell in enumerate(nb.cells, 1):
            errs = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errs:
                first = (cell.source.strip().splitlines() or [""])[0][:60]
                raise BuildError(f"cell {i} (`{first}`) failed: {errs[0].ename}: {errs[0].evalue}", path) from None
        raise BuildError(f"a cell failed: {str(e).strip().splitlines()[-1]}", path) from None
    except CellTimeoutError:
        raise BuildError(f"a cell ran longer than {TIMEOUT_S} s", path) from None
    except DeadKernelError as e:
        raise BuildError(f"the kernel died: {e}", path) from None
    return nb


def _figures_source() -> str:
    return sha256(canonical_json({str(p.relative_to(REPO)): p.read_text(encoding="utf-8")
                                  for p in sorted((REPO / "figures").rglob("*.py"))}))


def executed(path: Path, cache: Path, log=print):
    """The notebook with the outputs of a quick run, cached by what they depend on."""
    from importlib.metadata import version

    import nbformat

    nb = read(path)
    key = sha256(canonical_json({
        "cells": [[c.cell_type, c.source] for c in nb.cells], "figures": _figures_source(),
        "torch": version("torch"), "python": sys.version.split()[0], "module": Path(__file__).read_text()}))[:20]
    hit = cache / "notebooks" / f"{path.stem}-{key}.ipynb"
    if hit.exists():
        return nbformat.read(str(hit), as_version=4)
    log(f"executing notebook {path.name} (quick mode)")
    execute(nb, path)
    hit.parent.mkdir(parents=True, exist_ok=True)
    for old in hit.parent.glob(f"{path.stem}-*.ipynb"):
        old.unlink()
    nbformat.write(nb, str(hit))
    return nb


def title_and_summary(nb, path: Path) -> tuple[str, str]:
    """The first Markdown heading, and the paragraph after it."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                rest = cell.source[m.end():].strip().split("\n\n")[0]
                return m.group(1).strip(), " ".join(rest.split())
    raise BuildError("a notebook needs a Markdown cell with a `# Title` heading", path)


def _markdown_cell(source: str) -> str:
    return pandoc.run(["-f", pandoc.READER, "-t", "html5", "--mathml", "--wrap=none"], source)


def to_html(nb) -> str:
    """The cells as HTML (nbconvert's basic template), Markdown through pandoc like the article."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", filters={"markdown2html": _markdown_cell})
    body, _ = exporter.from_notebook_node(nb)
    return body


def highlight_css() -> str:
    from pygments.formatters import HtmlFormatter

    # the two styles whose every colour keeps a 4.5:1 contrast on the site's code panels
    dark = HtmlFormatter(style="lightbulb").get_style_defs(".highlight")
    return (HtmlFormatter(style="xcode").get_style_defs(".highlight") +
            "\n@media (prefers-color-scheme: dark) {\n" + dark + "\n}\n")


def stage(project, log=print) -> Media:
    """Every companion notebook as site/notebooks/NAME.html and NAME.ipynb, and the article's list."""
    from .page import render_page

    folder = project.content / project.config.notebooks
    paths = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    media, listing = Media(), []
    css = highlight_css() if paths else ""
    for path in paths:
        nb = executed(path, project.cache, log)
        title, summary = title_and_summary(nb, path)
        entry = {"title": title, "summary": pandoc.inline_markdown(summary) if summary else "",
                 "href": f"notebooks/{path.stem}.html", "ipynb": f"notebooks/{path.name}", "file": path.name}
        page = render_page(project, {"site": project.config, "notebook": entry, "cells": to_html(nb),
                                     "highlight_css": css}, "notebook.html.j2")
        media.files[entry["href"]] = page.encode("utf-8")
        media.files[entry["ipynb"]] = path.read_bytes()
        listing.append(entry)
    media.context["notebooks"] = listing
    return media


# -- notebook chapters ----------------------------------------------------------
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
