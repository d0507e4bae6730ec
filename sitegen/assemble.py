"""The post-pass over all rendered chapters: numbers figures and equations in
reading order, resolves cross-references and citations, and embeds figures.
Chapters render one by one (and are cached one by one), so anything numbered
across the article is decided here.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from .bibliography import Reference
from .chapters import Chapter
from .errors import BuildError, line_of
from .figure_render import RenderedFigure, figure_html
from .results import FIGURE_SLOT

CITATION = re.compile(r'<span class="citation" data-cites="([^"]*)"'
                      r'(?: data-prefix="([^"]*)" data-suffix="([^"]*)")?></span>')
XREF = re.compile(r'<a class="xref" data-ref="([^"]*)"></a>')
EQUATION = re.compile(r'<span class="equation" data-label="([^"]*)">')
TABLE = re.compile(r'<table([^>]*)>\s*<caption>')  # captioned tables are numbered
KINDS = {"fig": "Figure", "eq": "Equation", "tbl": "Table", "sec": "Section"}


@dataclass
class Numbering:
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (anchor, text)
    figures: list[tuple[int, str]] = field(default_factory=list)      # (number, name)
    tables: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # chapter -> [(anchor, number)]
    citation_order: list[str] = field(default_factory=list)


def anchor_of(label: str) -> str:
    return re.sub(r"[^\w-]", "-", label)


def cited_keys(chapters: list[Chapter]) -> list[str]:
    """Citation keys in order of first citation across the article."""
    order: list[str] = []
    for ch in chapters:
        for m in CITATION.finditer(ch.html):
            for key in m.group(1).split():
                if key not in order:
                    order.append(key)
    return order


def check_citations(chapters: list[Chapter], known: set[str], bib_name: str) -> None:
    for ch in chapters:
        for m in CITATION.finditer(ch.html):
            for key in m.group(1).split():
                if key not in known:
                    raise BuildError(f"unknown citation @{key}: not in {bib_name}", ch.path,
                                     line_of(ch.markdown, "@" + key, ch.body_line))


def number_everything(chapters: list[Chapter], figures: dict[str, RenderedFigure]) -> Numbering:
    n = Numbering()
    counters = {"fig": 0, "eq": 0, "tbl": 0}
    for ci, ch in enumerate(chapters, 1):
        n.labels[f"sec:{ch.slug}"] = (ch.slug, f"Section {ci}")
        for m in re.finditer(r'<section id="([^"]+)"', ch.html):
            n.labels.setdefault("sec:" + m.group(1).removeprefix(ch.slug + "-"), (m.group(1), f"Section {ci}"))
        for m in FIGURE_SLOT.finditer(ch.html):
            name = m.group(1)
            if f"fig:{name}" in n.labels:
                raise BuildError(f"figure {name!r} is placed twice; place each figure once and refer to it "
                                 f"with @fig:{name}", ch.path, line_of(ch.body, f'figure("{name}"', ch.body_line))
            counters["fig"] += 1
            n.labels[f"fig:{name}"] = (anchor_of(f"fig-{name}"), f"Figure {counters['fig']}")
            n.figures.append((counters["fig"], name))
        for m in TABLE.finditer(ch.html):
            counters["tbl"] += 1
            label = re.search(r'data-label="(tbl:[^"]+)"', m.group(1))
            anchor = anchor_of(label.group(1).replace(":", "-")) if label else f"tbl-{counters['tbl']}"
            if label and label.group(1) in n.labels:
                raise BuildError(f"table label {label.group(1)} is used twice", ch.path,
                                 line_of(ch.markdown, label.group(1), ch.body_line))
            if label:
                n.labels[label.group(1)] = (anchor, f"Table {counters['tbl']}")
            n.tables.setdefault(ch.slug, []).append((anchor, counters["tbl"]))
        for m in EQUATION.finditer(ch.html):
            counters["eq"] += 1
            n.labels[m.group(1)] = (anchor_of(m.group(1).replace(":", "-")), f"Equation {counters['eq']}")
    return n


def _fill_chapter(ch: Chapter, n: Numbering, figures: dict[str, RenderedFigure],
                  refs: dict[str, Reference]) -> str:
    def fig(m: re.Match) -> str:
        name, width = m.group(1), m.group(2) or None
        anchor, text = n.labels[f"fig:{name}"]
        return figure_html(figures[name], int(text.split()[-1]), width, anchor)

    def eq(m: re.Match) -> str:
        anchor, text = n.labels[m.group(1)]
        return (f'<span class="equation" id="{anchor}" data-label="{m.group(1)}">'
                f'<span class="equation-number">({text.split()[-1]})</span>')

    def xref(m: re.Match) -> str:
        label = m.group(1)
        if label not in n.labels:
            kind = KINDS.get(label.split(":")[0], "target")
            raise BuildError(f"broken cross-reference @{label}: no {kind.lower()} with that label",
                             ch.path, line_of(ch.markdown, "@" + label, ch.body_line))
        anchor, text = n.labels[label]
        return f'<a class="xref" href="#{anchor}">{text}</a>'

    def cite(m: re.Match) -> str:
        keys = m.group(1).split()
        links = ", ".join(f'<a href="#ref-{html.escape(k)}" data-ref="{html.escape(k)}">{refs[k].number}</a>'
                          for k in keys)
        prefix = f"{m.group(2)} " if m.group(2) else ""  # already escaped by the filter
        suffix = f", {m.group(3)}" if m.group(3) else ""
        return f'<span class="citation" data-cites="{m.group(1)}">[{prefix}{links}{suffix}]</span>'

    tables = iter(n.tables.get(ch.slug, []))

    def table(m: re.Match) -> str:
        anchor, number = next(tables)
        attrs = re.sub(r'\s*data-label="[^"]*"', "", m.group(1))
        return f'<table id="{anchor}"{attrs}>\n<caption><span class="table-number">Table {number}.</span> '

    out = TABLE.sub(table, ch.html)  # before the figures go in: only the chapter's own tables
    out = FIGURE_SLOT.sub(fig, out)
    out = EQUATION.sub(eq, out)
    out = XREF.sub(xref, out)
    return CITATION.sub(cite, out)


def assemble(chapters: list[Chapter], figures: dict[str, RenderedFigure],
             references: list[Reference]) -> tuple[list[str], Numbering]:
    n = number_everything(chapters, figures)
    refs = {r.key: r for r in references}
    n.citation_order = [r.key for r in references]
    return [_fill_chapter(ch, n, figures, refs) for ch in chapters], n
