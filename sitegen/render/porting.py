"""What an article written for another tool (Quarto, mostly) brings with it, checked
with the line it was written on, so that nothing renders silently wrong.

Pandoc reads any fenced div and drops what it does not know: a `::: {.callout-foo}`
would come out as an unstyled box, a `layout="[[1,1],[1]]"` grid as loose images. The
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
SUBFIGURE_LAYOUT = ("layout-ncol", "layout-nrow")  # of those, what a figure div takes
MAX_COLUMNS = 6
HINTS = {"column-margin": "; `::: aside` puts a note in the margin",
         "column-page": "; a figure is widened by .page or .screen on its image",
         "column-screen": "; a figure is widened by .page or .screen on its image",
         "panel-tabset": "; write the panels one after the other, each with its heading"}

FENCE = re.compile(r"^[ \t]*:{3,}[ \t]*(\{[^}\n]*\}|[^\s{}:][^\s{}]*?)[ \t]*:*[ \t]*$", re.M)
TOKEN = re.compile(r"""([.#])([^\s.#=}"']+)|([\w:-]+)=("[^"]*"|'[^']*'|[^\s}]+)""")
# Jinja's comment as typed by habit; here `{#` opens pandoc's attributes, so comments are {## ##}
JINJA_COMMENT = re.compile(r"\{#\s.*?#\}", re.S)
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
        if ident and re.match(r"fig[-:]", ident):
            check_figure_div(ch, line, classes, attrs)
            continue
        if layout := next((a for a in LAYOUT if a in attrs), None):
            raise BuildError(f"{layout} lays out the sub-figures of a figure div, which needs a label: "
                             f"`::: {{#fig:name layout-ncol=2}}`, an image a paragraph, then the caption",
                             ch.path, line)
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


def check_figure_div(ch: Chapter, line: int, classes: list[str], attrs: dict[str, str]) -> None:
    """`::: {#fig:name layout-ncol=2}`: sub-figures in N columns (or N rows), nothing else."""
    for name, value in attrs.items():
        if name not in SUBFIGURE_LAYOUT:
            hint = (": Quarto's layout=[[...]] grids are not supported" if name == "layout" else
                    " (it would be dropped)")
            raise BuildError(f"figure div attribute {name}={value} is not supported{hint}; a figure div takes "
                             f"layout-ncol=N (its sub-figures in N columns, stacked on narrow screens) or "
                             f"layout-nrow=N, N from 1 to {MAX_COLUMNS}", ch.path, line)
        if not (value.isdigit() and 1 <= int(value) <= MAX_COLUMNS):
            raise BuildError(f"{name}={value} must be a whole number from 1 to {MAX_COLUMNS}", ch.path, line)
    if len(attrs) > 1:
        raise BuildError("a figure div takes layout-ncol or layout-nrow, not both", ch.path, line)
    for c in classes:
        if c.removeprefix("l-") not in ("body", "page", "screen"):
            raise BuildError(f"figure div class .{c} is not supported; a figure's width is .body, .page or "
                             f".screen", ch.path, line)


def check_marks(ch: Chapter) -> None:
    """The filter's marks: what would have vanished from the page, at its line."""
    if m := MARK.search(ch.html):
        what, find = html.unescape(m.group(1)), html.unescape(m.group(2))
        # `width=x` may have been typed `width="x"`, and `#fig:x` as Quarto's `#fig-x`
        pattern = re.escape(find).replace("=", r"\s*=\s*[\"']?", 1)
        pattern = re.compile(pattern.replace(":", "[:-]", 1) if find.startswith("#") else pattern)
        raise BuildError(what, ch.path, ch.line_of(pattern))


def check_comments(ch: Chapter) -> None:
    """A `{# note #}` would be printed on the page: Jinja's comments are `{## ##}` here."""
    if JINJA_COMMENT.search(ch.code.search):
        raise BuildError("`{# ... #}` is no comment here and would be printed (pandoc reads `{#id}` "
                         "as an attribute): write `{## ... ##}`", ch.path, ch.line_of(JINJA_COMMENT))


def check(ch: Chapter) -> None:
    check_comments(ch)
    check_fences(ch)
    check_marks(ch)
