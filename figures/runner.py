"""Runs experiments that are stale and stores their results with provenance.

Only this module and figures.store touch the results folder. An experiment
that raises leaves the previous result in place: results are replaced only by
a complete new one (atomic writes in the store).
"""
from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from figures import experiments
from figures.experiments import Context, Experiment
from figures.store import ResultStore, StoredResult, device_info, git_commit, job_info, result_key


@dataclass(frozen=True)
class Status:
    name: str
    profile: str
    key: str
    fresh: bool
    reason: str          # why stale: "missing", "corrupt", "code or config changed"
    estimate_s: float


def status(store: ResultStore, names: Iterable[str], profile: str) -> list[Status]:
    out = []
    for name in names:
        exp = experiments.get(name)
        key = key_for(exp, profile)
        folder = store.folder(name, profile)
        stored = store.load(name, profile)
        changed = changed_networks(stored) if stored is not None and stored.key == key else []
        if stored is not None and stored.key == key and not changed:
            reason, fresh = "fresh", True
        elif changed:
            reason, fresh = f"networks changed: {', '.join(changed)}", False
        elif stored is not None:
            reason, fresh = "code or config changed", False
        elif (folder / "result.json").exists():
            reason, fresh = "corrupt (checksum mismatch)", False
        else:
            reason, fresh = "missing", False
        prev = stored.provenance.get("wall_time_s") if stored else None
        estimate = float(prev or exp.estimate_s.get(profile, 60.0))
        out.append(Status(name, profile, key, fresh, reason, estimate))
    return out


def changed_networks(stored: StoredResult) -> list[str]:
    """The trained networks a result was made from whose key is no longer what the code,
    recipe and libraries give now: the result is stale with them."""
    from figures.weights import model_key

    used = stored.provenance.get("networks") or {}
    recipe = stored.config.get("recipe") or {}
    return sorted(n for n, k in used.items() if model_key(n, recipe) != k)


def _code_files(exp: Experiment, networks: dict) -> list[Path]:
    """The source files a result came from: its modules and its networks' code."""
    from figures.store import module_files
    from figures.weights import model_sources

    mods = set(exp.modules)
    for name in networks:
        mods |= set(model_sources(name))
    return module_files(sorted(mods))


def key_for(exp: Experiment, profile: str) -> str:
    return result_key(exp.name, {"profile": profile, **exp.config_dict(profile)}, exp.modules)


def run_one(store: ResultStore, name: str, profile: str, root: Path,
            progress: bool = True, workdir: Path | None = None) -> StoredResult:
    """Run experiment `name` under `profile` now and store its result."""
    import torch

    from figures.train import precision

    exp = experiments.get(name)
    cfg = exp.config(profile)
    key = key_for(exp, profile)
    from figures.weights import ROOT as WEIGHTS

    ctx = Context(device="cuda" if torch.cuda.is_available() else "cpu",
                  progress=progress, workdir=workdir, weights=WEIGHTS,
                  models=Path(root) / ".cache" / "models")  # trained nets shared by experiments
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    out = exp.run(cfg, ctx)
    wall = time.perf_counter() - t0
    provenance = {
        "experiment": name,
        "profile": profile,
        "code_hash": key[:16],
        "commit": git_commit(root, _code_files(exp, ctx.facts.get("networks", {}))),
        **device_info(),
        # the analysis' own precision; each network's training is under "trained"
        "precision": precision(ctx.device),
        "seed": getattr(cfg, "seed", getattr(getattr(cfg, "recipe", None), "seed", None)),
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_time_s": round(wall, 2),
        "command": f"python build.py figures --profile {profile} --force {name}",
        "job": job_info(),  # executor, node and job id: the same fields whatever ran it
        **ctx.facts,
    }
    return store.save(name, profile, key, exp.config_dict(profile), provenance,
                      out.metrics, out.data, out.arrays)
