"""stages: the CIFAR ResNet end to end, with its two kinds of downsampling shortcut.

The stem, the three stages (blocks per stage, channels and map size) and the
head come from running the first model on one 3×32×32 image with forward hooks;
what each model's first block of stage 2 does on its shortcut (option A or B,
with its parameter count) is read from that block's shortcut module. Models:
the figure's `models` attribute, the first drawn in full, each one's
downsampling shortcut listed below it (resnet20 has option A, resnet20_b B).
"""
from __future__ import annotations

from figures.diagrams import Svg, dims, network_shapes
from lab.names import net_label

WIDTH = "screen"
DEFAULT = ("resnet20", "resnet20_b")
GLYPHS = 3  # blocks drawn per stage; a deeper stage says how many it has


def _nets(models):
    return [network_shapes(m) for m in (models or DEFAULT)]


def draw(models, theme: dict) -> str:
    nets = _nets(models)
    net = nets[0]
    fg, res, muted = theme["fg"], theme["residual"], theme["muted"]
    svg = Svg(1120, 290, theme, f"{net['model']}: stem, three stages, head")
    y, h = 118, 44
    n = net["stages"][0]["blocks"]
    svg.text(10, 18, f"{net_label(net['model'])}: 6n + 2 = {net['depth']} layers, n = {n} blocks per stage, "
                     f"{net['params']:,} parameters", size=15, weight=650, anchor="start")
    x = 10

    def arrow_to(x0, x1, label=""):
        svg.line([(x0, y + h / 2), (x1 - 2, y + h / 2)])
        if label:
            svg.text((x0 + x1) / 2, y + h / 2 + 22, label, size=11, color=muted, italic=True)

    svg.box(x, y, 84, h, "image", size=13)
    svg.text(x + 42, y + h + 18, dims(net["input"]), size=11, color=muted, italic=True)
    x += 84
    arrow_to(x, x + 28)
    x += 28
    stem = "3×3 conv" if net["preact"] else "3×3 conv, BN, ReLU"
    svg.box(x, y, 150, h, stem, size=13)
    svg.text(x + 75, y + h + 18, dims(net["stem"]), size=11, color=muted, italic=True)
    x += 150
    for i, st in enumerate(net["stages"], 1):
        arrow_to(x, x + 28)
        x += 28
        shown = min(st["blocks"], GLYPHS)
        width = 24 + shown * 52 + (30 if st["blocks"] > shown else 0)
        svg.box(x, y - 54, width, h + 98, "", stroke=res, fill_opacity=0.04, rx=8)
        svg.text(x + width / 2, y - 38, f"stage {i}: {st['out'][0]} channels", size=13, weight=650, color=res)
        svg.text(x + width / 2, y + h + 30, f"{dims(st['out'][1:])} maps", size=11, color=muted, italic=True)
        bx = x + 14
        for j in range(shown):
            svg.box(bx, y, 40, h, "block", size=10, fill_opacity=0.1)
            down = j == 0 and st["in"] != st["out"]
            # every block's shortcut skips over it; where it must change the shape, drawn in the
            # style of its option (the legend below uses the same: dashed, or a conv on the line)
            svg.line([(bx - 6, y + h / 2), (bx - 6, y - 10), (bx + 46, y - 10), (bx + 46, y + h / 2)], color=res,
                     width=1.6, dash="4 3" if down and not _projects(st["shortcut"]) else None, arrow=False)
            if down and _projects(st["shortcut"]):
                svg.box(bx + 15, y - 15, 10, 10, "", stroke=res, fill_opacity=0.8, rx=1)
            if down:
                svg.text(bx + 20, y - 20, st["shortcut"].label, size=10, color=res, weight=650)
            if j < shown - 1:
                svg.line([(bx + 40, y + h / 2), (bx + 50, y + h / 2)])
            bx += 52
        if st["blocks"] > shown:
            svg.text(bx + 10, y + h / 2, f"×{st['blocks']}", size=12, weight=650)
        x += width
    arrow_to(x, x + 28)
    x += 28
    svg.box(x, y, 100, h, "BN, ReLU, avg pool" if net["preact"] else "avg pool", size=12)
    svg.text(x + 50, y + h + 18, dims(net["pooled"]), size=11, color=muted, italic=True)
    x += 100
    arrow_to(x, x + 28)
    x += 28
    svg.box(x, y, 70, h, f"fc, {net['classes']}", size=13)
    svg.w = x + 80
    ly = 232
    svg.text(10, ly, "Where a stage halves the maps and doubles the channels, the shortcut must change shape too:",
             size=12, anchor="start")
    for k, other in enumerate(nets):
        sc = other["stages"][1]["shortcut"]
        proj, sy = _projects(sc), ly + 24 + k * 22
        svg.line([(18, sy), (48, sy)], color=res, width=1.6, dash=None if proj else "4 3", arrow=False)
        if proj:  # a 1×1 convolution sits on this shortcut: a filled square on the line
            svg.box(28, sy - 5, 10, 10, "", stroke=res, fill_opacity=0.8, rx=1)
        svg.text(58, ly + 24 + k * 22, f"{sc.label} ({other['model']}): {sc.detail}; "
                                       f"{other['params']:,} parameters in all", size=12, anchor="start")
    return svg.render()


def _projects(shortcut) -> bool:
    """A shortcut with weights (option B's 1×1 convolution), not zero-padding (option A)."""
    return "B" in shortcut.label.split()[-1]


def alt(models) -> str:
    nets = _nets(models)
    net = nets[0]
    stages = "; ".join(f"stage {i}: {st['blocks']} blocks, {st['out'][0]} channels at {dims(st['out'][1:])}"
                       for i, st in enumerate(net["stages"], 1))
    options = "; ".join(f"{o['model']}: {o['stages'][1]['shortcut'].label}, {o['stages'][1]['shortcut'].detail}"
                        for o in nets)
    return (f"Diagram of {net_label(net['model'])} ({net['depth']} layers, {net['params']:,} parameters): a "
            f"{dims(net['input'])} image, a 3×3 convolution to {net['stem'][0]} channels, then {stages}; "
            f"average pooling and a {net['classes']}-way fully connected layer. Downsampling shortcuts: {options}.")
