"""references.bib -> its entries as CSL-JSON, by key (pandoc reads the BibTeX).

The entries are cached by the file's bytes: reading a .bib file takes pandoc a
moment, and they change far less often than the chapters citing them. A broken
file is one line naming it and the line pandoc stopped at.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .. import pandoc
from ..cache import Cache, key
from ..errors import BuildError, find_line
from ..frontmatter import decode


def parse_entries(bib: Path) -> dict[str, dict]:
    """CSL-JSON entries of the .bib file, by key; a broken file is a BuildError."""
    if not bib.exists():
        raise BuildError("bibliography not found; create it or fix `bibliography:` in site.yml", bib)
    text = decode(bib.read_bytes(), bib)  # pandoc would read it as latin1, silently
    try:
        out = pandoc.run([str(bib), "-f", "bibtex", "-t", "csljson"], "", bib)
    except BuildError as e:
        # pandoc: Error at "file" (line 5, column 1): unexpected '@'
        m = re.search(r'\(line (\d+), column \d+\):?\s*(.*)', e.message)
        if m:
            unclosed = unclosed_brace(text)
            what = f"a brace opened here is never closed (pandoc stopped on line {m.group(1)})"
            if unclosed:
                raise BuildError(f"invalid BibTeX: {what}", bib, unclosed) from None
            raise BuildError(f"invalid BibTeX: {m.group(2) or 'parse error'}", bib, int(m.group(1))) from None
        raise BuildError(f"invalid BibTeX: {e.message}", bib) from None
    entries: dict[str, dict] = {}
    for entry in json.loads(out):
        if entry["id"] in entries:  # pandoc keeps both: the second would replace the first, silently
            start = re.compile(r"(?m)^[ \t]*@\w+[ \t]*[{(][ \t]*" + re.escape(entry["id"]) + r"[ \t]*,")
            raise BuildError(f"duplicate BibTeX key {entry['id']!r} (also on line {find_line(text, start)}); "
                             f"give each entry its own key", bib, find_line(text, start, nth=2))
        entries[entry["id"]] = entry
    return entries


def unclosed_brace(text: str) -> int | None:
    """The line of a brace that is never closed: the innermost one open where the next
    field (`name = `) or entry (`@type{`) starts, or where the file ends."""
    open_at: list[int] = []
    for i, line in enumerate(text.split("\n"), 1):
        starts_entry = re.match(r"[ \t]*@\w+[ \t]*\{", line)
        if (starts_entry and open_at) or (re.match(r"[ \t]*[\w-]+[ \t]*=", line) and len(open_at) > 1):
            return open_at[-1]
        for ch in re.sub(r"\\[{}]", "", line):
            if ch == "{":
                open_at.append(i)
            elif ch == "}" and open_at:
                open_at.pop()
    return open_at[-1] if open_at else None


def load_entries(bib: Path, cache_root: Path) -> dict[str, dict]:
    """The entries of `bib` ({} without one: an article may cite nothing)."""
    if not bib.exists():
        return {}
    return Cache(cache_root, "bibliography").json("entries", key(bib.read_bytes().decode("utf-8", "replace")),
                                                   lambda: parse_entries(bib))
