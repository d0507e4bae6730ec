"""lesion_live: the committed ResNet and its plain twin, exported for the reader's browser.

The live lesion figure runs our own trained networks in the reader's browser.
This experiment exports them (`lab.live.export`: each module's torch.fx
graph and the committed weights, bit for bit), picks a fixed, class-balanced
sample of test images for the browser to measure accuracy on, and a strip of
them for the reader to pick from, and measures in PyTorch what the browser will
show: each network's accuracy on that sample, intact and with each single block
deleted (the static figure, for print). sitegen.render.live writes the export
as the script the page loads when the reader reaches the figure.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.experiments import Context, Output, register
from lab.experiments.common import fixed_images, load_data
from lab.experiments.profiles import RECIPES
from lab.experiments.trained import MODULES, Recipe, get_trained
from lab.live import export, forward

METRICS = {
    "<net>": ("sample_accuracy", "blocks", "worst_block", "worst_accuracy"),
    "summary": ("n_images", "n_strip", "export_bytes"),
}

# seed 0 only: the committed networks the figure runs (every profile has it trained)
_OVER = {"quick": {"depth": 8, "n_images": 40, "n_strip": 10}}
PROFILES = {p: {"seeds": [0], **_OVER.get(p, {}), "recipe": RECIPES[p]} for p in RECIPES}


@dataclass(frozen=True)
class Config:
    depth: int = 20            # depth of the ResNet and its plain twin (layers)
    n_images: int = 200        # test images the browser measures accuracy on (count)
    n_strip: int = 30          # of those, the ones shown for the reader to pick (count)
    recipe: Recipe = Recipe()  # how the networks were trained (shared recipe)


@register("lesion_live", Config, modules=("lab.live", "lab.models.resnet", *MODULES),
          profiles=PROFILES, estimate_s={p: 2 if p == "quick" else 20 for p in RECIPES})
def run(cfg: Config, ctx: Context) -> Output:
    """The ResNet and plain net exported for the browser, with a test sample to run."""
    data = load_data(cfg.recipe.data, cfg.recipe.n_train, cfg.recipe.n_test, cfg.recipe.seed, ctx)
    x, y = fixed_images(data.test_x, data.test_y, cfg.n_images, cfg.recipe.seed)
    x, y = x.cpu().numpy().astype(np.uint8), y.cpu().numpy().astype(np.int64)
    # the strip: the sample's first images of each class in turn, so every class shows
    order = [i for k in range(len(data.classes)) for i in np.flatnonzero(y == k)]
    per_class = max(1, cfg.n_strip // len(data.classes))
    strip = sorted(i for k in range(len(data.classes)) for i in np.flatnonzero(y == k)[:per_class])
    strip = (strip + [i for i in order if i not in strip])[:cfg.n_strip]
    nets = {f"{kind}{cfg.depth}": get_trained(f"{kind}{cfg.depth}", cfg.recipe, ctx).model
            for kind in ("resnet", "plain")}
    return package(nets, x, y, strip, list(data.classes), cfg.depth)


def package(nets: dict, x: np.ndarray, y: np.ndarray, strip: list[int], classes: list[str],
            depth: int) -> Output:
    """The networks exported, the sample, and PyTorch's answers on it (also for the tests,
    which package random networks and images the same way)."""
    from lab.data import MEAN, STD

    metrics: dict = {}
    graphs: dict = {}
    single: dict = {}
    arrays: dict = {"images": x, "labels": y, "strip": np.array(strip, np.int64)}
    for name, model in nets.items():
        model = model.cpu().float().eval()
        graph, weights = export(model)
        logits = forward(model, x)
        accs = [float((forward(model, x, [i]).argmax(1) == y).mean()) for i in range(len(graph["blocks"]))]
        worst = int(np.argmin(accs))
        graphs[name], single[name] = graph, accs
        arrays[f"{name}_weights"] = np.frombuffer(weights, np.uint8)
        arrays[f"{name}_logits"] = logits.astype(np.float32)
        metrics[name] = {"sample_accuracy": float((logits.argmax(1) == y).mean()), "blocks": len(accs),
                         "worst_block": graph["blocks"][worst], "worst_accuracy": accs[worst]}
    metrics["summary"] = {"n_images": int(len(y)), "n_strip": len(strip),
                          "export_bytes": sum(int(arrays[f"{n}_weights"].size) for n in nets)}
    return Output(metrics=metrics,
                  data={"networks": graphs, "single_block_accuracy": single, "classes": list(classes),
                        "mean": list(MEAN), "std": list(STD), "depth": depth},
                  arrays=arrays)
