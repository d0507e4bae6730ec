"""A project's own experiments and plots, searched for one block of work.

Which folders hold them is lab.paths' business (<root>/lab/experiments beside this
checkout's package, and <root>/figures/plots where the site generator names figures.plots); `project_modules` puts them on
the packages' search paths for one build or one experiment job, the way pelican scopes
its plugin paths, and puts everything back afterwards, so that a test, the bench or an
in-process job that works on a temporary project leaves this process as it found it.
For this checkout's own project it changes nothing. No experiment imports this module,
so it is in no result's key.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
from pathlib import Path

from lab.paths import PACKAGES, use_project_modules


@contextlib.contextmanager
def project_modules(root: Path, packages: tuple[str, ...] = PACKAGES):
    """<root>'s folders of `packages` (<root>/lab/experiments) searched too within the
    block; afterwards the packages' search paths, their imported modules and the experiment registry are as
    they were (modules of this checkout imported meanwhile stay: they are the same)."""
    from lab import experiments

    pkgs = {name: importlib.import_module(name) for name in packages}
    searched = {name: list(pkg.__path__) for name, pkg in pkgs.items()}
    prefixes = tuple(name + "." for name in packages)
    imported = {m: mod for m, mod in sys.modules.items() if m.startswith(prefixes)}
    registered = dict(experiments.REGISTRY)
    use_project_modules(root, packages)
    try:
        yield
    finally:
        for name, pkg in pkgs.items():
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
