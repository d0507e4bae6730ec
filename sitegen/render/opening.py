"""The opening screen: the talk's poster and the key takeaways.

The poster is the article's argument as one picture, drawn from the stored depth sweep, inline in the page so that it takes the theme's colours (light, dark,
the reader's toggle) and costs no request.

Left, a stack of blocks with the shortcut arcs of a residual network over them;
right, the final training error against depth: the plain networks' rises, the
residual networks' does not. Without a depth sweep in the results, the blocks alone.
Colours are classes styled by components.css (`.talk-poster`), so the SVG holds no colour.

The takeaways are the author's: a `::: takeaways` div in a chapter (numbers quoted with
result(), each with its card) is lifted out of it and shown before chapter 1.
"""
from __future__ import annotations

import re
from html import escape

from lab.spread import is_spread, means

W, H = 1280, 720
CHART = (780, 150, 1190, 520)  # x0, y0, x1, y1 of the plot area


def _sweep(store, profile: str) -> tuple[list[int], dict[str, list[tuple]], int, int] | None:
    """(depths, {"plain": [(mean, lowest, highest)], "resnet": ...}, epochs, seeds), or None
    where there is no sweep; over one seed the lowest and highest are the value itself."""
    result = store.load("depth_sweep", profile) if store is not None else None
    if result is None:
        return None
    metrics = means(result.metrics)
    depths = sorted(int(k[len("plain"):]) for k in metrics if k.startswith("plain") and k[5:].isdigit()
                    and f"resnet{k[5:]}" in metrics)

    def error(name: str) -> tuple:  # (mean, lowest, highest)
        node = result.metrics[name]["train_error"]
        return tuple(float(node[k]) for k in ("mean", "min", "max")) if is_spread(node) else (float(node),) * 3
    try:
        errors = {kind: [error(f"{kind}{d}") for d in depths] for kind in ("plain", "resnet")}
        epochs = int(metrics["summary"]["epochs"])
    except (KeyError, TypeError, ValueError):
        return None
    seeds = len(result.provenance.get("seeds") or [0])
    return (depths, errors, epochs, seeds) if len(depths) >= 2 else None


def _blocks() -> list[str]:
    """Six blocks, each with its shortcut arc, and the sum that every arc joins."""
    out, x0, y, bw, gap = [], 90, 560, 62, 28
    out.append(f'<line class="tp-wire" x1="{x0 - 40}" y1="{y}" x2="{x0 + 6 * (bw + gap) + 10}" y2="{y}"/>')
    for i in range(6):
        x = x0 + i * (bw + gap)
        out.append(f'<path class="tp-arc" d="M{x - 12} {y} C{x - 8} {y - 92} {x + bw + 8} {y - 92} {x + bw + 12} {y}"/>')
        out.append(f'<rect class="tp-block" x="{x}" y="{y - 26}" width="{bw}" height="52" rx="9"/>')
        out.append(f'<circle class="tp-sum" cx="{x + bw + 14}" cy="{y}" r="9"/>')
    out.append(f'<text class="tp-eq" x="{x0 - 40}" y="{y + 80}">y = F(x) + x: every block adds its input back</text>')
    return out


def _chart(depths: list[int], errors: dict[str, list[tuple]], epochs: int, seeds: int) -> list[str]:
    x0, y0, x1, y1 = CHART
    top = max(hi for v in errors.values() for _, _, hi in v)
    top = max(0.1, (int(top * 10) + 1) / 10)  # the next 10 % above the worst network's worst seed
    sx = lambda d: x0 + (d - depths[0]) / (depths[-1] - depths[0]) * (x1 - x0)  # noqa: E731
    sy = lambda e: y1 - e / top * (y1 - y0)  # noqa: E731
    out = [f'<line class="tp-axis" x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}"/>']
    for t in range(0, int(round(top * 10)) + 1):
        out.append(f'<text class="tp-tick" x="{x0 - 14}" y="{sy(t / 10) + 8:.0f}" text-anchor="end">{t * 10}%</text>')
        if t:
            out.append(f'<line class="tp-grid" x1="{x0}" y1="{sy(t / 10):.0f}" x2="{x1}" y2="{sy(t / 10):.0f}"/>')
    for d in depths:
        out.append(f'<text class="tp-tick" x="{sx(d):.0f}" y="{y1 + 38}" text-anchor="middle">{d}</text>')
    out.append(f'<text class="tp-label" x="{(x0 + x1) / 2:.0f}" y="{y1 + 80}" text-anchor="middle">layers</text>')
    title_y = y0 - (80 if seeds > 1 else 40)  # over a second line that says what the bars are
    out.append(f'<text class="tp-label" x="{x0}" y="{title_y}">training error after {epochs} epochs</text>')
    if seeds > 1:  # what the dots and bars are, as every figure's caption says
        out.append(f'<text class="tp-tick" x="{x0}" y="{y0 - 42}">mean of {seeds} seeds; bars: lowest to highest</text>')
    for kind, name in (("plain", "plain"), ("resnet", "ResNet")):
        pts = " ".join(f"{sx(d):.0f},{sy(e):.0f}" for d, (e, _, _) in zip(depths, errors[kind]))
        out.append(f'<polyline class="tp-{kind}" points="{pts}"/>')
        for d, (e, lo, hi) in zip(depths, errors[kind]):
            if sy(lo) - sy(hi) >= 1:  # a spread wider than a pixel
                x = f"{sx(d):.0f}"
                out.append(f'<path class="tp-{kind}-bar" d="M{x} {sy(hi):.0f}V{sy(lo):.0f}'
                           f'M{sx(d) - 9:.0f} {sy(hi):.0f}h18M{sx(d) - 9:.0f} {sy(lo):.0f}h18"/>')
            out.append(f'<circle class="tp-{kind}-dot" cx="{sx(d):.0f}" cy="{sy(e):.0f}" r="8"/>')
        last = errors[kind][-1][0]
        dy = -22 if kind == "plain" or last > errors["plain"][-1][0] else 40
        if kind == "plain":  # clear of the bar above the point
            dy = min(dy, sy(errors[kind][-1][2]) - sy(last) - 14)
        out.append(f'<text class="tp-name tp-{kind}-name" x="{x1}" y="{sy(last) + dy:.0f}" text-anchor="end">'
                   f'{name}-{depths[-1]}: {last:.0%}</text>')
    return out


def svg(store, profile: str, title: str) -> str:
    """The poster as an inline <svg>, decorative: the button around it carries the name."""
    parts = [f'<svg class="talk-poster-art" viewBox="0 0 {W} {H}" aria-hidden="true" focusable="false" '
             f'preserveAspectRatio="xMidYMid meet">', f'<rect class="tp-bg" width="{W}" height="{H}"/>']
    sweep = _sweep(store, profile)
    if sweep:
        depths, errors, epochs, seeds = sweep
        parts += [f'<text class="tp-title" x="50" y="120">Deeper plain networks</text>',
                  f'<text class="tp-title" x="50" y="184">train <tspan class="tp-plain-name">worse</tspan>.</text>',
                  f'<text class="tp-title" x="50" y="276">A shortcut per block</text>',
                  f'<text class="tp-title" x="50" y="340">fixes it.</text>']
        parts += _chart(depths, errors, epochs, seeds)
    else:
        parts.append(f'<text class="tp-title" x="50" y="150">{escape(title)}</text>')
    parts += _blocks()
    parts.append("</svg>")
    return "".join(parts)


TAKEAWAYS = re.compile(r'<div class="takeaways">')
DIV = re.compile(r"<(/?)div\b[^>]*>")


def lift_takeaways(bodies: list[str]) -> tuple[list[str], str]:
    """(the chapters without their `takeaways` divs, the divs' insides, in order)."""
    lifted, out = [], []
    for body in bodies:
        while (m := TAKEAWAYS.search(body)) is not None:
            depth, end = 0, None
            for d in DIV.finditer(body, m.start()):
                depth += -1 if d.group(1) else 1
                if depth == 0:
                    end = d
                    break
            if end is None:  # unbalanced: leave it where it is
                break
            lifted.append(body[m.end():end.start()].strip())
            body = body[:m.start()] + body[end.end():]
        out.append(body)
    return out, "\n".join(lifted)
