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
from ..errors import BuildError, find_line
from ..model import Chapter, Reference
from ..read.bibliography import parse_entries
from .assemble import check_citations, cited_keys


def entry_link(entry: dict) -> str:
    if entry.get("DOI"):
        return "https://doi.org/" + entry["DOI"]
    return entry.get("URL", "")


def narrative(entry: dict) -> str:
    """The authors as a sentence names them, as IEEE's guide does: "He", "Glorot and Bengio",
    "He et al."; an entry without authors or editors by its title."""
    people = entry.get("author") or entry.get("editor") or []
    names = [" ".join(filter(None, (p.get("non-dropping-particle"), p.get("family") or p.get("literal"))))
             for p in people if isinstance(p, dict)]
    names = [n for n in names if n]
    if not names:
        return f"“{entry['title']}”" if entry.get("title") else ""
    return names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{names[0]} et al."


def check_csl(csl: Path, site_yml: Path | None) -> None:
    """The citation style is a file of CSL (XML); a wrong `csl:` is site.yml's line, a broken style its own."""
    import xml.etree.ElementTree as ET

    if not csl.is_file():
        text = site_yml.read_text(encoding="utf-8", errors="replace") if site_yml and site_yml.is_file() else ""
        where = (site_yml, find_line(text, re.compile(r"(?m)^csl[ \t]*:"))) if site_yml and text else (csl, None)
        raise BuildError(f"citation style {csl.name!r} not found (looked for {csl}); fix `csl:` in site.yml", *where)
    try:
        root = ET.parse(csl).getroot()
    except ET.ParseError as e:
        raise BuildError(f"citation style is not valid XML ({e})", csl, e.position[0]) from None
    if root.tag.rpartition("}")[2] != "style":
        raise BuildError(f"citation style must be a CSL file (a <style> element), not <{root.tag}>", csl, 1)


def format_references(keys: list[str], bib: Path, csl: Path, entries: dict[str, dict],
                      site_yml: Path | None = None) -> list[Reference]:
    """Format `keys` (in order of first citation) with citeproc."""
    if not keys:
        return []
    check_csl(csl, site_yml)
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
        refs.append(Reference(k, number, found.get(k, html.escape(k)), entry_link(entries.get(k, {})),
                              narrative(entries.get(k, {}))))
    return refs


def references(chapters: list[Chapter], bib: Path, csl: Path, entries: dict, cache_root: Path,
               site_yml: Path | None = None) -> list[Reference]:
    """The cited entries, numbered; a key that references.bib lacks is an error at its citation."""
    keys = cited_keys(chapters)
    if not keys and not bib.exists():
        return []
    if not bib.exists():
        parse_entries(bib)  # the one-line "bibliography not found"
    check_citations(chapters, set(entries), bib.name)
    if keys:
        check_csl(csl, site_yml)
    entry = key(bib.read_text(encoding="utf-8", errors="replace"),
                csl.read_text(encoding="utf-8", errors="replace") if csl.is_file() else "", keys, "narrative")
    made = Cache(cache_root, "bibliography").json(
        "refs", entry, lambda: [r.__dict__ for r in format_references(keys, bib, csl, entries, site_yml)])
    return [Reference(**r) for r in made]
