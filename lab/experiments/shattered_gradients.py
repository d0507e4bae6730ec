"""shattered_gradients: do nearby inputs get similar gradients, plain vs residual, by depth?

Balduzzi et al. 2017 ("The shattered gradients problem") found that in a deep
plain network the gradient with respect to the input decorrelates between
nearby inputs until it looks like white noise, while in a residual network it
stays correlated (their correlation falls like 2^-L for plain nets, like
1/sqrt(L) for residual ones). A gradient that changes at random from one input
to the next carries little that a step of gradient descent can use, even when
its size is well scaled.

The measure: for pairs of test images a and b, the points x_t = (1 - t) a + t b
on the line between them (t from 0 to 1); at each point the gradient of the
cross-entropy loss for a's label with respect to the input (3,072 numbers);
then the Pearson correlation of the gradients at points `lag` steps apart,
averaged over the line and the pairs. The networks run in eval mode, so every
input's gradient is its own: the trained networks with their running BN
statistics, the networks at initialization with statistics measured on
`bn_images` training images (what their first training batch would see).
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lab.experiments import Context, Output, register
from lab.experiments.common import fixed_images, load_data, normalize, seed_everything
from lab.experiments.profiles import ESTIMATE_S, profiles
from lab.experiments.trained import MODULES, Recipe, get_trained
from lab.networks import make_model

# Metric paths the prose may quote: "<net>" stands for each network (plain56, resnet20, ...).
METRICS = {
    "init/<net>": ("depth", "neighbour_correlation", "far_correlation"),
    "trained/<net>": ("depth", "neighbour_correlation", "far_correlation", "diverged"),
    "summary": ("pairs", "points", "step", "far_lag"),
}


@dataclass(frozen=True)
class Config:
    depths: tuple = (20, 32, 44, 56)        # trained networks measured (layers)
    init_depths: tuple = (20, 32, 44, 56, 110)  # networks measured at initialization (layers)
    pairs: int = 8             # pairs of test images, one line each (count)
    points: int = 33           # points on each line, ends included (count)
    lags: tuple = (1, 2, 4, 8, 16, 32)  # distances between compared points (steps)
    far_lag: int = 4           # the lag quoted as "farther apart" (steps)
    bn_images: int = 512       # training images that set BN statistics at initialization (count)
    repeats: int = 2           # initializations averaged per network (count)
    seed: int = 0              # seed of the image pairs and of the initializations
    recipe: Recipe = Recipe()  # how the trained networks were trained (shared recipe)


def line_gradients(model: torch.nn.Module, a: torch.Tensor, b: torch.Tensor, label: int,
                   points: int) -> torch.Tensor:
    """Input gradients of the loss for `label` at `points` points from a to b, flattened."""
    t = torch.linspace(0, 1, points, device=a.device).view(-1, 1, 1, 1)
    x = ((1 - t) * a + t * b).requires_grad_(True)
    y = torch.full((points,), label, dtype=torch.long, device=a.device)
    # summed over points: each input's gradient is its own loss's, as BN is in eval mode
    F.cross_entropy(model(x).float(), y, reduction="sum").backward()
    return x.grad.detach().flatten(1)


def lag_correlations(g: torch.Tensor, lags: tuple) -> list[float]:
    """Pearson correlation of gradients `lag` points apart, averaged along the line."""
    z = g - g.mean(1, keepdim=True)
    z = z / (z.norm(dim=1, keepdim=True) + 1e-30)
    return [float((z[:-k] * z[k:]).sum(1).mean()) if k < len(z) else float("nan") for k in lags]


def correlations(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: Config) -> np.ndarray:
    """Mean correlation per lag over the pairs (x[2i], x[2i+1])."""
    model = model.float().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    rows = [lag_correlations(line_gradients(model, x[2 * i], x[2 * i + 1], int(y[2 * i]), cfg.points),
                             cfg.lags) for i in range(len(x) // 2)]
    return np.nanmean(np.array(rows), axis=0)


@torch.no_grad()
def set_bn_statistics(model: torch.nn.Module, x: torch.Tensor) -> torch.nn.Module:
    """An untrained net's BN running statistics measured on x (a cumulative average)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    for s in range(0, len(x), 128):
        model(x[s:s + 128])
    return model.eval()


def summary(depth: int, corr: np.ndarray, cfg: Config) -> dict:
    return {"depth": depth, "neighbour_correlation": float(corr[0]),
            "far_correlation": float(corr[list(cfg.lags).index(cfg.far_lag)])}


# The networks at initialization do not depend on the seed their trained twins were trained
# from: measured once per process, not once per training seed (most of this experiment's time).
_INIT: dict = {}


def _images_fixed(cfg: Config) -> bool:
    """Whether the images do not depend on the training seed: all of CIFAR-10, not a subset."""
    return cfg.recipe.data == "cifar10" and not (cfg.recipe.n_train or cfg.recipe.n_test)


def at_init(cfg: Config, x, y, bn_x, device, reuse: bool) -> tuple[dict, dict]:
    """(metrics, curves) of every network of `init_depths`, freshly initialized."""
    key = (dataclasses.replace(cfg, recipe=dataclasses.replace(cfg.recipe, seed=0)), str(device))
    if reuse and key in _INIT:
        return copy.deepcopy(_INIT[key])
    metrics, curves = {}, {}
    for depth in cfg.init_depths:
        for kind in ("plain", "resnet"):
            name = f"{kind}{depth}"
            runs = []
            for r in range(cfg.repeats):
                seed_everything(cfg.seed + r)
                model = set_bn_statistics(make_model(name).to(device), bn_x)
                runs.append(correlations(model, x, y, cfg))
            corr = np.mean(runs, axis=0)
            curves[name] = [float(v) for v in corr]
            metrics[name] = summary(depth, corr, cfg)
    if reuse:
        _INIT.clear()  # the last config's only
        _INIT[key] = copy.deepcopy((metrics, curves))
    return metrics, curves


@register("shattered_gradients", Config, modules=MODULES, profiles=profiles("shattered_gradients"),
          estimate_s=ESTIMATE_S["shattered_gradients"])
def run(cfg: Config, ctx: Context) -> Output:
    """Correlation of input gradients between nearby inputs, plain vs residual, by depth."""
    data = load_data(cfg.recipe.data, cfg.recipe.n_train, cfg.recipe.n_test, cfg.recipe.seed, ctx)
    x, y = fixed_images(data.test_x, data.test_y, 2 * cfg.pairs, cfg.seed)
    x, y = normalize(x).to(ctx.device), y.to(ctx.device)
    bn_x, _ = fixed_images(data.train_x, data.train_y, min(cfg.bn_images, len(data.train_y)), cfg.seed)
    bn_x = normalize(bn_x).to(ctx.device)
    metrics: dict = {"init": {}, "trained": {}}
    curves: dict = {"init": {}, "trained": {}}
    metrics["init"], curves["init"] = at_init(cfg, x, y, bn_x, ctx.device, _images_fixed(cfg))
    for depth in cfg.depths:
        for kind in ("plain", "resnet"):
            name = f"{kind}{depth}"
            t = get_trained(name, cfg.recipe, ctx)
            corr = correlations(t.model, x, y, cfg)
            curves["trained"][name] = [float(v) for v in corr]
            metrics["trained"][name] = {**summary(depth, corr, cfg), "diverged": t.diverged}
    metrics["summary"] = {"pairs": cfg.pairs, "points": cfg.points,
                          # the distance between neighbouring points, as a share of the line
                          "step": 1 / (cfg.points - 1), "far_lag": cfg.far_lag}
    return Output(metrics=metrics, data={"lags": list(cfg.lags), "correlation": curves,
                                         "depths": list(cfg.depths), "init_depths": list(cfg.init_depths)})
