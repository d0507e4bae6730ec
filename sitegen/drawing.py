"""Figures drawn in parallel: matplotlib holds the GIL, so with several figures to
draw, helper processes each take a share while the build draws the first one.

A helper must not outlive the build that started it (a build killed with -9
would leave it writing into .cache after the lock is free): on Linux the kernel
kills it when its parent dies (PR_SET_PDEATHSIG), and everywhere it checks,
before each figure, that its parent is still the build.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

from .errors import BuildError
from .project import REPO, Project

PR_SET_PDEATHSIG = 1


def draw_figures(project: Project, names: list[str], results: dict, drawn: Callable[[str], None]) -> dict:
    """{name: RenderedFigure} for `names`, from the cache or drawn (`drawn(name)` for each drawn)."""
    from .figure_render import cache_file, render_figure

    cache = project.cache / "figures"
    misses = [n for n in names if not cache_file(n, results[n], cache).exists()]
    cpus = os.cpu_count() or 1
    shares = [misses[i::cpus] for i in range(min(len(misses), cpus))]
    helpers = [start_helper(project, [(n, results[n].experiment, results[n].profile) for n in share])
               for share in shares[1:]]
    mine = set(shares[0]) if shares else set()
    out = {}
    try:
        for name in names:
            if name not in misses or name in mine:
                out[name] = render_figure(name, results[name], cache)
        for helper in helpers:
            out_text, err_text = helper.communicate()
            if helper.returncode != 0:
                if out_text.strip():
                    raise BuildError(*json.loads(out_text))
                raise RuntimeError(f"figure helper failed: {(err_text.strip().splitlines() or ['killed'])[-1]}")
    finally:
        for helper in helpers:
            if helper.poll() is None:
                helper.kill()
                helper.wait()
    for name in names:
        if name not in out:
            out[name] = render_figure(name, results[name], cache)  # drawn by a helper: cached now
        if name in misses:
            drawn(name)
    return out


def start_helper(project: Project, jobs: list[tuple[str, str, str]]) -> subprocess.Popen:
    """A process that draws `jobs` [(figure, experiment, profile)] into the figure cache."""
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r}); from sitegen.drawing import draw_into_cache; "
            f"sys.exit(draw_into_cache({str(project.root)!r}, {str(project.results)!r}, "
            f"{str(project.cache / 'figures')!r}, {jobs!r}, {os.getpid()}))")
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies; exit now if it already has."""
    global _parent
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # the check before each figure remains
    _parent = parent
    orphaned()


_parent = 0  # the build's pid, in a helper


def orphaned() -> None:
    """Exit if the build that started this helper is gone (its pid is no longer our parent)."""
    if _parent and os.getppid() != _parent:
        os._exit(1)


def draw_into_cache(root: str, results: str, cache: str, jobs: list, parent: int = 0) -> int:
    """The helper's side: draw each figure; a BuildError goes to stdout as JSON, exit 1."""
    die_with_parent(parent)
    from figures.store import ResultStore

    from . import freshness
    from .figure_render import render_figure

    freshness.use_project_modules(Path(root))
    store = ResultStore(Path(results))
    try:
        for name, experiment, profile in jobs:
            orphaned()
            render_figure(name, store.load(experiment, profile), Path(cache))
    except BuildError as e:
        print(json.dumps([e.message, e.file, e.line]))
        return 1
    return 0
