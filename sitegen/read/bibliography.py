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
from ..errors import BuildError


def parse_entries(bib: Path) -> dict[str, dict]:
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


def load_entries(bib: Path, cache_root: Path) -> dict[str, dict]:
    """The entries of `bib` ({} without one: an article may cite nothing)."""
    if not bib.exists():
        return {}
    return Cache(cache_root, "bibliography").json("entries", key(bib.read_bytes().decode("utf-8", "replace")),
                                                   lambda: parse_entries(bib))
