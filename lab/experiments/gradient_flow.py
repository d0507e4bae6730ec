"""gradient_flow: how large is the gradient at each layer, plain vs residual?

At initialization, one batch of images, cross-entropy loss: the norm of the
gradient of every 3x3 convolution's weights, from the first layer to the last,
averaged over several independent initializations. In a deep plain network the
early layers' gradients drift far from the late ones' (with batch normalization they
grow towards the input rather than vanish); with identity shortcuts they stay
within a small factor (He et al. 2016, Eq. 5).

Over training: the same per-layer norms, probed on a fixed batch after every
epoch of the shared training run (lab.experiments.trained) of the
`train_depth`-layer plain and residual networks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lab import models
from lab.experiments import Context, Output, register
from lab.experiments.common import fixed_images, load_data, normalize, seed_everything
from lab.experiments.profiles import ESTIMATE_S, profiles
from lab.experiments.trained import MODULES, Recipe, conv_grad_norms, get_trained

# Metric paths the prose may quote: "<net>" stands for each network (plain56, resnet20, ...).
METRICS = {
    "<net>": ("layers", "first_layer_norm", "last_layer_norm", "first_over_last", "spread"),
    "trained/<net>": ("epochs", "steps", "first_over_last", "spread", "max_spread", "diverged"),
}


@dataclass(frozen=True)
class Config:
    depths: tuple = (20, 56)   # network depths, 6n+2 (layers)
    batch_size: int = 128      # images in the measured batch (count)
    repeats: int = 3           # independent initializations averaged (count)
    data: str = "cifar10"      # "cifar10" or "synthetic"
    seed: int = 0              # base seed; repeat r uses seed + r
    train_depth: int = 56      # depth of the nets probed over training (layers)
    recipe: Recipe = Recipe()  # how those nets are trained (shared recipe)


def measure(name: str, x: torch.Tensor, y: torch.Tensor, seed: int, device: str) -> list[float]:
    seed_everything(seed)
    model = models.build(name).to(device).train()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return conv_grad_norms(model)


@register("gradient_flow", Config, modules=MODULES, profiles=profiles("gradient_flow"),
          estimate_s=ESTIMATE_S["gradient_flow"])
def run(cfg: Config, ctx: Context) -> Output:
    """Gradient norm of every layer at initialization and over training, plain vs residual."""
    data = load_data(cfg.data, n_train=cfg.batch_size, n_test=10, seed=cfg.seed, ctx=ctx)
    x, y = fixed_images(data.train_x, data.train_y, cfg.batch_size, cfg.seed)
    x, y = normalize(x).to(ctx.device), y.to(ctx.device)
    series: dict[str, list[float]] = {}
    metrics: dict[str, dict[str, float]] = {}
    for depth in cfg.depths:
        for kind in ("plain", "resnet"):
            name = f"{kind}{depth}"
            runs = np.array([measure(name, x, y, cfg.seed + r, ctx.device) for r in range(cfg.repeats)])
            mean = runs.mean(axis=0)
            series[name] = [float(v) for v in mean]
            metrics[name] = {
                "layers": int(len(mean)),
                "first_layer_norm": float(mean[0]),
                "last_layer_norm": float(mean[-1]),
                # >1: the gradient grows towards the input (explodes), <1: it vanishes
                "first_over_last": float(mean[0] / mean[-1]),
                # how far apart the largest and smallest layer gradients are
                "spread": float(mean.max() / mean.min()),
            }
    training, metrics["trained"] = over_training(cfg, ctx)
    return Output(metrics=metrics, data={"grad_norms": series, "depths": list(cfg.depths),
                                         "training": training, "train_depth": cfg.train_depth})


def over_training(cfg: Config, ctx: Context) -> tuple[dict, dict]:
    """Per-epoch probes of the shared runs: series per net, and end-of-training metrics."""
    series, metrics = {}, {}
    for kind in ("plain", "resnet"):
        name = f"{kind}{cfg.train_depth}"
        t = get_trained(name, cfg.recipe, ctx)
        probes = [p for p in t.probes if all(v is not None for v in p["grad_norms"])]
        series[name] = {"epoch": [p["epoch"] for p in probes], "step": [p["step"] for p in probes],
                        "norms": [p["grad_norms"] for p in probes]}
        last = np.array(probes[-1]["grad_norms"])
        metrics[name] = {
            "epochs": int(probes[-1]["epoch"]), "steps": int(probes[-1]["step"]),
            "first_over_last": float(last[0] / last[-1]), "spread": float(last.max() / last.min()),
            # the largest spread seen at any probe, initialization included
            "max_spread": float(max(max(p["grad_norms"]) / min(p["grad_norms"]) for p in probes)),
            "diverged": t.diverged,
        }
    return series, metrics
