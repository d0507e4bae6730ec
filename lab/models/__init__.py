"""Every network the explainer trains, by name.

`build("resnet56")` returns a fresh model; `FACTORIES` lists the names.
`PARAM_TABLE` holds the exact parameter count of each factory's default model
(tests check it), and `PAPER_PARAMS` the figures the papers print.
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from . import densenet, highway, resnet
from .densenet import DenseNet
from .highway import HighwayBlock, HighwayNet
from .resnet import (BasicBlock, CifarResNet, PreActBlock, ProjectionShortcut,
                     ZeroPadShortcut, lesion)

FACTORIES: dict[str, Callable[..., nn.Module]] = {
    f.__name__: f
    for f in (
        resnet.resnet20, resnet.resnet32, resnet.resnet44, resnet.resnet56,
        resnet.resnet110, resnet.resnet1202,
        resnet.resnet20_b, resnet.resnet56_b, resnet.resnet110_b,
        resnet.plain20, resnet.plain32, resnet.plain44, resnet.plain56, resnet.plain110,
        resnet.preact_resnet20, resnet.preact_resnet32, resnet.preact_resnet44,
        resnet.preact_resnet56, resnet.preact_resnet110,
        highway.highway20, highway.highway32, highway.highway56, highway.highway110,
        densenet.densenet40, densenet.densenet100, densenet.densenet_bc100,
    )
}

# Exact counts of trainable parameters for each factory with default kwargs.
PARAM_TABLE: dict[str, int] = {
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
    "resnet1202": 19_421_274,
    "resnet20_b": 272_474,
    "resnet56_b": 855_770,
    "resnet110_b": 1_730_714,
    "plain20": 269_722,
    "plain32": 464_154,
    "plain44": 658_586,
    "plain56": 853_018,
    "plain110": 1_727_962,
    "preact_resnet20": 269_722,
    "preact_resnet32": 464_154,
    "preact_resnet44": 658_586,
    "preact_resnet56": 853_018,
    "preact_resnet110": 1_727_962,
    "highway20": 286_378,
    "highway32": 491_786,
    "highway56": 902_602,
    "highway110": 1_826_938,
    "densenet40": 1_019_722,
    "densenet100": 6_979_642,
    "densenet_bc100": 769_162,
}

# As printed: He et al. 2015 Table 6 (option A), Huang et al. 2017 Table 2.
PAPER_PARAMS: dict[str, float] = {
    "resnet20": 0.27e6, "resnet32": 0.46e6, "resnet44": 0.66e6,
    "resnet56": 0.85e6, "resnet110": 1.7e6, "resnet1202": 19.4e6,
    "densenet40": 1.0e6, "densenet100": 7.0e6, "densenet_bc100": 0.8e6,
}


def build(name: str, **kw) -> nn.Module:
    """A fresh model by factory name; `kw` go to the factory (e.g. shortcut="B")."""
    try:
        factory = FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(FACTORIES)}") from None
    model = factory(**kw)
    model.arch = name  # lets the trainer name the model in messages and histories
    return model


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (BN affine included, BN running stats not)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "FACTORIES", "PARAM_TABLE", "PAPER_PARAMS", "build", "count_parameters", "lesion",
    "BasicBlock", "PreActBlock", "CifarResNet", "ZeroPadShortcut", "ProjectionShortcut",
    "HighwayBlock", "HighwayNet", "DenseNet",
]
