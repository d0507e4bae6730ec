"""The project's plot modules, found and imported for the build.

Which folders hold a project's own experiments and plots is figures' business
(figures.paths); `project_modules` puts them on the search paths for one build,
the way pelican scopes its plugin paths, and puts everything back afterwards, so
that a test or the bench that builds a temporary project leaves this process as
it found it. For this checkout's own project it changes nothing. A mistake in an
author's module is a one-line BuildError naming its file and line.
"""
from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path

from figures.paths import PACKAGES, use_project_modules
from figures.paths import forget_modules, source_files  # noqa: F401  (for the plan and the preview)

from .errors import BuildError


@contextlib.contextmanager
def project_modules(root: Path):
    """<root>/figures/{experiments,plots} searched too within the block; afterwards the
    packages' search paths, their imported modules and the experiment registry are as
    they were (modules of this checkout imported meanwhile stay: they are the same)."""
    from figures import experiments

    packages = {name: importlib.import_module(name) for name in PACKAGES}
    searched = {name: list(pkg.__path__) for name, pkg in packages.items()}
    prefixes = tuple(name + "." for name in PACKAGES)
    imported = {m: mod for m, mod in sys.modules.items() if m.startswith(prefixes)}
    registered = dict(experiments.REGISTRY)
    use_project_modules(root)
    try:
        yield
    finally:
        for name, pkg in packages.items():
            pkg.__path__[:] = searched[name]
        importlib.invalidate_caches()
        dirs = tuple(os.path.join(d, "") for paths in searched.values() for d in paths)
        foreign = [m for m, mod in sys.modules.items() if m.startswith(prefixes) and imported.get(m) is not mod
                   and not str(getattr(mod, "__file__", "") or "").startswith(dirs)]
        for m in foreign:
            del sys.modules[m]
        for m, mod in imported.items():
            sys.modules.setdefault(m, mod)
        for name in [n for n, e in experiments.REGISTRY.items() if e.run.__module__ in foreign]:
            del experiments.REGISTRY[name]
        for name, e in registered.items():
            experiments.REGISTRY.setdefault(name, e)


def plot_names() -> list[str]:
    from figures import plots

    return plots.names()


def plot_experiment(name: str) -> str:
    """EXPERIMENT of plot module `name`, read from its source (no matplotlib import)."""
    spec = importlib.util.find_spec(f"figures.plots.{name}") if name in plot_names() else None
    if spec is None or spec.origin is None:
        raise BuildError(f"unknown figure {name!r}; known: {', '.join(plot_names()) or 'none'}")
    experiment = _literal_experiment(spec.origin, Path(spec.origin).stat().st_mtime_ns)
    if experiment is None:
        experiment = getattr(load_plot(name), "EXPERIMENT", None)
    if not isinstance(experiment, str):
        raise BuildError("a plot module needs EXPERIMENT = \"<experiment name>\"", spec.origin, 1)
    return experiment


def load_plot(name: str):
    """figures.plots.<name>, imported; a mistake in it is its author's, named with its line."""
    if name not in plot_names():
        raise BuildError(f"unknown figure {name!r}; known: {', '.join(plot_names()) or 'none'}")
    try:
        return importlib.import_module(f"figures.plots.{name}")
    except Exception as e:
        raise import_error(e, f"plot module {name}") from None


def import_error(e: BaseException, what: str) -> BuildError:
    """`file:line: ...` for an exception raised while importing an author's module."""
    if isinstance(e, SyntaxError):
        return BuildError(f"{what}: {type(e).__name__}: {e.msg}", e.filename, e.lineno)
    frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith("<")]
    last = frames[-1] if frames else None
    return BuildError(f"{what} fails to import: {type(e).__name__}: {e}",
                      last.filename if last else None, last.lineno if last else None)


@functools.lru_cache(maxsize=256)
def _literal_experiment(path: str, _mtime: int) -> str | None:
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except SyntaxError:
        return None  # importing it reports the error with its line
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "EXPERIMENT" for t in node.targets)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    return None
