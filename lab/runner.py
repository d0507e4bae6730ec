"""Decides which stored results are stale (`status`, the project's one freshness
check), runs experiments and stores their results with provenance.

Only this module and lab.store touch the results folder. An experiment
that raises leaves the previous result in place: results are replaced only by
a complete new one (atomic writes in the store).
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from lab import experiments, paths, spread
from lab.experiments import Context, Experiment, Output
from lab.config import ConfigError
from lab.names import seeded, unseeded
from lab.keys import MissingSource, closure, module_files, result_key
from lab.provenance import device_info, git_commit, job_info
from lab.store import ResultStore, StoredResult


@dataclass(frozen=True)
class Status:
    name: str
    profile: str
    key: str
    fresh: bool
    reason: str          # why stale: "missing", "corrupt", "code or config changed", "networks changed"
                         # (rekeyed) or "networks retrained" (other weights under the same key)
    estimate_s: float


def registration(names: Iterable[str] | None = None) -> dict[str, dict]:
    """{name: {modules, estimate_s, configs: {profile: config dict}}} of the experiments
    `names` (default: every one): all that decides their keys, as plain data."""
    loaded = experiments.load_all()
    wanted = sorted(loaded) if names is None else [experiments.get(n).name for n in dict.fromkeys(names)]
    return {n: {"modules": list(loaded[n].modules), "estimate_s": loaded[n].estimate_s,
                "configs": {p: loaded[n].config_dict(p) for p in loaded[n].profiles}} for n in wanted}


def status(store: ResultStore, names: Iterable[str], profile: str, registry: dict[str, dict] | None = None,
           models: Path | None = None, force: Iterable[str] = ()) -> list[Status]:
    """The one freshness check: is each experiment's stored result still what its code,
    config and trained networks give now, and about how long would making it take.

    `registry`: what `registration()` returns (a caller may have it cached); by default
    it is asked now. With `models` (the local cache of trained networks), the estimate
    of a stale or `force`d result includes training the shared networks it was made from
    that neither that cache nor the committed weights hold (each counted once)."""
    names = list(names)
    reg = registration(names) if registry is None else registry
    force = set(force)
    out = []
    counted: set[str] = set()
    seconds: dict[str, float] | None = None
    manifests = weight_manifests(models)
    for name in names:
        if name not in reg:
            raise KeyError(f"unknown experiment {name!r}; known: {', '.join(sorted(reg))}")
        entry = reg[name]
        if profile not in entry["configs"]:
            raise ConfigError(f"experiment {name} has no profile {profile!r}")
        try:
            key = result_key(name, {"profile": profile, **entry["configs"][profile]}, entry["modules"])
        except MissingSource as e:  # a declared module or definition that does not exist
            raise ConfigError(f"experiment {name}: {e.args[0]}") from None
        stored = store.load(name, profile)
        changed = changed_networks(stored) if stored is not None and stored.key == key else []
        replaced = replaced_weights(stored, manifests) if stored is not None and stored.key == key else []
        if stored is not None and stored.key == key and not changed and not replaced:
            reason, fresh = "fresh", True
        elif changed:
            reason, fresh = f"networks changed: {', '.join(changed)}", False
        elif replaced:
            reason, fresh = f"networks retrained: {', '.join(replaced)}", False
        elif stored is not None:
            reason, fresh = "code or config changed", False
        elif (store.folder(name, profile) / "result.json").exists():
            reason, fresh = "corrupt (checksum mismatch)", False
        else:
            reason, fresh = "missing", False
        prev = stored.provenance.get("wall_time_s") if stored else None
        # one run per seed: a result made on fewer seeds than are now asked for scales up
        seeds_now = len(entry["configs"][profile].get("seeds", [0]))
        seeds_then = len(stored.provenance.get("seeds") or [0]) if prev else 1
        estimate = float(prev or entry["estimate_s"].get(profile, 60.0)) * seeds_now / seeds_then
        if models is not None and stored is not None and (not fresh or name in force):
            missing = [n for n in dict.fromkeys(untrained(stored, models) + retrained(changed, stored, models))
                       if n not in counted]  # a network both absent and rekeyed is trained once
            if missing:
                # the stored wall time may have found these networks trained: they must be trained first
                seconds = train_seconds(store, reg, profile) if seconds is None else seconds
                counted.update(missing)
                extra = sum(seconds.get(n, 0.0) for n in missing)
                estimate += extra
                reason += f"; trains {', '.join(missing)} first (~{extra / 60:.0f} min)"
        out.append(Status(name, profile, key, fresh, reason, estimate))
    return out


def untrained(stored: StoredResult, models: Path) -> list[str]:
    """The shared networks a result was made from that neither the committed weights
    nor the local model cache `models` hold."""
    from lab.weights import file_name

    return [label for label, key in (stored.provenance.get("networks") or {}).items()
            if not any((d / file_name(unseeded(label)[0], key)).exists() for d in (models, paths.WEIGHTS))]


def retrained(changed: list[str], stored: StoredResult, models: Path) -> list[str]:
    """Of the `changed` networks, those whose key now no store holds: the rerun trains them."""
    from lab.weights import file_name, model_key

    recipe = stored.config.get("recipe") or {}
    keys = {label: model_key(unseeded(label)[0], {**recipe, "seed": unseeded(label)[1]}) for label in changed}
    return [label for label, key in keys.items() if not any(
        (d / file_name(unseeded(label)[0], key)).exists() for d in (models, paths.WEIGHTS))]


def train_seconds(store: ResultStore, reg: Iterable[str], profile: str) -> dict[str, float]:
    """How long each network took to train, as recorded by any stored result of `profile`."""
    seconds: dict[str, float] = {}
    for name in sorted(reg):
        stored = store.load(name, profile)
        for net, m in (stored.metrics.items() if stored else ()):
            if isinstance(m, dict) and isinstance(m.get("train_seconds"), (int, float)):
                seconds.setdefault(net, float(m["train_seconds"]))
    return seconds


def weight_manifests(models: Path | None = None) -> list[dict]:
    """The manifests of the stores a result's networks come from: the committed weights,
    and the local model cache `models` (synthetic data) if given."""
    from lab.weights import WeightStore

    return [WeightStore(d).manifest() for d in (paths.WEIGHTS, models) if d is not None]


def weight_shas(networks: dict[str, str], manifests: list[dict]) -> dict[str, str]:
    """{label: sha256} of the stored file of each network ({label: key}) a result reads."""
    from lab.weights import file_name

    out = {}
    for label, key in networks.items():
        entry = next((m[f] for m in manifests if (f := file_name(unseeded(label)[0], key)) in m), None)
        if entry and entry.get("sha256"):
            out[label] = entry["sha256"]
    return out


def replaced_weights(stored: StoredResult, manifests: list[dict]) -> list[str]:
    """The trained networks a result read whose stored weights are others now: retrained
    under the same key (on another machine, in another precision), which a key cannot
    see. A result stored before its weights were recorded is trusted as it is."""
    read = stored.provenance.get("weights") or {}
    now = weight_shas({label: key for label, key in (stored.provenance.get("networks") or {}).items()
                       if label in read}, manifests)
    return sorted(label for label, sha in now.items() if read[label] != sha)


def changed_networks(stored: StoredResult) -> list[str]:
    """The trained networks a result was made from whose key is no longer what the code,
    recipe and libraries give now: the result is stale with them."""
    from lab.weights import model_key

    used = stored.provenance.get("networks") or {}
    recipe = stored.config.get("recipe") or {}
    return sorted(label for label, k in used.items()
                  if model_key(unseeded(label)[0], {**recipe, "seed": unseeded(label)[1]}) != k)


def with_seed(cfg, seed: int):
    """The experiment's config with its networks' recipe trained from `seed`."""
    recipe = getattr(cfg, "recipe", None)
    if recipe is None or recipe.seed == seed:
        return cfg
    return dataclasses.replace(cfg, recipe=dataclasses.replace(recipe, seed=seed))


def merge_facts(facts: list[dict], seeds: list[int]) -> dict:
    """The provenance facts of one run per seed as one: every seed's networks by name
    (seed 0's as they always were, the others as name@seedN), the rest from seed 0.
    Networks are recorded once, by their full keys ("networks"): the "models" line that
    lab.experiments.trained also writes, their short keys, is left out."""
    out = {k: v for k, v in facts[0].items() if k != "models"}
    for field in ("networks", "trained", "weights"):
        merged = {seeded(n, s): v for f, s in zip(facts, seeds) for n, v in (f.get(field) or {}).items()}
        if merged:
            out[field] = dict(sorted(merged.items()))
    return out


def _code_files(exp: Experiment, networks: dict) -> list[Path]:
    """The source files a result came from: its modules and its networks' code."""
    from lab.weights import model_sources

    mods = set(closure(exp.modules))
    for label in networks:
        mods |= set(model_sources(unseeded(label)[0]))
    return module_files(sorted(mods))


def key_for(exp: Experiment, profile: str) -> str:
    return result_key(exp.name, {"profile": profile, **exp.config_dict(profile)}, exp.modules)


def run_one(store: ResultStore, name: str, profile: str, root: Path,
            progress: bool = True, workdir: Path | None = None) -> StoredResult:
    """Run experiment `name` under `profile` now and store its result."""
    from lab.train import default_device, precision

    exp = experiments.get(name)
    cfg = exp.config(profile)
    key = key_for(exp, profile)
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    seeds = exp.seeds(profile)
    runs, facts = [], []
    for seed in seeds:  # one run per seed, each with its own networks and facts
        ctx = Context(device=default_device().type, progress=progress, workdir=workdir,
                      weights=paths.WEIGHTS, models=paths.models(root))
        runs.append(exp.run(with_seed(cfg, seed), ctx))
        # the weights it read, so that retraining one under its key makes this result stale
        shas = weight_shas(ctx.facts.get("networks", {}), weight_manifests(paths.models(root)))
        facts.append({**ctx.facts, **({"weights": shas} if shas else {})})
    out, ctx = runs[0], Context(device=default_device().type, facts=merge_facts(facts, seeds))
    if len(seeds) > 1:
        out = Output(metrics=spread.merge([r.metrics for r in runs], seeds),
                     data={**out.data, "per_seed": {str(s): r.data for s, r in zip(seeds, runs)}},
                     arrays=out.arrays)  # arrays (images, grids): the first seed's
    wall = time.perf_counter() - t0
    provenance = {
        "experiment": name,
        "profile": profile,
        "code_hash": key[:16],
        "commit": git_commit(root, _code_files(exp, ctx.facts.get("networks", {}))),
        **device_info(),
        # the analysis' own precision; each network's training is under "trained"
        "precision": precision(ctx.device),
        "seed": seeds[0] if len(seeds) == 1 else None,
        "seeds": seeds,
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_time_s": round(wall, 2),
        "command": f"python build.py figures --profile {profile} --force {name}",
        "job": job_info(),  # executor, node and job id: the same fields whatever ran it
        **ctx.facts,
    }
    return store.save(name, profile, key, exp.config_dict(profile), provenance,
                      out.metrics, out.data, out.arrays)
