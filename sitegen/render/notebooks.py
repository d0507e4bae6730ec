"""Companion notebooks, content/notebooks/*.ipynb: executed in quick mode (QUICK=1,
nbclient; cached by the notebook and the code it imports), rendered with nbconvert
into pages in the site's look, with the .ipynb to download. A cell that raises
stops the build with one line naming the notebook and the cell.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .. import pandoc
from ..cache import Cache, key, source
from ..errors import BuildError
from ..model import Media
from ..project import REPO, Project
from ..read.notebooks import read
from .templates import render_page

TIMEOUT_S = 600  # per cell


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


def executed(path: Path, cache_root: Path, log=print):
    """The notebook with the outputs of a quick run, cached by what they depend on:
    its cells, the figures package it imports, torch, Python and this module."""
    from importlib.metadata import version

    import nbformat

    nb = read(path)
    entry = key([[c.cell_type, c.source] for c in nb.cells], source(REPO / "figures", Path(__file__)),
                version("torch"), sys.version.split()[0])
    cache = Cache(cache_root, "notebooks")
    hit = cache.get(path.stem, entry, ".ipynb")
    if hit is not None:
        return nbformat.reads(hit.decode("utf-8"), as_version=4)
    log(f"executing notebook {path.name} (quick mode)")
    execute(nb, path)
    cache.put(path.stem, entry, nbformat.writes(nb).encode("utf-8"), ".ipynb")
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


def media(project: Project, log=print) -> Media:
    """Every companion notebook as site/notebooks/NAME.html and NAME.ipynb, and the article's list."""
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
