"""Sub-figures: one numbered figure of several images, each with its caption, laid out
in columns on a wide screen and stacked on a narrow one.

    ::: {#fig:blocks layout-ncol=2}
    ![The plain block.](images/plain.svg){#fig:blocks-plain alt="..."}

    ![The residual block.](images/residual.svg){alt="..."}

    The two blocks; only @fig:blocks-plain lacks the shortcut.
    :::

is Figure N, its images (a) and (b); @fig:blocks names the figure and @fig:blocks-plain
"Figure Nb". Quarto's spelling (`{#fig-blocks layout-ncol=2}`, `{#fig-blocks-plain}`)
is the same. `layout-nrow=R` gives as many columns as R rows need; without either the
sub-figures stack. The Lua filters check the div's shape (porting.lua) and leave its
parts here in a comment (article.lua); sitegen.render.porting checks its attributes.
Each part is an image or a diagram as a figure of its own would be (alt text, dark
variant, `width=`), with its own files; the group has the caption and the card.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re

from ..errors import BuildError
from ..model import RenderedFigure
from . import images
from .figures import picture_html, provenance_html, sized

GROUP = re.compile(r'<!--figure-group (\{.*?\})-->\s*((?:<figcaption class="image-caption">.*?</figcaption>\s*)+)',
                   re.S)
CAPTION = re.compile(r'<figcaption class="image-caption">(.*?)</figcaption>', re.S)
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def collect(chapters, project, theme_json: str) -> dict[str, RenderedFigure]:
    """Every figure div of the chapters, by name, its parts drawn; their comments leave the HTML."""
    out: dict[str, RenderedFigure] = {}
    for ch in chapters:
        for m in GROUP.finditer(ch.html):
            info, captions = json.loads(m.group(1)), CAPTION.findall(m.group(2))
            line = images.label_line(ch, info["label"])
            parts = [_part(info, i, part, caption, ch, line, project, theme_json)
                     for i, (part, caption) in enumerate(zip(info["parts"], captions))]
            # the parts' sources in one row (the appendix lists it), then each part's other rows
            provenance = {"source": ", ".join(f"({LETTERS[i]}) {p.provenance.get('source') or p.provenance['diagram']}"
                                              for i, p in enumerate(parts))}
            provenance.update({f"({LETTERS[i]}) {k}": v for i, p in enumerate(parts)
                               for k, v in p.provenance.items() if k != "source"})
            out[info["label"]] = RenderedFigure(info["label"], images.width_of(info, "body"), b"", b"", None,
                                                captions[-1], "", provenance, "", parts=tuple(parts),
                                                columns=columns(info["attributes"], len(parts)))
        ch.html = GROUP.sub("", ch.html)
    return out


def columns(attributes: dict, n: int) -> int:
    """layout-ncol=N: N columns; layout-nrow=R: as many as R rows need; neither: one (stacked)."""
    if "layout-ncol" in attributes:
        return min(int(attributes["layout-ncol"]), n)
    if "layout-nrow" in attributes:
        return math.ceil(n / int(attributes["layout-nrow"]))
    return 1


def _part(group: dict, i: int, part: dict, caption: str, ch, line, project, theme_json) -> RenderedFigure:
    """Sub-figure (a), (b), ...: named by its own label, else `group-a`; an image or a diagram."""
    name = part["label"] or f"{group['label']}-{LETTERS[i]}"
    where = images.label_line(ch, part["label"]) if part["label"] else line
    if part["classes"]:
        raise BuildError(f"sub-figure class .{part['classes'][0]} is not supported; the figure div's "
                         f"class widens the whole figure: `::: {{#fig:{group['label']} .page layout-ncol=2}}`",
                         ch.path, where)
    if part["src"].lower().endswith(".json"):
        raise BuildError(f"a sub-figure is an image or a diagram, not a chart ({part['src']!r}); place the "
                         f"chart as a figure of its own", ch.path, where)
    info = {**part, "label": name}
    size = images.checked_size(info, ch, where)
    draw = images.diagram_figure if part["src"].startswith("diagram:") else images.image_figure
    return dataclasses.replace(draw(info, caption, ch, where, project, theme_json), size=size)


def group_html(fig: RenderedFigure, number: int, width: str | None, anchor: str, anchors: list[str]) -> str:
    """The figure: a grid of sub-figures (each a <figure> with its image and lettered caption),
    then the caption they share and the provenance card of them all."""
    cells = "".join(
        f'<figure class="subfigure" id="{part_anchor}"><div{sized(part)}>{picture_html(part)}</div>'
        f'<figcaption><span class="subfigure-letter">({letter})</span> {part.caption_html}</figcaption></figure>'
        for letter, part, part_anchor in zip(LETTERS, fig.parts, anchors))
    return (
        f'<figure class="figure subfigures l-{width or fig.width}" id="{anchor}" data-figure="{fig.name}">'
        f'<div class="subfigure-grid" style="--columns: {fig.columns}">{cells}</div>'
        f'<figcaption><span class="figure-number">Figure {number}.</span> {fig.caption_html}'
        f'{provenance_html(fig, anchor)}</figcaption></figure>'
    )
