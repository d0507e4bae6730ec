"""How the networks are named in prose: 'resnet56' -> 'ResNet-56'.

One home for the families' labels, shared by the plots (figures.plotstyle) and
the page's number cards (sitegen.render.numbers), without importing matplotlib.
"""
from __future__ import annotations

FAMILIES = {"plain": "plain", "resnet": "ResNet", "preact_resnet": "pre-act ResNet",
            "highway": "Highway", "densenet": "DenseNet", "densenet_bc": "DenseNet-BC"}


def net_label(name: str) -> str:
    """'resnet56' -> 'ResNet-56', 'preact_resnet20' -> 'pre-act ResNet-20'."""
    base = name.rstrip("0123456789")
    depth = name[len(base):]
    label = FAMILIES.get(base.rstrip("_"), base)
    return f"{label}-{depth}" if depth else label
