"""gradient_flow: how large is the gradient at each layer, plain vs residual?

At initialization, one batch of images, cross-entropy loss: the norm of the
gradient of every 3x3 convolution's weights, from the first layer to the last,
averaged over several independent initializations. In a deep plain network the
early layers' gradients drift far from the late ones' (with batch normalization they
grow towards the input rather than vanish); with identity shortcuts they stay
within a small factor (He et al. 2016, Eq. 5).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from figures import models
from figures.experiments import Context, Output, register
from figures.experiments.common import load_data, normalize, seed_everything


@dataclass(frozen=True)
class Config:
    depths: tuple = (20, 56)   # network depths, 6n+2 (layers)
    batch_size: int = 128      # images in the measured batch (count)
    repeats: int = 3           # independent initializations averaged (count)
    data: str = "cifar10"      # "cifar10" or "synthetic"
    seed: int = 0              # base seed; repeat r uses seed + r


def conv_grad_norms(model: torch.nn.Module) -> list[float]:
    """L2 norm of the weight gradient of each 3x3 conv, in forward order."""
    return [float(m.weight.grad.norm()) for m in model.modules()
            if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]


def measure(name: str, x: torch.Tensor, y: torch.Tensor, seed: int, device: str) -> list[float]:
    seed_everything(seed)
    model = models.build(name).to(device).train()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return conv_grad_norms(model)


@register("gradient_flow", Config, modules=("figures.models",),
          profiles={
              "quick": {"depths": [20, 56], "batch_size": 8, "repeats": 1, "data": "synthetic"},
              "cpu": {"depths": [20, 56], "batch_size": 128, "repeats": 5},
              "full": {"depths": [20, 56, 110], "batch_size": 128, "repeats": 10},
          },
          estimate_s={"quick": 3, "cpu": 60, "full": 30})
def run(cfg: Config, ctx: Context) -> Output:
    """Gradient norm of every layer at initialization, plain vs residual."""
    data = load_data(cfg.data, n_train=cfg.batch_size, n_test=10, seed=cfg.seed, ctx=ctx)
    x = normalize(data.train_x[: cfg.batch_size]).to(ctx.device)
    y = data.train_y[: cfg.batch_size].to(ctx.device)
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
    return Output(metrics=metrics, data={"grad_norms": series, "depths": list(cfg.depths)})
