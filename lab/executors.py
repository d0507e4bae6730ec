"""Where jobs run: one narrow interface, three executors.

Every network to train and every experiment to run is a `Job`: what it makes,
its content key, and a module-level function of plain arguments, so that it
pickles by reference and runs wherever this checkout can be imported.

    local              one job at a time, in this process (the default)
    local --jobs N     N subprocesses at once through submitit's LocalExecutor,
                       one GPU each, round-robin, where there are several
    slurm              one sbatch job each, through submitit's SlurmExecutor

An executor is `name`, `slots` (jobs at once) and `submit(job) -> Running`,
whose handle answers `done()` and `result()` (raising if the job failed): that
is all `run` uses. A Dask executor's `client.submit` returns such a handle as
it is; a Ray one wraps an ObjectRef (`done`: `ray.wait([ref], timeout=0)`,
`result`: `ray.get(ref)`). Whatever the executor, a job writes what it makes to
the same stores, which record the executor, node and job id
(lab.store.job_info); a failed job is one line naming it and its log, and
the others go on.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import shlex
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from lab.config import ConfigError
from lab.paths import REPO  # the checkout whose code every job imports

EXECUTORS = ("local", "slurm")
LOCAL_TIMEOUT_MIN = 7 * 24 * 60  # submitit's local jobs are killed after their timeout: never, here
POLL_S = 1.0  # seconds between looks at the running jobs


class ExecutorError(RuntimeError):
    """An executor that cannot start here (no submitit, no Slurm); the message says why."""


@dataclass(frozen=True)
class ComputeSettings:
    """Where `build.py figures` and `build.py train` run their jobs: `compute:` in
    content/site.yml, each setting overridden by the flag of the same name."""
    executor: str = "local"   # "local" (this machine) or "slurm" (a cluster, through submitit)
    jobs: int = 0             # jobs at once; local: 0 or 1 = in this process; slurm: 0 = no limit
    partition: str = ""       # Slurm partition ("" = the cluster's default)
    time_min: int = 240       # Slurm time limit of one job (minutes); a killed job resumes when resubmitted
    gpus_per_job: int = 0     # GPUs each Slurm job asks for (count)
    cpus_per_job: int = 0     # CPU cores each Slurm job asks for, and its torch threads (0 = cluster default)
    sbatch: tuple = ()        # extra sbatch options, passed through as written: "--account=abc", "--exclusive"

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value, kind = getattr(self, f.name), type(f.default)
            if not isinstance(value, kind) or isinstance(value, bool):
                what = {int: "a whole number", str: "text", tuple: "a list of options"}[kind]
                raise ConfigError(f"{f.name} must be {what}, not {value!r}", (f.name,))
        if self.executor not in EXECUTORS:
            raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, not {self.executor!r}",
                              ("executor",))
        for name in ("jobs", "gpus_per_job", "cpus_per_job", "time_min"):
            low = 1 if name == "time_min" else 0
            if getattr(self, name) < low:
                raise ConfigError(f"{name} must be {low} or more, not {getattr(self, name)}", (name,))
        for arg in self.sbatch:
            if not isinstance(arg, str) or not arg.startswith("--") or len(arg) < 3:
                raise ConfigError(f"sbatch option {arg!r} is not a long option such as --account=abc",
                                  ("sbatch",))

    def sbatch_options(self) -> dict[str, Any]:
        """The pass-through options as submitit writes them: {"account": "abc", "exclusive": True}."""
        out: dict[str, Any] = {}
        for arg in self.sbatch:
            key, eq, value = arg[2:].partition("=")
            out[key] = value if eq else True
        return out


@dataclass(frozen=True)
class Job:
    kind: str                 # "network", "experiment" or "bench": what the job makes
    name: str                 # the network or experiment it makes
    key: str                  # content key of what it makes: the model_key or the result key
    fn: Callable[..., dict]   # a module-level function (pickled by reference) returning a summary
    args: tuple = ()          # its arguments: plain, picklable values
    epochs: int = 0           # epochs it trains, for progress (0: not a training job)
    progress: str = ""        # a JSON list that grows by one entry an epoch (the probes file)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def epochs_done(self) -> int:
        try:
            return max(len(json.loads(Path(self.progress).read_text())) - 1, 0)
        except (OSError, ValueError):  # not started, or no progress file
            return 0


class Task:
    """What an executor runs: the job's function on its arguments. Before Slurm kills a
    job at its time limit or on preemption it signals it; submitit then calls `checkpoint`
    and requeues this same task, which resumes from the network's last epoch checkpoint."""

    def __init__(self, job: Job):
        self.job = job

    def __call__(self) -> dict:
        return self.job.fn(*self.job.args)

    def checkpoint(self, *args, **kwargs):
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self)


@dataclass
class Running:
    job: Job
    handle: Any            # .done() -> bool; .result() -> the job's summary, raising if it failed
    job_id: str            # the executor's id for it: a process id, a Slurm job id
    log: Path | None       # where its output and traceback go


@dataclass(frozen=True)
class Outcome:
    job: Job
    ok: bool
    summary: dict          # what the job returned (empty if it failed)
    message: str           # one line: what it made, or why it failed and where its log is
    job_id: str
    log: Path | None
    error: BaseException | None = None  # what it failed of, where the executor hands it back (in process)


class _Finished:
    """A job already run to its end, as a handle."""

    def __init__(self, value: Any = None, error: BaseException | None = None):
        self.value, self.error = value, error

    def done(self) -> bool:
        return True

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class InProcess:
    """Today's behaviour: each job in this process, one after another."""
    name, slots = "local", 1

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def submit(self, job: Job) -> Running:
        try:
            return Running(job, _Finished(Task(job)()), str(os.getpid()), None)
        except Exception as e:  # this job failed; its traceback is its log, and the others go on
            log = self.folder / f"{job.kind}-{job.name}-{job.key[:16]}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("".join(traceback.format_exception(e)), encoding="utf-8")
            return Running(job, _Finished(error=e), str(os.getpid()), log)


class Submitit:
    """local --jobs N and slurm: each job a process of its own, through submitit."""

    def __init__(self, executor: Any, name: str, slots: float, gpus: Sequence[int] = ()):
        self.executor, self.name, self.slots, self.gpus = executor, name, slots, tuple(gpus)
        self._submitted = 0

    def submit(self, job: Job) -> Running:
        if self.name == "slurm":
            self.executor.update_parameters(job_name=f"{job.kind}-{job.name}")  # what squeue shows
        elif self.gpus:  # round-robin: several small nets share a GPU, and every GPU gets some
            gpu = self.gpus[self._submitted % len(self.gpus)]
            self.executor.update_parameters(gpus_per_node=1, visible_gpus=(gpu,))
        self._submitted += 1
        handle = self.executor.submit(Task(job))
        return Running(job, handle, str(handle.job_id), Path(handle.paths.stderr))


def make(settings: ComputeSettings, folder: Path):
    """The executor `settings` ask for; submission files, pickles and logs go to `folder`."""
    if settings.executor == "local" and settings.jobs <= 1:
        return InProcess(folder)
    try:
        import submitit
    except ImportError:
        raise ExecutorError(f"--executor {settings.executor} --jobs {settings.jobs} runs jobs through "
                            "submitit, which is not installed: pip install submitit") from None
    if settings.executor == "local":
        env = {} if "OMP_NUM_THREADS" in os.environ else {  # the cores shared out, not oversubscribed
            "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // settings.jobs))}
        ex = submitit.LocalExecutor(folder, python=python_command(env))
        ex.update_parameters(timeout_min=LOCAL_TIMEOUT_MIN, gpus_per_node=0)
        return Submitit(ex, "local", settings.jobs, visible_gpus())
    env = {"OMP_NUM_THREADS": str(settings.cpus_per_job)} if settings.cpus_per_job else {}
    try:
        ex = submitit.SlurmExecutor(folder, python=python_command(env))
    except RuntimeError:  # submitit looks for srun
        raise ExecutorError("--executor slurm needs Slurm's sbatch and srun on PATH: "
                            "run it on the cluster's login node") from None
    from lab.slurm_watch import Job as WatchedJob

    ex.job_class = WatchedJob  # followed through squeue where sacct has no accounting: quietly
    params: dict[str, Any] = {"time": settings.time_min, "signal_delay_s": 120,
                              "additional_parameters": settings.sbatch_options()}
    for key, value in (("partition", settings.partition), ("gpus_per_node", settings.gpus_per_job),
                       ("cpus_per_task", settings.cpus_per_job)):
        if value:
            params[key] = value
    ex.update_parameters(**params)
    return Submitit(ex, "slurm", settings.jobs or math.inf)


def python_command(env: dict[str, str]) -> str:
    """How a job starts Python: this interpreter, importing this checkout first (jobs
    unpickle their functions by reference, which must be this code, not an installed copy)."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
    return shlex.join(["env", f"PYTHONPATH={path}", *(f"{k}={v}" for k, v in env.items()),
                       sys.executable])


def visible_gpus() -> tuple[int, ...]:
    """The GPUs this process may use, by the index CUDA_VISIBLE_DEVICES gives them."""
    import torch

    n = torch.cuda.device_count()
    listed = [g for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip().isdigit()]
    return tuple(int(g) for g in listed[:n]) if listed else tuple(range(n))


def run(executor, jobs: Sequence[Job], log: Callable[[str], None] = print,
        on_done: Callable[[Outcome], None] | None = None, progress: bool = True) -> list[Outcome]:
    """Run `jobs` in order, `executor.slots` at a time; report each one as it ends (a
    failure in one line), call `on_done` with its Outcome, and return them all in the
    order of `jobs`, whichever ended first."""
    from tqdm import tqdm

    pending, running, outcomes = list(jobs), [], []
    here = isinstance(executor, InProcess)
    bar = tqdm(total=len(pending), unit="job", desc=f"{executor.name} jobs", leave=False,
               disable=None if progress and len(pending) > 1 else True)
    try:
        while pending or running:
            while pending and len(running) < executor.slots:
                job = pending.pop(0)
                try:
                    r = executor.submit(job)
                except Exception as e:  # sbatch refused it, say
                    r = Running(job, _Finished(error=e), "not submitted", None)
                if not here and r.job_id != "not submitted":
                    log(f"  {job.label}: job {r.job_id} started; log {r.log}")
                running.append(r)
            for r in [r for r in running if r.handle.done()]:
                running.remove(r)
                outcome = _outcome(r, here)
                outcomes.append(outcome)
                log(outcome.message)
                bar.update(1)
                if on_done is not None:
                    on_done(outcome)
            if running:
                bar.set_postfix_str(", ".join(_doing(r) for r in running), refresh=True)
                time.sleep(POLL_S)
    except KeyboardInterrupt:
        if executor.name == "local":
            for r in running:
                getattr(r.handle, "cancel", lambda **_: None)(check=False)
        else:
            log(f"  interrupted: {len(running)} slurm job(s) go on; rerun to collect or resume them")
        raise
    finally:
        bar.close()
    order = {id(job): i for i, job in enumerate(jobs)}
    return sorted(outcomes, key=lambda o: order[id(o.job)])


def _doing(r: Running) -> str:
    return f"{r.job.name} {r.job.epochs_done()}/{r.job.epochs}" if r.job.epochs else r.job.name


def _outcome(r: Running, here: bool) -> Outcome:
    try:
        summary = r.handle.result()
    except Exception as e:
        why = _reason(e)
        if r.job.kind == "network" and type(e).__name__ == "UncompletedJobError":
            why += "; rerun to resume it from its last epoch checkpoint"
        where = f"; log: {r.log}" if r.log else ""
        return Outcome(r.job, False, {}, f"  FAILED {r.job.label}: {why}{where}", r.job_id, r.log, e)
    summary = dict(summary or {})
    job = summary.get("job") or {}
    where = "" if here else f" (job {r.job_id} on {job.get('node', '?')})"
    return Outcome(r.job, True, summary, f"  {summary.get('line') or r.job.label + ': done'}{where}",
                   r.job_id, r.log)


def _reason(e: BaseException) -> str:
    """One line: the exception a job died of, also from inside submitit's error text."""
    text = str(e)
    if type(e).__name__ == "FailedJobError":  # the job's traceback between two rules of dashes
        rules = [i for i, line in enumerate(text.splitlines()) if line.strip() and set(line.strip()) == {"-"}]
        lines = text.splitlines()[rules[0] + 1:rules[1]] if len(rules) >= 2 else text.splitlines()
        text = next((ln.strip() for ln in reversed(lines) if ln.strip()), text)
    elif type(e).__name__ == "UncompletedJobError":
        text = "ended without a result (killed, out of memory or out of time?)"
    else:
        text = f"{type(e).__name__}: {text}"
    return clip(" ".join(text.split()))


def clip(text: str, head: int = 200, tail: int = 400) -> str:
    """`text`, or its start and its end (where a message says what to do) with " [...] "
    between, cut at spaces: never a word cut in two."""
    if len(text) <= head + tail:
        return text
    return f"{text[:head].rsplit(' ', 1)[0]} [...] {text[-tail:].split(' ', 1)[-1]}"
