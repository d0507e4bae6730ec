"""The post-pass over all rendered chapters: numbers figures and equations in
reading order, resolves cross-references and citations, and embeds figures.
Chapters render one by one (and are cached one by one), so anything numbered
across the article is decided here.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from ..errors import BuildError
from ..model import FIGURE_SLOT, Chapter, Reference, RenderedFigure, chapter_numbers
from .figures import figure_html
from .subfigures import LETTERS, group_html

CITATION = re.compile(r'<span class="citation" data-cites="([^"]*)"'
                      r'(?: data-prefix="([^"]*)" data-suffix="([^"]*)")?( data-narrative="")?></span>')
BAD_KEY = re.compile(r'<span class="bad-key" data-key="([^"]*)"></span>')  # the filter's mark
XREF = re.compile(r'<a class="xref" data-ref="([^"]*)"></a>')
EQUATION = re.compile(r'<span class="equation" data-label="([^"]*)">')
TABLE = re.compile(r'<table([^>]*)>\s*<caption>')  # captioned tables are numbered
HEADING = re.compile(r'<section id="([^"]+)"([^>]*)>\s*<h[1-6][^>]*>(.*?)</h[1-6]>', re.S)
CODE = re.compile(r"<(pre|code)\b.*?</\1>", re.S)
UNDEFINED_NOTE = re.compile(r"\[\^([^\]\s]+)\]")  # left as text by pandoc: no such note
KINDS = {"fig": "Figure", "eq": "Equation", "tbl": "Table", "sec": "Section"}


@dataclass
class Numbering:
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (anchor, text)
    figures: list[tuple[int, str]] = field(default_factory=list)      # (number, name)
    tables: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # chapter -> [(anchor, number)]
    citation_order: list[str] = field(default_factory=list)
    ambiguous: dict[str, str] = field(default_factory=dict)  # sec label -> why a reference to it is an error
    where: dict[str, Chapter] = field(default_factory=dict)  # label -> the chapter that defines it


def anchor_of(label: str) -> str:
    return re.sub(r"[^\w-]", "-", label)


def key_pattern(prefix: str, key: str) -> re.Pattern:
    """`@key` as pandoc reads it: not the start of a longer key (@eq:block is not @eq:blocks)."""
    return re.compile(re.escape(prefix + key) + r"(?![\w]|[:.#$%&\-+?<>~/]\w)")


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
                                     ch.line_of(key_pattern("@", key)))


def check_footnotes(ch: Chapter) -> None:
    """Pandoc prints a reference to an undefined footnote as literal text."""
    text = CODE.sub("", ch.html)
    if m := UNDEFINED_NOTE.search(text):
        raise BuildError(f"footnote [^{m.group(1)}] is not defined; add a line `[^{m.group(1)}]: its text`",
                         ch.path, ch.line_of(f"[^{m.group(1)}]"))


def _label_twice(kind: str, label: str, ch: Chapter, n: Numbering, nth: int) -> BuildError:
    other = n.where[label]
    also = "" if other is ch else f" (first in {other.path.name})"
    return BuildError(f"{kind} label {label} is used twice{also}; give each its own label", ch.path,
                      ch.line_of(re.compile(r"\{#" + re.escape(label).replace(":", "[:-]", 1) + r"[\s}]"),  # or Quarto's
                                 nth if other is ch else 1))


def number_sections(chapters: list[Chapter], n: Numbering) -> None:
    """`sec:` labels: each chapter's slug and each heading's id. Two headings with
    the same text get distinct anchors (pandoc adds -1, chapters add their slug);
    only a reference that could mean either of them is an error."""
    owners: dict[str, list[tuple[str, str, Chapter]]] = {}
    texts: dict[str, list[Chapter]] = {}
    label_text: dict[str, str] = {}
    anchors: dict[str, Chapter] = {}
    for number, ch in zip(chapter_numbers(chapters), chapters):
        name_of = f"Section {number}" if number else ch.title  # an unnumbered chapter is named
        owners.setdefault(f"sec:{ch.slug}", []).append((ch.slug, name_of, ch))
        for m in HEADING.finditer(ch.html):
            anchor, attrs, heading = m.groups()
            if "footnotes" in attrs:
                continue
            name = anchor.removeprefix(ch.slug + "-")
            if anchor in anchors:
                raise BuildError(f"two headings have the id {name}; give one of them another `{{#id}}`", ch.path,
                                 ch.line_of(re.compile(r"\{#" + re.escape(name) + r"[\s}]"),
                                            2 if anchors[anchor] is ch else 1))
            anchors[anchor] = ch
            label, text = f"sec:{name}", " ".join(re.sub(r"<[^>]+>", "", heading).split()).lower()
            mine = owners.setdefault(label, [])
            if not (mine and mine[0][2] is ch):  # a heading may repeat its own chapter's slug
                mine.append((anchor, name_of, ch))
            explicit = re.search(r"\{#(?:sec-)?" + re.escape(name) + r"[\s}]", ch.code.search)  # or Quarto's
            if not explicit and not re.search(r"-\d+$", name):
                label_text[label] = text
            texts.setdefault(text, []).append(ch)
    for label, found in owners.items():
        n.labels[label] = found[0][:2]
        n.where[label] = found[0][2]
        text = label_text.get(label)
        if len(found) > 1 or (text is not None and len(texts[text]) > 1):
            files = sorted({c.path.name for c in ([f[2] for f in found] + texts.get(text, []))})
            n.ambiguous[label] = (f"@{label} is ambiguous: more than one heading or chapter has that name "
                                  f"(in {', '.join(files)}); give the one you mean an id, `## Heading {{#name}}`, "
                                  f"and refer to @sec:name")


def number_everything(chapters: list[Chapter], figures: dict[str, RenderedFigure]) -> Numbering:
    n = Numbering()
    number_sections(chapters, n)
    counters = {"fig": 0, "eq": 0, "tbl": 0}
    for ch in chapters:
        check_footnotes(ch)
        if bad := BAD_KEY.search(ch.html):
            key = html.unescape(bad.group(1))
            raise BuildError(f"@{{{key}}} is no citation key or label: a key has no spaces, quotes, <, >, &, = or "
                             f"braces; write it as references.bib spells it", ch.path,
                             ch.line_of("@{" + key) or ch.line_of(key))
        slots = {m.start() + 3 for m in FIGURE_SLOT.finditer(ch.html)}
        for m in re.finditer(r"<!--figure:([\w.-]+):", ch.html):
            if m.start() not in slots:  # inside a sentence, list item or note: it would vanish
                raise BuildError(f'figure("{m.group(1)}") must be a paragraph of its own: '
                                 f"leave a blank line before and after it", ch.path,
                                 ch.line_of(re.compile(r"figure\(\s*[\"']" + re.escape(m.group(1)) + "[\"']")))
        seen: dict[str, int] = {}  # label -> how often this chapter has used it so far
        for m in FIGURE_SLOT.finditer(ch.html):
            name = m.group(1)
            label = f"fig:{name}"
            seen[label] = seen.get(label, 0) + 1
            if label in n.labels:
                other = n.where[label]
                raise BuildError(f"figure {name!r} is placed twice{'' if other is ch else ' (also in ' + other.path.name + ')'}; "
                                 f"place each figure once and refer to it with @fig:{name}", ch.path,
                                 ch.line_of(re.compile(r"figure\(\s*[\"']" + re.escape(name) + "[\"']"),
                                            seen[label] if other is ch else 1))
            counters["fig"] += 1
            n.labels[label] = (anchor_of(f"fig-{name}"), f"Figure {counters['fig']}")
            n.where[label] = ch
            n.figures.append((counters["fig"], name))
            for letter, part in zip(LETTERS, figures[name].parts if name in figures else ()):  # Figure 3b
                sub = f"fig:{part.name}"
                seen[sub] = seen.get(sub, 0) + 1
                if sub in n.labels:
                    raise _label_twice("figure", sub, ch, n, seen[sub])
                n.labels[sub] = (anchor_of(f"fig-{part.name}"), f"Figure {counters['fig']}{letter}")
                n.where[sub] = ch
        for m in TABLE.finditer(ch.html):
            counters["tbl"] += 1
            label = re.search(r'data-label="(tbl:[^"]+)"', m.group(1))
            anchor = anchor_of(label.group(1).replace(":", "-")) if label else f"tbl-{counters['tbl']}"
            if label:
                seen[label.group(1)] = seen.get(label.group(1), 0) + 1
                if label.group(1) in n.labels:
                    raise _label_twice("table", label.group(1), ch, n, seen[label.group(1)])
                n.labels[label.group(1)] = (anchor, f"Table {counters['tbl']}")
                n.where[label.group(1)] = ch
            n.tables.setdefault(ch.slug, []).append((anchor, counters["tbl"]))
        for m in EQUATION.finditer(ch.html):
            label = m.group(1)
            seen[label] = seen.get(label, 0) + 1
            if label in n.labels:
                raise _label_twice("equation", label, ch, n, seen[label])
            counters["eq"] += 1
            n.labels[label] = (anchor_of(label.replace(":", "-")), f"Equation {counters['eq']}")
            n.where[label] = ch
    return n


def _fill_chapter(ch: Chapter, n: Numbering, figures: dict[str, RenderedFigure],
                  refs: dict[str, Reference]) -> str:
    def fig(m: re.Match) -> str:
        name, width = m.group(1), m.group(2) or None
        anchor, text = n.labels[f"fig:{name}"]
        if figures[name].parts:
            anchors = [n.labels[f"fig:{p.name}"][0] for p in figures[name].parts]
            return group_html(figures[name], int(text.split()[-1]), width, anchor, anchors)
        return figure_html(figures[name], int(text.split()[-1]), width, anchor)

    def eq(m: re.Match) -> str:
        anchor, text = n.labels[m.group(1)]
        return (f'<span class="equation" id="{anchor}" data-label="{m.group(1)}">'
                f'<span class="equation-number">({text.split()[-1]})</span>')

    def xref(m: re.Match) -> str:
        label = m.group(1)
        if label not in n.labels or label in n.ambiguous:
            kind = KINDS.get(label.split(":")[0], "target")
            raise BuildError(n.ambiguous.get(label, f"broken cross-reference @{label}: no {kind.lower()} with that label"),
                             ch.path, ch.line_of(key_pattern("@", label))  # or as Quarto spells it, @fig-name
                             or ch.line_of(key_pattern("@", label.replace(":", "-", 1))))
        anchor, text = n.labels[label]
        return f'<a class="xref" href="#{anchor}">{text}</a>'

    def cite(m: re.Match) -> str:
        keys = m.group(1).split()
        links = ", ".join(f'<a href="#ref-{html.escape(k)}" data-ref="{html.escape(k)}">{refs[k].number}</a>'
                          for k in keys)
        prefix = f"{m.group(2)} " if m.group(2) else ""  # already escaped by the filter
        suffix = f", {m.group(3)}" if m.group(3) else ""
        if m.group(4):  # @key in the text: the authors, then the number
            who = html.escape(refs[keys[0]].narrative) + " " if refs[keys[0]].narrative else ""
            return f'<span class="citation narrative" data-cites="{m.group(1)}">{who}[{links}{suffix}]</span>'
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
