"""The project's plot modules, found and imported for the build.

Which folders hold a project's own experiments and plots, and searching them for
one build (`project_modules`), is the lab's business (lab.project); the site adds
its plots, figures.plots, to the packages searched. A mistake in
an author's module is a one-line BuildError naming its file and line.
"""
from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import traceback
from pathlib import Path

from lab import paths, project
from lab.paths import source_files  # noqa: F401  (for the plan)

from .errors import BuildError


PACKAGES = (*paths.PACKAGES, "figures.plots")  # the lab's experiments, and the site's plots


def project_modules(root: Path):
    """A project's own experiments and plots searched too, for one build (lab.project)."""
    return project.project_modules(root, PACKAGES)


def forget_modules() -> None:
    """The preview's: import the edited experiments, models and plots afresh."""
    paths.forget_modules(PACKAGES)


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
