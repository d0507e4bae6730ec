"""Where the lab keeps what it makes: every path of figures/ and of a project's .cache/, once.

    REPO              the checkout whose code every job imports
    WEIGHTS           figures/weights: the committed trained networks (real data)
    results(root)     <root>/figures/results: the committed results of the experiments
    models(root)      <root>/.cache/models: networks trained on synthetic data (tests, quick)
    runs(root)        <root>/.cache/runs: a run's checkpoints, until its result is stored
    jobs(root)        <root>/.cache/jobs: the executors' submission files and logs

A project is a root folder laid out like this checkout (tests build small ones
in temporary folders); the committed weights are this checkout's, whatever the
project, so that no test trains a real network twice.
"""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "figures" / "weights"


def results(root: str | Path = REPO) -> Path:
    return Path(root) / "figures" / "results"


def cache(root: str | Path = REPO) -> Path:
    return Path(root) / ".cache"


def models(root: str | Path = REPO) -> Path:
    return cache(root) / "models"


def runs(root: str | Path = REPO) -> Path:
    return cache(root) / "runs"


def jobs(root: str | Path = REPO) -> Path:
    return cache(root) / "jobs"


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: never half a file (the one
    way the lab and the site generator write a file that a kill must not tear)."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
