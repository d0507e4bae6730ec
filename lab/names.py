"""Network names, read one way: 'preact_resnet56' is the family 'preact_resnet' at depth 56,
'resnet20@seed1' is resnet20 trained from seed 1, and in prose 'pre-act ResNet-56'.

One home for every reading of a name, shared by the campaign, the experiments, the
runner's provenance, the plots (figures.plotstyle) and the page's number cards
(sitegen.render.numbers), without importing torch or matplotlib.
"""
from __future__ import annotations

FAMILIES = {"plain": "plain", "resnet": "ResNet", "preact_resnet": "pre-act ResNet",
            "highway": "Highway", "densenet": "DenseNet", "densenet_bc": "DenseNet-BC"}


def split(name: str) -> tuple[str, int]:
    """'resnet56' -> ('resnet', 56), 'densenet_bc100' -> ('densenet_bc', 100); no depth: 0."""
    base = name.rstrip("0123456789")
    depth = name[len(base):]
    return base.rstrip("_"), int(depth) if depth else 0


def family(name: str) -> str:
    return split(name)[0]


def depth(name: str) -> int:
    return split(name)[1]


def net_label(name: str) -> str:
    """'resnet56' -> 'ResNet-56', 'preact_resnet20' -> 'pre-act ResNet-20'."""
    base, d = split(name)
    label = FAMILIES.get(base, base)
    return f"{label}-{d}" if d else label


def seeded(net: str, seed: int) -> str:
    """How provenance names a network trained from `seed`: resnet20, resnet20@seed1."""
    return net if seed == 0 else f"{net}@seed{seed}"


def unseeded(label: str) -> tuple[str, int]:
    """resnet20@seed1 -> ("resnet20", 1); resnet20 -> ("resnet20", 0)."""
    net, _, seed = label.partition("@seed")
    return net, int(seed or 0)
