"""The talk: content/slides.md -> a Deck of slides with notes and durations.

    ---
    title: Residual networks in five minutes
    video: {width: 1280, wpm: 150}        # optional, see sitegen.model.VideoOptions
    ---
    ## Why depth is hard {duration=8}
    Text, lists and $math$ as in a chapter.
    {{ figure("gradient_flow") }}
    ::: notes
    What the narrator says while this slide is on screen.
    :::

`#` and `##` headings start slides (pandoc's slide-level 2: `#` makes a section
title slide). Figures are the article's own, by name; an unknown one is an
error naming the slide's line. The deck page and the video are made from the
Deck by sitegen.render.deck and sitegen.render.video.
"""
from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from .. import pandoc
from ..errors import BuildError
from ..frontmatter import FRONT, Yaml, decode, load
from ..model import Deck, Slide, VideoOptions

HEADING = re.compile(r"^(#{1,2})\s+(.*?)\s*(?:\{([^{}]*)\})?\s*$")
FIGURE = re.compile(r"""\{\{\s*figure\(\s*["']([^"']+)["']\s*\)\s*\}\}""")
FENCE = re.compile(r"^(```|~~~)")
NOTES_OPEN = re.compile(r"^:{3,}\s*(?:notes|\{\s*\.notes\s*\})\s*$")
DIV_OPEN = re.compile(r"^:{3,}\s*\S")
DIV_CLOSE = re.compile(r"^:{3,}\s*$")
BREAK = "SLIDEBREAK-9f2c"
DECK_META = {"title", "video"}
MAX_TITLE = 300


def _options(raw, path: Path, line: int) -> VideoOptions:
    if raw is None:
        return VideoOptions()
    names = {f.name: f for f in fields(VideoOptions)}
    if not isinstance(raw, dict) or set(raw) - set(names):
        bad = sorted(set(raw) - set(names)) if isinstance(raw, dict) else ["(not a mapping)"]
        raise BuildError(f"unknown video option {bad[0]!r}; known: {', '.join(names)}", path, line)
    for key, value in raw.items():  # YAML gives str/int/float/bool: each option keeps its default's type
        want = type(getattr(VideoOptions, key))
        if not (isinstance(value, want) or (want is float and type(value) is int)) or \
                (want is int and isinstance(value, bool)):
            raise BuildError(f"video option {key!r} must be of type {want.__name__}, not {value!r}", path, line)
    opts = VideoOptions(**raw)
    if opts.width % 32 or not 160 <= opts.width <= 3840 or not 1 <= opts.fps <= 60:
        raise BuildError("video width must be a multiple of 32 in 160..3840 and fps in 1..60", path, line)
    return opts


def parse(path: Path, known_figures: set[str]) -> Deck:
    """Split slides.md into slides; every figure must be one the article can draw."""
    text = decode(path.read_bytes(), path)
    meta, start, doc = {}, 0, Yaml(None)
    m = FRONT.match(text)
    if m:
        doc = load(m.group(1) or "", path, 2, "YAML front matter")  # duplicates refused, lines kept
        meta = doc.data if doc.data is not None else {}
        start = m.end()
    if not isinstance(meta, dict):
        raise BuildError("front matter must be a mapping such as `title: ...`", path, 2)
    for key in meta:
        if key not in DECK_META:
            raise BuildError(f"unknown front matter key {key!r}; allowed: {', '.join(sorted(DECK_META))}",
                             path, doc.key_lines.get(key, 2))
    if "title" in meta and not (isinstance(meta["title"], str) and meta["title"].strip()
                                and len(meta["title"]) <= MAX_TITLE):
        raise BuildError(f"`title:` must be one line of text (at most {MAX_TITLE} characters)",
                         path, doc.key_lines.get("title", 2))
    lines = text[start:].split("\n")
    first = text.count("\n", 0, start) + 1
    slides: list[Slide] = []
    parts: list[tuple[list[str], list[str]]] = []  # (body lines, notes lines) per slide
    in_code = in_notes = False
    depth = 0
    for i, ln in enumerate(lines, first):
        if not slides and not HEADING.match(ln):
            if ln.strip():
                raise BuildError("text before the first slide; start each slide with a # or ## heading", path, i)
            continue
        if FENCE.match(ln.strip()):
            in_code = not in_code
        elif not in_code:
            h = HEADING.match(ln)
            if h and not in_notes:
                slides.append(_heading(h, i, path, len(slides) + 1))
                parts.append(([], []))
                continue
            if NOTES_OPEN.match(ln) and not in_notes:
                in_notes, depth = True, 1
                continue
            if in_notes and DIV_OPEN.match(ln):
                depth += 1
            elif in_notes and DIV_CLOSE.match(ln):
                depth -= 1
                if depth == 0:
                    in_notes = False
                    continue
            for fm in FIGURE.finditer(ln):
                if fm.group(1) not in known_figures:
                    raise BuildError(f"unknown figure {fm.group(1)!r}; known: "
                                     f"{', '.join(sorted(known_figures)) or 'none'}", path, i)
                if in_notes:
                    raise BuildError("a figure belongs on the slide, not in its notes", path, i)
                slides[-1].figures.append(fm.group(1))
            if "{{" in FIGURE.sub("", ln):
                raise BuildError('slides understand only {{ figure("name") }} calls', path, i)
        parts[-1][1 if in_notes else 0].append(ln)
    if in_notes:
        raise BuildError("::: notes is never closed with :::", path, len(text.splitlines()))
    if not slides:
        raise BuildError("no slides: start each slide with a # or ## heading", path, 1)
    for s, (body, notes) in zip(slides, parts):
        s.body, s.notes = "\n".join(body).strip(), "\n".join(notes).strip()
    _plain_text(slides, path)
    title = str(meta.get("title") or slides[0].title_text)
    line = doc.key_lines.get("video", 2)
    return Deck(path, title, _options(meta.get("video"), path, line), slides)


def _heading(h: re.Match, line: int, path: Path, number: int) -> Slide:
    attrs, duration = [], None
    for tok in (h.group(3) or "").split():
        key, _, val = tok.partition("=")
        if key == "duration":
            try:
                duration = float(val.strip("\"'"))
            except ValueError:
                duration = -1.0
            if not 0 < duration <= 600:
                raise BuildError(f"duration must be seconds in (0, 600], not {val!r}", path, line)
        else:
            attrs.append(tok)
    if not h.group(2):
        raise BuildError("slide heading without a title", path, line)
    return Slide(number, line, len(h.group(1)), h.group(2), " ".join(attrs), "", "", duration)


def _plain_text(slides: list[Slide], path: Path) -> None:
    """Titles and notes as plain text, in one pandoc run."""
    parts = []
    for s in slides:
        parts += [s.title, BREAK, s.notes or "", BREAK]
    out = pandoc.run(["-f", pandoc.READER, "-t", "plain", "--wrap=none"], "\n\n".join(parts), path)
    chunks = [" ".join(c.split()) for c in out.split(BREAK)]
    for i, s in enumerate(slides):
        s.title_text, s.notes_text = chunks[2 * i], chunks[2 * i + 1]
