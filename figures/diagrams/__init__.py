"""Diagrams of the networks, drawn from the networks themselves.

A diagram module here (`blocks`, `stages`) defines
    WIDTH                         "body", "page" or "screen"
    draw(models, theme) -> str    an SVG document
    alt(models) -> str            plain text, written from the same structure
and reads what it draws through this module: a block's layers, in the order
its forward() runs them, from a torch.fx trace, and every tensor's shape from
running that trace on a CIFAR-sized input. A diagram cannot disagree with the
code that builds the networks, because it is read from that code.

An article places one as an image, `![Caption](diagram:stages){#fig:x models="resnet20 resnet20_b"}`.
"""
from __future__ import annotations

import html
import importlib
import pkgutil
from dataclasses import dataclass, field
from types import ModuleType


def names() -> list[str]:
    return sorted(i.name for i in pkgutil.iter_modules(__path__) if not i.name.startswith("_"))


def get(name: str) -> ModuleType:
    if name not in names():
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}")


def known_models() -> list[str]:
    from lab import models

    return sorted(models.FACTORIES)


def build(name: str):
    """The network `name` exactly as the experiments build it (lab.networks)."""
    from lab.networks import make_model

    return make_model(name)


@dataclass
class Layer:
    kind: str            # "conv", "bn", "relu", "add", "shortcut"
    label: str           # what the diagram prints: "3×3 conv, 16", "BN", "+"
    shape: tuple         # output shape (C, H, W)
    detail: str = ""     # stride, kernel, what a shortcut does


@dataclass
class Block:
    model: str
    title: str           # "plain", "residual (post-activation)", ...
    residual: bool
    input: tuple         # (C, H, W)
    layers: list[Layer] = field(default_factory=list)   # the residual branch, then "+", then what follows
    shortcut: Layer | None = None


def _shape(node) -> tuple:
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape[1:]) if meta is not None and hasattr(meta, "shape") else ()


def shortcut_layer(module, in_shape: tuple, out_shape: tuple) -> Layer:
    """What a shortcut module does, said from its class and settings."""
    from lab.models.resnet import ProjectionShortcut, ZeroPadShortcut

    params = sum(p.numel() for p in module.parameters())
    if isinstance(module, ZeroPadShortcut):
        return Layer("shortcut", "option A", out_shape,
                     f"subsample ×{module.stride}, {module.extra} zero channels, no parameters")
    if isinstance(module, ProjectionShortcut):
        k, s = module.conv.kernel_size[0], module.conv.stride[0]
        return Layer("shortcut", "option B", out_shape,
                     f"{k}×{k} conv /{s} + BN, {params:,} parameters")
    return Layer("shortcut", "identity", out_shape, "no parameters")


def trace_block(model: str, stage: int = 1, index: int = 1) -> Block:
    """Block `index` of stage `stage` (1-3) of `model`, traced: its branch layers in
    forward order with output shapes, whether it adds, and its shortcut."""
    import torch
    import torch.fx as fx
    from torch.fx.passes.shape_prop import ShapeProp

    net = build(model)
    blk = getattr(net, f"layer{stage}")[index]
    shapes = {}
    net.eval()
    hook = blk.register_forward_hook(lambda m, i, o: shapes.update(input=tuple(i[0].shape), output=tuple(o.shape)))
    with torch.no_grad():
        net(torch.zeros(1, 3, 32, 32))
    hook.remove()

    class Tracer(fx.Tracer):  # the shortcut stays one node: the diagram draws it as one path
        def is_leaf_module(self, m, qualname):
            return qualname == "shortcut" or super().is_leaf_module(m, qualname)

    graph = fx.GraphModule(blk, Tracer().trace(blk))
    ShapeProp(graph).propagate(torch.zeros(shapes["input"]))
    residual = bool(getattr(blk, "residual", True))
    title = ("plain" if not residual else
             "pre-activation" if getattr(blk, "preact", False) else "residual (post-activation)")
    out = Block(model, title, residual, shapes["input"][1:])
    for node in graph.graph.nodes:
        if node.op == "call_module" and node.target == "shortcut":
            out.shortcut = shortcut_layer(blk.shortcut, out.input, _shape(node))
        elif node.op == "call_module":
            mod = graph.get_submodule(node.target)
            kind = type(mod).__name__
            if kind == "Conv2d":
                k, s = mod.kernel_size[0], mod.stride[0]
                out.layers.append(Layer("conv", f"{k}×{k} conv, {mod.out_channels}" + (f", /{s}" if s > 1 else ""),
                                        _shape(node), f"{mod.in_channels}→{mod.out_channels} channels"))
            elif kind == "BatchNorm2d":
                out.layers.append(Layer("bn", "BN", _shape(node)))
            elif kind == "ReLU":
                out.layers.append(Layer("relu", "ReLU", _shape(node)))
            else:
                out.layers.append(Layer(kind.lower(), kind, _shape(node)))
        elif node.op == "call_function" and getattr(node.target, "__name__", "") in ("add", "iadd"):
            out.layers.append(Layer("add", "+", _shape(node)))
    if not out.layers:
        raise ValueError(f"{model}: no layers traced in layer{stage}[{index}]")
    return out


def network_shapes(model: str) -> dict:
    """Stem, each stage and the head of `model`: output shapes for one 3×32×32 image,
    blocks per stage, and each stage's first-block shortcut."""
    import torch

    net = build(model)
    net.eval()
    seen = {}
    parts = ["conv1", "layer1", "layer2", "layer3", "avgpool", "fc"]
    hooks = [getattr(net, p).register_forward_hook(
        lambda m, i, o, p=p: seen.update({p: (tuple(i[0].shape[1:]), tuple(o.shape[1:]))})) for p in parts]
    with torch.no_grad():
        net(torch.zeros(1, 3, 32, 32))
    for h in hooks:
        h.remove()
    stages = []
    for i in (1, 2, 3):
        layer = getattr(net, f"layer{i}")
        first = layer[0]
        stages.append({"blocks": len(layer), "in": seen[f"layer{i}"][0], "out": seen[f"layer{i}"][1],
                       "shortcut": shortcut_layer(first.shortcut, seen[f"layer{i}"][0], seen[f"layer{i}"][1]),
                       "residual": bool(getattr(first, "residual", True))})
    return {"model": model, "depth": getattr(net, "depth", None), "input": (3, 32, 32), "stem": seen["conv1"][1],
            "stages": stages, "pooled": seen["avgpool"][1], "classes": seen["fc"][1][0],
            "params": sum(p.numel() for p in net.parameters()), "preact": bool(getattr(net, "preact", False))}


def dims(shape: tuple) -> str:
    return "×".join(str(d) for d in shape)


# -- drawing ----------------------------------------------------------------------
class Svg:
    """A small SVG writer: text stays text (the page's readers can select and search it)."""

    def __init__(self, width: float, height: float, theme: dict, title: str):
        self.w, self.h, self.t = width, height, theme
        self.parts = [f"<title>{html.escape(title)}</title>"]
        self.markers: dict[str, str] = {}  # colour -> marker id: an arrowhead in its line's colour

    def box(self, x, y, w, h, text, stroke=None, fill_opacity=0.07, size=12, weight=400, rx=5):
        t = self.t
        self.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx}" '
                          f'fill="{stroke or t["fg"]}" fill-opacity="{fill_opacity}" stroke="{stroke or t["fg"]}" '
                          f'stroke-width="1.2"/>')
        self.text(x + w / 2, y + h / 2, text, size=size, weight=weight)

    def text(self, x, y, text, size=12, color=None, anchor="middle", weight=400, italic=False, rotate=0):
        style = (' font-style="italic"' if italic else "") + (f' transform="rotate({rotate} {x:.1f} {y:.1f})"'
                                                              if rotate else "")
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{color or self.t["fg"]}" '
                          f'text-anchor="{anchor}" dominant-baseline="central" font-weight="{weight}"{style}>'
                          f"{html.escape(str(text))}</text>")

    def line(self, points, color=None, width=1.4, arrow=True, dash=None):
        d = "M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in points)
        colour = color or self.t["fg"]
        marker = self.markers.setdefault(colour, f"arrow{len(self.markers)}")
        extra = (f' marker-end="url(#{marker})"' if arrow else "") + (f' stroke-dasharray="{dash}"' if dash else "")
        self.parts.append(f'<path d="{d}" fill="none" stroke="{color or self.t["fg"]}" stroke-width="{width}"'
                          f' stroke-linejoin="round"{extra}/>')

    def circle(self, x, y, r, text, color=None):
        c = color or self.t["fg"]
        self.parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="none" stroke="{c}" stroke-width="1.4"/>')
        self.text(x, y + 0.5, text, size=14, color=c, weight=600)

    def render(self) -> str:
        defs = "".join(f'<marker id="{m}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
                       f'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="{c}"/></marker>'
                       for c, m in self.markers.items())
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.w:.0f} {self.h:.0f}" '
                f'width="{self.w:.0f}" height="{self.h:.0f}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">'
                + self.parts[0] + f"<defs>{defs}</defs>" + "".join(self.parts[1:]) + "</svg>\n")
