"""blocks: the plain block beside the residual block, post- and pre-activation.

Each column is one block of a real network (stage 1, block 2: 16 channels at
32×32, where the shortcut is the identity), its layers in the order forward()
runs them, traced with torch.fx; a block whose forward adds no shortcut is drawn
without one. Models: the `models` attribute of the figure, in column order.
"""
from __future__ import annotations

from figures.diagrams import Svg, dims, trace_block

WIDTH = "page"
DEFAULT = ("plain20", "resnet20", "preact_resnet20")
COL, GAP, BOX_W, BOX_H, STEP = 240, 16, 150, 28, 40


def _blocks(models):
    return [trace_block(m, stage=1, index=1) for m in (models or DEFAULT)]


def draw(models, theme: dict) -> str:
    blocks = _blocks(models)
    rows = max(len(b.layers) for b in blocks)
    height = 110 + rows * STEP + 50
    svg = Svg(len(blocks) * COL + (len(blocks) - 1) * GAP, height, theme,
              "Blocks: " + ", ".join(f"{b.title} ({b.model})" for b in blocks))
    for i, b in enumerate(blocks):
        cx = i * (COL + GAP) + COL / 2 - 8  # the shortcut and its label take the right
        colour = theme["residual"] if b.residual else theme["plain"]
        svg.text(cx + 8, 16, b.title, size=13, weight=650, color=colour)
        svg.text(cx + 8, 34, b.model, size=11, color=theme["muted"])
        svg.text(cx, 58, f"x  {dims(b.input)}", size=11, italic=True)
        y = 70
        svg.line([(cx, y), (cx, y + 16)])
        fork = y + 6
        add_y = None
        for layer in b.layers:
            top = y + 18
            if layer.kind == "add":
                add_y = top + BOX_H / 2
                svg.circle(cx, add_y, 11, "+", color=theme["residual"])
            else:
                svg.box(cx - BOX_W / 2, top, BOX_W, BOX_H, layer.label,
                        stroke=colour if layer.kind == "conv" else None,
                        fill_opacity=0.12 if layer.kind == "conv" else 0.05)
            y = top + BOX_H
            svg.line([(cx, y if layer.kind != "add" else add_y + 11), (cx, y + 12)])
        svg.text(cx, y + 26, f"{dims(b.layers[-1].shape)}", size=11, italic=True)
        if b.residual and b.shortcut is not None and add_y is not None:
            right = cx + BOX_W / 2 + 22
            svg.line([(cx, fork), (right, fork), (right, add_y), (cx + 13, add_y)], color=theme["residual"], width=1.8)
            svg.text(right + 11, (fork + add_y) / 2, f"{b.shortcut.label} shortcut", size=11,
                     color=theme["residual"], rotate=90)
        elif not b.residual:
            svg.text(cx + BOX_W / 2 + 22, (fork + y) / 2, "no shortcut", size=11, color=theme["plain"],
                     italic=True, rotate=90)
    return svg.render()


def alt(models) -> str:
    parts = []
    for b in _blocks(models):
        chain = " → ".join("add the shortcut" if layer.kind == "add" else layer.label for layer in b.layers)
        tail = f"; shortcut: {b.shortcut.label}" if b.residual and b.shortcut else "; no shortcut"
        parts.append(f"{b.title} ({b.model}), input {dims(b.input)}: {chain}{tail}")
    return "Diagram of residual blocks traced from the models. " + ". ".join(parts) + "."
