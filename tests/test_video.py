"""The talk: a tiny slides file through the real build (pandoc, typst, ffmpeg,
reveal.js in Chromium); the encoded video is probed, decoded and compared with
the slides, captions and chapters it was made from."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from sitegen.errors import BuildError
from sitegen.build import build as run_build
from sitegen.project import load_project
from sitegen.render.video import espeak

from conftest import REPO, make_project

SLIDES = """\
---
title: "A test talk"
video: {width: 320, fps: 10, narration: false}
---

# The talk {duration=1.5}

::: notes
Hello and welcome. This is a short test of the slides video.
:::

## Gradients {duration=2}

- One point, with $x^2$

{{ figure("gradient_flow") }}

::: notes
Plain networks drift; residual ones stay level. That is the whole story, told in one long
sentence that must be cut into more than one caption cue, because it is far too long.
:::

## The *end*

::: notes
This slide has no duration of its own, so it stays up as long as these notes take to read.
:::
"""


def build(root: Path, log=None):
    return run_build(load_project(root), progress=False, log=log or (lambda m: None))


@pytest.fixture(scope="module")
def talk(tmp_path_factory) -> Path:
    root = make_project(tmp_path_factory.mktemp("talk") / "proj")
    (root / "content" / "slides.md").write_text(SLIDES)
    build(root)
    return root


def expected_seconds() -> list[float]:
    """From the fixture itself: set durations, else notes read at 150 words per minute (at least 3 s)."""
    words = len("This slide has no duration of its own, so it stays up as long as these notes take to read.".split())
    return [1.5, 2.0, max(3.0, words / 150 * 60)]


def probe(path: Path) -> str:
    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                         capture_output=True, text=True)
    return run.stderr


def parse_vtt(text: str) -> list[tuple[int, int, str]]:
    """(start ms, end ms, text) of each cue of a WebVTT file."""
    assert text.startswith("WEBVTT\n")
    cues = []
    for block in text.strip().split("\n\n")[1:]:
        lines = block.splitlines()
        m = re.fullmatch(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})", lines[1])
        assert m, block
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, m.groups())
        cues.append(((h1 * 3600 + m1 * 60 + s1) * 1000 + ms1, (h2 * 3600 + m2 * 60 + s2) * 1000 + ms2,
                     " ".join(lines[2:])))
    return cues


def test_video_length_size_and_codecs(talk):
    media = talk / "site" / "media"
    total = sum(expected_seconds())
    for name, codec in (("talk.mp4", "h264"), ("talk.webm", "vp9")):
        frames, secs = imageio_ffmpeg.count_frames_and_secs(str(media / name))
        assert abs(secs - total) < 1.0 and frames == round(total * 10)
        info = probe(media / name)
        video = next(ln for ln in info.splitlines() if "Video:" in ln)
        assert f"Video: {codec}" in video and "yuv420p" in video and "320x180" in video
        assert "Audio:" not in info  # narration: false -> silent, with captions
    mp4 = (media / "talk.mp4").read_bytes()
    assert mp4.index(b"moov") < mp4.index(b"mdat")  # +faststart: playable while downloading
    assert (media / "poster.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chapters_and_captions_line_up_with_the_slides(talk):
    media = talk / "site" / "media"
    chapters = parse_vtt((media / "chapters.vtt").read_text())
    bounds = np.cumsum([0.0] + expected_seconds()) * 1000
    assert [(a, b) for a, b, _ in chapters] == [(round(x), round(y)) for x, y in zip(bounds, bounds[1:])]
    assert [t for *_, t in chapters] == ["The talk", "Gradients", "The end"]
    captions = parse_vtt((media / "captions.vtt").read_text())
    assert len(captions) > len(chapters)  # long notes are cut into several cues
    for (a, b, text), nxt in zip(captions, captions[1:] + [None]):
        assert a < b and len(text) <= 84
        assert any(ca <= a and b <= cb for ca, cb, _ in chapters)  # never across a slide change
        if nxt:
            assert b <= nxt[0]
    spoken = " ".join(t for *_, t in captions)
    assert spoken.startswith("Hello and welcome.") and "residual ones stay level" in spoken
    assert spoken.endswith("as long as these notes take to read.")


def test_frames_change_exactly_at_the_chapter_boundaries(talk):
    reader = imageio_ffmpeg.read_frames(str(talk / "site" / "media" / "talk.mp4"))
    meta = next(reader)
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3).astype(int) for f in reader]
    change = [i for i in range(1, len(frames)) if np.abs(frames[i] - frames[i - 1]).mean() > 2]
    starts = np.cumsum(expected_seconds())[:-1] * 10
    assert change == [round(s) for s in starts]


def test_article_embeds_the_video_and_links_the_deck(talk):
    html = (talk / "site" / "index.html").read_text()
    # nothing of the video loads before the reader plays it: the poster is drawn in the page (issue 24)
    video = re.search(r"<video controls preload=\"none\" width[^>]*>(.*?)</video>", html, re.S)
    assert video, "no <video> block"
    assert 'poster="' not in html[html.index("<video"):html.index("</video>")]
    assert re.search(r'<button class="talk-poster" type="button" hidden><svg class="talk-poster-art"', html)
    inner = video.group(1)
    assert '<source src="media/talk.webm" type="video/webm">' in inner
    assert '<source src="media/talk.mp4" type="video/mp4">' in inner
    assert re.search(r'<track kind="captions" srclang="en"[^>]*src="media/captions.vtt" default>', inner)
    assert re.search(r'<track kind="chapters" srclang="en"[^>]*src="media/chapters.vtt">', inner)
    assert html.index("<video") < html.index('class="chapter"')  # at the top of the article
    assert 'href="slides.html"' in html and "(captions, no sound)" in html
    for rel in re.findall(r'(?:src|poster)="(media/[^"]+)"', html):
        assert (talk / "site" / rel).is_file()


@pytest.mark.browser
def test_deck_page_runs_reveal_in_a_browser(talk):
    site = talk / "site"
    deck = (site / "slides.html").read_text()
    assert deck.count('class="title-slide slide level1"') + deck.count('class="slide level2"') == 3
    assert 'data-src="figures/gradient_flow.svg"' in deck and (site / "figures" / "gradient_flow.svg").is_file()
    assert "<math" in deck and '<aside class="notes">' in deck
    assert '<link rel="icon" href="data:,">' in deck  # no /favicon.ico request to 404 on a static host
    for rel in re.findall(r'(?:src|href)="(static/[^"]+)"', deck):
        assert (site / rel).is_file(), rel
    assert (site / "static" / "vendor" / "reveal" / "LICENSE").is_file()
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((site / "slides.html").as_uri())
        page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=15000)
        assert page.evaluate("Reveal.getTotalSlides()") == 3
        page.keyboard.press("ArrowRight")
        assert page.evaluate("Reveal.getCurrentSlide().id") == "gradients"
        browser.close()
    assert errors == []


@pytest.mark.browser
def test_chapter_list_under_the_video_seeks_it(talk):
    """The chapters track, shown: one entry per cue at the track's start; a click seeks there."""
    cues = parse_vtt((talk / "site" / "media" / "chapters.vtt").read_text())
    html = (talk / "site" / "index.html").read_text()
    listed = re.findall(r'<a href="media/talk.mp4#t=([\d.]+)" data-start="[\d.]+"><span class="talk-time">'
                        r'[\d:]+</span> ([^<]+)</a>', html)
    assert [(float(t), title) for t, title in listed] == [(a / 1000, text) for a, _, text in cues]
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed")
    from reader_site import serve  # a server with byte ranges, as a host has: a video seeks with them

    url, server = serve(talk / "site")
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(url, wait_until="load")
            page.locator(".talk-chapters a").last.click()
            page.wait_for_function("t => document.querySelector('.talk video').currentTime >= t - 0.01",
                                   arg=float(listed[-1][0]), timeout=10_000)
            page.wait_for_function("() => document.querySelector('.talk-chapters li:last-child a')"
                                   ".getAttribute('aria-current') === 'true'", timeout=5_000)
            assert "#" not in page.url  # it seeked the video instead of following the link
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


def test_unchanged_slides_do_not_reencode(talk, tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(talk, root)
    mp4 = root / "site" / "media" / "talk.mp4"
    before = mp4.read_bytes()
    ch = root / "content" / "02-second.md"
    ch.write_text(ch.read_text() + "\nOne more sentence.\n")
    log: list[str] = []
    build(root, log.append)
    assert not any("encoding" in m for m in log) and mp4.read_bytes() == before
    slides = root / "content" / "slides.md"
    slides.write_text(slides.read_text().replace("{duration=2}", "{duration=2.5}"))
    build(root, log.append)
    assert any("encoding" in m for m in log)
    _, secs = imageio_ffmpeg.count_frames_and_secs(str(mp4))
    assert abs(secs - (sum(expected_seconds()) + 0.5)) < 1.0


@pytest.mark.parametrize("bad, line, message", [
    ('{{ figure("no_such_figure") }}', 14, "unknown figure 'no_such_figure'"),
    ("\n".join(f"- bullet {i}" for i in range(40)), 12, "does not fit on one page"),
])
def test_bad_slide_is_one_line_and_keeps_the_site(talk, tmp_path, bad, line, message):
    root = tmp_path / "proj"
    shutil.copytree(talk, root)
    before = (root / "site" / "index.html").read_bytes()
    slides = root / "content" / "slides.md"
    slides.write_text(slides.read_text().replace("- One point, with $x^2$", bad))
    with pytest.raises(BuildError) as err:
        build(root)
    assert str(err.value).startswith(f"{slides}:{line}: ") and message in str(err.value)
    assert "\n" not in str(err.value)
    assert (root / "site" / "index.html").read_bytes() == before
    run = subprocess.run([sys.executable, str(REPO / "build.py"), "--root", str(root), "-q", "build"],
                         capture_output=True, text=True)
    assert run.returncode == 1 and run.stderr.strip() == f"error: {err.value}"


@pytest.mark.skipif(espeak() is None, reason="espeak-ng is not installed")
def test_narration_track_from_the_notes(tmp_path):
    root = make_project(tmp_path / "proj")
    (root / "content" / "slides.md").write_text(SLIDES.replace("narration: false", "narration: true"))
    build(root)
    media = root / "site" / "media"
    assert re.search(r"Audio: aac", probe(media / "talk.mp4"))
    assert re.search(r"Audio: opus", probe(media / "talk.webm"))
    chapters = parse_vtt((media / "chapters.vtt").read_text())
    _, secs = imageio_ffmpeg.count_frames_and_secs(str(media / "talk.mp4"))
    assert abs(secs - chapters[-1][1] / 1000) < 1.0
    # each slide stays up at least as long as its set duration, and longer where the voice needs it
    lengths = [(b - a) / 1000 for a, b, _ in chapters]
    assert all(n >= d - 0.05 for n, d in zip(lengths, expected_seconds()))
    assert lengths[1] > 2.0  # its notes take longer to say than its {duration=2}
    assert "(captions, no sound)" not in (root / "site" / "index.html").read_text()


@pytest.mark.parametrize("text, line, message", [
    ("---\ntitle: t\nvideo: {width: 1000}\n---\n\n## A\n", 3, "video width must be a multiple of 32"),
    ("---\ntitle: t\nvideo: {speed: fast}\n---\n\n## A\n", 3, "video option 'speed' must be of type int"),
    ("## A\n\n## B {duration=soon}\n", 3, "duration must be seconds"),
    ("Intro text\n\n## A\n", 1, "text before the first slide"),
    ("\n{{ figure(\"gradient_flow\") }}\n## A\n", 2, "text before the first slide"),
    ("## A\n\n::: notes\nSay it.\n\n## B\n", 6, "::: notes is never closed"),
    ("## A\n\n::: notes\n{{ figure(\"gradient_flow\") }}\n:::\n", 4, "a figure belongs on the slide"),
    ("## A\n\n{{ result(\"gradient_flow\", \"plain56\", \"spread\") }}\n", 3, "only {{ figure(\"name\") }}"),
])
def test_slides_file_errors_name_the_line(tmp_path, text, line, message):
    from sitegen.read import slides

    path = tmp_path / "slides.md"
    path.write_text(text)
    with pytest.raises(BuildError) as err:
        slides.parse(path, {"gradient_flow"})
    assert str(err.value).startswith(f"{path}:{line}: ") and message in str(err.value)


def test_encoding_again_gives_the_same_bytes(talk, tmp_path):
    from figures import plots

    from sitegen.read import slides
    from sitegen.render import video

    deck = slides.parse(talk / "content" / "slides.md", set(plots.names()))
    svgs = {"gradient_flow": (talk / "site" / "figures" / "gradient_flow.svg").read_bytes()}
    folder = video.make_video(deck, svgs, tmp_path, log=lambda m: None)  # an empty cache: encode anew
    for name in ("talk.mp4", "talk.webm", "captions.vtt", "chapters.vtt", "poster.png"):
        assert (folder / name).read_bytes() == (talk / "site" / "media" / name).read_bytes(), name
