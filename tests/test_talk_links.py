"""Issue 24, parts 2 and 4: the talk's poster (the argument, in the theme's colours, and no
request for a poster image or any video byte until the reader plays it); a chip beside each
heading the talk covers, which plays it from there; the transcript page made from the
captions, each passage linked to its section; and the video seeking through `build.py serve`
(byte ranges). A tiny slides file through the real build, then Chromium."""
from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from pathlib import Path

import pytest

from conftest import REPO, make_project
from sitegen.build import build as run_build
from sitegen.errors import BuildError
from sitegen.project import load_project

SLIDES = """\
---
title: "A test talk"
video: {width: 320, fps: 10, narration: false}
---

# The talk {duration=1.5 section=second}

::: notes
Hello and welcome to a short test.
:::

## Gradients {duration=2}

{{ figure("gradient_flow") }}

::: notes
Plain networks drift; residual ones stay level.
:::

## The *end* {duration=2 section=sec:second-a-section-with-notes}

::: notes
That is all.
:::
"""
CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "vendor" / "axe-core" / "axe.min.js"


def build(root: Path):
    return run_build(load_project(root), progress=False, log=lambda m: None)


@pytest.fixture(scope="module")
def talk(tmp_path_factory) -> Path:
    root = make_project(tmp_path_factory.mktemp("talk-links") / "proj")
    (root / "content" / "slides.md").write_text(SLIDES)
    build(root)
    return root


def cue_starts(root: Path) -> list[float]:
    text = (root / "site" / "media" / "chapters.vtt").read_text()
    return [int(m) * 60 + float(s) for m, s in re.findall(r"^\d\d:(\d\d):(\d\d\.\d{3}) -->", text, re.M)]


def test_each_covered_heading_gets_a_chip_at_its_first_slide(talk):
    html = (talk / "site" / "index.html").read_text()
    starts = cue_starts(talk)
    found = {}
    for sid, body in re.findall(r'<section (?:class="chapter" )?id="([^"]+)"[^>]*>\s*<h[23][^>]*>(.*?)</h[23]>', html, re.S):
        m = re.search(r'class="talk-chip"[^>]*data-talk-start="([\d.]+)"[^>]*>▶\ufe0e (\d+:\d\d)</a>', body)
        if m:
            found[sid] = (float(m.group(1)), m.group(2))
    # slide 1 names the second chapter, slide 2 places a figure of the first, slide 3 names a heading (as @sec: does)
    assert found == {"second": (starts[0], "0:00"), "first-chapter": (starts[1], "0:01"),
                     "second-a-section-with-notes": (starts[2], "0:03")}
    toc = re.search(r'<nav class="toc".*?</nav>', html, re.S).group(0)
    assert "talk-chip" not in toc  # the contents list the headings' titles alone
    assert 'href="transcript.html">read the transcript</a>' in html


def test_transcript_has_each_slides_captions_and_links_its_section(talk):
    page = (talk / "site" / "transcript.html").read_text()
    captions = (talk / "site" / "media" / "captions.vtt").read_text()
    passages = re.findall(r'<section class="transcript-passage" id="slide-(\d+)".*?</section>', page, re.S)
    assert passages == ["1", "2", "3"]
    blocks = re.findall(r'<section class="transcript-passage".*?</section>', page, re.S)
    for n, block in enumerate(blocks, 1):
        cues = re.findall(rf"^{n}\.\d+\n[\d:.]+ --> [\d:.]+\n(.+)$", captions, re.M)
        assert cues and " ".join(cues) in block
    assert 'href="index.html#second"' in blocks[0]
    assert 'href="index.html#first-chapter"' in blocks[1]
    assert 'href="index.html#second-a-section-with-notes"' in blocks[2] and "A section with notes" in blocks[2]
    index = (talk / "site" / "index.html").read_text()
    for target in re.findall(r'href="index.html#([^"]+)"', page):
        assert f'id="{target}"' in index


def test_a_slide_naming_no_section_is_one_line_at_its_line(talk, tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(talk, root, symlinks=True)
    before = (root / "site" / "index.html").read_bytes()
    (root / "content" / "slides.md").write_text(SLIDES.replace("section=second}", "section=secnod}"))
    with pytest.raises(BuildError) as e:
        build(root)
    assert e.value.line == 6 and "section=secnod names no chapter or heading" in str(e.value)
    assert (root / "site" / "index.html").read_bytes() == before


def _preview(site: Path):
    from sitegen import serve

    preview = serve.Preview.__new__(serve.Preview)
    preview.version, preview.error = 0, ""
    handler = functools.partial(type("H", (serve.Handler,), {"preview": preview}), directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture
def chromium_page(talk):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (make browser-deps)")
    sync_api = pytest.importorskip("playwright.sync_api")
    httpd = _preview(talk / "site")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])

        def open_page(path="index.html", **options):
            page = browser.new_page(**options)
            page.errors, page.media = [], []
            page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
            page.on("pageerror", lambda e: page.errors.append(str(e)))
            page.on("request", lambda r: r.url.endswith((".mp4", ".webm", "poster.png")) and page.media.append(r.url))
            page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/{path}", wait_until="load")
            return page

        yield open_page
        browser.close()
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_poster_is_drawn_in_the_theme_and_loads_nothing_until_played(chromium_page, scheme):
    page = chromium_page(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    poster = page.locator(".talk-poster")
    assert poster.is_visible() and page.get_by_role("button", name=re.compile(r"^Play the talk \d+:\d\d$")).count() == 1
    page.wait_for_timeout(500)
    assert page.media == []  # no poster image, no byte of the video before the reader asks
    panel = page.evaluate("getComputedStyle(document.querySelector('.tp-bg')).fill")
    page_bg = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    lightness = sum(int(x) for x in re.findall(r"\d+", panel)[:3]) / 3
    assert (lightness < 80) == (scheme == "dark"), (panel, page_bg)  # no white glare box in dark mode
    poster.click()
    page.wait_for_function("() => !document.querySelector('.talk video').paused", timeout=10_000)
    assert poster.is_hidden() and page.media
    assert page.errors == []


def test_chip_plays_the_talk_from_its_slide_and_the_preview_serves_ranges(chromium_page):
    page = chromium_page(viewport={"width": 360, "height": 800})
    chip = page.locator("#second-a-section-with-notes .talk-chip")
    t = float(chip.get_attribute("data-talk-start"))
    chip.click()
    page.wait_for_function("t => document.querySelector('.talk video').currentTime >= t - 0.01", arg=t, timeout=10_000)
    assert page.locator(".talk-poster").is_hidden()
    page.wait_for_function("() => document.querySelector('.talk-chapters li:last-child a')"
                           ".getAttribute('aria-current') === 'true'", timeout=5_000)
    # the preview answered byte ranges, so the whole video is seekable, as from a host
    seekable = page.evaluate("() => { const s = document.querySelector('.talk video').seekable; "
                             "return s.length ? s.end(s.length - 1) : 0 }")
    assert seekable > t
    assert page.errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_transcript_page_reads_in_both_themes_without_violations(chromium_page, scheme):
    page = chromium_page("transcript.html", color_scheme=scheme, viewport={"width": 360, "height": 800})
    assert page.locator(".transcript-passage").count() == 3
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations.map(v => v.id + ': ' + v.help)")
    assert found == [] and page.errors == []
    overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0


@pytest.mark.parametrize("scheme,width", [("light", 1280), ("dark", 360)])
def test_article_with_poster_and_chips_has_no_violations_and_fits(chromium_page, scheme, width):
    page = chromium_page(color_scheme=scheme, viewport={"width": width, "height": 800})
    assert page.locator(".talk-chip").count() == 3 and page.locator(".talk-poster").is_visible()
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations.map(v => v.id + ': ' + v.help + ' ' + "
                          "JSON.stringify(v.nodes.slice(0, 2).map(n => n.target)))")
    assert found == [] and page.errors == []
    assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0
