"""Companion notebooks, content/notebooks/*.ipynb: executed in quick mode (QUICK=1,
nbclient), rendered with nbconvert into pages in the site's look, with the .ipynb
to download. A cell that raises stops the build with one line naming the notebook
and the cell; so does a notebook that runs past its time limit (`notebook_time_limit_s`
in site.yml, for all its cells together). Its kernel, and whatever the kernel
started, is then killed, not asked to stop; a kernel whose build was killed ends by
itself (ipykernel watches its parent), and the next build removes its connection file.

An executed notebook is cached by its cells and by the content of exactly the
files its kernel imported or read inside the repository or the project (traced
in the kernel with an audit hook, named relative to them): editing a plot module
or a chapter, adding an experiment, or moving the checkout runs no notebook;
editing a module it imports, or a file it reads, does.
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from .. import pandoc
from figures.store import sha256

from ..cache import Cache, key, source
from ..errors import BuildError
from ..model import Media
from ..project import REPO, Project
from ..read.notebooks import read
from .templates import render_page

TIME_LIMIT_S = 300  # a notebook's cells together, unless site.yml's notebook_time_limit_s says otherwise


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


def execute(nb, path: Path, touched: list[str] | None = None, time_limit_s: int = TIME_LIMIT_S,
            kernels: Path | None = None):
    """Run every cell in a fresh kernel (in place), all of them within `time_limit_s`; a
    failing cell, or the one running at the limit, is a one-line error. `touched` gets the
    absolute path of every file the kernel imported or read. `kernels`: the folder of the
    kernels' connection files (default: Jupyter's runtime folder)."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    client = _client(nb, kernels, timeout=time_limit_s, kernel_name="python3", allow_errors=False,
                     resources={"metadata": {"path": str(path.parent)}})
    at = -1  # the author's cell running (-1: none, ours)
    try:
        # the kernel's own log (a TCP warning) is not the author's business; cell errors come as messages
        with client.setup_kernel(env=kernel_env(), stderr=subprocess.DEVNULL):
            try:
                info = client.wait_for_reply(client.kc.kernel_info())
                nb.metadata["language_info"] = info["content"]["language_info"]
                deadline = time.monotonic() + time_limit_s
                _hidden(client, _TRACE_START)
                for at, cell in enumerate(nb.cells):  # numbered as nbclient numbers them, the probe not counted
                    # nbclient's limit is per cell: each gets what the notebook has left
                    client.timeout = max(1, math.ceil(deadline - time.monotonic()))
                    client.execute_cell(cell, at, execution_count=client.code_cells_executed)
                at = -1
                client.timeout = max(1, math.ceil(deadline - time.monotonic()))
                report = _hidden(client, _TRACE_REPORT)
            except BaseException:  # a busy or broken kernel (and what it started) is killed, not asked
                client.shutdown_kernel = "immediate"
                raise
    except CellExecutionError as e:
        for i, cell in enumerate(nb.cells, 1):
            errs = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errs:
                first = (cell.source.strip().splitlines() or [""])[0][:60]
                raise BuildError(f"cell {i} (`{first}`) failed: {errs[0].ename}: {errs[0].evalue}", path) from None
        raise BuildError(f"a cell failed: {str(e).strip().splitlines()[-1]}", path) from None
    except CellTimeoutError:
        first = (nb.cells[at].source.strip().splitlines() or [""])[0][:60] if at >= 0 else ""
        which = f"cell {at + 1} (`{first}`)" if at >= 0 else "the notebook"
        raise BuildError(f"{which} was still running at the notebook's time limit, {time_limit_s} s "
                         "(notebook_time_limit_s in site.yml)", path) from None
    except DeadKernelError as e:
        raise BuildError(f"the kernel died: {e}", path) from None
    if touched is not None:
        touched += json.loads("".join(o.get("text", "") for o in report.outputs if o.get("name") == "stdout"))
    return nb


def _client(nb, kernels: Path | None, **options):
    """nbclient's client, its kernel's connection file in `kernels`, named by this process:
    a file whose process is gone was left by a killed build, and is removed."""
    from nbclient import NotebookClient

    class Client(NotebookClient):
        def create_kernel_manager(self):
            km = super().create_kernel_manager()
            if kernels is not None:
                kernels.mkdir(parents=True, exist_ok=True)
                sweep_kernel_files(kernels)
                km.connection_file = str(kernels / f"kernel-{os.getpid()}-{uuid.uuid4().hex[:12]}.json")
            return km

    return Client(nb, **options)


def sweep_kernel_files(folder: Path) -> None:
    """Remove the connection files of kernels whose build process has ended."""
    for f in folder.glob("kernel-*-*.json"):
        try:
            os.kill(int(f.name.split("-")[1]), 0)
        except ProcessLookupError:
            f.unlink(missing_ok=True)
        except (ValueError, PermissionError):
            pass  # not ours, or another user's live process


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


def executed(path: Path, cache_root: Path, log=print, root: Path = REPO, time_limit_s: int = TIME_LIMIT_S):
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
    execute(nb, path, touched, time_limit_s, kernels=cache_root / "kernels")
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


def time_limit(project: Project) -> int:
    """site.yml's notebook_time_limit_s, checked: whole seconds, 1 or more."""
    limit = getattr(project.config, "notebook_time_limit_s", TIME_LIMIT_S)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        site = project.content / "site.yml"
        lines = site.read_text(encoding="utf-8", errors="replace").splitlines() if site.exists() else []
        line = next((i for i, ln in enumerate(lines, 1) if ln.startswith("notebook_time_limit_s:")), None)
        raise BuildError(f"notebook_time_limit_s must be whole seconds, 1 or more, not {limit!r}", site, line)
    return limit


def media(project: Project, log=print) -> Media:
    """Every companion notebook as site/notebooks/NAME.html and NAME.ipynb, and the article's list."""
    folder = project.content / project.config.notebooks
    paths = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    media, listing = Media(), []
    css = highlight_css() if paths else ""
    limit = time_limit(project)
    for path in paths:
        nb = executed(path, project.cache, log, project.root, limit)
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
