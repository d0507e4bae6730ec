"""A trained network as the reader's browser runs it: its torch.fx graph and its weights.

`export(model)` traces the model with torch.fx, one module at a time: a module is
either an op the browser knows (conv, batch norm, ReLU, identity, average pooling,
linear) or a graph of calls to its children, traced from its own forward(). So
the browser runs exactly the code that defines the network, never a description
of it typed a second time; a module or function it does not know fails here, at
export, not in the reader's browser. `templates/static/lesion_live.js` interprets
the graphs.

A lesion (Veit et al. 2016, `lab.models.lesion`) replaces a block by its
shortcut module. The export keeps every block's shortcut as a callable module,
so the browser deletes a block the same way: it calls the block's `shortcut`
child instead of the block.

The weights are the committed ones, bit for bit: each tensor is stored as
float16 where that is exact (lab/weights stores half precision), else float32.
`forward(model, x, lesioned)` is PyTorch's own answer, in float32, for the tests.
"""
from __future__ import annotations

import operator

import numpy as np
import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from lab import models

# torch function -> the browser's op name; anything else fails the export
FUNCTIONS = {operator.add: "add", torch.add: "add", torch.flatten: "flatten",
             operator.getitem: "getitem", F.pad: "pad", F.relu: "relu"}
LEAVES = {nn.Conv2d: "conv2d", nn.BatchNorm2d: "batchnorm", nn.ReLU: "relu", nn.Identity: "identity",
          nn.AdaptiveAvgPool2d: "avgpool", nn.Linear: "linear"}


class _ChildrenAreLeaves(fx.Tracer):
    """Traces one module's forward(): each child is one call (exported on its own)."""

    def __init__(self, root: nn.Module):
        super().__init__()
        self.children = {id(m) for m in root.children()}

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return id(m) in self.children or super().is_leaf_module(m, qualname)


def _arg(a):
    """A call's argument as JSON: a node by name, a slice, a tuple, a number."""
    if isinstance(a, fx.Node):
        return {"node": a.name}
    if isinstance(a, slice):
        return {"slice": [a.start, a.stop, a.step]}
    if isinstance(a, (tuple, list)):
        return [_arg(b) for b in a]
    if a is None or isinstance(a, (bool, int, float, str)):
        return a
    raise TypeError(f"cannot export argument {a!r}")


class _Export:
    def __init__(self):
        self.modules: dict[str, dict] = {}
        self.tensors: dict[str, dict] = {}
        self.chunks: list[bytes] = []
        self.size = 0

    def tensor(self, name: str, t: torch.Tensor) -> str:
        t = t.detach().float().cpu().contiguous()
        half = t.half()
        exact = bool(torch.equal(half.float(), t))
        raw = (half.numpy() if exact else t.numpy()).astype("<f2" if exact else "<f4").tobytes()
        pad = (-self.size) % 4
        self.chunks.append(b"\0" * pad + raw)
        self.size += pad
        self.tensors[name] = {"offset": self.size, "dtype": "f16" if exact else "f32",
                              "shape": list(t.shape)}
        self.size += len(raw)
        return name

    def module(self, name: str, m: nn.Module) -> None:
        kind = LEAVES.get(type(m))
        if kind is None:
            self.graph(name, m)
            return
        spec: dict = {"op": kind}
        if kind == "conv2d":
            if m.groups != 1 or m.dilation != (1, 1) or m.padding_mode != "zeros":
                raise TypeError(f"{name}: only plain convolutions are exported")
            spec |= {"stride": list(m.stride), "padding": list(m.padding),
                     "weight": self.tensor(f"{name}.weight", m.weight)}
            if m.bias is not None:
                spec["bias"] = self.tensor(f"{name}.bias", m.bias)
        elif kind == "batchnorm":
            spec |= {"eps": m.eps, "weight": self.tensor(f"{name}.weight", m.weight),
                     "bias": self.tensor(f"{name}.bias", m.bias),
                     "mean": self.tensor(f"{name}.running_mean", m.running_mean),
                     "var": self.tensor(f"{name}.running_var", m.running_var)}
        elif kind == "avgpool":
            if m.output_size not in (1, (1, 1)):
                raise TypeError(f"{name}: only global average pooling is exported")
        elif kind == "linear":
            spec |= {"weight": self.tensor(f"{name}.weight", m.weight),
                     "bias": self.tensor(f"{name}.bias", m.bias)}
        self.modules[name] = spec

    def graph(self, name: str, m: nn.Module) -> None:
        graph = _ChildrenAreLeaves(m).trace(m)
        nodes = []
        for n in graph.nodes:
            node = {"name": n.name, "op": n.op, "args": _arg(tuple(n.args))}
            if n.kwargs:
                node["kwargs"] = {k: _arg(v) for k, v in n.kwargs.items()}
            if n.op == "call_module":
                node["target"] = f"{name}.{n.target}" if name else n.target
            elif n.op == "call_function":
                if n.target not in FUNCTIONS:
                    raise TypeError(f"{name or 'model'}: the browser has no op for {n.target}")
                node["target"] = FUNCTIONS[n.target]
            elif n.op in ("call_method", "get_attr"):
                raise TypeError(f"{name or 'model'}: cannot export {n.op} {n.target}")
            nodes.append(node)
        self.modules[name] = {"op": "graph", "nodes": nodes}
        for child, sub in m.named_children():
            self.module(f"{name}.{child}" if name else child, sub)


def export(model: nn.Module) -> tuple[dict, bytes]:
    """(graph, weights): every module's op or traced graph, the blocks a lesion may delete
    (each with its shortcut), and the weights as one little-endian byte string."""
    out = _Export()
    out.module("", model.eval())
    blocks = [name for name, _ in model.blocks()]
    for b in blocks:
        if f"{b}.shortcut" not in out.modules:
            raise TypeError(f"block {b} has no shortcut to delete it by")
    return {"modules": out.modules, "tensors": out.tensors, "blocks": blocks,
            "downsampling": [b for (b, blk) in model.blocks()
                             if not isinstance(blk.shortcut, nn.Identity)]}, b"".join(out.chunks)


@torch.no_grad()
def forward(model: nn.Module, images: np.ndarray | torch.Tensor, lesioned=()) -> np.ndarray:
    """PyTorch's logits, float32 and no autocast, for uint8 images (N, 3, 32, 32) with
    the blocks at indices `lesioned` deleted, exactly as the experiments delete them."""
    from lab.data import normalize

    net = models.lesion(model, list(lesioned)) if len(lesioned) else model
    x = normalize(torch.as_tensor(np.asarray(images)))
    return net.eval().float()(x).numpy()
