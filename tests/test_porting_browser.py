"""The ported article (tests/test_porting.py) in a real browser, opened from file://
as a reader who downloaded it would: the author's Vega-Lite chart renders from the
spec in the page in both themes, replacing the static SVG that the build drew, which
is what paper (light) and a reader without JavaScript (in their theme) get; the
callouts and the chart pass axe-core, light and dark."""
from __future__ import annotations

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

STATIC_SRC = "document.querySelector('#fig-chart .static-figure img').currentSrc"
LABEL_FILL = """() => getComputedStyle(document.querySelector('#fig-chart .vega-chart svg .role-axis-label text')).fill"""


def luminance(css: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_ported_chart_and_callouts_work_in_both_themes_and_print(built_copy, capsys):
    port(built_copy)
    code, err = cli_build(built_copy, capsys)
    assert code == 0, err
    url = (built_copy / "site" / "index.html").as_uri()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            fills = {}
            for scheme in ("light", "dark"):
                page = browser.new_page(color_scheme=scheme, viewport={"width": 1280, "height": 900})
                page.goto(url, wait_until="load")
                page.locator("#fig-chart").scroll_into_view_if_needed()
                page.wait_for_selector("#fig-chart.chart-ready .vega-chart svg", timeout=20_000)
                assert not page.locator("#fig-chart .static-figure img").is_visible()
                page_fill = page.evaluate(LABEL_FILL)
                fills[scheme] = luminance(page_fill)
                page.add_script_tag(path=str(AXE))
                result = page.evaluate("axe.run(['#ported'], {resultTypes: ['violations']})")
                assert [v["id"] for v in result["violations"]] == [], result["violations"]
                if scheme == "dark":  # on paper the build's light SVG, not the chart
                    page.emulate_media(media="print")
                    assert not page.locator("#fig-chart .vega-chart").is_visible()
                    assert page.locator("#fig-chart .static-figure img").is_visible()
                    assert page.evaluate(STATIC_SRC).endswith("/figures/chart.svg")
                page.close()
                # without JavaScript: the static SVG of the reader's theme, its alt text for screen readers
                context = browser.new_context(color_scheme=scheme, java_script_enabled=False)
                page = context.new_page()
                page.goto(url, wait_until="load")
                page.locator("#fig-chart").scroll_into_view_if_needed()
                page.wait_for_function(f"() => ({STATIC_SRC}) !== ''", timeout=10_000)
                assert page.evaluate(STATIC_SRC).endswith("/figures/chart-dark.svg" if scheme == "dark" else "/figures/chart.svg")
                assert page.evaluate("document.querySelector('#fig-chart img').naturalWidth") > 100
                assert page.get_attribute("#fig-chart img", "alt").startswith("Test error falls")
                context.close()
            assert fills["light"] < 128 < fills["dark"], fills
        finally:
            browser.close()
