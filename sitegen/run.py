"""The run phase: the experiments the plan found stale, run now and stored, or, for a
frozen build, refused with their names and reasons.

There is one way to run stale experiments, `run_jobs`: each is a job
(lab.jobs.experiment_job) handed to an executor (lab.executors), in this
process by default. The build uses it with that default; `build.py figures` with
the executor its flags or `compute:` choose. Where several jobs run at once, the
profile's missing networks are trained first, each a job, so that no two
experiments train the same network. A job checkpoints in its own work folder and
resumes from there when killed (lab.jobs). Running is what imports torch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .errors import BuildError, authored
from .project import Project

if TYPE_CHECKING:
    from lab.executors import Outcome
    from lab.runner import Status


def run_jobs(project: Project, todo: list[Status], *, progress: bool, log: Callable[[str], None],
             executor=None) -> list[Outcome]:
    """Run the `todo` experiments on `executor` (default: one at a time in this process);
    the Outcome of every job, networks first where any were trained."""
    from lab import campaign, executors, paths
    from lab.jobs import experiment_job

    profile = project.config.profile
    total = sum(s.estimate_s for s in todo)
    # a fresh result in the list was forced: say so, with what its rerun trains first
    log(f"experiments to run ({profile} profile, about {total / 60:.1f} min): " + ", ".join(
        f"{s.name} ({'forced' + s.reason.removeprefix('fresh') if s.fresh else s.reason}, ~{s.estimate_s:.0f} s)"
        for s in todo))
    executor = executor or executors.InProcess(paths.jobs(project.root))
    outcomes = []
    if executor.slots > 1 and profile in campaign.RECIPES:
        outcomes += campaign.train_missing(profile, progress=progress, log=log, executor=executor,
                                           root=project.root)
    here = progress and executor.slots == 1  # training bars only where one job runs
    jobs = [experiment_job(s, project.root, progress=here) for s in todo]
    return outcomes + executors.run(executor, jobs, log=log, progress=progress)


def run_stale(project: Project, stale: list[Status], *, frozen: bool, progress: bool,
              log: Callable[[str], None]) -> list[str]:
    """The build's run phase: the `stale` experiments in this process; the names of those
    that ran. A failed one stops the build with its error (an author's: one line)."""
    if not stale:
        return []
    profile = project.config.profile
    if frozen:
        raise BuildError("stale results (frozen build does not train): " + "; ".join(
            f"{s.name} [{profile}]: {s.reason}" for s in stale) +
            f"; run `python build.py figures --profile {profile}` and commit lab/results",
            project.results)
    outcomes = run_jobs(project, stale, progress=progress, log=log)
    for o in outcomes:
        if not o.ok:
            with authored():  # a missing data set, a diverging run, a config that does not fit
                raise o.error or BuildError(o.message.strip())
    return [o.job.name for o in outcomes if o.job.kind == "experiment"]
