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
from figures.store import ResultStore, StoredResult, device_info, git_commit, result_key


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
        if stored is not None and stored.key == key:
            reason, fresh = "fresh", True
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


def key_for(exp: Experiment, profile: str) -> str:
    return result_key(exp.name, {"profile": profile, **exp.config_dict(profile)}, exp.modules)


def run_one(store: ResultStore, name: str, profile: str, root: Path,
            progress: bool = True, workdir: Path | None = None) -> StoredResult:
    """Run experiment `name` under `profile` now and store its result."""
    import torch

    exp = experiments.get(name)
    cfg = exp.config(profile)
    key = key_for(exp, profile)
    ctx = Context(device="cuda" if torch.cuda.is_available() else "cpu",
                  progress=progress, workdir=workdir,
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
        "commit": git_commit(root),
        **device_info(),
        "seed": getattr(cfg, "seed", getattr(getattr(cfg, "recipe", None), "seed", None)),
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_time_s": round(wall, 2),
        "command": f"python build.py figures --profile {profile} --force {name}",
        **ctx.facts,
    }
    return store.save(name, profile, key, exp.config_dict(profile), provenance,
                      out.metrics, out.data, out.arrays)
