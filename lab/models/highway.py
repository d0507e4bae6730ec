"""Convolutional Highway networks (Srivastava et al. 2015) in the CIFAR ResNet layout.

Each highway layer computes y = H(x) * T(x) + x * (1 - T(x)) with a transform
gate T = sigmoid(conv_T(x) + b_T). H is the same two-conv body as a ResNet
`BasicBlock` (conv-BN-ReLU-conv-BN) and a ReLU follows the mix: this is the
"exclusive gating" of He et al. 2016 (section 3.1), the comparison the
explainer draws. highway20 differs from resnet20 by the gates and by its
carry where a stage downsamples: a 1x1 projection with BN (option B), where
resnet20 zero-pads (option A), because a gated carry needs the new width's
channels to be real features. The gate bias
starts negative (Srivastava et al. suggest -1 to -3) so every layer begins
close to carrying its input through.

The gate is observable: each `HighwayBlock` keeps the mean of T over its last
forward in the buffer `last_gate_mean`, and `HighwayNet.gates()` lists them.
"""
from __future__ import annotations

import torch
from torch import nn

from .resnet import conv3x3, init_weights, make_shortcut


class HighwayBlock(nn.Module):
    """y = relu(H(x) * T(x) + carry(x) * (1 - T(x)))."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1,
                 shortcut: str = "B", gate_bias: float = -2.0, gate_kernel: int = 1):
        super().__init__()
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        # The gate sees the block input at the output's resolution and width.
        self.gate = nn.Conv2d(in_planes, planes, gate_kernel, stride=stride,
                              padding=gate_kernel // 2, bias=True)
        self.gate_bias = gate_bias
        # The carry path; named `shortcut` so resnet.lesion works on highway nets.
        self.shortcut = make_shortcut(in_planes, planes, stride, shortcut)
        # Not saved in checkpoints: it describes the last batch, not the model.
        self.register_buffer("last_gate_mean", torch.tensor(float("nan")), persistent=False)

    def reset_gate(self) -> None:
        nn.init.zeros_(self.gate.weight)  # T(x) = sigmoid(gate_bias) at the start
        nn.init.constant_(self.gate.bias, self.gate_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        t = torch.sigmoid(self.gate(x))
        with torch.no_grad():
            self.last_gate_mean.copy_(t.detach().float().mean())
        carry = self.shortcut(x)
        return self.relu(h * t + carry * (1 - t))


class HighwayNet(nn.Module):
    """Stem, three stages of `n` highway layers (16/32/64 channels), pool, fc."""

    def __init__(self, n: int, num_classes: int = 10, shortcut: str = "B",
                 gate_bias: float = -2.0, gate_kernel: int = 1, width: int = 16):
        super().__init__()
        self.depth = 6 * n + 2
        self.conv1 = conv3x3(3, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        in_planes = width
        stages = []
        for i, planes in enumerate((width, 2 * width, 4 * width)):
            layers = []
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                layers.append(HighwayBlock(in_planes, planes, stride, shortcut,
                                           gate_bias, gate_kernel))
                in_planes = planes
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, num_classes)
        init_weights(self)
        for _, block in self.blocks():
            block.reset_gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def blocks(self) -> list[tuple[str, HighwayBlock]]:
        """(name, block) for every highway layer, in forward order."""
        return [(f"{stage}.{i}", b) for stage in ("layer1", "layer2", "layer3")
                for i, b in enumerate(getattr(self, stage))]

    def gates(self) -> list[tuple[str, float]]:
        """(name, mean transform gate over the last forward) per layer; NaN before any."""
        return [(name, float(b.last_gate_mean)) for name, b in self.blocks()]


def highway20(**kw) -> HighwayNet: return HighwayNet(3, **kw)
def highway32(**kw) -> HighwayNet: return HighwayNet(5, **kw)
def highway56(**kw) -> HighwayNet: return HighwayNet(9, **kw)
def highway110(**kw) -> HighwayNet: return HighwayNet(18, **kw)
