"""Trained networks shared by experiments: each is trained once per recipe.

depth_sweep, architectures, gradient_flow, highway_gates, layer_responses,
feature_maps, lesion and loss_landscape all need trained ResNets and plain
nets. `get_trained(name, recipe, ctx)` trains a model once and keeps its weights,
its per-epoch History and per-epoch *probes* (gradient norm of every 3x3 conv
and, for Highway nets, the mean transform gate, on a fixed batch) in a model
cache keyed by name, recipe, device type and the source of every module that
shapes the weights (for the data: the images themselves and the batching code,
so that a change to how CIFAR is decoded retrains nothing if the pixels stay the
same). Weights stay in .cache/models, never in the results.
Every experiment that calls this declares this module (and what it hashes) in
its `modules=`, so a change here makes all of them stale.
"""
from __future__ import annotations

import copy
import hashlib
import inspect
import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from figures import models
from figures.config import to_dict
from figures.experiments import Context
from figures.experiments.common import load_data, normalize
from figures.store import canonical_json, library_versions, module_source_hash, sha256

# Modules whose source decides the trained weights; experiments list these in modules=.
MODULES = ("figures.models", "figures.train", "figures.data", "figures.experiments.trained")


@dataclass(frozen=True)
class Recipe:
    """How the shared networks are trained (the paper's SGD, shortened)."""
    data: str = "cifar10"        # "cifar10" or "synthetic"
    n_train: int = 0             # training images, class-balanced subset (0 = all 50,000)
    n_test: int = 0              # test images (0 = all 10,000)
    epochs: int = 10             # passes over the training images
    batch_size: int = 128        # images per SGD step
    lr: float = 0.1              # peak learning rate
    warmup_epochs: float = 0.0   # epochs of linear warmup (He et al. warm ResNet-110 up)
    weight_decay: float = 1e-4   # L2 coefficient
    schedule: str = "compressed"  # /10 at 50% and 75% of the steps
    max_grad_norm: float = 0.0   # clip the gradient to this L2 norm (0 = off, as in the paper)
    probe_batch: int = 128       # training images in the fixed batch probed every epoch (count)
    seed: int = 0                # data subset, batch order, augmentation and initialization


# One recipe per profile, so every experiment of a profile shares the same networks.
RECIPES: dict[str, dict] = {
    # seconds: random coloured images, two epochs of two steps
    "quick": {"data": "synthetic", "n_train": 128, "n_test": 64, "epochs": 2, "batch_size": 64,
              "probe_batch": 16},
    # 2 CPU cores: 2,500 CIFAR images (250 per class), 8 epochs of 40 steps. At lr 0.1 the
    # 56-layer nets' loss jumps to ~10 in the first steps (He et al. saw this at 110 layers and
    # warmed up); the full run has time to recover, 320 steps do not, so the gradient is clipped.
    "cpu": {"data": "cifar10", "n_train": 2500, "n_test": 1000, "epochs": 8, "batch_size": 64,
            "max_grad_norm": 1.0},
    # one GPU: all of CIFAR-10, 15 epochs on the paper's step schedule compressed
    "full": {"data": "cifar10", "n_train": 0, "n_test": 0, "epochs": 15, "batch_size": 128,
             "warmup_epochs": 1.0},
}

_NAME = re.compile(r"^(resnet|plain|preact_resnet|highway|densenet)(\d+)$")
_MEMO: dict[str, "Trained"] = {}


@dataclass
class Trained:
    name: str
    model: torch.nn.Module   # eval mode, on the context's device; a private copy
    history: Any             # figures.train.History
    probes: list[dict]       # per epoch (0 = initialization): step, grad_norms, gates
    steps_per_epoch: int
    from_cache: bool = False

    @property
    def diverged(self) -> bool:
        return bool(self.history.diverged)

    @property
    def train_seconds(self) -> float:
        """Wall time of training and per-epoch evaluation (s), as measured when trained."""
        return float(sum(e.seconds + e.eval_seconds for e in self.history.epochs))


def make_model(name: str) -> torch.nn.Module:
    """A factory model by name, or a CIFAR net of any depth 6n+2 (`resnet8`, `densenet22`)."""
    if name in models.FACTORIES:
        return models.build(name)
    m = _NAME.match(name)
    if not m:
        raise ValueError(f"unknown model {name!r}")
    kind, depth = m.group(1), int(m.group(2))
    if kind == "densenet":
        model = models.DenseNet(depth, 12)
    else:
        if (depth - 2) % 6:
            raise ValueError(f"{name}: depth must be 6n+2")
        n = (depth - 2) // 6
        if kind == "highway":
            model = models.HighwayNet(n)
        else:
            block = models.PreActBlock if kind == "preact_resnet" else models.BasicBlock
            model = models.CifarResNet(block, n, residual=kind != "plain")
    model.arch = name
    return model


def train_config(recipe: Recipe):
    from figures.train import TrainConfig

    return TrainConfig(epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr,
                       weight_decay=recipe.weight_decay, schedule=recipe.schedule,
                       warmup_epochs=recipe.warmup_epochs, max_grad_norm=recipe.max_grad_norm,
                       seed=recipe.seed)


def data_hash(data) -> str:
    """Hash of the images and labels themselves: how they were decoded does not matter."""
    h = hashlib.sha256()
    for t in (data.train_x, data.train_y, data.test_x, data.test_y):
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


def model_key(name: str, recipe: Recipe, device: str, data) -> str:
    """What decides the trained weights: the data's content, the code that batches, augments
    and trains it, the model code, the recipe. (Results still declare all of figures.data.)"""
    from figures import data as datamod
    from figures.experiments import common

    batching = [inspect.getsource(f) for f in (datamod.Loader, datamod.augment, common.normalize)]
    return sha256(canonical_json({
        "name": name, "recipe": to_dict(recipe), "device": torch.device(device).type,
        "data": data_hash(data), "batching": sha256("\n".join(batching)),
        "sources": {m: module_source_hash(m) for m in MODULES if m != "figures.data"},
        "libraries": library_versions(),
    }))


def cache_dir(ctx: Context) -> Path | None:
    folder = getattr(ctx, "models", None) or (Path(ctx.workdir) / "models" if ctx.workdir else None)
    return Path(folder) if folder else None


def conv_grad_norms(model: torch.nn.Module) -> list[float]:
    """L2 norm of the weight gradient of each 3x3 conv, in forward order."""
    return [float(m.weight.grad.norm()) for m in model.modules()
            if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]


def probe(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Gradient norms and gate means on a fixed batch, on a copy (the model's BN stats stay)."""
    twin = copy.deepcopy(model).train()
    twin.zero_grad(set_to_none=True)
    loss = F.cross_entropy(twin(x).float(), y)
    loss.backward()
    out = {"loss": _finite(loss.item()), "grad_norms": [_finite(v) for v in conv_grad_norms(twin)]}
    if hasattr(twin, "gates"):
        out["gates"] = [_finite(v) for _, v in twin.gates()]
    return out


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None  # results are strict JSON: no NaN


def get_trained(name: str, recipe: Recipe, ctx: Context) -> Trained:
    """The network `name` trained with `recipe`: from memory, the model cache, or trained now."""
    data = load_data(recipe.data, recipe.n_train, recipe.n_test, recipe.seed, ctx)
    key = model_key(name, recipe, ctx.device, data)
    if key not in _MEMO:
        _MEMO[key] = _load_or_train(name, recipe, ctx, key, data)
    hit = _MEMO[key]
    # provenance names each shared network by its cache key
    known = dict(p.split(" ", 1) for p in ctx.facts.get("models", "").split(", ") if p)
    known[name] = key[:12]
    ctx.facts["models"] = ", ".join(f"{k} {v}" for k, v in sorted(known.items()))
    model = copy.deepcopy(hit.model).to(ctx.device).eval()
    return Trained(hit.name, model, hit.history, hit.probes, hit.steps_per_epoch, hit.from_cache)


def _load_or_train(name: str, recipe: Recipe, ctx: Context, key: str, data) -> Trained:
    from figures.train import History, train

    folder = cache_dir(ctx)
    final = folder / f"{name}-{key[:16]}.pt" if folder else None
    steps = -(-len(data.train_y) // recipe.batch_size)
    model = make_model(name)
    if final is not None and final.exists():
        try:
            state = torch.load(final, map_location="cpu", weights_only=True)
            model.load_state_dict(state["model"])
            return Trained(name, model.eval(), History.from_dict(state["history"]),
                           json.loads(state["probes"]), steps, from_cache=True)
        except Exception:  # torn or foreign file: train again
            final.unlink(missing_ok=True)

    torch.manual_seed(recipe.seed)
    model = make_model(name)  # initialization drawn from the recipe's seed
    px = normalize(data.train_x[: recipe.probe_batch]).to(ctx.device)
    py = data.train_y[: recipe.probe_batch].to(ctx.device)
    ckpt = final.with_suffix(".ckpt") if final else None
    probes_file = final.with_suffix(".probes.json") if final else None
    probes: list[dict] = []
    if probes_file is not None and probes_file.exists() and ckpt.exists():
        probes = json.loads(probes_file.read_text())  # resuming: earlier epochs' probes
    if not probes:
        probes = [{"epoch": 0, "step": 0, **probe(model.to(ctx.device), px, py)}]

    def on_epoch(record) -> None:
        probes[:] = [p for p in probes if p["epoch"] < record.epoch]
        probes.append({"epoch": record.epoch, "step": record.epoch * steps, **probe(model, px, py)})
        if probes_file is not None:
            _atomic_text(probes_file, json.dumps(probes))

    t0 = time.perf_counter()
    history = train(model, data, train_config(recipe), device=ctx.device, checkpoint=ckpt,
                    progress=ctx.progress, on_epoch=on_epoch,
                    expect_divergence=name.startswith("plain"))
    if ctx.progress:
        print(f"    trained {name} in {time.perf_counter() - t0:.0f} s"
              f"{' (diverged)' if history.diverged else ''}", flush=True)
    if final is not None:
        tmp = final.with_name(f".{final.name}.{os.getpid()}")
        torch.save({"model": model.state_dict(), "history": history.to_dict(),
                    "probes": json.dumps(probes)}, tmp)
        os.replace(tmp, final)
        for spent in (ckpt, probes_file):
            spent.unlink(missing_ok=True)
    return Trained(name, model.eval(), history, probes, steps)


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def curves(t: Trained) -> dict:
    """Per-epoch series of a trained net, strict-JSON (None where not measured)."""
    eps = t.history.epochs
    return {
        "epoch": [e.epoch for e in eps],
        "train_error": [_finite(e.train_error) for e in eps],
        "train_loss": [_finite(e.train_loss) for e in eps],
        "test_error": [None if e.test_error is None else _finite(e.test_error) for e in eps],
        "diverged_epoch": t.history.diverged_epoch,
    }


def summary(t: Trained) -> dict:
    """Final numbers of a trained net (fractions for errors, seconds for time)."""
    eps = t.history.epochs
    tests = [e.test_error for e in eps if e.test_error is not None]
    last = eps[-1] if eps else None
    return {
        "train_error": _finite(last.train_error) if last else None,
        "test_error": _finite(tests[-1]) if tests else None,
        "best_test_error": _finite(min(tests)) if tests else None,
        "epochs": len(eps),
        "diverged": t.diverged,
        "params": models.count_parameters(t.model),
        "train_seconds": round(t.train_seconds, 2),
    }
