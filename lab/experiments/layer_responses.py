"""layer_responses: how strongly does each layer respond, plain vs residual?

He et al. 2016 (Fig. 7) measured the standard deviation of every 3x3 layer's
response - the output of its batch normalization, before the ReLU and before
the addition - on the test set. Residual layers respond more weakly than plain
ones, and more weakly the deeper the net: each residual function stays close to
zero, a small correction to the identity. We hook the BN after every 3x3 conv
of the trained shared networks (eval mode) and take the std of its output over
all test images, channels and positions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lab.experiments import Context, Output, register
from lab.experiments.common import fixed_images, load_data, normalize
from lab.experiments.profiles import ESTIMATE_S, profiles
from lab.experiments.trained import MODULES, Recipe, get_trained, summary

# Metric paths the prose may quote: "<net>" stands for each network; summary holds
# plain_over_resnet_<depth> for each depth.
METRICS = {
    "<net>": ("layers", "mean_std", "median_std", "max_std", "min_std", "mean_std_conv2",
              "test_error", "diverged"),
    "summary": (),
}


@dataclass(frozen=True)
class Config:
    depths: tuple = (20, 56, 110)  # network depths measured, 6n+2 (layers)
    n_images: int = 1000           # test images the responses are taken over (count)
    batch_size: int = 250          # images per forward pass (count)
    recipe: Recipe = Recipe()      # how the networks were trained (shared recipe)


def response_bns(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The BN that follows each 3x3 conv (stem, then conv1/conv2 of every block), in order."""
    bns = [model.bn1]
    for _, block in model.blocks():
        bns += [block.bn1, block.bn2]
    return bns


@torch.no_grad()
def response_stds(model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> list[float]:
    """Std of each response over all images, channels and positions (exact, streamed)."""
    bns = response_bns(model)
    sums = torch.zeros(len(bns), dtype=torch.float64)
    squares = torch.zeros(len(bns), dtype=torch.float64)
    count = torch.zeros(len(bns), dtype=torch.float64)

    def hook(i):
        def fn(_module, _inp, out):
            o = out.detach().double()
            sums[i] += o.sum().cpu()
            squares[i] += (o * o).sum().cpu()
            count[i] += o.numel()
        return fn

    handles = [bn.register_forward_hook(hook(i)) for i, bn in enumerate(bns)]
    try:
        model.eval()
        for start in range(0, len(x), batch_size):
            model(x[start:start + batch_size])
    finally:
        for h in handles:
            h.remove()
    mean = sums / count
    return [float(v) for v in (squares / count - mean * mean).clamp(min=0).sqrt()]


@register("layer_responses", Config, modules=MODULES, profiles=profiles("layer_responses"),
          estimate_s=ESTIMATE_S["layer_responses"])
def run(cfg: Config, ctx: Context) -> Output:
    """Std of each 3x3 layer's response (after BN, before ReLU/addition), trained nets."""
    data = load_data(cfg.recipe.data, cfg.recipe.n_train, cfg.recipe.n_test, cfg.recipe.seed, ctx)
    x, _ = fixed_images(data.test_x, data.test_y, cfg.n_images, cfg.recipe.seed)
    x = normalize(x).to(ctx.device)
    metrics: dict = {}
    layers: dict = {}
    for depth in cfg.depths:
        for kind in ("plain", "resnet"):
            name = f"{kind}{depth}"
            t = get_trained(name, cfg.recipe, ctx)
            stds = np.array(response_stds(t.model, x, cfg.batch_size))
            ok = np.isfinite(stds)
            layers[name] = [float(v) if np.isfinite(v) else None for v in stds]
            s = stds[ok] if ok.any() else np.array([np.nan])
            metrics[name] = {
                "layers": int(len(stds)),
                "mean_std": _f(s.mean()), "median_std": _f(np.median(s)),
                "max_std": _f(s.max()), "min_std": _f(s.min()),
                # the second conv of each block: the residual function's output in a ResNet
                "mean_std_conv2": _f(np.nanmean(stds[2::2])) if ok.any() else None,
                "test_error": summary(t)["test_error"], "diverged": t.diverged,
            }
    summ = {}
    for depth in cfg.depths:
        p, r = metrics[f"plain{depth}"]["mean_std"], metrics[f"resnet{depth}"]["mean_std"]
        # > 1: plain layers respond more strongly than residual ones (He et al. Fig. 7)
        summ[f"plain_over_resnet_{depth}"] = _f(p / r) if p and r else None
    metrics["summary"] = summ
    return Output(metrics=metrics, data={
        "depths": list(cfg.depths), "std": layers, "n_images": int(len(x)),
        "sorted": {k: sorted((v for v in vals if v is not None), reverse=True) for k, vals in layers.items()},
    })


def _f(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None
