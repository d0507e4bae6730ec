"""depth_sweep: does a deeper network train better? Plain vs residual, by depth.

He et al. 2016 (Fig. 1 and Fig. 6) trained plain networks of 20 to 56 layers on
CIFAR-10 and saw the deeper ones end with *higher training error*: the
degradation problem, which is not overfitting. The same depths with identity
shortcuts get better with depth (their Table 6). We train both families with
the same recipe and keep every epoch's training and test error.
"""
from __future__ import annotations

from dataclasses import dataclass

from lab.experiments import Context, Output, register
from lab.experiments.profiles import ESTIMATE_S, profiles
from lab.experiments.trained import MODULES, Recipe, curves, get_trained, summary

# He et al. 2016, Table 6: CIFAR-10 test error (fraction) of their ResNets, as printed.
# ResNet-110 is their best of 5 runs (mean 6.61 +- 0.16 %). The paper's numbers, not ours.
PAPER_TEST_ERROR = {
    "resnet20": 0.0875, "resnet32": 0.0751, "resnet44": 0.0717,
    "resnet56": 0.0697, "resnet110": 0.0643, "resnet1202": 0.0793,
}
# He et al. 2016, section 4.2: 64k iterations of 128 images, the schedule our runs shorten.
PAPER_IMAGES = 64000 * 128
KINDS = ("plain", "resnet")

# Metric paths the prose may quote: "<net>" stands for each network (plain20, resnet56, ...).
METRICS = {
    "<net>": ("train_error", "test_error", "best_test_error", "epochs", "diverged", "params",
              "train_seconds"),
    "summary": ("shallowest", "deepest", "plain_train_gap", "plain_test_gap", "resnet_train_gap",
                "resnet_test_gap", "epochs", "n_train", "n_test", "paper_images_ratio", "diverged"),
}


@dataclass(frozen=True)
class Config:
    depths: tuple = (20, 32, 44, 56, 110)  # network depths, 6n+2 (layers)
    recipe: Recipe = Recipe()              # how every network is trained (shared recipe)


@register("depth_sweep", Config, modules=MODULES, profiles=profiles("depth_sweep"),
          estimate_s=ESTIMATE_S["depth_sweep"])
def run(cfg: Config, ctx: Context) -> Output:
    """Training and test error per epoch of plain and residual nets of each depth."""
    metrics: dict = {}
    series: dict = {}
    for depth in cfg.depths:
        for kind in KINDS:
            name = f"{kind}{depth}"
            t = get_trained(name, cfg.recipe, ctx)
            metrics[name] = summary(t)
            if name in PAPER_TEST_ERROR:
                metrics[name]["paper_test_error"] = PAPER_TEST_ERROR[name]
            series[name] = curves(t)
    lo, hi = min(cfg.depths), max(cfg.depths)

    def gap(kind: str, what: str):
        a, b = metrics[f"{kind}{hi}"][what], metrics[f"{kind}{lo}"][what]
        return None if a is None or b is None else a - b

    metrics["summary"] = {
        "shallowest": lo, "deepest": hi,
        # > 0: the deepest plain net ends with *higher* training error (degradation)
        "plain_train_gap": gap("plain", "train_error"),
        "plain_test_gap": gap("plain", "test_error"),
        # < 0: the deepest residual net ends with lower error than the shallowest
        "resnet_train_gap": gap("resnet", "train_error"),
        "resnet_test_gap": gap("resnet", "test_error"),
        "epochs": cfg.recipe.epochs,
        "n_train": ctx.facts.get("n_train"),
        "n_test": ctx.facts.get("n_test"),
        # how many times the images per network the paper's schedule processes
        "paper_images_ratio": PAPER_IMAGES / (ctx.facts["n_train"] * cfg.recipe.epochs)
        if ctx.facts.get("n_train") else None,
        "diverged": sorted(n for n, m in metrics.items() if m.get("diverged")),
    }
    return Output(metrics=metrics, data={
        "depths": list(cfg.depths), "curves": series,
        "paper_test_error": {k: v for k, v in PAPER_TEST_ERROR.items()
                             if int(k.removeprefix("resnet")) in cfg.depths},
        # numbers quoted from papers, by metric name: their cards cite these, not our runs
        "quoted": {"paper_test_error": "He et al. 2016, Table 6 (CIFAR-10 test error)"},
    })
