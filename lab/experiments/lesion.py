"""lesion: delete one block from a trained network and measure the test error.

Veit et al. 2016 removed single residual blocks from a trained ResNet at test
time: the error barely moved, except at the few blocks that downsample, while
deleting any layer of a plain (VGG-style) network sent it to chance. They read
this as a residual network behaving like an ensemble of many shallower paths.
`lab.models.lesion` replaces block i by its shortcut alone (identity, or the
zero-padding shortcut where a block downsamples); a plain net keeps that
parameter-free shortcut for exactly this use.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lab import models
from lab.experiments import Context, Output, register
from lab.experiments.common import fixed_images, load_data
from lab.experiments.profiles import ESTIMATE_S, profiles
from lab.experiments.trained import MODULES, Recipe, get_trained
from lab.train import evaluate

# Metric paths the prose may quote: "<net>" stands for resnet<depth> and plain<depth>.
METRICS = {
    "<net>": ("baseline_error", "blocks", "mean_error", "max_error", "min_error", "mean_increase",
              "mean_increase_downsampling", "mean_damage", "near_chance_blocks", "worst_block",
              "diverged"),
    # the error one deletion adds, per group of blocks: the same-shape blocks of each stage
    # ("layer2.3" is in stage 2) and the blocks that downsample, apart
    **{f"<net>/{g}": ("blocks", "mean_increase", "min_increase", "max_increase")
       for g in ("stage1", "stage2", "stage3", "downsampling")},
    "summary": ("chance_error", "plain_minus_resnet_increase", "plain_minus_resnet_damage", "n_images"),
}


@dataclass(frozen=True)
class Config:
    depth: int = 56            # depth of the ResNet and its plain twin (layers)
    n_images: int = 10000      # test images each lesioned net is evaluated on (count)
    recipe: Recipe = Recipe()  # how the networks were trained (shared recipe)


def by_group(names: list[str], down: list[int], increase: np.ndarray) -> dict:
    """Mean, least and largest error added by one deletion, per stage's same-shape blocks
    and for the downsampling blocks: Veit et al. found the damage modest at the blocks that
    downsample and small elsewhere, so where ours is not, the group says where."""
    stages = sorted({int(n.split(".")[0].removeprefix("layer")) for n in names})
    groups = {f"stage{s}": [i for i, n in enumerate(names) if n.startswith(f"layer{s}.") and i not in down]
              for s in stages}
    groups["downsampling"] = list(down)
    return {g: {"blocks": len(idx),
                "mean_increase": float(increase[idx].mean()) if idx else None,
                "min_increase": float(increase[idx].min()) if idx else None,
                "max_increase": float(increase[idx].max()) if idx else None}
            for g, idx in groups.items()}


@register("lesion", Config, modules=MODULES, profiles=profiles("lesion"),
          estimate_s=ESTIMATE_S["lesion"])
def run(cfg: Config, ctx: Context) -> Output:
    """Test error after deleting each single block, residual vs plain."""
    data = load_data(cfg.recipe.data, cfg.recipe.n_train, cfg.recipe.n_test, cfg.recipe.seed, ctx)
    x, y = fixed_images(data.test_x, data.test_y, cfg.n_images, cfg.recipe.seed)
    chance = 1 - 1 / len(data.classes)
    metrics: dict = {}
    errors: dict = {}
    names: list[str] = []
    for kind in ("resnet", "plain"):
        name = f"{kind}{cfg.depth}"
        t = get_trained(name, cfg.recipe, ctx)
        _, base = evaluate(t.model, x, y, device=ctx.device)
        blocks = t.model.blocks()
        names = [n for n, _ in blocks]
        errs = [evaluate(models.lesion(t.model, i), x, y, device=ctx.device)[1]
                for i in range(len(blocks))]
        errors[name] = errs
        down = [i for i, (_, b) in enumerate(blocks) if not isinstance(b.shortcut, torch.nn.Identity)]
        keep = [i for i in range(len(blocks)) if i not in down]
        e = np.array(errs)
        metrics[name] = {
            "baseline_error": float(base),
            "blocks": len(blocks),
            "mean_error": float(e.mean()), "max_error": float(e.max()), "min_error": float(e.min()),
            # error added by a lesion, averaged over the blocks that keep their shape
            "mean_increase": float(e[keep].mean() - base) if keep else None,
            "mean_increase_downsampling": float(e[down].mean() - base) if down else None,
            # share of the intact net's above-chance accuracy that one deletion costs, on average
            # over same-shape blocks: comparable between a strong and a weak net
            "mean_damage": (float(((e[keep] - base) / (chance - base)).mean())
                            if keep and chance > base else None),
            # deletions that leave the net within 5 points of guessing
            "near_chance_blocks": int((e >= chance - 0.05).sum()),
            "worst_block": names[int(e.argmax())],
            "diverged": t.diverged,
            **by_group(names, down, e - base),
        }
    r, p = metrics[f"resnet{cfg.depth}"], metrics[f"plain{cfg.depth}"]
    metrics["summary"] = {
        "chance_error": chance,
        # > 0: deleting a same-shape block hurts the plain net more than the residual one
        "plain_minus_resnet_increase": (p["mean_increase"] - r["mean_increase"]
                                        if None not in (p["mean_increase"], r["mean_increase"]) else None),
        # > 0: a deletion costs the plain net a larger share of what it had learned
        "plain_minus_resnet_damage": (p["mean_damage"] - r["mean_damage"]
                                      if None not in (p["mean_damage"], r["mean_damage"]) else None),
        "n_images": int(len(y)),
    }
    return Output(metrics=metrics, data={"blocks": names, "errors": errors,
                                         "baseline": {k: v["baseline_error"] for k, v in metrics.items()
                                                      if "baseline_error" in v},
                                         "depth": cfg.depth})
