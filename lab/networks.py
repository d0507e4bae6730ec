"""The reference networks: how each one is built, trained and probed, by name.

Every experiment of a profile shares one set of trained networks, each trained
once under the profile's `Recipe`. This module is all that decides their
weights besides the model, trainer and data code, so its source is part of
every network's key (lab.weights.model_key). What is not here on purpose:
where weights are stored, how keys are made, which profile uses which recipe.
Changing those must not retrain anything.

Probes: before training and after every epoch, the gradient norm of every 3x3
conv (and, for Highway nets, the mean transform gate) on a fixed batch of
training images drawn from every class, measured on a copy so the network's
own BN statistics stay.
"""
from __future__ import annotations

import copy
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from lab import models
from lab.data import CifarData, normalize, spread
from lab.train import History, TrainConfig, train

_NAME = re.compile(r"^(resnet|plain|preact_resnet|highway|densenet)(\d+)$")


@dataclass(frozen=True)
class Recipe:
    """How the shared networks are trained: He et al.'s SGD, on a budget."""
    data: str = "cifar10"        # "cifar10" or "synthetic"
    n_train: int = 0             # training images, class-balanced subset (0 = all 50,000)
    n_test: int = 0              # test images (0 = all 10,000)
    epochs: int = 10             # passes over the training images
    batch_size: int = 128        # images per SGD step
    lr: float = 0.1              # peak learning rate
    warmup_epochs: float = 0.0   # epochs of linear warmup (He et al. warm ResNet-110 up)
    weight_decay: float = 1e-4   # L2 coefficient
    nesterov: bool = False       # Nesterov momentum
    schedule: str = "compressed"  # compressed: /10 at 50% and 75% of the steps; linear: to 0
    max_grad_norm: float = 0.0   # clip the gradient to this L2 norm (0 = off, as in the paper)
    probe_batch: int = 128       # training images in the fixed batch probed every epoch (count)
    seed: int = 0                # data subset, batch order, augmentation and initialization


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


def model_class(name: str) -> type:
    """The class of network `name`, for finding the source files that define it."""
    return type(make_model(name))


def train_config(recipe: Recipe) -> TrainConfig:
    return TrainConfig(epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr,
                       weight_decay=recipe.weight_decay, nesterov=recipe.nesterov,
                       schedule=recipe.schedule, warmup_epochs=recipe.warmup_epochs,
                       max_grad_norm=recipe.max_grad_norm, seed=recipe.seed)


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
    out = {"loss": finite(loss.item()), "grad_norms": [finite(v) for v in conv_grad_norms(twin)]}
    if hasattr(twin, "gates"):
        out["gates"] = [finite(v) for _, v in twin.gates()]
    return out


def finite(v: float) -> float | None:
    return v if math.isfinite(v) else None  # results are strict JSON: no NaN


def train_network(name: str, recipe: Recipe, data: CifarData, device: str,
                  checkpoint: Path | None = None, progress: bool = True,
                  on_epoch: Callable[[int], None] | None = None,
                  ) -> tuple[torch.nn.Module, History, list[dict]]:
    """Train network `name` from the recipe's seed: (model, history, probes).

    With `checkpoint`, the run saves its state (and its probes beside it) after
    every epoch and resumes from there; plain nets may diverge, which is recorded
    in the history rather than raised."""
    torch.manual_seed(recipe.seed)
    model = make_model(name)  # initialization drawn from the recipe's seed
    pick = spread(data.train_y, recipe.probe_batch, recipe.seed)  # every class, not x[:n]
    px, py = normalize(data.train_x[pick]).to(device), data.train_y[pick].to(device)
    steps = len(data.train_y) // recipe.batch_size or 1  # full batches only (lab.train)
    probes_file = checkpoint.with_suffix(".probes.json") if checkpoint else None
    probes: list[dict] = []
    if probes_file is not None and probes_file.exists() and checkpoint.exists():
        probes = json.loads(probes_file.read_text())  # resuming: earlier epochs' probes
    if not probes:
        probes = [{"epoch": 0, "step": 0, **probe(model.to(device), px, py)}]

    def record(epoch_record) -> None:
        probes[:] = [p for p in probes if p["epoch"] < epoch_record.epoch]
        probes.append({"epoch": epoch_record.epoch, "step": epoch_record.epoch * steps,
                       **probe(model, px, py)})
        if probes_file is not None:
            tmp = probes_file.with_name(f".{probes_file.name}.{os.getpid()}")
            tmp.write_text(json.dumps(probes))
            os.replace(tmp, probes_file)
        if on_epoch is not None:
            on_epoch(epoch_record.epoch)

    history = train(model, data, train_config(recipe), device=device, checkpoint=checkpoint,
                    progress=progress, on_epoch=record, expect_divergence=name.startswith("plain"))
    return model.eval(), history, probes
