"""loss_landscape: the training loss around a trained ResNet and its plain twin.

Li et al. 2018 plot L(w + a d1 + b d2) on a grid of (a, b), for two random
directions d1, d2 that are *filter-normalized*: each filter of a direction is
rescaled to the norm of the same filter of the weights, so that plots of
networks with different weight scales can be compared. Bias and BN parameters
get zero direction (their "ignore biasbn"). BN runs in eval mode with its
running statistics. Li et al. find the residual net's surface smooth and
nearly convex, the deep plain net's chaotic.

One pair of random directions is one sample of a space of close to a million
dimensions, so the surface is drawn for `pairs` independent pairs (each two
fresh filter-normalized directions) and every measure is reported per pair and
over the pairs. How far the loss rises towards the edge of the grid is reported
as a difference of losses: a ratio to the centre loss mixes the shape of the
surface with how well the net fits (a net that fits worse has a larger centre
loss and so a smaller ratio).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lab.experiments import Context, Output, register
from lab.experiments.common import fixed_images, load_data, normalize
from lab.experiments.profiles import ESTIMATE_S, profiles
from lab.experiments.trained import MODULES, Recipe, get_trained

# Metric paths the prose may quote: "<net>" stands for resnet<depth> and plain<depth>.
# Over pairs of directions, "<m>" is the mean and "<m>_min", "<m>_max" the least and largest;
# "<net>/pairs/<k>" holds pair k's own (k = 1, 2, ...; pair 1 is the one drawn largest).
PAIR = ("edge_loss", "edge_rise", "edge_over_center", "mean_loss", "max_loss", "convex_fraction")
METRICS = {
    "<net>": ("center_loss", "center_error", "diverged", "edge_loss", "edge_over_center", "mean_loss",
              "max_loss", *(f"{m}{x}" for m in ("edge_rise", "convex_fraction") for x in ("", "_min", "_max"))),
    "<net>/pairs/1": PAIR,
    # chance_loss: a uniform guess's loss, ln(classes); *_pairs: in how many pairs the residual
    # net's loss rises more towards the edge (steeper) / more of its grid is locally convex
    "summary": ("pairs", "chance_loss", "resnet_steeper_pairs", "resnet_more_convex_pairs"),
}


@dataclass(frozen=True)
class Config:
    depth: int = 56            # depth of the ResNet and its plain twin (layers)
    points: int = 21           # grid points per axis (count), odd so that 0 is on the grid
    span: float = 1.0          # the grid covers [-span, span] in both directions (direction units)
    n_images: int = 2048       # training images the loss is averaged over (count)
    batch_size: int = 512      # images per forward pass (count)
    seed: int = 0              # seed of the random directions
    pairs: int = 3             # independent pairs of random directions, each its own grid (count)
    recipe: Recipe = Recipe()  # how the networks were trained (shared recipe)


def filter_normalized_direction(model: torch.nn.Module, g: torch.Generator) -> list[torch.Tensor]:
    """A Gaussian direction with each filter scaled to its weight filter's norm; 0 for 1-D params."""
    out = []
    for p in model.parameters():
        if p.dim() <= 1:
            out.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=g).to(p.device, p.dtype)
        dims = tuple(range(1, p.dim()))
        d = d * (torch.linalg.vector_norm(p, dim=dims, keepdim=True)
                 / (torch.linalg.vector_norm(d, dim=dims, keepdim=True) + 1e-10))
        out.append(d)
    return out


@torch.no_grad()
def mean_loss(model, x, y, batch_size) -> tuple[float, float]:
    loss, wrong = 0.0, 0
    for s in range(0, len(x), batch_size):
        out = model(x[s:s + batch_size]).float()
        loss += float(F.cross_entropy(out, y[s:s + batch_size], reduction="sum"))
        wrong += int((out.argmax(1) != y[s:s + batch_size]).sum())
    return loss / len(x), wrong / len(x)


@torch.no_grad()
def surface(model, x, y, coords, batch_size, g: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Loss and error on the grid coords x coords (rows: second direction), along the next
    two directions drawn from `g`."""
    d1 = filter_normalized_direction(model, g)
    d2 = filter_normalized_direction(model, g)
    params = list(model.parameters())
    w0 = [p.detach().clone() for p in params]
    model.eval()
    loss = np.zeros((len(coords), len(coords)))
    err = np.zeros_like(loss)
    for i, b in enumerate(coords):
        for j, a in enumerate(coords):
            for p, w, u, v in zip(params, w0, d1, d2):
                p.copy_(w + a * u + b * v)
            loss[i, j], err[i, j] = mean_loss(model, x, y, batch_size)
    for p, w in zip(params, w0):
        p.copy_(w)
    return loss, err


def convex_fraction(z: np.ndarray, h: float) -> float:
    """Share of interior grid points where the finite-difference 2x2 Hessian is positive definite."""
    zxx = (z[1:-1, 2:] - 2 * z[1:-1, 1:-1] + z[1:-1, :-2]) / h**2
    zyy = (z[2:, 1:-1] - 2 * z[1:-1, 1:-1] + z[:-2, 1:-1]) / h**2
    zxy = (z[2:, 2:] - z[2:, :-2] - z[:-2, 2:] + z[:-2, :-2]) / (4 * h**2)
    ok = (zxx > 0) & (zxx * zyy - zxy**2 > 0)
    return float(ok[np.isfinite(zxx * zyy)].mean()) if np.isfinite(zxx).any() else 0.0


@register("loss_landscape", Config, modules=MODULES, profiles=profiles("loss_landscape"),
          estimate_s=ESTIMATE_S["loss_landscape"])
def run(cfg: Config, ctx: Context) -> Output:
    """Filter-normalized 2D loss surface around trained residual and plain nets."""
    data = load_data(cfg.recipe.data, cfg.recipe.n_train, cfg.recipe.n_test, cfg.recipe.seed, ctx)
    x, y = fixed_images(data.train_x, data.train_y, cfg.n_images, cfg.recipe.seed)
    x, y = normalize(x).to(ctx.device), y.to(ctx.device)
    coords = np.linspace(-cfg.span, cfg.span, cfg.points)
    h = float(coords[1] - coords[0])
    metrics: dict = {}
    arrays: dict = {"coords": coords.astype(np.float32)}
    grids: dict = {}
    c = cfg.points // 2
    for kind in ("resnet", "plain"):
        name = f"{kind}{cfg.depth}"
        t = get_trained(name, cfg.recipe, ctx)
        g = torch.Generator().manual_seed(cfg.seed)  # both nets get the same draws, pair by pair
        pairs: dict = {}
        grids[name] = {}
        for k in range(1, cfg.pairs + 1):
            loss, err = surface(t.model, x, y, coords, cfg.batch_size, g)
            suffix = "" if k == 1 else f"_pair{k}"
            arrays[f"{name}_loss{suffix}"] = loss.astype(np.float32)
            arrays[f"{name}_error{suffix}"] = err.astype(np.float32)
            grids[name][str(k)] = [[_f(v) for v in row] for row in loss]
            pairs[str(k)] = pair_metrics(loss, h)
            center_loss, center_error = float(loss[c, c]), float(err[c, c])  # the same for every pair
        metrics[name] = {"center_loss": _f(center_loss), "center_error": _f(center_error),
                         "diverged": t.diverged, **over_pairs(pairs), "pairs": pairs}
    r, p = (metrics[f"{k}{cfg.depth}"]["pairs"] for k in ("resnet", "plain"))
    metrics["summary"] = {
        "pairs": cfg.pairs,
        "chance_loss": float(np.log(len(data.classes))),
        "resnet_steeper_pairs": sum(_gt(r[k]["edge_rise"], p[k]["edge_rise"]) for k in r),
        "resnet_more_convex_pairs": sum(_gt(r[k]["convex_fraction"], p[k]["convex_fraction"]) for k in r),
    }
    return Output(metrics=metrics, arrays=arrays, data={
        "coords": [float(v) for v in coords], "loss": grids, "depth": cfg.depth,
        "n_images": int(len(y)), "pairs": cfg.pairs,
    })


def pair_metrics(loss: np.ndarray, h: float) -> dict:
    """One pair's surface: the loss at the edge of the grid (mean over the border), its rise
    above the centre, as a difference and as a ratio, the grid's mean and largest loss and
    the share of interior points that are locally convex."""
    c = len(loss) // 2
    finite = loss[np.isfinite(loss)]
    edge = float(np.nanmean(np.concatenate([loss[0], loss[-1], loss[1:-1, 0], loss[1:-1, -1]])))
    return {
        "edge_loss": _f(edge),
        "edge_rise": _f(edge - loss[c, c]),
        "edge_over_center": _f(edge / loss[c, c]) if loss[c, c] > 0 else None,
        "mean_loss": _f(finite.mean()) if finite.size else None,
        "max_loss": _f(finite.max()) if finite.size else None,
        "convex_fraction": convex_fraction(loss, h),
    }


def over_pairs(pairs: dict) -> dict:
    """Each measure's mean over the pairs (max_loss: the largest), and for the rise and the
    convex share also the least and largest."""
    out: dict = {}
    for m in PAIR:
        vals = [v[m] for v in pairs.values() if v[m] is not None]
        out[m] = _f(max(vals) if m == "max_loss" else np.mean(vals)) if vals else None
        if m in ("edge_rise", "convex_fraction"):
            out[f"{m}_min"] = _f(min(vals)) if vals else None
            out[f"{m}_max"] = _f(max(vals)) if vals else None
    return out


def _gt(a, b) -> int:
    return int(a is not None and b is not None and a > b)


def _f(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None
