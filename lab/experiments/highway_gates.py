"""highway_gates: how far does each Highway layer open its transform gate?

A Highway layer mixes y = H(x) T(x) + x (1 - T(x)) with a learned gate T
(Srivastava et al. 2015). Our gates start nearly shut (bias -2, T = 0.12), so
every layer first carries its input. We follow the mean gate of every layer on
a fixed training batch after each epoch of the shared training run, and at the
end on test images. He et al. 2016 argue that a gate which can close the
shortcut is a liability; the question here is how much the gates use it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lab.experiments import Context, Output, register
from lab.experiments.common import fixed_images, load_data, normalize
from lab.experiments.profiles import ESTIMATE_S, profiles
from lab.experiments.trained import MODULES, Recipe, get_trained, summary

# Metric paths the prose may quote (flat: one Highway network).
METRICS = {
    "": ("layers", "init_mean", "final_mean", "final_min", "final_max", "most_open_layer",
         "most_closed_layer", "early_mean", "late_mean", "change", "test_error", "train_error", "params"),
}


@dataclass(frozen=True)
class Config:
    depth: int = 56            # Highway network depth, 6n+2 (layers)
    n_images: int = 1000       # test images for the final gate means (count)
    batch_size: int = 250      # images per forward pass (count)
    recipe: Recipe = Recipe()  # how the network is trained (shared recipe)


@torch.no_grad()
def test_gates(model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> list[float]:
    """Mean transform gate of every layer over `x` (eval mode), weighted by batch size."""
    model.eval()
    total = None
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        model(xb)
        g = np.array([v for _, v in model.gates()]) * len(xb)
        total = g if total is None else total + g
    return [float(v) for v in total / len(x)]


@register("highway_gates", Config, modules=MODULES, profiles=profiles("highway_gates"),
          estimate_s=ESTIMATE_S["highway_gates"])
def run(cfg: Config, ctx: Context) -> Output:
    """Mean transform-gate value of each Highway layer over training."""
    name = f"highway{cfg.depth}"
    t = get_trained(name, cfg.recipe, ctx)
    probes = [p for p in t.probes if p.get("gates") and all(v is not None for v in p["gates"])]
    gates = np.array([p["gates"] for p in probes])           # (checkpoints, layers)
    data = load_data(cfg.recipe.data, cfg.recipe.n_train, cfg.recipe.n_test, cfg.recipe.seed, ctx)
    x, _ = fixed_images(data.test_x, data.test_y, cfg.n_images, cfg.recipe.seed)
    final = test_gates(t.model, normalize(x).to(ctx.device), cfg.batch_size)
    layer_names = [n for n, _ in t.model.blocks()]
    n = len(final)
    third = max(n // 3, 1)
    metrics = {
        "layers": n,
        "init_mean": float(gates[0].mean()),
        "final_mean": float(np.mean(final)),
        "final_min": float(np.min(final)), "final_max": float(np.max(final)),
        "most_open_layer": int(np.argmax(final)) + 1, "most_closed_layer": int(np.argmin(final)) + 1,
        # mean gate of the first and last third of the layers, on test images
        "early_mean": float(np.mean(final[:third])), "late_mean": float(np.mean(final[-third:])),
        # how much the average gate moved from initialization to the last probe
        "change": float(gates[-1].mean() - gates[0].mean()),
        **{k: v for k, v in summary(t).items() if k in ("test_error", "train_error", "params")},
    }
    return Output(metrics=metrics, data={
        "layer_names": layer_names, "epoch": [p["epoch"] for p in probes],
        "step": [p["step"] for p in probes], "gates": gates.tolist(), "final_test": final,
        "depth": cfg.depth,
    })
