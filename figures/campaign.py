"""Train a profile's reference networks one at a time, and keep each one as it ends.

    python build.py train --profile cifar10-10ep            train what is missing
    python build.py train --profile cifar10-10ep --commit   ... and git-commit each network
    python build.py train --profile cifar10-10ep --list     what is trained, missing or stale
    python build.py train --prune    delete stored networks that no profile's code keys any more

A campaign is longer than one sitting and the machine can be stopped at any
moment. Each network checkpoints after every epoch (figures/weights/partial/),
so a restarted campaign goes on from the last epoch; with `--commit` each
finished network's weights and manifest entry are committed at once, so the
next session starts from what is in git and trains only what is missing.
"""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from figures.experiments.profiles import NETWORKS, RECIPES
from figures.weights import ROOT, MANIFEST, WeightStore, file_name, model_key


@dataclass(frozen=True)
class NetworkState:
    name: str
    key: str
    state: str        # "trained", "missing", "stale" (trained once, under another key), "partial"
    detail: str       # cost when trained, or the estimate to train
    seconds: float    # measured training time, or the estimate (s)


def plan(profile: str, store: WeightStore | None = None) -> list[NetworkState]:
    """Every network of `profile`, in campaign order, with what it cost or will cost."""
    from figures.networks import Recipe
    from figures.config import from_dict

    store = store or WeightStore(ROOT)
    recipe = from_dict(Recipe, RECIPES[profile])
    manifest = store.manifest()
    by_name: dict[str, list[dict]] = {}
    for entry in manifest.values():
        by_name.setdefault(entry["name"], []).append(entry)
    rates = _images_per_second(manifest)
    out = []
    for name in NETWORKS[profile]:
        key = model_key(name, recipe)
        fname = file_name(name, key)
        if fname in manifest and store.has(name, key):
            e = manifest[fname]
            out.append(NetworkState(name, key, "trained", _cost(e), float(e.get("train_seconds", 0))))
            continue
        n_train = recipe.n_train or 50_000
        rate = rates.get(name) or rates.get(_family(name)) or 0.0
        estimate = recipe.epochs * n_train / rate * 1.08 if rate else 0.0  # +8%: the test passes
        partial = (store.root / "partial" / fname.replace(".pt", ".ckpt")).exists()
        same_recipe = [e for e in by_name.get(name, []) if e.get("recipe") == _recipe_dict(recipe)]
        state = "partial" if partial else ("stale" if same_recipe else "missing")
        guess = f"~{estimate / 60:.0f} min at {rate:.0f} img/s" if rate else "no measured speed yet"
        out.append(NetworkState(name, key, state, guess, estimate))
    return out


def _recipe_dict(recipe) -> dict:
    import dataclasses

    return dataclasses.asdict(recipe)


def _cost(entry: dict) -> str:
    prec = "/".join(entry.get("precision", [])) or "?"
    hosts = "; ".join(entry.get("hosts", [])) or entry.get("device", "?")
    final = entry.get("final") or {}
    err = final.get("test_error")
    return (f"{entry.get('epochs')} epochs in {entry.get('train_seconds', 0) / 60:.0f} min, "
            f"{entry.get('images_per_second', 0):.0f} img/s, {prec} on {hosts}"
            + (f", test error {100 * err:.1f}%" if err is not None else ""))


def _family(name: str) -> str:
    return name.rstrip("0123456789")


def _images_per_second(manifest: dict) -> dict[str, float]:
    """Measured training speed by network and by family (the slowest seen), for estimates:
    a 56-layer net of a family is estimated from the family's depth-scaled speed."""
    rates: dict[str, float] = {}
    for e in manifest.values():
        ips = float(e.get("images_per_second") or 0)
        if ips:  # any batch size: a rough guess beats none
            rates[e["name"]] = min(rates.get(e["name"], ips), ips)
    for name, ips in list(rates.items()):
        depth = int("".join(ch for ch in name if ch.isdigit()) or 0)
        if depth:  # per-layer cost roughly constant: speed scales as 1/depth
            fam = _family(name)
            rates[fam] = min(rates.get(fam, ips * depth), ips * depth)
    for name in list(NETWORKS.get("cifar10-10ep", [])) + list(NETWORKS.get("paper", [])):
        if name not in rates and _family(name) in rates:
            depth = int("".join(ch for ch in name if ch.isdigit()) or 1)
            rates[name] = rates[_family(name)] / depth
    return rates


def train_missing(profile: str, names: list[str] | None = None, commit: bool = False,
                  progress: bool = True, log=print) -> list[str]:
    """Train the networks of `profile` that are not trained yet, one at a time."""
    import torch

    from figures.config import from_dict
    from figures.experiments import Context
    from figures.experiments.trained import get_trained
    from figures.networks import Recipe

    recipe = from_dict(Recipe, RECIPES[profile])
    todo = [s for s in plan(profile) if s.state != "trained" and (not names or s.name in names)]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    done = []
    for s in todo:
        log(f"training {s.name} ({profile}, {s.state}; {s.detail})")
        t0 = time.perf_counter()
        ctx = Context(device=device, progress=progress, weights=ROOT,
                      models=ROOT.parents[1] / ".cache" / "models")
        get_trained(s.name, recipe, ctx)
        log(f"trained {s.name} in {(time.perf_counter() - t0) / 60:.1f} min")
        done.append(s.name)
        if commit:
            _commit(s.name, s.key, profile, log)
    return done


def prune(store: WeightStore | None = None) -> list[str]:
    """Delete stored networks (and in-progress checkpoints) whose key no profile's
    current code gives: after a model edit they are stale for good, and the
    committed set has to stay small."""
    from figures.config import from_dict
    from figures.networks import Recipe

    store = store or WeightStore(ROOT)
    keep = {file_name(name, model_key(name, from_dict(Recipe, RECIPES[profile])))
            for profile in NETWORKS if profile in RECIPES for name in NETWORKS[profile]}
    gone = store.prune(keep)
    partial = store.root / "partial"
    for ckpt in sorted(partial.glob("*.ckpt")) if partial.is_dir() else ():
        if ckpt.name.replace(".ckpt", ".pt") not in keep:
            ckpt.unlink()
            ckpt.with_suffix(".probes.json").unlink(missing_ok=True)
            gone.append(ckpt.name)
    return gone


def _commit(name: str, key: str, profile: str, log) -> None:
    """Commit this network's file and the manifest, and nothing else that may be staged."""
    repo = ROOT.parents[1]
    paths = [str(ROOT / file_name(name, key)), str(ROOT / MANIFEST)]
    entry = WeightStore(ROOT).manifest().get(file_name(name, key), {})
    msg = f"Trained {name} ({profile}): {_cost(entry)}"
    for attempt in range(5):  # another git command may hold the index lock for a moment
        add = subprocess.run(["git", "add", "--", *paths], cwd=repo, capture_output=True, text=True)
        done = add.returncode == 0 and subprocess.run(
            ["git", "commit", "-q", "-m", msg, "--", *paths], cwd=repo,
            capture_output=True, text=True).returncode == 0
        if done:
            log(f"committed {Path(paths[0]).name}")
            return
        time.sleep(2 + 3 * attempt)
    log(f"could not commit {Path(paths[0]).name}: commit it by hand")
