"""The run phase: the experiments the plan found stale, run now and stored
(figures.runner), or, for a frozen build, refused with their names and reasons.

Each run checkpoints under .cache/runs/<name>/<profile>/<key16>, so a killed
run resumes where it stopped and a changed config starts afresh; the
checkpoints go once the result is stored. Running is what imports torch (the
plan does too, once, when the experiments' sources changed).
"""
from __future__ import annotations

import shutil
import time
from typing import TYPE_CHECKING, Callable

from .errors import BuildError, authored
from .project import Project

if TYPE_CHECKING:
    from figures.runner import Status
    from figures.store import ResultStore, StoredResult


def run_experiment(store: ResultStore, status: Status, project: Project, progress: bool) -> StoredResult:
    """Run one experiment now and store its result; its author's errors are BuildErrors."""
    from figures import runner

    workdir = project.cache / "runs" / status.name / status.profile / status.key[:16]
    with authored():  # a missing data set, a diverging run, a config that does not fit
        stored = runner.run_one(store, status.name, status.profile, project.root, progress=progress, workdir=workdir)
    shutil.rmtree(workdir.parent, ignore_errors=True)  # the result is stored: checkpoints are spent
    return stored


def run_stale(project: Project, store: ResultStore, stale: list[Status], *, frozen: bool, progress: bool,
              log: Callable[[str], None]) -> list[str]:
    """Run the `stale` experiments in turn; the names of those that ran."""
    if not stale:
        return []
    profile = project.config.profile
    if frozen:
        raise BuildError("stale results (frozen build does not train): " + "; ".join(
            f"{s.name} [{profile}]: {s.reason}" for s in stale) +
            f"; run `python build.py figures --profile {profile}` and commit figures/results",
            project.results)
    total = sum(s.estimate_s for s in stale)
    log(f"experiments to run ({profile} profile, about {total:.0f} s): " +
        ", ".join(f"{s.name} ({s.reason}, ~{s.estimate_s:.0f} s)" for s in stale))
    from tqdm import tqdm  # a bar over the experiments (each trainer shows its epochs)

    ran = []
    for s in tqdm(stale, desc="experiments", unit="exp", leave=False, disable=None if progress else True):
        t0 = time.perf_counter()
        run_experiment(store, s, project, progress)
        ran.append(s.name)
        log(f"  {s.name}: done in {time.perf_counter() - t0:.1f} s")
    return ran
