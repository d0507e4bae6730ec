"""architectures: plain, ResNet, pre-activation ResNet, Highway and DenseNet side by side.

Same data, same recipe (SGD schedule, epochs, seed) for every network; we keep
test error, training error and parameter count. Networks of the same depth share
the recipe with depth_sweep, so the plain and residual ones are trained once.

The cost of an epoch is timed here, side by side, not read from the training
records: the shared networks were trained over several sittings on processors
that differ (and in bf16 on some, fp32 on others), so their recorded wall times
do not compare. Each network trains fresh for a few timed steps of the recipe's
batch on one machine, in rounds that interleave the networks, and the median
step time gives the seconds an epoch of the whole training set costs.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
import statistics

from lab.experiments import Context, Output, register
from lab.experiments.profiles import ESTIMATE_S, profiles
from lab.experiments.common import seed_everything, synthetic_data
from lab.experiments.trained import MODULES, Recipe, curves, get_trained, summary
from lab.names import split
from lab.networks import make_model, train_config
from lab.train import host_name, precision, train

FAMILY = {"plain": "plain", "resnet": "ResNet", "preact_resnet": "pre-activation ResNet",
          "highway": "Highway", "densenet": "DenseNet", "densenet_bc": "DenseNet-BC"}


# Metric paths the prose may quote: "<net>" stands for each network of the profile.
METRICS = {
    "<net>": ("train_error", "test_error", "best_test_error", "epochs", "diverged", "params",
              "train_seconds", "seconds_per_epoch", "images_per_second", "family", "depth"),
    "summary": ("best", "worst", "ranking", "epochs"),
    "timing": ("precision", "host", "steps", "rounds", "steps_per_epoch"),
}


@dataclass(frozen=True)
class Config:
    models: tuple = ("plain56", "resnet56", "preact_resnet56", "highway56", "densenet40")  # names
    recipe: Recipe = Recipe()  # how every network is trained (shared recipe)
    timed_steps: int = 12  # SGD steps timed per network and round, after one untimed epoch (steps)
    rounds: int = 3        # timing rounds, the networks interleaved in each (count)


def images_per_second(name: str, recipe: Recipe, steps: int, device) -> float:
    """Training throughput of a fresh `name` under `recipe`'s step (batch, precision, SGD),
    through the trainer itself: the second of two short epochs, so one-off kernel set-up
    is not counted. The images are synthetic, since a step's cost does not depend on them."""
    seed_everything(recipe.seed)
    batch = recipe.batch_size
    data = synthetic_data(steps * batch, batch, recipe.seed)
    cfg = replace(train_config(recipe), epochs=2, n_train=0, n_test=0, warmup_epochs=0.0,
                  eval_every=2)
    history = train(make_model(name), data, cfg, device=device, progress=False)
    return history.epochs[-1].images_per_second


def timing(cfg: Config, device, n_train: int) -> dict:
    rates: dict[str, list[float]] = {name: [] for name in cfg.models}
    for _ in range(cfg.rounds):
        for name in cfg.models:  # interleaved, so a slow spell of the machine hits all alike
            rates[name].append(images_per_second(name, cfg.recipe, cfg.timed_steps, device))
    steps_per_epoch = n_train // cfg.recipe.batch_size
    per_net = {}
    for name, r in rates.items():
        rate = statistics.median(r)
        per_net[name] = {"images_per_second": round(rate, 1),
                         "seconds_per_epoch": round(steps_per_epoch * cfg.recipe.batch_size / rate, 1)}
    return {"networks": per_net, "precision": precision(device), "host": host_name(device),
            "steps": cfg.timed_steps, "rounds": cfg.rounds, "steps_per_epoch": steps_per_epoch}


@register("architectures", Config, modules=MODULES, profiles=profiles("architectures"),
          estimate_s=ESTIMATE_S["architectures"])
def run(cfg: Config, ctx: Context) -> Output:
    """Test error, parameters and the cost of an epoch of each architecture, one recipe."""
    metrics: dict = {}
    series: dict = {}
    for name in cfg.models:
        t = get_trained(name, cfg.recipe, ctx)
        s = summary(t)
        base, s["depth"] = split(name)
        s["family"] = FAMILY.get(base, base)
        metrics[name] = s
        series[name] = curves(t)
    n_train = ctx.facts.get("n_train") or cfg.recipe.n_train
    timed = timing(cfg, ctx.device, n_train)
    for name, measured in timed.pop("networks").items():
        metrics[name].update(measured)
    ranked = sorted((n for n in cfg.models if metrics[n]["test_error"] is not None),
                    key=lambda n: metrics[n]["test_error"])
    metrics["summary"] = {
        "best": ranked[0] if ranked else None, "worst": ranked[-1] if ranked else None,
        "ranking": ranked, "epochs": cfg.recipe.epochs,
    }
    metrics["timing"] = timed
    return Output(metrics=metrics, data={"models": list(cfg.models), "curves": series})
