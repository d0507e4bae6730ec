"""feature_maps: what a few test images look like inside a trained ResNet and its plain twin.

For each image we keep the activation after the stem and after each of the three
stages (32x32, 16x16 and 8x8 maps): the mean over channels and the few channels
that vary most across the images. Maps are stored as small uint8 images, scaled
per network and stage so that images can be compared with one another.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lab.experiments import Context, Output, register
from lab.experiments.common import load_data, normalize
from lab.experiments.profiles import ESTIMATE_S, profiles
from lab.experiments.trained import MODULES, Recipe, get_trained

STAGES = ("stem", "layer1", "layer2", "layer3")

# Metric paths the prose may quote: "<net>" stands for resnet<depth> and plain<depth>.
METRICS = {
    "<net>": ("correct",) + STAGES,
    "<net>/<net>": ("mean_activation", "zero_fraction", "size", "channels"),
}


@dataclass(frozen=True)
class Config:
    depth: int = 56            # depth of the ResNet and its plain twin (layers)
    n_images: int = 4          # test images shown, one per class from the first classes (count)
    n_channels: int = 4        # channels kept per stage, those varying most over the images (count)
    percentile: float = 99.5   # activation percentile mapped to white, per net and stage (%)
    recipe: Recipe = Recipe()  # how the networks were trained (shared recipe)


def pick_images(y: torch.Tensor, n: int) -> list[int]:
    """Index of the first test image of each of the first `n` classes: a fixed, varied set."""
    return [int((y == c).nonzero()[0]) for c in range(n) if (y == c).any()]


@torch.no_grad()
def stage_activations(model: torch.nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Activation after the stem (post-ReLU) and after each stage, as float arrays."""
    model.eval()
    out = {"stem": model.relu(model.bn1(model.conv1(x)))}
    h = out["stem"]
    for stage in STAGES[1:]:
        h = getattr(model, stage)(h)
        out[stage] = h
    return {k: v.float().cpu().numpy() for k, v in out.items()}


def to_uint8(a: np.ndarray, top: float) -> np.ndarray:
    return (np.clip(a / top, 0, 1) * 255).round().astype(np.uint8) if top > 0 else np.zeros(a.shape, np.uint8)


@register("feature_maps", Config, modules=MODULES, profiles=profiles("feature_maps"),
          estimate_s=ESTIMATE_S["feature_maps"])
def run(cfg: Config, ctx: Context) -> Output:
    """Per-stage activations of a few test images in trained residual and plain nets."""
    data = load_data(cfg.recipe.data, cfg.recipe.n_train, cfg.recipe.n_test, cfg.recipe.seed, ctx)
    idx = pick_images(data.test_y, cfg.n_images)
    x = normalize(data.test_x[idx]).to(ctx.device)
    labels = [data.classes[int(data.test_y[i])] for i in idx]
    arrays = {"images": data.test_x[idx].permute(0, 2, 3, 1).numpy().astype(np.uint8)}
    metrics: dict = {}
    info: dict = {}
    for kind in ("resnet", "plain"):
        name = f"{kind}{cfg.depth}"
        t = get_trained(name, cfg.recipe, ctx)
        acts = stage_activations(t.model, x)
        with torch.no_grad():
            pred = t.model(x).argmax(1).cpu().tolist()
        metrics[name] = {"correct": int(sum(data.classes[p] == l for p, l in zip(pred, labels)))}
        info[name] = {"predicted": [data.classes[p] for p in pred], "channels": {}, "white": {}}
        for stage, a in acts.items():
            a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
            mean_map = a.mean(axis=1)                                  # (n, H, W)
            var = a.reshape(a.shape[0], a.shape[1], -1).mean(2).var(0)  # per channel, over images
            chans = np.sort(np.argsort(-var, kind="stable")[: cfg.n_channels])
            top_mean = float(np.percentile(mean_map, cfg.percentile))
            top_chan = float(np.percentile(a[:, chans], cfg.percentile))
            arrays[f"{name}_{stage}_mean"] = to_uint8(mean_map, top_mean)
            arrays[f"{name}_{stage}_channels"] = to_uint8(a[:, chans], top_chan)
            info[name]["channels"][stage] = [int(c) for c in chans]
            info[name]["white"][stage] = {"mean": top_mean, "channels": top_chan}
            metrics[name][stage] = {
                "mean_activation": float(a.mean()),
                # share of exactly-zero activations after the ReLU (inactive units)
                "zero_fraction": float((a <= 0).mean()),
                "size": int(a.shape[-1]), "channels": int(a.shape[1]),
            }
    return Output(metrics=metrics, arrays=arrays,
                  data={"labels": labels, "test_index": idx, "stages": list(STAGES), "nets": info,
                        "depth": cfg.depth})
