"""The jobs of `build.py train` and `build.py figures`, for any executor (lab.executors).

    network      train one shared network of a profile into its store, or find it
                 there; a killed run resumes from its last epoch checkpoint
    experiment   run one stale experiment into the results store
    bench        time SGD steps of some networks (scripts/gpu_run.py sizes a run by it)

Each is a plain function of plain arguments, so it runs alike in this process,
in a subprocess or on a cluster node, and returns a small summary with a line
to print. What a job stores records its executor, node and job id by itself
(lab.store.job_info), so that provenance is the same whatever ran it.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Mapping, Sequence

from lab import paths
from lab.executors import Job
from lab.paths import REPO
from lab.store import job_info
from lab.weights import file_name, model_key


def context(root: str | Path, progress: bool = False):
    """The Context a job runs in: the committed weights, and the project's model cache."""
    from lab.experiments import Context
    from lab.train import default_device  # the one device choice

    return Context(device=default_device().type, progress=progress,
                   weights=paths.WEIGHTS, models=paths.models(root))


def network_job(name: str, recipe: Mapping, root: str | Path = REPO, progress: bool = False) -> Job:
    """The job that trains network `name` under `recipe` (a Recipe's dict)."""
    from lab.config import from_dict, to_dict
    from lab.experiments.trained import store_for
    from lab.networks import Recipe

    from lab.experiments import Context

    full = from_dict(Recipe, recipe)  # the key is of every field, defaults included
    recipe, key = to_dict(full), model_key(name, full)
    store = store_for(full, Context(weights=paths.WEIGHTS, models=paths.models(root)))
    probes = store.root / "partial" / file_name(name, key).replace(".pt", ".probes.json")
    return Job("network", name, key, train_network_job, (name, recipe, str(root), progress),
               epochs=int(recipe.get("epochs", 0)), progress=str(probes))


def train_network_job(name: str, recipe: dict, root: str, progress: bool = False) -> dict:
    """Train (or find) one network; what is stored is what `get_trained` stores anyway."""
    from lab.config import from_dict
    from lab.experiments.trained import get_trained
    from lab.networks import Recipe

    job = network_job(name, recipe, root)
    resumed = job.epochs_done()
    if resumed:
        print(f"{name}: resuming from its epoch {resumed} checkpoint", flush=True)
    t0 = time.perf_counter()
    got = get_trained(name, from_dict(Recipe, recipe), context(root, progress))
    seconds = time.perf_counter() - t0
    what = (f"{name}: found trained" if got.from_cache else
            f"trained {name} in {seconds / 60:.1f} min" + (f", from epoch {resumed}" if resumed else "")
            + (" (diverged)" if got.diverged else ""))
    return {"name": name, "key": job.key, "trained": not got.from_cache,
            "resumed_from": resumed, "seconds": round(seconds, 2), "job": job_info(), "line": what}


def experiment_job(status, root: str | Path, progress: bool = False) -> Job:
    """The job that runs one stale experiment (`status`: a lab.runner.Status)."""
    return Job("experiment", status.name, status.key, run_experiment_job, (status, str(root), progress))


def run_experiment_job(status, root: str, progress: bool = False) -> dict:
    """Run one experiment into the project's results. Its checkpoints live in the run's work
    folder, .cache/runs/<name>/<profile>/<key16>, so a killed run resumes where it stopped
    and a changed config starts afresh; they go once the result is stored."""
    import shutil

    from lab import runner
    from lab.project import project_modules
    from lab.store import ResultStore

    workdir = paths.runs(root) / status.name / status.profile / status.key[:16]
    t0 = time.perf_counter()
    with project_modules(Path(root)):  # the project's own experiments, if any: for this job only
        stored = runner.run_one(ResultStore(paths.results(root)), status.name, status.profile, Path(root),
                                progress=progress, workdir=workdir)
    shutil.rmtree(workdir.parent, ignore_errors=True)  # the result is stored: checkpoints are spent
    return {"name": status.name, "key": stored.key, "job": job_info(),
            "line": f"{status.name}: {time.perf_counter() - t0:.1f} s on {stored.provenance.get('device')}"}


def bench_job(names: Sequence[str], recipe: Mapping, steps: int, root: str | Path,
              barrier: str = "", peers: Sequence[int] = ()) -> Job:
    """The job that times `steps` SGD steps of each of `names`. Jobs run side by side meet
    at a barrier before each timed run, so each time includes its neighbours' load:
    `peers[k]` is how many of them time a k-th network (folder `barrier`)."""
    return Job("bench", "+".join(names), "", time_steps_job,
               (list(names), dict(recipe), steps, str(root), barrier, list(peers)))


def time_steps_job(names: list[str], recipe: dict, steps: int, root: str, barrier: str = "",
                   peers: Sequence[int] = ()) -> dict:
    """Seconds a step of each network, timed by the trainer itself: one epoch of `steps`
    steps to warm up (cuDNN picks its kernels), then one epoch of `steps` timed."""
    import dataclasses

    from lab.config import from_dict
    from lab.experiments import Context
    from lab.experiments.common import load_data
    from lab.networks import Recipe, make_model, train_config
    from lab.train import train

    t0 = time.perf_counter()
    rec = from_dict(Recipe, recipe)
    ctx = context(root)
    data = load_data(rec.data, rec.n_train, rec.n_test, rec.seed, Context())
    n, reps = steps * rec.batch_size, -(-steps * rec.batch_size // len(data.train_y))
    # exactly `steps` full batches (small data, as the quick profile's, repeated to fill them)
    data = dataclasses.replace(data, train_x=data.train_x.repeat(reps, 1, 1, 1)[:n],
                               train_y=data.train_y.repeat(reps)[:n],
                               test_x=data.test_x[:rec.batch_size], test_y=data.test_y[:rec.batch_size])
    # a small rate: the speed is the same, and no plain net diverges before it is timed
    cfg = dataclasses.replace(train_config(rec), epochs=2, warmup_epochs=0.0, lr=1e-3)
    out = {}
    for k, name in enumerate(names):
        def meet(record, k=k):
            if record.epoch == 1 and barrier:
                _meet(Path(barrier), k, peers[k] if k < len(peers) else 1)

        h = train(make_model(name), data, cfg, device=ctx.device, progress=False, on_epoch=meet,
                  expect_divergence=True)
        timed = h.epochs[-1]  # two epochs: at this rate nothing diverges
        out[name] = timed.seconds / max(timed.steps, 1)
    line = ", ".join(f"{k} {1000 * v:.1f} ms" for k, v in out.items())
    return {"step_seconds": out, "device": ctx.device, "job": job_info(),
            "seconds": round(time.perf_counter() - t0, 2), "line": f"step times: {line}"}


def _meet(folder: Path, k: int, expected: int, timeout_s: float = 120.0) -> None:
    """Wait until `expected` jobs have reached round `k` (or the timeout: never hang)."""
    import os

    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{k}-{os.getpid()}").touch()
    end = time.monotonic() + timeout_s
    while len(list(folder.glob(f"{k}-*"))) < expected and time.monotonic() < end:
        time.sleep(0.05)
