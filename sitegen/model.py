"""The build's shared types: what one phase hands the next.

    Chapter         read from content/, then filled in by the render phase (Markdown, HTML)
    Deck, Slide     the talk, read from content/slides.md
    RenderedFigure  a figure ready for the page: SVGs, caption, alt text, provenance
    Reference       one formatted entry of the reference list
    Media           files and page variables that the video and notebook steps add
    BuildReport     what a build did, for the CLI and the preview server

Every other module imports its types from here, so that imports point one way.
This module imports nothing of the project but sitegen.errors.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import find_line

if TYPE_CHECKING:
    from .frontmatter import Yaml
    from .sandbox import Protected

# where a figure("name") call left its slot, once pandoc has made it a paragraph of its own
FIGURE_SLOT = re.compile(r"<p><!--figure:([\w.-]+):(\w*)--></p>")


@dataclass
class Chapter:
    path: Path
    meta: dict
    body: str               # Markdown after the front matter
    body_line: int          # line number of the body's first line in the file
    slug: str
    title: str
    code: Protected         # the body with its code cut out (sitegen.sandbox)
    front: Yaml | None = None                 # where each front matter key and claim was written
    markdown: str = ""      # body after Jinja
    html: str = ""          # after pandoc
    used_figures: list[str] = field(default_factory=list)

    @property
    def numbered(self) -> bool:
        """False for front and back matter (`numbered: false`): no number, and none taken from the others."""
        return self.meta.get("numbered", True) is not False

    def claim_lines(self) -> list[int]:
        return self.front.item_lines.get("claims", []) if self.front else []

    def line_of(self, needle: str | re.Pattern, nth: int = 1) -> int | None:
        """The source line of the nth `needle` outside code; else of the first in
        Jinja's output (text a macro or loop wrote), which is close."""
        return (find_line(self.code.search, needle, self.body_line, nth)
                or find_line(self.markdown, needle, self.body_line))


def chapter_numbers(chapters: list[Chapter]) -> list[str]:
    """Each chapter's number as the page prints it: "1", "2", ...; "" for an unnumbered one."""
    out, n = [], 0
    for ch in chapters:
        n += ch.numbered
        out.append(str(n) if ch.numbered else "")
    return out


@dataclass(frozen=True)
class VideoOptions:
    width: int = 1280          # frame width in pixels (16:9; a multiple of 32)
    fps: int = 5               # frames per second; slides are still, so few are needed
    wpm: int = 150             # reading rate of the notes (words per minute)
    min_seconds: float = 3.0   # shortest time a slide stays on screen
    narration: bool = True     # speak the notes with espeak-ng when it is installed
    voice: str = "en-us"       # espeak-ng voice
    speed: int = 160           # espeak-ng speaking rate (words per minute)

    @property
    def height(self) -> int:
        return self.width * 9 // 16


@dataclass
class Slide:
    number: int                # 1-based position in the talk
    line: int                  # line of its heading in slides.md
    level: int                 # 1: section title slide, 2: content slide
    title: str                 # Markdown
    attrs: str                 # the heading's {...} attributes, minus duration
    body: str                  # Markdown between the heading and the next, notes removed
    notes: str                 # Markdown of the ::: notes div
    duration: float | None     # seconds from {duration=...}, if set
    figures: list[str] = field(default_factory=list)
    title_text: str = ""       # plain text, for chapters
    notes_text: str = ""       # plain text, for captions and narration


@dataclass
class Deck:
    path: Path
    title: str
    options: VideoOptions
    slides: list[Slide]

    @property
    def figures(self) -> list[str]:
        return sorted({f for s in self.slides for f in s.figures})


@dataclass(frozen=True)
class RenderedFigure:
    name: str
    width: str
    svg_light: bytes
    svg_dark: bytes
    spec: dict | None
    caption_html: str
    alt: str
    provenance: dict
    result_key: str
    ext: str = "svg"     # an author's own figure may be a PNG (sitegen.render.images)
    size: str = ""       # a width the author gave the figure (`width=60%`), a checked CSS length
    parts: tuple = ()    # sub-figures (sitegen.render.subfigures): RenderedFigures, each with its caption
    columns: int = 0     # how many columns the sub-figures take on a wide screen


@dataclass(frozen=True)
class Reference:
    key: str
    number: int
    html: str        # the formatted entry, without its number
    link: str        # DOI or arXiv/URL link, "" if none
    narrative: str = ""  # who, for a citation in the text: "He et al." ("He et al. [1] proposed")


@dataclass
class Media:
    """What a media step (the talk, the notebooks) adds to the site: files (site path -> bytes or a file to copy) and page variables."""
    files: dict[str, bytes | Path] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def update(self, other: Media) -> Media:
        self.files.update(other.files)
        self.context.update(other.context)
        return self


@dataclass
class BuildReport:
    up_to_date: bool = False
    ran: list[str] = field(default_factory=list)
    notebooks_run: list[str] = field(default_factory=list)  # companion notebooks executed
    chapters_rendered: int = 0
    chapters_cached: int = 0
    figures_drawn: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
