"""The project's own Python modules: its experiments and plots, found and imported.

A project may bring its own experiments and plots: <root>/figures/experiments
and <root>/figures/plots join the packages' search paths (the benchmark and the
tests register small experiments that way). That is process-wide state, so it
lives here alone: `use_project_modules` sets it for one project (and forgets
another project's modules), `forget_modules` makes a long-running preview import
edited files afresh. A mistake in an author's module is a one-line BuildError
naming its file and line.
"""
from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import sys
import traceback
from pathlib import Path

from .errors import BuildError

PACKAGES = ("figures.experiments", "figures.plots")


def use_project_modules(root: Path) -> None:
    """Search <root>/figures/{experiments,plots} too, and forget another project's modules."""
    changed = False
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        base = Path(pkg.__file__).parent
        local = root / "figures" / base.name
        paths = [str(base)] + ([str(local)] if local.is_dir() and local.resolve() != base.resolve() else [])
        if list(pkg.__path__) != paths:
            pkg.__path__[:] = paths
            changed = True
    if not changed:
        return
    importlib.invalidate_caches()
    allowed = tuple(p for name in PACKAGES for p in importlib.import_module(name).__path__)
    for mod in [m for m in sys.modules if m.startswith(tuple(p + "." for p in PACKAGES))]:
        if not str(getattr(sys.modules[mod], "__file__", "") or "").startswith(allowed):
            del sys.modules[mod]
    from figures import experiments

    for name in [k for k, e in experiments.REGISTRY.items() if e.run.__module__ not in sys.modules]:
        del experiments.REGISTRY[name]


def forget_modules() -> None:
    """Drop the imported experiments, models and plots, so that a long-running
    preview imports them afresh from the edited files (the packages stay)."""
    keep = {"figures", "figures.store", "figures.config", "figures.runner", "figures.names", *PACKAGES}
    for mod in [m for m in sys.modules if m.startswith("figures.") and m not in keep]:
        del sys.modules[mod]
    from figures import experiments

    experiments.REGISTRY.clear()
    importlib.invalidate_caches()


def source_files() -> list[Path]:
    """Every Python file the experiments' registration can depend on."""
    import figures

    roots = [Path(figures.__file__).parent] + [
        Path(p) for name in PACKAGES for p in importlib.import_module(name).__path__[1:]]
    files = []
    for root in roots:
        files += [p for p in root.rglob("*.py") if "__pycache__" not in p.parts and "results" not in p.parts]
    return sorted(files)


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
