"""A project's own experiments and plots, beside the lab's: which folders are searched.

A project may bring its own experiments and plots: <root>/figures/experiments
and <root>/figures/plots join the packages' search paths (the benchmark and the
tests register small experiments that way). That is process-wide state, so it
lives here alone: `use_project_modules` sets it for one project (and forgets
another project's modules), `forget_modules` makes a long-running preview import
edited files afresh. It lives in figures/ because a job (figures.jobs) sets it
up wherever it runs, with no site generator around.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

PACKAGES = ("figures.experiments", "figures.plots")


def use_project_modules(root: Path) -> None:
    """Search <root>/figures/{experiments,plots} too, and forget another project's modules."""
    changed = False
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        base = Path(pkg.__file__).parent
        local = Path(root) / "figures" / base.name
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
    keep = {"figures", "figures.store", "figures.config", "figures.runner", "figures.names",
            "figures.project_modules", *PACKAGES}
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
