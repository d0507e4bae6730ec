"""CIFAR ResNets of depth 6n+2 (He et al. 2015, section 4.2) and their relatives.

The layout is the paper's: a 3x3 conv to 16 channels, three stages of n blocks
with 16/32/64 channels (stride 2 at the start of stages 2 and 3), global average
pooling and a linear layer to 10 classes. Three block types share it:

- `BasicBlock`: the original post-activation block (conv-BN-ReLU-conv-BN, add
  the shortcut, ReLU). With `residual=False` it is the "plain" block of the
  paper's Fig. 6 left: the same layers, no addition.
- `PreActBlock`: He et al. 2016 ("Identity Mappings"), BN-ReLU-conv-BN-ReLU-conv
  then add; the stem is a bare conv (its output is normalised by the first
  block's BN) and the network ends with BN-ReLU before pooling.

Every 3x3 conv is followed (post-act) or preceded (pre-act) by its own named BN
(`bn1`, `bn2`) so forward hooks can read per-layer responses (He et al. 2015,
Fig. 7), and every block keeps its shortcut as a module (`block.shortcut`) so
`lesion` can replace a block by that path alone (Veit et al. 2016).
"""
from __future__ import annotations

import copy
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

SHORTCUTS = ("A", "B")  # A: zero-pad, parameter-free; B: 1x1 projection + BN


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    # No bias: every conv is followed or preceded by a BN that has one.
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


class ZeroPadShortcut(nn.Module):
    """Option A: subsample by `stride` and append zero channels; no parameters."""

    def __init__(self, in_planes: int, out_planes: int, stride: int = 2):
        super().__init__()
        self.extra = out_planes - in_planes
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))  # pads the channel dim at the end

    def extra_repr(self) -> str:
        return f"stride={self.stride}, extra_channels={self.extra}"


class ProjectionShortcut(nn.Module):
    """Option B: a strided 1x1 conv and BN, used only where the shape changes."""

    def __init__(self, in_planes: int, out_planes: int, stride: int = 2):
        super().__init__()
        self.conv = nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(out_planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


def make_shortcut(in_planes: int, out_planes: int, stride: int, kind: str) -> nn.Module:
    """Identity where the shape is kept, otherwise option A or B."""
    if kind not in SHORTCUTS:
        raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {kind!r}")
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    if kind == "A":
        return ZeroPadShortcut(in_planes, out_planes, stride)
    return ProjectionShortcut(in_planes, out_planes, stride)


class BasicBlock(nn.Module):
    """Post-activation block; `residual=False` gives the plain block."""

    preact = False  # tells CifarResNet where the stem/head BN-ReLU go

    def __init__(self, in_planes: int, planes: int, stride: int = 1,
                 shortcut: str = "A", residual: bool = True):
        super().__init__()
        self.residual = residual
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        # Not in-place: hooks on bn1/bn2 may keep the BN output they were given.
        self.relu = nn.ReLU()
        # Plain blocks keep a parameter-free shortcut only as the lesion path.
        self.shortcut = make_shortcut(in_planes, planes, stride, shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + self.shortcut(x)
        return self.relu(out)


class PreActBlock(nn.Module):
    """Pre-activation block (He et al. 2016): nothing after the addition."""

    preact = True

    def __init__(self, in_planes: int, planes: int, stride: int = 1,
                 shortcut: str = "A", residual: bool = True):
        super().__init__()
        self.residual = residual
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.relu = nn.ReLU()
        self.shortcut = make_shortcut(in_planes, planes, stride, shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        if self.residual:
            out = out + self.shortcut(x)
        return out


class CifarResNet(nn.Module):
    """Depth 6n+2: stem, three stages of `n` blocks (16/32/64 channels), pool, fc."""

    def __init__(self, block: type[nn.Module], n: int, num_classes: int = 10,
                 shortcut: str = "A", residual: bool = True, width: int = 16):
        super().__init__()
        if not residual and shortcut != "A":
            # A projection would add parameters that a plain net never uses.
            raise ValueError("plain networks have no shortcuts; use shortcut='A'")
        self.depth = 6 * n + 2
        self.preact = block.preact
        self.conv1 = conv3x3(3, width)
        # Post-act nets normalise the stem; pre-act nets normalise before the head.
        self.bn1 = nn.Identity() if block.preact else nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        in_planes = width
        stages = []
        for i, planes in enumerate((width, 2 * width, 4 * width)):
            stride = 1 if i == 0 else 2
            layers = []
            for j in range(n):
                layers.append(block(in_planes, planes, stride if j == 0 else 1,
                                    shortcut=shortcut, residual=residual))
                in_planes = planes
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3 = stages
        self.bn_final = nn.BatchNorm2d(in_planes) if block.preact else nn.Identity()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        if not self.preact:  # pre-act: no ReLU on the un-normalised stem (He et al. 2016)
            x = self.relu(self.bn1(x))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.relu(self.bn_final(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def blocks(self) -> list[tuple[str, nn.Module]]:
        """(name, block) for every block of layer1..layer3, in forward order."""
        return [(f"{stage}.{i}", b) for stage in ("layer1", "layer2", "layer3")
                for i, b in enumerate(getattr(self, stage))]


def init_weights(model: nn.Module) -> None:
    """Kaiming-normal convs (He et al. 2015b, as the paper), unit-gain BN."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def lesion(model: nn.Module, index: int | Iterable[int]) -> nn.Module:
    """A deep copy of `model` with residual block(s) `index` replaced by their shortcut.

    Indices count blocks over layer1..layer3 as `model.blocks()` lists them.
    Same-shape blocks become identity; downsampling blocks keep only their
    shortcut module (zero-pad or projection), so the net still runs. Plain nets
    keep their parameter-free shortcut for exactly this purpose.
    """
    indices = [index] if isinstance(index, int) else sorted(set(index))
    names = [name for name, _ in model.blocks()]
    for i in indices:
        if not -len(names) <= i < len(names):
            raise IndexError(f"block index {i} out of range for {len(names)} blocks")
    blocks = [b for _, b in model.blocks()]
    if not all(hasattr(blocks[i], "shortcut") for i in indices):
        raise TypeError(f"{type(model).__name__} blocks have no shortcut to fall back on")
    lesioned = copy.deepcopy(model)
    for i in indices:
        stage, pos = names[i].split(".")
        seq = getattr(lesioned, stage)
        seq[int(pos)] = seq[int(pos)].shortcut
    return lesioned


# One-line factories: depth = 6n + 2. Every factory accepts shortcut="A"|"B".
def resnet20(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 3, **kw)
def resnet32(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 5, **kw)
def resnet44(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 7, **kw)
def resnet56(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 9, **kw)
def resnet110(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 18, **kw)
def resnet1202(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 200, **kw)

def resnet20_b(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 3, shortcut="B", **kw)
def resnet56_b(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 9, shortcut="B", **kw)
def resnet110_b(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 18, shortcut="B", **kw)

def plain20(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 3, residual=False, **kw)
def plain32(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 5, residual=False, **kw)
def plain44(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 7, residual=False, **kw)
def plain56(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 9, residual=False, **kw)
def plain110(**kw) -> CifarResNet: return CifarResNet(BasicBlock, 18, residual=False, **kw)

def preact_resnet20(**kw) -> CifarResNet: return CifarResNet(PreActBlock, 3, **kw)
def preact_resnet32(**kw) -> CifarResNet: return CifarResNet(PreActBlock, 5, **kw)
def preact_resnet44(**kw) -> CifarResNet: return CifarResNet(PreActBlock, 7, **kw)
def preact_resnet56(**kw) -> CifarResNet: return CifarResNet(PreActBlock, 9, **kw)
def preact_resnet110(**kw) -> CifarResNet: return CifarResNet(PreActBlock, 18, **kw)
