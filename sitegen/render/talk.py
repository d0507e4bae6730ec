"""Text, talk and slides tied together: a chip beside each heading the talk covers
("▶ 0:48", playing the talk from there), and a transcript page made from the captions
the video step writes, each passage linked to its section of the article.

Which section a slide covers: its heading's `{section=ID}` in slides.md (a chapter's
slug or a heading's id, as `@sec:ID` names it), else the section where the article
places the slide's first figure. A section's chip starts the talk at the first slide
that covers it.
"""
from __future__ import annotations

import html as _html
import re
from pathlib import Path

from ..errors import BuildError
from .templates import render_page

TRANSCRIPT = "transcript.html"

SECTION_OPEN = re.compile(r'<section id="(?P<id>[^"]+)" class="level\d[^"]*"')
FIGURE_ID = re.compile(r'\bid="fig-(?P<name>[^"]+)"')
ATTR_SECTION = re.compile(r"""(?:^|\s)section=["']?([^"'\s]+)""")
HEADING_END = re.compile(r'(<section id="(?P<id>[^"]+)" class="level\d[^"]*"[^>]*>\s*<h(?P<n>[2-6])[^>]*>.*?)(</h(?P=n)>)', re.S)


def label(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def _figure_sections(chapters: list[dict]) -> dict[str, str]:
    """figure name -> the id of the innermost section (else the chapter) that places it."""
    where = {}
    for ch in chapters:
        body = ch["html"]
        opens = [(m.start(), m.group("id")) for m in SECTION_OPEN.finditer(body)]
        for f in FIGURE_ID.finditer(body):
            before = [sid for pos, sid in opens if pos < f.start()]
            where.setdefault(f.group("name"), before[-1] if before else ch["slug"])
    return where


def slide_targets(slides: list[dict], chapters: list[dict], deck_path: Path | None = None) -> list[str | None]:
    """Per slide (its attrs, figures and line), the id of the section of the article it covers, or
    None; a `{section=ID}` that names no chapter or heading is an error at the slide's line."""
    ids = {ch["slug"] for ch in chapters} | {m.group("id") for ch in chapters for m in SECTION_OPEN.finditer(ch["html"])}
    figs = _figure_sections(chapters)
    out = []
    for slide in slides:
        m = ATTR_SECTION.search(slide.get("attrs") or "")
        target = m.group(1) if m else next((figs[f] for f in slide.get("figures", ()) if f in figs), None)
        target = target[4:] if target and target.startswith("sec:") else target
        if m and target not in ids:
            raise BuildError(f"section={m.group(1)} names no chapter or heading of the article; known: "
                             f"{', '.join(sorted(ids)[:12])}{', ...' if len(ids) > 12 else ''}", deck_path, slide.get("line"))
        out.append(target if target in ids else None)
    return out


def section_starts(targets: list[str | None], starts: list[dict]) -> dict[str, dict]:
    """{section id: {"start": seconds, "label": "0:48", "slide": title}}: the first slide covering it.
    `starts`: the chapters track's cues, one per slide."""
    out: dict[str, dict] = {}
    for target, cue in zip(targets, starts):
        if target and target not in out:
            out[target] = {"start": cue["start"], "label": cue["label"], "slide": cue["title"]}
    return out


def chip(where: dict, mp4: str) -> str:
    return (f'<a class="talk-chip" href="{_html.escape(mp4)}#t={where["start"]}" data-talk-start="{where["start"]}" '
            f'aria-label="Play the talk from {where["label"]}, its slide “{_html.escape(where["slide"])}”">'
            f'▶\ufe0e {where["label"]}</a>')


def add_chips(chapters: list[dict], starts: dict[str, dict], mp4: str) -> list[dict]:
    """The chapters with a chip in each heading the talk covers (the chapter's own, as `chip`)."""
    out = []
    for ch in chapters:
        body = HEADING_END.sub(lambda m: m.group(1) + (" " + chip(starts[m.group("id")], mp4)
                                                       if m.group("id") in starts else "") + m.group(4), ch["html"])
        out.append({**ch, "html": body, "chip": chip(starts[ch["slug"]], mp4) if ch["slug"] in starts else ""})
    return out


def parse_cues(text: str) -> list[tuple[str, float, str]]:
    """(cue id, start seconds, text) of each cue of a WebVTT file."""
    cues = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [ln for ln in block.strip().splitlines() if ln.strip()]
        timing = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        if timing is None:
            continue
        h, m, s = ([0] + lines[timing].split("-->")[0].strip().split(":"))[-3:]
        cues.append((lines[0] if timing else "", int(h) * 3600 + int(m) * 60 + float(s), " ".join(lines[timing + 1:])))
    return cues


def transcript(captions: str, starts: list[dict], targets: list[str | None], titles: dict[str, str]) -> list[dict]:
    """One passage per slide: its title, start, the captions' text, and the section it covers."""
    by_slide: dict[int, list[str]] = {}
    for cue_id, _, text in parse_cues(captions):
        if cue_id.split(".")[0].isdigit():
            by_slide.setdefault(int(cue_id.split(".")[0]), []).append(text)
    return [{"number": n, "title": cue["title"], "start": cue["start"], "label": cue["label"],
             "text": " ".join(by_slide.get(n, [])),
             "section": {"id": target, "title": titles.get(target, target)} if target else None}
            for n, (cue, target) in enumerate(zip(starts, targets), 1)]


def _plain(inline_html: str) -> str:
    return _html.unescape(re.sub(r"<[^>]+>", "", inline_html))


def tie(project, context: dict, media_files: dict) -> dict[str, bytes]:
    """Chips into `context`'s chapters, the transcript's link into its video; the transcript page."""
    video, track = context.get("video"), media_files.get("media/captions.vtt")
    if not video or not video.get("chapter_list") or track is None:
        return {}
    targets = slide_targets(context.get("slide_links") or [], context["chapters"], project.content / project.config.slides)
    context["chapters"] = add_chips(context["chapters"], section_starts(targets, video["chapter_list"]), video["mp4"])
    titles = {}
    for entry in context["toc"]:
        titles[entry.id] = f"{entry.number} {_plain(entry.title)}".strip()
        titles.update({c.id: _plain(c.title) for c in entry.children})
    captions = track.read_text(encoding="utf-8") if isinstance(track, Path) else track.decode("utf-8")
    context["video"] = video = {**video, "transcript": TRANSCRIPT}
    passages = transcript(captions, video["chapter_list"], targets, titles)
    page = render_page(project, {"site": project.config, "video": video, "passages": passages}, "transcript.html.j2")
    return {TRANSCRIPT: page.encode("utf-8")}
