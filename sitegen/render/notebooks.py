"""Companion notebooks, content/notebooks/*.ipynb: executed in quick mode (QUICK=1,
nbclient), rendered with nbconvert into pages in the site's look, with the .ipynb
to download. A cell that raises stops the build with one line naming the notebook
and the cell.

An executed notebook is cached by its cells and by the content of exactly the
files its kernel imported or read inside the repository or the project (traced
in the kernel with an audit hook, named relative to them): editing a plot module
or a chapter, adding an experiment, or moving the checkout runs no notebook;
editing a module it imports, or a file it reads, does.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .. import pandoc
from figures.store import sha256

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


# hidden cells around the author's, run without history (no In[] number): the first
# records every file the kernel opens for reading, the last reports them with the
# files of the imported modules
_TRACE_START = """
def _sitegen_trace():
    import os, sys, types
    trace = sys.modules["_sitegen_trace"] = types.ModuleType("_sitegen_trace")
    trace.opened = set()
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def hook(event, args):
        if event == "open" and isinstance(args[0], (str, bytes)):
            mode, flags = args[1], args[2]
            if (not set(mode) & set("wax+")) if isinstance(mode, str) else not (flags or 0) & writes:
                trace.opened.add(os.path.abspath(os.fsdecode(args[0])))
    sys.addaudithook(hook)
_sitegen_trace(); del _sitegen_trace
"""
_TRACE_REPORT = """
def _sitegen_report():
    import json, sys
    files = set(sys.modules["_sitegen_trace"].opened)
    files.update(f for m in list(sys.modules.values()) if isinstance(f := getattr(m, "__file__", None), str))
    print(json.dumps(sorted(files)))
_sitegen_report(); del _sitegen_report
"""


def execute(nb, path: Path, touched: list[str] | None = None):
    """Run every cell in a fresh kernel (in place); a failing cell is a one-line error.
    `touched` gets the absolute path of every file the kernel imported or read."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        # the kernel's own log (a TCP warning) is not the author's business; cell errors come as messages
        with client.setup_kernel(env=kernel_env(), stderr=subprocess.DEVNULL):
            info = client.wait_for_reply(client.kc.kernel_info())
            nb.metadata["language_info"] = info["content"]["language_info"]
            _hidden(client, _TRACE_START)
            for index, cell in enumerate(nb.cells):  # numbered as nbclient numbers them, the probe not counted
                client.execute_cell(cell, index, execution_count=client.code_cells_executed)
            report = _hidden(client, _TRACE_REPORT)
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
    if touched is not None:
        touched += json.loads("".join(o.get("text", "") for o in report.outputs if o.get("name") == "stdout"))
    return nb


def _hidden(client, code: str):
    """Run `code` as a cell of the notebook for a moment, out of its history."""
    from nbformat.v4 import new_code_cell

    cells = client.nb.cells
    cells.append(new_code_cell(code))
    try:
        return client.execute_cell(cells[-1], len(cells) - 1, store_history=False)
    finally:
        cells.pop()


def dependency_names(paths: list[str], root: Path) -> list[str]:
    """The files among `paths` inside the repository or the project `root`, named relative to
    it (`repo:figures/models/resnet.py`); the Python installation and caches are not among them."""
    outside = [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
    names = set()
    for p in map(Path, paths):
        p = p.resolve()
        if "__pycache__" in p.parts or "site-packages" in p.parts or any(p.is_relative_to(o) for o in outside):
            continue
        for label, base in (("repo", REPO), ("project", root.resolve())):
            if p.is_relative_to(base) and p.is_file():
                names.add(f"{label}:{p.relative_to(base).as_posix()}")
                break
    return sorted(names)


def dependency_digests(names: list[str], root: Path) -> dict[str, str | None]:
    """{name: sha256 of the file now, or None where it is gone}."""
    out = {}
    for name in names:
        label, rel = name.split(":", 1)
        try:
            out[name] = sha256(((REPO if label == "repo" else root) / rel).read_bytes())
        except OSError:
            out[name] = None
    return out


def executed(path: Path, cache_root: Path, log=print, root: Path = REPO):
    """The notebook with the outputs of a quick run, cached by its cells, torch, Python,
    this module, and the files the run imported or read (checked at each build)."""
    from importlib.metadata import version

    import nbformat

    nb = read(path)
    entry = key([[c.cell_type, c.source] for c in nb.cells], source(Path(__file__)),
                version("torch"), sys.version.split()[0])
    cache = Cache(cache_root, "notebooks")
    hit = cache.get(path.stem, entry)
    try:
        stored = json.loads(hit) if hit is not None else None
        if stored is not None and dependency_digests(list(stored["deps"]), root) == stored["deps"]:
            return nbformat.reads(stored["notebook"], as_version=4)
    except (ValueError, KeyError, TypeError, AttributeError):
        pass  # a damaged entry: run it again
    log(f"executing notebook {path.name} (quick mode)")
    touched: list[str] = []
    execute(nb, path, touched)
    deps = dependency_digests(dependency_names(touched, root), root)
    cache.put(path.stem, entry, json.dumps({"deps": deps, "notebook": nbformat.writes(nb)}).encode("utf-8"))
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


def rendered(nb, path: Path, cache_root: Path) -> dict:
    """{title, summary, cells} as HTML, cached by the executed notebook, this module and
    nbconvert's and pandoc's versions: an edit elsewhere converts no notebook again."""
    from importlib.metadata import version

    import nbformat

    def make() -> dict:
        title, summary = title_and_summary(nb, path)
        return {"title": title, "summary": pandoc.inline_markdown(summary) if summary else "", "cells": to_html(nb)}

    entry = key(nbformat.writes(nb), source(Path(__file__)), version("nbconvert"), pandoc.pandoc_version(cache_root))
    return Cache(cache_root, "notebooks").json(f"{path.stem}-html", entry, make)


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
        nb = executed(path, project.cache, log, project.root)
        html = rendered(nb, path, project.cache)
        entry = {"title": html["title"], "summary": html["summary"],
                 "href": f"notebooks/{path.stem}.html", "ipynb": f"notebooks/{path.name}", "file": path.name}
        page = render_page(project, {"site": project.config, "notebook": entry, "cells": html["cells"],
                                     "highlight_css": css}, "notebook.html.j2")
        media.files[entry["href"]] = page.encode("utf-8")
        media.files[entry["ipynb"]] = path.read_bytes()
        listing.append(entry)
    media.context["notebooks"] = listing
    return media
