"""DenseNets for CIFAR (Huang et al. 2017, section 3 and Table 2).

Three dense blocks on 32x32, 16x16 and 8x8 maps. Inside a block each layer
sees the concatenation of all earlier feature maps of that block and adds `k`
(the growth rate) new ones; between blocks a transition (BN-ReLU-1x1 conv,
2x2 average pool) halves the resolution and, for DenseNet-BC, the channels.
Concatenation never crosses a transition.
"""
from __future__ import annotations

import torch
from torch import nn

from .resnet import init_weights


class DenseLayer(nn.Module):
    """BN-ReLU-conv3x3 (basic), or BN-ReLU-conv1x1(4k)-BN-ReLU-conv3x3 (bottleneck)."""

    def __init__(self, in_planes: int, growth: int, bottleneck: bool):
        super().__init__()
        inner = 4 * growth if bottleneck else in_planes
        self.relu = nn.ReLU()
        if bottleneck:
            self.bn0 = nn.BatchNorm2d(in_planes)
            self.conv0 = nn.Conv2d(in_planes, inner, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(inner)
        self.conv1 = nn.Conv2d(inner, growth, 3, padding=1, bias=False)
        self.bottleneck = bottleneck

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bottleneck:
            x = self.conv0(self.relu(self.bn0(x)))
        return self.conv1(self.relu(self.bn1(x)))


class DenseBlock(nn.ModuleList):
    """`n` dense layers; the output is the input concatenated with every new map."""

    def __init__(self, n: int, in_planes: int, growth: int, bottleneck: bool):
        super().__init__(DenseLayer(in_planes + i * growth, growth, bottleneck)
                         for i in range(n))
        self.out_planes = in_planes + n * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self:
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """BN-ReLU-1x1 conv to `out_planes`, then 2x2 average pooling."""

    def __init__(self, in_planes: int, out_planes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(in_planes)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(in_planes, out_planes, 1, bias=False)
        self.pool = nn.AvgPool2d(2)


class DenseNet(nn.Module):
    """Depth L: basic nets have (L-4)/3 layers per block, BC nets (L-4)/6."""

    def __init__(self, depth: int = 40, growth: int = 12, bottleneck: bool = False,
                 compression: float = 1.0, num_classes: int = 10):
        super().__init__()
        per_layer = 2 if bottleneck else 1  # convs per dense layer
        if (depth - 4) % (3 * per_layer):
            raise ValueError(f"depth {depth} is not 3*{per_layer}*n + 4")
        n = (depth - 4) // (3 * per_layer)
        self.depth = depth
        planes = 2 * growth if bottleneck else 16  # stem width as in the paper
        self.conv1 = nn.Conv2d(3, planes, 3, padding=1, bias=False)
        self.block1 = DenseBlock(n, planes, growth, bottleneck)
        out = int(self.block1.out_planes * compression)
        self.trans1 = Transition(self.block1.out_planes, out)
        self.block2 = DenseBlock(n, out, growth, bottleneck)
        out = int(self.block2.out_planes * compression)
        self.trans2 = Transition(self.block2.out_planes, out)
        self.block3 = DenseBlock(n, out, growth, bottleneck)
        self.bn_final = nn.BatchNorm2d(self.block3.out_planes)
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.block3.out_planes, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.trans1(self.block1(self.conv1(x)))
        x = self.trans2(self.block2(x))
        x = self.relu(self.bn_final(self.block3(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def blocks(self) -> list[tuple[str, DenseLayer]]:
        """(name, dense layer) over block1..block3, in forward order."""
        return [(f"{b}.{i}", layer) for b in ("block1", "block2", "block3")
                for i, layer in enumerate(getattr(self, b))]


def densenet40(**kw) -> DenseNet: return DenseNet(40, 12, **kw)
def densenet100(**kw) -> DenseNet: return DenseNet(100, 12, **kw)
def densenet_bc100(**kw) -> DenseNet: return DenseNet(100, 12, bottleneck=True, compression=0.5, **kw)
