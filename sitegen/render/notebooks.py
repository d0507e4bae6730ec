"""Companion notebooks, content/notebooks/*.ipynb: run in quick mode in a Jupyter kernel
(sitegen.render.kernel), rendered by pandoc's ipynb reader into pages in the site's look, with the
.ipynb to download. A failing cell, a notebook past its time limit
(`notebook_time_limit_s` in site.yml) or an invalid .ipynb stops the build with one line.

An executed notebook is kept with the project (sitegen.render.executed, committed like
the results), keyed by its cells and by the content of exactly the files its kernel
imported or read inside the repository or the project: editing a plot module or a
chapter, adding an experiment, moving the checkout or cloning it runs no notebook;
editing a module it imports, or a file it reads, does (a frozen build refuses).
A fresh copy is found, and its page converted (one pandoc run), from the files' JSON
alone: such a build imports no nbformat, nbclient or nbconvert. Those to run or
convert are done by start(), in a forked process, while the build draws its figures
and runs pandoc.
"""
from __future__ import annotations

import base64
import functools
import json
import re
import time
from pathlib import Path

from lab.store import sha256

from .. import pandoc
from ..cache import Cache, key, source
from ..errors import BuildError
from ..model import Media
from ..project import REPO, Project
from ..read.notebooks import read
from . import drawing
from . import executed as executed_copy
from .kernel import TIME_LIMIT_S, dependency_digests, dependency_names, execute, sweep_kernel_files  # noqa: F401
from .templates import render_page


def _cells(data: bytes) -> list | None:
    """The cells' types and sources, read as plain JSON (a cached notebook needs no nbformat),
    or None for a file that is not a version-4 notebook (read() then says what is wrong)."""
    try:
        doc = json.loads(data)
        if doc.get("nbformat") != 4:
            return None
        return [[c["cell_type"], c["source"] if isinstance(c["source"], str) else "".join(c["source"])]
                for c in doc["cells"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _stored(path: Path, cache_root: Path, root: Path) -> tuple[str, str, executed_copy.Stored, object]:
    """(the run key, the file's sha256, its executed copy, the notebook where it had to be read).
    Each version of the file is validated once: the one the copy ran, others when first seen
    (remembered in .cache/notebooks)."""
    data = path.read_bytes()
    digest, cells, nb = sha256(data), _cells(data), None
    if cells is None:
        nb = read(path)  # an invalid notebook stops here, with its line
        cells = [[c.cell_type, c.source] for c in nb.cells]
    entry = executed_copy.run_key(cells)
    stored = executed_copy.load(path, entry, root)
    if stored.text is not None and digest != stored.meta.get("notebook_sha256"):  # the same cells, other metadata
        cache = Cache(cache_root, "notebooks")
        if cache.get(f"{path.stem}-checked", digest) is None:
            nb = nb if nb is not None else read(path)
            cache.put(f"{path.stem}-checked", digest, b"{}")
    return entry, digest, stored, nb


def executed_text(path: Path, cache_root: Path, log=print, root: Path = REPO,
                  time_limit_s: int = TIME_LIMIT_S, frozen: bool = False) -> str:
    """The notebook with the outputs of a quick run (nbformat's JSON): its executed copy
    (sitegen.render.executed) while fresh, else a run now that rewrites the copy; a frozen
    build refuses instead, saying why the copy is stale."""
    entry, digest, stored, nb = _stored(path, cache_root, root)
    if stored.text is not None:
        return stored.text
    if frozen:
        raise _refusal(path, stored.stale, root)
    nb = nb if nb is not None else read(path)
    log(f"executing notebook {path.name} (quick mode)")
    touched: list[str] = []
    t0 = time.perf_counter()
    execute(nb, path, touched, time_limit_s, kernels=cache_root / "kernels")
    deps = dependency_digests(dependency_names(touched, root), root)
    return executed_copy.save(path, nb, entry, digest, deps, time.perf_counter() - t0)


def _refusal(path: Path, stale: str, root: Path) -> BuildError:
    copy = executed_copy.copy_path(path)
    shown = copy.relative_to(root) if copy.is_relative_to(root) else copy
    return BuildError(f"{stale}; a frozen build never runs a notebook: `python build.py build` runs it "
                      f"and rewrites {shown}, to be committed", path)


def executed(path: Path, cache_root: Path, log=print, root: Path = REPO, time_limit_s: int = TIME_LIMIT_S):
    """executed_text, as a notebook."""
    import nbformat

    return nbformat.reads(executed_text(path, cache_root, log, root, time_limit_s), as_version=4)


def title_and_summary(nb, path: Path) -> tuple[str, str]:
    """The first Markdown heading, and the paragraph after it (`nb`: the notebook's JSON, or nbformat's)."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            m = re.search(r"^#\s+(.+)$", text, re.M)
            if m:
                rest = text[m.end():].strip().split("\n\n")[0]
                return m.group(1).strip(), " ".join(rest.split())
    raise BuildError("a notebook needs a Markdown cell with a `# Title` heading", path)


# an output's picture, as an <img> with its data inline (a page is one file, as nbconvert made it)
IMAGES = ("image/svg+xml", "image/png", "image/jpeg", "image/gif")


def _shown(cell: dict) -> dict:
    """A cell as its page shows it: no metadata (pandoc would print it as data- attributes), and
    each picture as an <img> with an alt text, since the notebook has none to give."""
    outputs = []
    for out in cell.get("outputs", []):
        out, data = {**out, "metadata": {}}, out.get("data") or {}
        mime = next((m for m in IMAGES if m in data), None)
        if "text/html" in data:  # nbconvert's preference too: a table over its picture
            out["data"] = {"text/html": data["text/html"]}
        elif mime is not None:
            raw = "".join(data[mime]) if isinstance(data[mime], list) else data[mime]
            b64 = (base64.b64encode(raw.encode("utf-8")).decode("ascii") if mime == "image/svg+xml"
                   else "".join(raw.split()))
            n = cell.get("execution_count")
            alt = f"A figure output of code cell [{n}]" if n else "A figure output of the code cell above"
            out["data"] = {"text/html": f'<img alt="{alt}" src="data:{mime};base64,{b64}">'}
        outputs.append(out)
    return {**cell, "metadata": {}, **({"outputs": outputs} if "outputs" in cell else {})}


def to_html(text: str, path: Path | None = None) -> str:
    """The cells as HTML, in one pandoc run of its ipynb reader: each Markdown cell parsed on its
    own (an unclosed fence stays in its cell), code highlighted as in the chapters, outputs'
    colour codes dropped. nbconvert, used before, took a second of CPU and a pandoc run per
    Markdown cell: the largest part of a cold build."""
    doc = json.loads(text)
    doc["cells"] = [_shown(c) for c in doc["cells"]]
    return pandoc.run(["-f", "ipynb", "-t", "html5", "--mathml", "--wrap=none"], json.dumps(doc), path)


def rendered(nb, path: Path, cache_root: Path) -> dict:
    """{title, summary, cells} as HTML, cached by the executed notebook, this module and
    pandoc's version: an edit elsewhere converts no notebook again."""
    import nbformat

    return page(nbformat.writes(nb), path, cache_root)


def _page_key(text: str, cache_root: Path) -> str:
    return key(text, source(Path(__file__)), pandoc.pandoc_version(cache_root))


def page(text: str, path: Path, cache_root: Path) -> dict:
    """rendered() of an executed notebook's text: its JSON to HTML, with no Jupyter package."""
    def make() -> dict:
        title, summary = title_and_summary(json.loads(text), path)
        return {"title": title, "summary": pandoc.inline_markdown(summary) if summary else "", "cells": to_html(text, path)}

    return Cache(cache_root, "notebooks").json(f"{path.stem}-html", _page_key(text, cache_root), make)


def time_limit(project: Project) -> int:
    """site.yml's notebook_time_limit_s, checked: whole seconds, 1 or more."""
    limit = getattr(project.config, "notebook_time_limit_s", TIME_LIMIT_S)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        site = project.content / "site.yml"
        lines = site.read_text(encoding="utf-8", errors="replace").splitlines() if site.exists() else []
        line = next((i for i, ln in enumerate(lines, 1) if ln.startswith("notebook_time_limit_s:")), None)
        raise BuildError(f"notebook_time_limit_s must be whole seconds, 1 or more, not {limit!r}", site, line)
    return limit


def paths(project: Project) -> list[Path]:
    folder = project.content / project.config.notebooks
    return sorted(folder.glob("*.ipynb")) if folder.is_dir() else []


def start(project: Project, log=print, frozen: bool = False, running: list | None = None) -> drawing.Workers:
    """Run and convert the notebooks whose page is not cached in a forked process (media()
    then finds them cached), so that their kernel's start overlaps the build's other work;
    `running` gets the names of those run. A frozen build refuses here, before any work.
    Before any thread starts; with threads running they are done in finish(), here."""
    limit, todo, cache = time_limit(project), [], Cache(project.cache, "notebooks")
    for path in paths(project):
        _, _, stored, _ = _stored(path, project.cache, project.root)
        if stored.text is None:
            if frozen:
                raise _refusal(path, stored.stale, project.root)
            log(f"executing notebook {path.name} (quick mode)")
            if running is not None:
                running.append(path.name)
        if stored.text is None or not cache.has(f"{path.stem}-html", _page_key(stored.text, project.cache)):
            todo.append(path)
    return drawing.start(todo, functools.partial(_prepare, cache_root=project.cache, root=project.root, limit=limit),
                         own_share=False)


def _prepare(path: Path, cache_root: Path, root: Path, limit: int) -> None:
    page(executed_text(path, cache_root, lambda m: None, root, limit), path, cache_root)


def media(project: Project, log=print, frozen: bool = False) -> Media:
    """Every companion notebook as site/notebooks/NAME.html and NAME.ipynb, and the article's list."""
    found = paths(project)
    media, listing = Media(), []
    limit = time_limit(project)
    for path in found:
        text = executed_text(path, project.cache, log, project.root, limit, frozen)
        html = page(text, path, project.cache)
        entry = {"title": html["title"], "summary": html["summary"],
                 "href": f"notebooks/{path.stem}.html", "ipynb": f"notebooks/{path.name}", "file": path.name}
        ran = executed_copy.provenance(json.loads(text)["metadata"]["sitegen"], path, project.root)
        text = render_page(project, {"site": project.config, "notebook": entry, "cells": html["cells"],
                                     "ran": ran}, "notebook.html.j2")
        media.files[entry["href"]] = text.encode("utf-8")
        media.files[entry["ipynb"]] = path.read_bytes()
        listing.append(entry)
    media.context["notebooks"] = listing
    return media
