"""Trained networks shared by experiments: each is trained once per recipe, and kept.

depth_sweep, architectures, gradient_flow, highway_gates, layer_responses,
feature_maps, lesion and loss_landscape all analyse trained networks.
`get_trained(name, recipe, ctx)` returns one: from memory, from the committed
weights (lab/weights, for CIFAR-10 recipes), from the local model cache
(.cache/models, for the synthetic quick recipe), or trained now and stored there.

Each result records the networks it used with their full keys (provenance
"networks"); the result is stale as soon as one of those keys changes, so an
edit to highway.py makes exactly the results that analyse Highway nets stale.
"""
from __future__ import annotations

import copy
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lab import models
from lab.config import to_dict
from lab.experiments import Context
from lab.experiments.common import load_data
from lab.experiments.profiles import RECIPES  # noqa: F401  (experiments import it from here)
from lab.networks import Recipe, conv_grad_norms, finite, train_network  # noqa: F401
from lab.store import git_commit, module_files
from lab.train import History
from lab.weights import WeightStore, file_name, model_key, model_sources

# What a result that analyses shared networks depends on besides their keys.
MODULES = ("lab.experiments.trained",)
REPO = Path(__file__).resolve().parents[2]
_MEMO: dict[str, "Trained"] = {}


@dataclass
class Trained:
    name: str
    model: torch.nn.Module   # eval mode, on the context's device; a private copy
    history: Any             # lab.train.History
    probes: list[dict]       # per epoch (0 = initialization): step, grad_norms, gates
    steps_per_epoch: int
    from_cache: bool = False
    data: dict = field(default_factory=dict)  # what it was trained on: data, n_train, n_test, data_sha256

    @property
    def diverged(self) -> bool:
        return bool(self.history.diverged)

    @property
    def train_seconds(self) -> float:
        """Wall time of training and per-epoch evaluation (s), as measured when trained."""
        return float(sum(e.seconds + e.eval_seconds for e in self.history.epochs))


def store_for(recipe: Recipe, ctx: Context) -> WeightStore | None:
    """Committed weights for real data, the local cache for synthetic data (tests)."""
    if recipe.data != "synthetic" and getattr(ctx, "weights", None):
        return WeightStore(Path(ctx.weights))
    folder = getattr(ctx, "models", None) or (Path(ctx.workdir) / "models" if ctx.workdir else None)
    return WeightStore(Path(folder)) if folder else None


def get_trained(name: str, recipe: Recipe, ctx: Context) -> Trained:
    """The network `name` trained with `recipe`: from memory, a store, or trained now."""
    key = model_key(name, recipe)
    if key not in _MEMO:
        _MEMO[key] = _load_or_train(name, recipe, ctx, key)
    hit = _MEMO[key]
    # provenance names each shared network by its key: in short for the card, in full
    # for the freshness check
    networks = dict(ctx.facts.get("networks", {}))
    networks[name] = key
    ctx.facts["networks"] = dict(sorted(networks.items()))
    ctx.facts["models"] = ", ".join(f"{k} {v[:12]}" for k, v in sorted(networks.items()))
    trained = dict(ctx.facts.get("trained", {}))
    trained[name] = how_trained(hit.history)
    ctx.facts["trained"] = dict(sorted(trained.items()))
    for fact, value in hit.data.items():  # what the network was trained on, if not said yet
        ctx.facts.setdefault(fact, value)
    model = copy.deepcopy(hit.model).to(ctx.device).eval()
    return Trained(hit.name, model, hit.history, hit.probes, hit.steps_per_epoch,
                   hit.from_cache, hit.data)


def _load_or_train(name: str, recipe: Recipe, ctx: Context, key: str) -> Trained:
    store = store_for(recipe, ctx)
    saved = store.load(name, key) if store else None
    if saved is not None:
        return _trained(name, saved, recipe, from_cache=True)

    facts: dict = {}
    data = load_data(recipe.data, recipe.n_train, recipe.n_test, recipe.seed, Context(facts=facts))
    facts["data_sha256"] = data_hash(data)[:16]
    checkpoint = None
    if store is not None:
        # beside the weights, so an interrupted campaign can commit it and go on elsewhere
        checkpoint = store.root / "partial" / file_name(name, key).replace(".pt", ".ckpt")
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model, history, probes = train_network(name, recipe, data, ctx.device, checkpoint,
                                           progress=ctx.progress)
    if ctx.progress:
        print(f"    trained {name} in {time.perf_counter() - t0:.0f} s"
              f"{' (diverged)' if history.diverged else ''}", flush=True)
    state = {"model": model.state_dict(), "history": history.to_dict(), "probes": probes, "data": facts}
    if store is not None:
        state = store.save(name, key, model.state_dict(), history.to_dict(), probes, facts,
                           meta=_meta(name, history, recipe))
        for spent in (checkpoint, checkpoint.with_suffix(".probes.json")):
            spent.unlink(missing_ok=True)
    return _trained(name, state, recipe, from_cache=False)


def how_trained(history: History) -> str:
    """'10 epochs, 3900 steps, fp32 on AMD EPYC (2 threads)': for a result's provenance."""
    eps = history.epochs
    steps = sum(e.steps for e in eps)
    where = "; ".join(sorted({f"{e.precision} on {e.host or history.device}"
                              + (f" ({e.threads} threads)" if e.threads else "") for e in eps}))
    return f"{len(eps)} epochs, {steps} steps, {where}" + (" (diverged)" if history.diverged else "")


def data_hash(data) -> str:
    """sha256 of the images and labels themselves, for provenance."""
    h = hashlib.sha256()
    for t in (data.train_x, data.train_y, data.test_x, data.test_y):
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


def _trained(name: str, state: dict, recipe: Recipe, from_cache: bool) -> Trained:
    from lab.networks import make_model

    model = make_model(name)
    model.load_state_dict(state["model"])  # the stored, rounded weights, also right after training
    history = History.from_dict(state["history"])
    steps = history.epochs[0].steps if history.epochs else 0
    return Trained(name, model.eval(), history, state["probes"], steps, from_cache,
                   dict(state.get("data") or {}))


def _meta(name: str, history: History, recipe: Recipe) -> dict:
    """What the manifest says of a stored network: recipe, cost, where it ran, how it ended."""
    eps = history.epochs
    last = eps[-1] if eps else None
    return {
        "recipe": to_dict(recipe), "epochs": len(eps), "diverged": history.diverged,
        "train_seconds": round(sum(e.seconds + e.eval_seconds for e in eps), 1),
        "images_per_second": round(sum(e.images_per_second for e in eps) / max(len(eps), 1), 1),
        "precision": sorted({e.precision for e in eps}), "hosts": sorted({e.host for e in eps}),
        "threads": sorted({e.threads for e in eps}), "device": history.device,
        "torch": torch.__version__, "commit": git_commit(REPO, module_files(model_sources(name))),
        "final": {"train_error": finite(last.train_error) if last else None,
                  "test_error": finite(last.test_error) if last and last.test_error is not None else None},
    }


def curves(t: Trained) -> dict:
    """Per-epoch series of a trained net, strict-JSON (None where not measured)."""
    eps = t.history.epochs
    return {
        "epoch": [e.epoch for e in eps],
        "train_error": [finite(e.train_error) for e in eps],
        "train_loss": [finite(e.train_loss) for e in eps],
        "test_error": [None if e.test_error is None else finite(e.test_error) for e in eps],
        "diverged_epoch": t.history.diverged_epoch,
    }


def summary(t: Trained) -> dict:
    """Final numbers of a trained net (fractions for errors, seconds for time)."""
    eps = t.history.epochs
    tests = [e.test_error for e in eps if e.test_error is not None]
    last = eps[-1] if eps else None
    return {
        "train_error": finite(last.train_error) if last else None,
        "test_error": finite(tests[-1]) if tests else None,
        "best_test_error": finite(min(tests)) if tests else None,
        "epochs": len(eps),
        "diverged": t.diverged,
        "params": models.count_parameters(t.model),
        "train_seconds": round(t.train_seconds, 2),
        "precision": "/".join(sorted({e.precision for e in eps})) or None,
    }
