"""Citations: validate keys against references.bib, number them in order of
first citation across the whole article, and format the reference list once
with pandoc's citeproc and the article's CSL style.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import pandoc
from .errors import BuildError


@dataclass(frozen=True)
class Reference:
    key: str
    number: int
    html: str        # the formatted entry, without its number
    link: str        # DOI or arXiv/URL link, "" if none


def load_entries(bib: Path) -> dict[str, dict]:
    """CSL-JSON entries of the .bib file, by key; a broken file is a BuildError."""
    if not bib.exists():
        raise BuildError("bibliography not found; create it or fix `bibliography:` in site.yml", bib)
    try:
        out = pandoc.run([str(bib), "-f", "bibtex", "-t", "csljson"], "", bib)
    except BuildError as e:
        # pandoc: Error at "file" (line 5, column 1): unexpected '@'
        m = re.search(r'\(line (\d+), column \d+\):?\s*(.*)', e.message)
        if m:
            raise BuildError(f"invalid BibTeX: {m.group(2) or 'parse error'}", bib, int(m.group(1))) from None
        raise BuildError(f"invalid BibTeX: {e.message}", bib) from None
    return {entry["id"]: entry for entry in json.loads(out)}


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
    for number, key in enumerate(keys, 1):
        refs.append(Reference(key, number, found.get(key, html.escape(key)), entry_link(entries.get(key, {}))))
    return refs
