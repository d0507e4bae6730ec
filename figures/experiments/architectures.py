"""architectures: plain, ResNet, pre-activation ResNet, Highway and DenseNet side by side.

Same data, same recipe (SGD schedule, epochs, seed) for every network; we keep
test error, training error, parameter count and the measured training time.
Networks of the same depth share the recipe with depth_sweep, so the plain and
residual ones are trained once. Time is wall time on the machine named in the
provenance, training plus per-epoch evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass

from figures.experiments import Context, Output, register
from figures.experiments.profiles import ESTIMATE_S, profiles
from figures.experiments.trained import MODULES, Recipe, curves, get_trained, summary

FAMILY = {"plain": "plain", "resnet": "ResNet", "preact_resnet": "pre-activation ResNet",
          "highway": "Highway", "densenet": "DenseNet", "densenet_bc": "DenseNet-BC"}


# Metric paths the prose may quote: "<net>" stands for each network of the profile.
METRICS = {
    "<net>": ("train_error", "test_error", "best_test_error", "epochs", "diverged", "params",
              "train_seconds", "seconds_per_epoch", "images_per_second", "family", "depth"),
    "summary": ("best", "worst", "ranking", "epochs"),
}


def family(name: str) -> str:
    base = name.rstrip("0123456789").rstrip("_")
    return FAMILY.get(base, base)


def depth_of(name: str) -> int:
    digits = "".join(ch for ch in name if ch.isdigit())
    return int(digits) if digits else 0


@dataclass(frozen=True)
class Config:
    models: tuple = ("plain56", "resnet56", "preact_resnet56", "highway56", "densenet40")  # names
    recipe: Recipe = Recipe()  # how every network is trained (shared recipe)


@register("architectures", Config, modules=MODULES, profiles=profiles("architectures"),
          estimate_s=ESTIMATE_S["architectures"])
def run(cfg: Config, ctx: Context) -> Output:
    """Test error, parameters and training time of each architecture, one recipe."""
    metrics: dict = {}
    series: dict = {}
    for name in cfg.models:
        t = get_trained(name, cfg.recipe, ctx)
        s = summary(t)
        eps = t.history.epochs
        s["seconds_per_epoch"] = round(s["train_seconds"] / max(len(eps), 1), 2)
        s["images_per_second"] = round(sum(e.images_per_second for e in eps) / max(len(eps), 1), 1)
        s["family"], s["depth"] = family(name), depth_of(name)
        metrics[name] = s
        series[name] = curves(t)
    ranked = sorted((n for n in cfg.models if metrics[n]["test_error"] is not None),
                    key=lambda n: metrics[n]["test_error"])
    metrics["summary"] = {
        "best": ranked[0] if ranked else None, "worst": ranked[-1] if ranked else None,
        "ranking": ranked, "epochs": cfg.recipe.epochs,
    }
    return Output(metrics=metrics, data={"models": list(cfg.models), "curves": series})
