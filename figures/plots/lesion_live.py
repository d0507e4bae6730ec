"""lesion_live: the networks the live figure runs, one block deleted at a time, on its sample.

On screen the figure above it runs these networks in the reader's browser; this is
what PyTorch measured on the same images, and what paper gets."""
from __future__ import annotations

import numpy as np

from figures.plotstyle import Theme, figure, legend, net_label, pct, spread_note

EXPERIMENT = "lesion_live"
WIDTH = "body"


def _nets(result) -> list[str]:
    d = result.data["depth"]
    return [f"resnet{d}", f"plain{d}"]


def draw(result, theme: Theme):
    fig, axes = figure(theme, WIDTH, aspect=0.42)
    ax = axes[0][0]
    blocks = result.data["networks"][_nets(result)[0]]["blocks"]
    x = np.arange(1, len(blocks) + 1)
    for k, name in enumerate(_nets(result)):
        colour = theme.plain if name.startswith("plain") else theme.residual
        accs = 100 * np.array(result.data["single_block_accuracy"][name])
        ax.bar(x + (k - 0.5) * 0.38, accs, width=0.36, color=colour, label=net_label(name))
        ax.axhline(100 * result.metrics[name]["sample_accuracy"], color=colour, linestyle="--", linewidth=0.9)
    ax.axhline(100 / len(result.data["classes"]), color=theme.muted, linewidth=0.8)
    ax.text(len(blocks) + 0.6, 100 / len(result.data["classes"]), " chance", va="center", fontsize=7,
            color=theme.muted)
    ax.set_xticks(x, [b.replace("layer", "").replace(".", ".", 1) for b in blocks], fontsize=7)
    ax.set_xlabel("deleted block (stage.block, input → output)")
    ax.set_ylabel(f"accuracy on {result.metrics['summary']['n_images']} images (%)")
    ax.set_ylim(0, 100)
    legend(ax, theme, fontsize=8, loc="upper right")
    return fig


def caption(result) -> str:
    r, p = _nets(result)
    n = result.metrics["summary"]["n_images"]
    return (f"What the live figure computes, measured in PyTorch: the accuracy of our trained "
            f"{net_label(r)} and {net_label(p)} on its fixed sample of {n} test images after deleting "
            f"one block (bars), and intact (dashed lines). In the browser the same exported networks "
            f"run on the same images, any blocks deleted." + spread_note(result))


def alt(result) -> str:
    r, p = _nets(result)
    mr, mp = result.metrics[r], result.metrics[p]
    acc = result.data["single_block_accuracy"]
    return (f"Bar chart of accuracy on {result.metrics['summary']['n_images']} test images against the "
            f"deleted block. Intact, {net_label(r)} gets {pct(mr['sample_accuracy'])} right and "
            f"{net_label(p)} {pct(mp['sample_accuracy'])}. With one block deleted, {net_label(r)} gets "
            f"{pct(float(np.mean(acc[r])))} on average (worst {pct(mr['worst_accuracy'])}, block "
            f"{mr['worst_block']}) and {net_label(p)} {pct(float(np.mean(acc[p])))} (worst "
            f"{pct(mp['worst_accuracy'])}, block {mp['worst_block']}).")
