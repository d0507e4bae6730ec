"""The ported article (tests/test_porting.py) in a real browser, opened from file://
as a reader who downloaded it would: the author's Vega-Lite chart renders from the
spec in the page in both themes, replacing the static SVG that the build drew, which
is what paper (light) and a reader without JavaScript (in their theme) get; the
callouts and the chart pass axe-core, light and dark. Sub-figures (tests/test_subfigures.py)
stand in columns on a wide screen and stack at 360 px, in the reader's theme."""
from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

from conftest import cli_build
from test_porting import port

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parent.parent / "vendor" / "axe-core" / "axe.min.js"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium "
                                                     "(make browser-deps)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")

LABEL_FILL = """() => getComputedStyle(document.querySelector('#fig-chart .vega-chart svg .role-axis-label text')).fill"""
BOXES = """() => [...document.querySelectorAll('#fig-blocks .subfigure')].map(f => {
  const r = f.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.top), Math.round(r.width)]; })"""


def luminance(css: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@contextlib.contextmanager
def browsing(built_copy, capsys):
    """The copy built, and Debian's chromium to open its page from file://."""
    code, err = cli_build(built_copy, capsys)
    assert code == 0, err
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser, (built_copy / "site" / "index.html").as_uri()
        finally:
            browser.close()


def opened(browser, url: str, figure: str, scheme: str, width: int = 1280, scripts: bool = True):
    """The page in the scheme and width, scrolled to the figure (its images load lazily)."""
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900},
                                  java_script_enabled=scripts)
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.locator(figure).scroll_into_view_if_needed()
    return page


def shows(page, img: str, suffix: str) -> None:
    """The image `img` has loaded the file that ends with `suffix` (<picture> picks it)."""
    page.wait_for_function("([q, s]) => { const i = document.querySelector(q); "
                           "return i.complete && i.naturalWidth > 0 && i.currentSrc.endsWith(s); }",
                           arg=[img, suffix], timeout=10_000)


def violations(page, section: str) -> list:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(f"axe.run(['{section}'], {{resultTypes: ['violations']}})")["violations"]


def test_the_ported_chart_and_callouts_work_in_both_themes_and_print(built_copy, capsys):
    port(built_copy)
    with browsing(built_copy, capsys) as (browser, url):
        fills = {}
        for scheme in ("light", "dark"):
            page = opened(browser, url, "#fig-chart", scheme)
            page.wait_for_selector("#fig-chart.chart-ready .vega-chart svg", timeout=20_000)
            assert not page.locator("#fig-chart .static-figure img").is_visible()
            fills[scheme] = luminance(page.evaluate(LABEL_FILL))
            assert [v["id"] for v in violations(page, "#ported")] == []
            if scheme == "dark":  # on paper the build's light SVG, not the chart
                page.emulate_media(media="print")
                assert not page.locator("#fig-chart .vega-chart").is_visible()
                assert page.locator("#fig-chart .static-figure img").is_visible()
                shows(page, "#fig-chart img", "/figures/chart.svg")
            page.context.close()
            # without JavaScript: the static SVG of the reader's theme, its alt text for screen readers
            page = opened(browser, url, "#fig-chart", scheme, scripts=False)
            shows(page, "#fig-chart img", "/figures/chart-dark.svg" if scheme == "dark" else "/figures/chart.svg")
            assert page.evaluate("document.querySelector('#fig-chart img').naturalWidth") > 100
            assert page.get_attribute("#fig-chart img", "alt").startswith("Test error falls")
            page.context.close()
        assert fills["light"] < 128 < fills["dark"], fills


def test_sub_figures_stand_in_columns_stack_on_a_phone_and_follow_the_theme(built_copy, capsys):
    from test_subfigures import panels

    panels(built_copy)
    with browsing(built_copy, capsys) as (browser, url):
        for scheme, width in (("light", 1280), ("dark", 360)):
            page = opened(browser, url, "#fig-blocks", scheme, width)
            plain = "/figures/blocks-plain-dark.svg" if scheme == "dark" else "/figures/blocks-plain.svg"
            shows(page, "#fig-blocks-plain img", plain)
            (a_left, a_top, a_w), (b_left, b_top, b_w), (c_left, c_top, _) = page.evaluate(BOXES)
            if width == 1280:  # two columns: (a) and (b) side by side, (c) under (a)
                assert a_top == b_top and b_left >= a_left + a_w and c_left == a_left and c_top > a_top
                assert abs(a_w - b_w) <= 1
            else:  # one column, each part the width of the text, nothing wider than the phone
                assert a_left == b_left == c_left and a_top < b_top < c_top and a_w > 250
                assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert [v["id"] for v in violations(page, "#panels")] == []
            if scheme == "dark":  # on paper: the light images
                page.emulate_media(media="print")
                shows(page, "#fig-blocks-plain img", "/figures/blocks-plain.svg")
            page.context.close()
