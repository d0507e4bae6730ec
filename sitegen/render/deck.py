"""The talk's two renderings from one Deck (sitegen.read.slides): the slides as
reveal.js sections for the deck page, and the Typst source the video's frames
are rendered from. Figures are the article's SVGs, by name.
"""
from __future__ import annotations

from .. import pandoc
from ..model import Deck
from ..read.slides import FIGURE


def _markdown(deck: Deck, figure_md) -> str:
    out = []
    for s in deck.slides:
        attrs = " ".join(filter(None, [s.attrs, f'data-duration="{s.duration:g}"' if s.duration else ""]))
        out.append(f"{'#' * s.level} {s.title}" + (f" {{{attrs}}}" if attrs else ""))
        out.append(FIGURE.sub(lambda m: figure_md(m.group(1)), s.body))
        if s.notes:
            out.append(f"::: notes\n{s.notes}\n:::")
    return "\n\n".join(out) + "\n"


def deck_html(deck: Deck, alts: dict[str, str]) -> str:
    """The slides as reveal.js <section>s, figures from the site's figures/ folder."""
    def fig(name: str) -> str:
        alt = alts.get(name, name).replace("]", "\\]")
        return f"\n\n![{alt}](figures/{name}.svg){{.slide-figure}}\n\n"

    return pandoc.run(["-f", pandoc.READER, "-t", "revealjs", "--slide-level=2", "--mathml",
                       "--wrap=none"], _markdown(deck, fig), deck.path)


TYPST_PREAMBLE = """\
#set page(width: 960pt, height: 540pt, margin: (x: 72pt, top: 56pt, bottom: 52pt), fill: white,
  footer: context [#set text(size: 13pt, fill: MUTED); DECK_TITLE #h(1fr) #counter(page).display()])
#set text(font: ("Liberation Sans", "DejaVu Sans"), size: 26pt, fill: rgb("#1f1f1f"))
#set par(leading: 0.6em, spacing: 0.9em)
#set list(spacing: 0.7em, marker: text(fill: ACCENT)[•])
#set enum(spacing: 0.7em)
#show math.equation: set text(font: "New Computer Modern Math")
#show raw: set text(font: "DejaVu Sans Mono", size: 0.85em)
#show heading.where(level: 1): it => block(width: 100%, height: 70%, align(left + horizon,
  stack(spacing: 20pt, rect(width: 72pt, height: 6pt, fill: ACCENT),
        text(size: 52pt, weight: "bold", it.body))))
#show heading.where(level: 2): it => block(below: 26pt, stack(spacing: 12pt,
  text(size: 38pt, weight: "bold", it.body), rect(width: 48pt, height: 4pt, fill: ACCENT)))
#let slide-figure(path) = block(width: 100%, height: 1fr,
  align(center + horizon, image(path, width: 100%, height: 100%, fit: "contain")))
"""


def typst_source(deck: Deck) -> str:
    """One Typst page per slide; figures are read from figures/NAME.svg beside it."""
    def fig(name: str) -> str:
        return f'\n\n```{{=typst}}\n#slide-figure("figures/{name}.svg")\n```\n\n'

    md = []
    for s in deck.slides:
        md.append(f"{'#' * s.level} {s.title}")
        md.append(FIGURE.sub(lambda m: fig(m.group(1)), s.body))
        md.append("```{=typst}\n#pagebreak(weak: true)\n```")
    body = pandoc.run(["-f", pandoc.READER + "-auto_identifiers", "-t", "typst", "--wrap=none"],
                      "\n\n".join(md) + "\n", deck.path)
    title = deck.title.replace("\\", "\\\\").replace('"', '\\"')
    preamble = (TYPST_PREAMBLE.replace("MUTED", 'rgb("#5c5c5c")').replace("ACCENT", 'rgb("#1f5fa8")')
                .replace("DECK_TITLE", f'#"{title}"'))
    return preamble + "\n" + body
