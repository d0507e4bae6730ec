"""What an article written for another tool (Quarto, mostly) brings with it, checked
with the line it was written on, so that nothing renders silently wrong.

Pandoc reads any fenced div and drops what it does not know: a `::: {.callout-foo}`
would come out as an unstyled box, `layout-ncol` sub-figures as loose images. The
fences are read here from the source (code blanked out, so a fence shown in a code
block is no fence); the Lua filter (sitegen/filters/porting.lua) marks the rest
(an image labelled as a figure inside a sentence, a width that is no length).
"""
from __future__ import annotations

import html
import re

from ..errors import BuildError
from ..model import Chapter

CALLOUTS = ("note", "tip", "warning", "important", "caution")
KNOWN_CLASSES = ("aside", "explorable", "takeaways", *(f"callout-{k}" for k in CALLOUTS))  # takeaways: sitegen.render.opening
CALLOUT_ATTRIBUTES = ("title",)
LAYOUT = ("layout", "layout-ncol", "layout-nrow")  # Quarto's sub-figure grids
HINTS = {"column-margin": "; `::: aside` puts a note in the margin",
         "column-page": "; a figure is widened by .page or .screen on its image",
         "column-screen": "; a figure is widened by .page or .screen on its image",
         "panel-tabset": "; write the panels one after the other, each with its heading"}

FENCE = re.compile(r"^[ \t]*:{3,}[ \t]*(\{[^}\n]*\}|[^\s{}:][^\s{}]*?)[ \t]*:*[ \t]*$", re.M)
TOKEN = re.compile(r"""([.#])([^\s.#=}"']+)|([\w:-]+)=("[^"]*"|'[^']*'|[^\s}]+)""")
MARK = re.compile(r'<span class="author-error" data-what="([^"]*)" data-find="([^"]*)"></span>')


def fences(ch: Chapter) -> list[tuple[int, list[str], str | None, dict[str, str]]]:
    """(line, classes, id, attributes) of each fenced div the chapter opens."""
    out = []
    for m in FENCE.finditer(ch.code.search):
        spec = m.group(1)
        line = ch.body_line + ch.code.search.count("\n", 0, m.start())
        if not spec.startswith("{"):
            out.append((line, [spec], None, {}))
            continue
        classes, ident, attrs = [], None, {}
        for t in TOKEN.finditer(spec):
            if t.group(1) == ".":
                classes.append(t.group(2))
            elif t.group(1) == "#":
                ident = t.group(2)
            else:
                attrs[t.group(3)] = t.group(4).strip("\"'")
        out.append((line, classes, ident, attrs))
    return out


def check_fences(ch: Chapter) -> None:
    for line, classes, ident, attrs in fences(ch):
        if layout := next((a for a in LAYOUT if a in attrs), None):
            raise BuildError(f"sub-figures ({layout}) are not supported: place each image as a figure of its own "
                             f"(`![caption](file){{#fig:name alt=\"...\"}}`, a paragraph each), or combine them "
                             f"into one image", ch.path, line)
        if ident and re.match(r"fig[-:]", ident):
            raise BuildError(f"a figure div {{#{ident}}} is not supported: a figure is an image alone in its "
                             f"paragraph, `![caption](file){{#fig:{ident[4:]} alt=\"...\"}}`", ch.path, line)
        for c in classes:
            if c not in KNOWN_CLASSES:
                raise BuildError(f"fenced div class .{c} is not supported (it would render as an unstyled box); "
                                 f"known: {', '.join('.' + k for k in KNOWN_CLASSES)}{HINTS.get(c, '')}",
                                 ch.path, line)
        if any(c.startswith("callout-") for c in classes):
            for name in attrs:
                if name not in CALLOUT_ATTRIBUTES:
                    raise BuildError(f"callout attribute {name} is not supported; a callout takes "
                                     f'title="..." (or a heading as its first line)', ch.path, line)


def check_marks(ch: Chapter) -> None:
    """The filter's marks: what would have vanished from the page, at its line."""
    if m := MARK.search(ch.html):
        what, find = html.unescape(m.group(1)), html.unescape(m.group(2))
        # `width=x` may have been typed `width="x"`, and `#fig:x` as Quarto's `#fig-x`
        pattern = re.escape(find).replace("=", r"\s*=\s*[\"']?", 1)
        pattern = re.compile(pattern.replace(":", "[:-]", 1) if find.startswith("#") else pattern)
        raise BuildError(what, ch.path, ch.line_of(pattern))


def check(ch: Chapter) -> None:
    check_fences(ch)
    check_marks(ch)
