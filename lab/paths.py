"""Where the lab keeps what it makes: every path of lab/ and of a project's .cache/, once.

    REPO              the checkout whose code every job imports
    WEIGHTS           lab/weights: the committed trained networks (real data)
    results(root)     <root>/lab/results: the committed results of the experiments
    models(root)      <root>/.cache/models: networks trained on synthetic data (tests, quick)
    runs(root)        <root>/.cache/runs: a run's checkpoints, until its result is stored
    jobs(root)        <root>/.cache/jobs: the executors' submission files and logs
    atomic_write      the one way a file is written that a kill must not tear (replacing:
                      the same for a file written as a stream)

A project is a root folder laid out like this checkout (tests build small ones
in temporary folders); the committed weights are this checkout's, whatever the
project, so that no test trains a real network twice.

A project may bring its own experiments (and the site its own plots): each
package's folder under the root, <root>/lab/experiments and <root>/figures/plots,
joins that package's search path (the benchmark and the tests register small
experiments that way). The lab names only its own package, lab.experiments; the
site generator names figures.plots beside it (sitegen.modules.PACKAGES). That is
process-wide state, so it lives here alone: `use_project_modules` sets it for one
project (and forgets another project's modules), `forget_modules` makes a
long-running preview import edited files afresh. A job (lab.jobs) sets it up wherever it runs.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "lab" / "weights"


def results(root: str | Path = REPO) -> Path:
    return Path(root) / "lab" / "results"


def cache(root: str | Path = REPO) -> Path:
    return Path(root) / ".cache"


def models(root: str | Path = REPO) -> Path:
    return cache(root) / "models"


def runs(root: str | Path = REPO) -> Path:
    return cache(root) / "runs"


def jobs(root: str | Path = REPO) -> Path:
    return cache(root) / "jobs"


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a kill never leaves half a file."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def replacing(path: Path):
    """A temporary file beside `path` for the block to write (a stream, torch.save), renamed
    onto `path` when the block ends and removed if it fails: the one way the lab and the
    site generator write a file that a kill must not tear."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


PACKAGES = ("lab.experiments",)  # the lab's own; the site adds figures.plots


def package_dir(root: Path, package: str) -> Path:
    """Where a project keeps its own modules of `package`: <root>/lab/experiments."""
    return Path(root).joinpath(*package.split("."))


def use_project_modules(root: Path, packages: tuple[str, ...] = PACKAGES) -> None:
    """Search <root>'s folders of `packages` too, and forget another project's modules."""
    changed = False
    for name in packages:
        pkg = importlib.import_module(name)
        base = Path(pkg.__file__).parent
        local = package_dir(root, name)
        paths = [str(base)] + ([str(local)] if local.is_dir() and local.resolve() != base.resolve() else [])
        if list(pkg.__path__) != paths:
            pkg.__path__[:] = paths
            changed = True
    if not changed:
        return
    importlib.invalidate_caches()
    allowed = tuple(p for name in packages for p in importlib.import_module(name).__path__)
    for mod in [m for m in sys.modules if m.startswith(tuple(p + "." for p in packages))]:
        if not str(getattr(sys.modules[mod], "__file__", "") or "").startswith(allowed):
            del sys.modules[mod]
    from lab import experiments

    for name in [k for k, e in experiments.REGISTRY.items() if e.run.__module__ not in sys.modules]:
        del experiments.REGISTRY[name]


def forget_modules(packages: tuple[str, ...] = PACKAGES) -> None:
    """Drop the imported experiments and models (and the modules of `packages`), so that a
    long-running preview imports them afresh from the edited files (the packages stay)."""
    keep = {"lab", "lab.store", "lab.keys", "lab.provenance", "lab.paths",
            "lab.config", "lab.runner", "lab.names", *packages}
    prefixes = ("lab.", *(p + "." for p in packages))
    for mod in [m for m in sys.modules if m.startswith(prefixes) and m not in keep]:
        del sys.modules[mod]
    from lab import experiments

    experiments.REGISTRY.clear()
    importlib.invalidate_caches()


def source_files() -> list[Path]:
    """Every Python file the experiments' registration can depend on: the lab's, and a
    project's own experiments."""
    import lab

    roots = [Path(lab.__file__).parent] + [
        Path(p) for name in PACKAGES for p in importlib.import_module(name).__path__[1:]]
    files = []
    for root in roots:
        files += [p for p in root.rglob("*.py") if "__pycache__" not in p.parts and "results" not in p.parts]
    return sorted(files)
