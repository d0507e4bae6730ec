"""The reference list: the keys the chapters cite, in order of first citation
across the whole article, formatted once by pandoc's citeproc with the article's
CSL style, and cached by the .bib file, the style and the keys.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from .. import pandoc
from ..cache import Cache, key
from ..errors import BuildError
from ..model import Chapter, Reference
from ..read.bibliography import parse_entries
from .assemble import check_citations, cited_keys


def entry_link(entry: dict) -> str:
    if entry.get("DOI"):
        return "https://doi.org/" + entry["DOI"]
    return entry.get("URL", "")


def format_references(keys: list[str], bib: Path, csl: Path, entries: dict[str, dict]) -> list[Reference]:
    """Format `keys` (in order of first citation) with citeproc."""
    if not keys:
        return []
    if not csl.exists():
        raise BuildError("citation style not found; fix `csl:` in site.yml", csl)
    doc = "\n\n".join(f"[@{k}]" for k in keys) + "\n"
    out = pandoc.run(["-f", "markdown", "-t", "html5", "--citeproc", "--wrap=none",
                      "--bibliography", str(bib), "--csl", str(csl)], doc, bib)
    found: dict[str, str] = {}
    for m in re.finditer(r'<div id="ref-([^"]+)" class="csl-entry"[^>]*>(.*?)</div>\s*(?=<div id="ref-|</div>\s*$)',
                         out, re.S):
        body = re.sub(r'<div class="csl-left-margin">.*?</div>', "", m.group(2), flags=re.S)
        body = re.sub(r'</?div[^>]*>', "", body).strip()
        found[html.unescape(m.group(1))] = body
    refs = []
    for number, k in enumerate(keys, 1):
        refs.append(Reference(k, number, found.get(k, html.escape(k)), entry_link(entries.get(k, {}))))
    return refs


def references(chapters: list[Chapter], bib: Path, csl: Path, entries: dict, cache_root: Path) -> list[Reference]:
    """The cited entries, numbered; a key that references.bib lacks is an error at its citation."""
    keys = cited_keys(chapters)
    if not keys and not bib.exists():
        return []
    if not bib.exists():
        parse_entries(bib)  # the one-line "bibliography not found"
    check_citations(chapters, set(entries), bib.name)
    entry = key(bib.read_text(encoding="utf-8", errors="replace"),
                csl.read_text(encoding="utf-8") if csl.exists() else "", keys)
    made = Cache(cache_root, "bibliography").json(
        "refs", entry, lambda: [r.__dict__ for r in format_references(keys, bib, csl, entries)])
    return [Reference(**r) for r in made]
