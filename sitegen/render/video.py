"""The talk as a video, made without a screen: slides -> Typst pages -> PNG
frames (typst wheel) -> MP4 (H.264) and WebM (VP9) with the ffmpeg binary of
imageio-ffmpeg, plus WebVTT captions (from the notes), WebVTT chapters (from the
titles) and a poster. With espeak-ng on PATH the notes are also spoken.

Each slide stays up as long as its notes take to read (or its `duration`), and
at least as long as its narration; durations are whole frames, so captions,
chapters and the encoded streams agree to the millisecond. The products are
cached in .cache/video/<key>/, keyed by everything they are made from.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import time
import wave
from pathlib import Path

from .. import pandoc
from ..cache import Cache, key, source
from ..errors import BuildError
from ..model import Deck, Media, RenderedFigure, VideoOptions
from ..project import Project
from . import deck as deckmod
from .templates import render_page

LEAD, TAIL = 0.4, 0.6       # seconds of silence before and after each slide's narration
CUE_CHARS = 84              # longest caption cue (two short lines)
FILES = ("talk.mp4", "talk.webm", "captions.vtt", "chapters.vtt", "poster.png", "timeline.json")


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def espeak() -> str | None:
    return shutil.which("espeak-ng")


def tool_versions(narrate: bool) -> dict:
    import imageio_ffmpeg
    import typst

    out = {"ffmpeg": imageio_ffmpeg.get_ffmpeg_version(), "typst": typst.__version__,
           "pandoc": pandoc.pandoc_version(), "espeak": None}
    if narrate:
        run = subprocess.run([espeak(), "--version"], capture_output=True, text=True)
        out["espeak"] = run.stdout.strip()
    return out


# -- timing -----------------------------------------------------------------
def speak(text: str, opts: VideoOptions, out: Path) -> float:
    """Narrate `text` into a WAV file with espeak-ng; returns its length in seconds."""
    src = out.with_suffix(".txt")
    src.write_text(text, encoding="utf-8")
    run = subprocess.run([espeak(), "-v", opts.voice, "-s", str(opts.speed), "-w", str(out), "-f", str(src)],
                         capture_output=True, text=True)
    if run.returncode != 0 or not out.exists():
        raise BuildError(f"espeak-ng failed: {(run.stderr.strip().splitlines() or ['no output'])[0]}")
    with wave.open(str(out)) as w:
        return w.getnframes() / w.getframerate()


def frame_counts(deck: Deck, speech: list[float | None]) -> list[int]:
    """Frames per slide: notes at `wpm` (or the set duration), at least min_seconds and the narration."""
    o = deck.options
    out = []
    for s, spoken in zip(deck.slides, speech):
        secs = s.duration or max(o.min_seconds, len(s.notes_text.split()) / o.wpm * 60)
        if spoken:
            secs = max(secs, LEAD + spoken + TAIL)
        out.append(math.ceil(round(secs * o.fps, 6)))
    return out


def _ts(ms: int) -> str:
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _cue_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "→")


def chunks(text: str, limit: int = CUE_CHARS) -> list[str]:
    """Sentences, long ones cut at a comma or between words, each at most `limit` characters."""
    out: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        words, cur = sentence.split(), ""
        for w in words:
            if cur and len(cur) + 1 + len(w) > limit:
                cut = max(cur.rfind(", "), cur.rfind("; "), cur.rfind(": "))
                if cut > limit // 3:
                    out.append(cur[:cut + 1])
                    cur = cur[cut + 2:]
                else:
                    out.append(cur)
                    cur = ""
            cur = f"{cur} {w}" if cur else w
        if cur:
            out.append(cur)
    return out


def vtt(deck: Deck, frames: list[int], speech: list[float | None]) -> tuple[str, str]:
    """(captions, chapters) WebVTT. Captions share each slide's spoken span by length."""
    fps = deck.options.fps
    caps, chaps = ["WEBVTT", ""], ["WEBVTT", ""]
    start_f = 0
    for s, n, spoken in zip(deck.slides, frames, speech):
        start, end = round(start_f * 1000 / fps), round((start_f + n) * 1000 / fps)
        chaps += [str(s.number), f"{_ts(start)} --> {_ts(end)}", _cue_text(s.title_text), ""]
        parts = chunks(s.notes_text)
        a, b = (start + round(LEAD * 1000), start + round((LEAD + spoken) * 1000)) if spoken else (start, end)
        total = sum(len(p) + 8 for p in parts)  # +8: short cues still need time to read
        t, acc = a, 0
        for i, p in enumerate(parts, 1):
            acc += len(p) + 8
            t_end = b if acc == total else a + round((b - a) * acc / total)
            caps += [f"{s.number}.{i}", f"{_ts(t)} --> {_ts(t_end)}", _cue_text(p), ""]
            t = t_end
        start_f += n
    return "\n".join(caps), "\n".join(chaps)


# -- rendering and encoding ---------------------------------------------------
def render_pages(deck: Deck, svgs: dict[str, bytes], work: Path) -> list[bytes]:
    """One PNG per slide. A slide too full for one page is an error naming it."""
    import typst

    (work / "figures").mkdir(parents=True, exist_ok=True)
    for name, svg in svgs.items():
        (work / "figures" / f"{name}.svg").write_bytes(svg)
    src = work / "deck.typ"
    src.write_text(deckmod.typst_source(deck), encoding="utf-8")
    ppi = deck.options.width * 72 / 960  # the Typst page is 960pt wide
    try:
        pages = typst.compile(str(src), root=str(work), format="png", ppi=ppi)
    except Exception as e:
        raise BuildError(f"typst could not render the slides: {str(e).splitlines()[0]}", deck.path) from None
    pages = pages if isinstance(pages, list) else [pages]
    if len(pages) != len(deck.slides):
        for s in deck.slides:  # find the culprit: render each slide on its own
            one = Deck(deck.path, deck.title, deck.options, [s])
            src.write_text(deckmod.typst_source(one), encoding="utf-8")
            one_page = typst.compile(str(src), root=str(work), format="png", ppi=12)
            if isinstance(one_page, list) and len(one_page) > 1:  # a single page comes back as bytes
                raise BuildError(f"slide {s.title_text!r} does not fit on one page; shorten it or split it",
                                 deck.path, s.line)
        raise BuildError(f"{len(pages)} pages for {len(deck.slides)} slides", deck.path)
    return pages


def _ffmpeg(args: list[str], deck: Deck) -> None:
    run = subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *args],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise BuildError(f"ffmpeg failed: {(run.stderr.strip().splitlines() or ['?'])[-1]}", deck.path)


def encode(deck: Deck, pages: list[bytes], frames: list[int], audio: Path | None, work: Path) -> None:
    o = deck.options
    listing = ["ffconcat version 1.0"]
    for i, (png, n) in enumerate(zip(pages, frames)):
        (work / f"slide-{i:03d}.png").write_bytes(png)
        listing += [f"file 'slide-{i:03d}.png'", f"duration {n / o.fps:.6f}"]
    listing.append(listing[-2])  # the concat demuxer drops the last duration without a repeat
    (work / "slides.ffconcat").write_text("\n".join(listing) + "\n")
    total = sum(frames) / o.fps
    common = ["-f", "concat", "-safe", "0", "-i", str(work / "slides.ffconcat")]
    if audio:
        common += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0"]
    common += ["-t", f"{total:.6f}", "-vf", f"fps={o.fps},scale={o.width}:{o.height}:flags=lanczos,format=yuv420p",
               "-g", str(o.fps * 10), "-map_metadata", "-1", "-fflags", "+bitexact",
               "-flags:v", "+bitexact", "-flags:a", "+bitexact"]
    _ffmpeg(common + ["-c:v", "libx264", "-preset", "medium", "-tune", "stillimage", "-crf", "22",
                      *(["-c:a", "aac", "-b:a", "64k"] if audio else []),
                      "-movflags", "+faststart", str(work / "talk.mp4")], deck)
    # realtime mode: on still frames it is as small as "good" and many times faster
    _ffmpeg(common + ["-c:v", "libvpx-vp9", "-crf", "36", "-b:v", "0", "-deadline", "realtime", "-cpu-used", "6",
                      "-row-mt", "1", *(["-c:a", "libopus", "-b:a", "48k"] if audio else []),
                      str(work / "talk.webm")], deck)


def narrate(deck: Deck, work: Path) -> tuple[list[float | None], list[Path | None]]:
    speech: list[float | None] = []
    wavs: list[Path | None] = []
    for s in deck.slides:
        if s.notes_text:
            wav = work / f"voice-{s.number:03d}.wav"
            speech.append(speak(s.notes_text, deck.options, wav))
            wavs.append(wav)
        else:
            speech.append(None)
            wavs.append(None)
    return speech, wavs


def mix(wavs: list[Path | None], frames: list[int], fps: int, out: Path) -> None:
    """One narration track: each slide's speech after LEAD seconds, padded to the slide's length."""
    with wave.open(str(next(w for w in wavs if w))) as first:
        params = first.getparams()
    rate, width = params.framerate, params.sampwidth * params.nchannels
    with wave.open(str(out), "wb") as dst:
        dst.setparams(params)
        for wav, n in zip(wavs, frames):
            total = round(n / fps * rate)
            data = b""
            if wav:
                with wave.open(str(wav)) as w:
                    data = b"\0" * (round(LEAD * rate) * width) + w.readframes(w.getnframes())
            data = data[: total * width]
            dst.writeframes(data + b"\0" * (total * width - len(data)))


def make_video(deck: Deck, svgs: dict[str, bytes], cache_root: Path, log=print) -> Path:
    """The folder holding FILES for this deck, encoded now unless cached."""
    narrate_ok = deck.options.narration and espeak() is not None
    entry = key(deck.path.read_text(encoding="utf-8"), {k: key(v.decode("utf-8")) for k, v in sorted(svgs.items())},
                source("sitegen.read.slides", "sitegen.render.deck", "sitegen.render.video"), tool_versions(narrate_ok))
    cache = Cache(cache_root, "video")
    timeline: dict = {}

    def encode_into(out: Path) -> None:
        log(f"encoding the slides video ({len(deck.slides)} slides, {deck.options.width}x{deck.options.height}"
            f"{', narrated' if narrate_ok else ', silent'})")
        t0 = time.perf_counter()
        work = out.parent
        pages = render_pages(deck, svgs, work)
        speech, wavs = narrate(deck, work) if narrate_ok else ([None] * len(deck.slides), [])
        frames = frame_counts(deck, speech)
        audio = None
        if any(speech):
            audio = work / "narration.wav"
            mix(wavs, frames, deck.options.fps, audio)
        encode(deck, pages, frames, audio, work)
        captions, chapters = vtt(deck, frames, speech)
        (work / "captions.vtt").write_text(captions, encoding="utf-8")
        (work / "chapters.vtt").write_text(chapters, encoding="utf-8")
        (work / "poster.png").write_bytes(pages[0])
        timeline.update({"fps": deck.options.fps, "width": deck.options.width, "height": deck.options.height,
                         "narrated": audio is not None, "frames": frames, "seconds": sum(frames) / deck.options.fps,
                         "slides": [{"title": s.title_text, "line": s.line} for s in deck.slides]})
        (work / "timeline.json").write_text(json.dumps(timeline, indent=1), encoding="utf-8")
        for f in FILES:
            (work / f).rename(out / f)
        mb = sum((out / f).stat().st_size for f in ("talk.mp4", "talk.webm")) / 1e6
        log(f"  encoded {timeline['seconds']:.1f} s of video in {time.perf_counter() - t0:.1f} s "
            f"(MP4 + WebM {mb:.1f} MB)")

    return cache.folder_entry("talk", entry, encode_into, lambda folder: all((folder / f).exists() for f in FILES))


# -- what the talk adds to the site -------------------------------------------------
def media(project: Project, deck: Deck | None, figures: dict[str, RenderedFigure], log=print) -> Media:
    """The deck page and the video for the site, plus the article's `video` variable.
    `figures` holds every figure the deck shows, drawn with the article's."""
    if deck is None:
        return Media(context={"video": None})
    svgs = {f: figures[f].svg_light for f in deck.figures}
    folder = make_video(deck, svgs, project.cache, log)
    timeline = json.loads((folder / "timeline.json").read_text(encoding="utf-8"))
    secs = int(timeline["seconds"])  # players show whole seconds, rounded down
    video = {"mp4": "media/talk.mp4", "webm": "media/talk.webm", "poster": "media/poster.png",
             "captions": "media/captions.vtt", "chapters": "media/chapters.vtt", "deck": "slides.html",
             "width": timeline["width"], "height": timeline["height"], "title": deck.title,
             "length": f"{secs // 60}:{secs % 60:02d}", "slides": len(deck.slides), "narrated": timeline["narrated"]}
    files: dict[str, bytes | Path] = {f"media/{f}": folder / f for f in FILES if f != "timeline.json"}
    files.update({f"figures/{f}.svg": svg for f, svg in svgs.items()})
    sections = deckmod.deck_html(deck, {f: figures[f].alt for f in deck.figures})
    page = render_page(project, {"site": project.config, "deck": deck, "sections": sections, "video": video},
                       "slides.html.j2")
    files["slides.html"] = page.encode("utf-8")
    return Media(files, {"video": video})
