#!/usr/bin/env python3
"""Make the page's two math-font files from Debian's Latin Modern Math (fonts-lmodern).

    apt-get install fonts-lmodern woff2
    python templates/static/vendor/fonts/subset.py

`lmmath-core.woff2` holds what nearly every formula uses (Latin, Greek, the math
italic and bold alphabets, the common operators); `lmmath-extra.woff2` the rest of
the symbols an author may type. article.css gives each its unicode-range, so a
browser fetches the second only for a page that uses one of its characters.
Both keep the MATH table (stretchy brackets, limits) and every glyph variant the
kept characters reach. As the GUST Font License asks of a derived font, the
subsets carry a name of their own; LICENSE-latin-modern-math.txt stays beside them.
Not copied into site/ (sitegen.render.page leaves *.py out).
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

SOURCE = Path("/usr/share/texmf/fonts/opentype/public/lm-math/latinmodern-math.otf")
HERE = Path(__file__).resolve().parent
# keep in step with the unicode-range of the two @font-face rules in article.css
CORE = ("U+0020-007E,U+00A0,U+00AC,U+00B1,U+00B7,U+00D7,U+00F7,U+0391-03C9,U+2026,U+210E,U+2113,"
        "U+2200-22FF,U+2308-230B,U+1D400-1D467,U+1D6A8-1D71B")
EXTRA = ("U+00A1-00AB,U+00AD-00B0,U+00B2-00B6,U+00B8-00D6,U+00D8-00F6,U+00F8-00FF,U+0131,U+0237,"
         "U+02C6-02DC,U+0300-036F,U+03D1-03D6,U+03F0-03F5,U+2016,U+2020-2022,U+2032-2037,U+2061-2064,"
         "U+20D6-20E1,U+2102-210D,U+210F-2112,U+2114-2134,U+2190-21FF,U+23B4-23B5,U+23DC-23E1,U+27E6-27EF,"
         "U+2A00-2A06,U+1D468-1D503,U+1D538-1D56B,U+1D6A4-1D6A7,U+1D71C-1D7CB")


def codepoints(ranges: str) -> list[int]:
    out = []
    for r in ranges.split(","):
        a, _, b = r.strip()[2:].partition("-")
        out += range(int(a, 16), int(b or a, 16) + 1)
    return out


def make(ranges: str, name: str, out: Path) -> None:
    opts = subset.Options()
    opts.layout_features = ["*"]  # ssty, flac, dtls: the script and accent forms the browser asks for
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    opts.hinting = False
    font = TTFont(SOURCE)
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=codepoints(ranges))
    sub.subset(font)
    family = f"LM Math {name}"
    for rec in font["name"].names:
        if rec.nameID in (1, 4, 16, 21):
            rec.string = family
        elif rec.nameID == 3:
            rec.string = f"{family}: subset of Latin Modern Math 1.959"
        elif rec.nameID == 6:
            rec.string = f"LMMath{name}-Regular"
    with tempfile.TemporaryDirectory() as tmp:
        otf = Path(tmp) / f"{out.stem}.otf"
        font.save(otf)
        subprocess.run(["woff2_compress", str(otf)], check=True, capture_output=True)
        out.write_bytes(otf.with_suffix(".woff2").read_bytes())
    print(f"{out.name}: {len(font.getGlyphOrder())} glyphs, {out.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} is missing: apt-get install fonts-lmodern woff2")
    make(CORE, "Core", HERE / "lmmath-core.woff2")
    make(EXTRA, "Extra", HERE / "lmmath-extra.woff2")
