"""feature_maps: a few test images as they pass through a trained ResNet and its plain twin."""
from __future__ import annotations

from figures.plotstyle import WIDTHS, Theme, net_label, pictured_note, vega_spec

EXPERIMENT = "feature_maps"
WIDTH = "page"
STAGE_TITLES = {"stem": "stem", "layer1": "stage 1", "layer2": "stage 2", "layer3": "stage 3"}


def _nets(result) -> list[str]:
    d = result.data["depth"]
    return [f"resnet{d}", f"plain{d}"]


def draw(result, theme: Theme):
    import matplotlib.pyplot as plt

    images = result.arrays["images"]
    stages = result.data["stages"]
    nets = _nets(result)
    ncols = 1 + len(stages) * len(nets)
    n = len(images)
    w = WIDTHS[WIDTH]
    fig, axes = plt.subplots(n, ncols, figsize=(w, w * n / ncols * 1.25), squeeze=False)
    fig.patch.set_alpha(0.0)
    cmap = "magma" if theme.name == "dark" else "Greys_r"
    for r in range(n):
        axes[r][0].imshow(images[r], interpolation="nearest")
        axes[r][0].set_ylabel(result.data["labels"][r], color=theme.fg, fontsize=8)
        for k, name in enumerate(nets):
            for j, stage in enumerate(stages):
                ax = axes[r][1 + k * len(stages) + j]
                ax.imshow(result.arrays[f"{name}_{stage}_mean"][r], cmap=cmap, vmin=0, vmax=255,
                          interpolation="nearest")
                if j == len(stages) - 1:  # what the net predicts, beside its last stage
                    pred = result.data["nets"][name]["predicted"][r]
                    ok = pred == result.data["labels"][r]
                    ax.set_xlabel(f"→ {pred}", fontsize=7,
                                  color=theme.fg if ok else theme.plain)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
    axes[0][0].set_title("input", fontsize=8, color=theme.fg)
    for k, name in enumerate(nets):
        for j, stage in enumerate(stages):
            title = STAGE_TITLES.get(stage, stage)
            if j == 0:
                title = f"{net_label(name)}\n{title}"
            axes[0][1 + k * len(stages) + j].set_title(title, fontsize=8, color=theme.fg)
    fig.subplots_adjust(wspace=0.06, hspace=0.12)
    return fig


def caption(result) -> str:
    r, p = _nets(result)
    return (f"{len(result.arrays['images'])} test images and the mean activation over channels "
            f"after the stem and after each of the three stages (32×32, 16×16 and 8×8 maps) of the "
            f"trained {net_label(r)} and {net_label(p)} networks; brighter is a stronger activation, "
            f"scaled per network and stage. Under each network's last map: its prediction "
            f"(red where wrong)." + pictured_note(result, "The maps and predictions come from"))


def alt(result) -> str:
    r, p = _nets(result)
    m = result.metrics
    n = len(result.arrays["images"])

    def zeros(name):
        return ", ".join(f"{STAGE_TITLES.get(s, s)} {100 * m[name][s]['zero_fraction']:.0f}%"
                         for s in result.data["stages"])

    return (f"A grid of {n} test images ({', '.join(result.data['labels'])}) with their activation maps. "
            f"{net_label(r)} classifies {m[r]['correct']} of {n} correctly, {net_label(p)} "
            f"{m[p]['correct']}. Share of inactive (zero) units per stage: {net_label(r)} {zeros(r)}; "
            f"{net_label(p)} {zeros(p)}.")


def _png(pixels) -> str:
    """A small uint8 image (HxW or HxWx3) as a PNG data URL (PIL writes no timestamp)."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def chart(result):
    """The explorer: pick a test image, see it at every stage of both networks."""
    stages, nets = result.data["stages"], _nets(result)
    labels = result.data["labels"]
    columns = ["input"] + [STAGE_TITLES.get(s, s) for s in stages] + ["prediction"]
    rows = []
    for i, label in enumerate(labels):
        inp = _png(result.arrays["images"][i])
        for name in nets:
            net = net_label(name)
            rows.append({"image": i, "network": net, "column": "input", "url": inp})
            rows += [{"image": i, "network": net, "column": STAGE_TITLES.get(s, s),
                      "url": _png(result.arrays[f"{name}_{s}_mean"][i]),
                      "zero": result.metrics[name][s]["zero_fraction"]} for s in stages]
            pred = result.data["nets"][name]["predicted"][i]
            rows.append({"image": i, "network": net, "column": "prediction", "text": f"→ {pred}",
                         "verdict": "right" if pred == label else "wrong"})
    pick = {"name": "picked", "value": 0,
            "bind": {"input": "select", "options": list(range(len(labels))),
                     "labels": [f"{i + 1}: {lab}" for i, lab in enumerate(labels)], "name": "test image "}}
    x = {"field": "column", "type": "ordinal", "sort": columns, "title": None,
         # on a phone six columns are too narrow for level labels: they slant instead of running together
         "axis": {"orient": "top", "domain": False, "ticks": False, "labelAngle": {"expr": "width < 460 ? -40 : 0"},
                  "labelAlign": {"expr": "width < 460 ? 'left' : 'center'"}, "labelPadding": 4}}
    y = {"field": "network", "type": "ordinal", "sort": [net_label(n) for n in nets], "title": None,
         "axis": {"domain": False, "ticks": False}}
    size = {"expr": "min(bandwidth('x'), bandwidth('y')) * 0.92"}
    return vega_spec(
        rows, height=2 * 110, params=[pick], transform=[{"filter": "datum.image == picked"}],
        layer=[
            # the input image has no units to be inactive: its tooltip names it and says nothing more
            {"mark": {"type": "image", "width": size, "height": size, "smooth": False},
             "transform": [{"filter": "isValid(datum.url) && datum.column == 'input'"}],
             "encoding": {"x": x, "y": y, "url": {"field": "url", "type": "nominal"},
                          "tooltip": [{"field": "network"}, {"field": "column", "title": "stage"}]}},
            {"mark": {"type": "image", "width": size, "height": size, "smooth": False},
             "transform": [{"filter": "isValid(datum.url) && datum.column != 'input'"}],
             "encoding": {"x": x, "y": y, "url": {"field": "url", "type": "nominal"},
                          "tooltip": [{"field": "network"}, {"field": "column", "title": "stage"},
                                      {"field": "zero", "title": "inactive units (all images)",
                                       "format": ".0%"}]}},
            {"mark": {"type": "text", "fontSize": 13, "fontWeight": 600},
             "transform": [{"filter": "isValid(datum.text)"}],
             "encoding": {"x": x, "y": y, "text": {"field": "text"},
                          "color": {"field": "verdict", "type": "nominal", "title": "prediction",
                                    "scale": {"domain": ["wrong", "right"]}}}},  # wrong: the first (red) colour
        ],
    )
