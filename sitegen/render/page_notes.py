"""What the page template needs from the assembled chapter HTML: footnotes
gathered into the appendix and numbered across the article, margin notes made
accessible, and the table of contents.

Pandoc renders each chapter alone, so every chapter's footnotes restart at 1
and sit in a `<section class="footnotes">` at the end of that chapter (ids are
prefixed with the chapter slug, so they are unique across the article).
"""
from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass, field

FOOTNOTE_SECTION = re.compile(r'<section id="(?P<slug>[^"]+)-footnotes" class="footnotes[^"]*"[^>]*>'
                              r'(?P<body>.*?)</section>\s*', re.S)
FOOTNOTE_REF = re.compile(r'(<a href="#(?P<id>[^"]+)" class="footnote-ref" id="[^"]+" role="doc-noteref">)'
                          r'<sup>\d+</sup></a>')
SECTION_HEAD = re.compile(r'<section id="(?P<id>[^"]+)" class="level(?P<level>[1-6])[^"]*"[^>]*>\s*'
                          r'<h[1-6][^>]*>(?P<title>.*?)</h[1-6]>', re.S)


@dataclass
class Footnote:
    number: int
    id: str          # the <li> id pandoc gave it, e.g. "motivation-fn1"
    html: str        # its content, back-link included


@dataclass
class TocEntry:
    id: str
    title: str       # inline HTML
    number: str = ""
    children: list["TocEntry"] = field(default_factory=list)


def _split_items(ol_body: str, slug: str) -> list[tuple[str, str]]:
    """(id, inner html) of each footnote <li>; split on the next note's start
    so that lists nested inside a footnote do not end it early."""
    starts = list(re.finditer(rf'<li id="({re.escape(slug)}-fn\d+)">', ol_body))
    items = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else ol_body.rfind("</ol>")
        inner = ol_body[m.end():end].rstrip()
        inner = inner[: -len("</li>")] if inner.endswith("</li>") else inner
        items.append((m.group(1), inner.strip()))
    return items


def collect_footnotes(bodies: list[str]) -> tuple[list[str], list[Footnote]]:
    """Remove each chapter's footnote section and number all notes in reading order."""
    notes: list[Footnote] = []
    out = []
    for body in bodies:
        contents: dict[str, str] = {}
        for m in FOOTNOTE_SECTION.finditer(body):
            contents.update(_split_items(m.group("body"), m.group("slug")))
        body = FOOTNOTE_SECTION.sub("", body)

        def renumber(m: re.Match) -> str:
            note_id = m.group("id")
            if note_id not in contents:  # not one of pandoc's notes: leave it alone
                return m.group(0)
            notes.append(Footnote(len(notes) + 1, note_id, contents[note_id]))
            return f"{m.group(1)}<sup>{len(notes)}</sup></a>"

        out.append(FOOTNOTE_REF.sub(renumber, body))
    return out, notes


def mark_asides(body: str) -> str:
    """`::: aside` blocks and `[text]{.marginnote}` spans are notes beside the text."""
    opener = '<div class="aside">'
    while (start := body.find(opener)) >= 0:
        depth, pos = 0, start
        for m in re.compile(r"<div\b|</div>").finditer(body, start):
            depth += 1 if m.group(0) == "<div" else -1
            if depth == 0:
                pos = m.start()
                break
        else:  # unbalanced (cannot happen with pandoc's output): leave the rest as is
            break
        body = (body[:start] + '<aside class="aside">' + body[start + len(opener):pos]
                + "</aside>" + body[pos + len("</div>"):])
    return body.replace('<span class="marginnote">', '<span class="marginnote" role="note">')


def _plain(fragment: str) -> str:
    return " ".join(_html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def table_of_contents(chapters: list[dict]) -> list[TocEntry]:
    """Chapters and their top-level sections (whatever heading level the author used)."""
    toc = []
    for ch in chapters:
        entry = TocEntry(ch["slug"], _html.escape(ch["title"]), str(ch["number"]))
        heads = list(SECTION_HEAD.finditer(ch["html"]))
        if heads:
            top = min(int(m.group("level")) for m in heads)
            entry.children = [TocEntry(m.group("id"), _html.escape(_plain(m.group("title"))))
                              for m in heads if int(m.group("level")) == top]
        toc.append(entry)
    return toc


def link_label(url: str) -> str:
    """Short label for a reference link: doi:..., arXiv:..., or the host."""
    m = re.match(r"https?://(?:dx\.)?doi\.org/(.+)", url)
    if m:
        return "doi:" + m.group(1)
    m = re.match(r"https?://arxiv\.org/(?:abs|pdf)/([^/?#]+?)(?:\.pdf)?$", url)
    if m:
        return "arXiv:" + m.group(1)
    m = re.match(r"https?://([^/]+)", url)
    return m.group(1) if m else url
