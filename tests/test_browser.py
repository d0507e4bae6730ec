"""The built article in a real browser (Debian's chromium through Playwright),
served over http on 127.0.0.1: it loads clean and self-contained, figures and
charts render, controls work by mouse, touch and keyboard, both themes pass
axe-core, and nothing overflows at 360 px. Failures leave a screenshot in
test-artifacts/."""
from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
AXE = REPO / "vendor" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium "
                                                     "(make browser-deps)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")

ALL_CHARTS_RENDERED = """() => [...document.querySelectorAll('.vega-chart')].every(
    c => c.dataset.rendered === 'true' && c.querySelector('svg .mark-group, canvas'))"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site_url(built_project):
    handler = functools.partial(_Quiet, directory=str(built_project / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser, site_url, request):
    """open_page(**context_options) -> page, with console errors and outside requests recorded."""
    contexts, failed_before = [], request.session.testsfailed

    def _open(**options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        ctx = browser.new_context(**options)
        contexts.append(ctx)
        page = ctx.new_page()
        page.errors, page.outside = [], []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))

        def route(r):
            if urlsplit(r.request.url).hostname != "127.0.0.1":
                page.outside.append(r.request.url)
                return r.abort()
            return r.continue_()

        ctx.route("**/*", route)
        page.goto(site_url, wait_until="load")
        return page

    yield _open
    if request.session.testsfailed > failed_before:  # this test failed: keep what the pages showed
        ARTIFACTS.mkdir(exist_ok=True)
        for i, ctx in enumerate(contexts):
            for j, page in enumerate(ctx.pages):
                page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{i}{j}.png"), full_page=True)
    for ctx in contexts:
        ctx.close()


def render_all(page) -> None:
    """Scroll every figure into view (charts load on view) and wait for every chart."""
    for fig in page.query_selector_all("figure.figure"):
        fig.scroll_into_view_if_needed()
    page.wait_for_function(ALL_CHARTS_RENDERED, timeout=20_000)
    page.evaluate("window.scrollTo(0, 0)")


def test_loads_clean_self_contained_and_renders_every_figure(open_page):
    page = open_page(viewport={"width": 1280, "height": 400})
    n_charts = page.locator(".vega-chart").count()
    assert n_charts >= 1 and page.locator("figure.figure").count() >= n_charts
    # nothing of vega is fetched before a chart nears the viewport (charts.js starts 300 px ahead)
    assert page.locator("figure:has(.vega-chart)").first.bounding_box()["y"] > 400 + 300
    page.wait_for_timeout(300)
    assert not page.evaluate("performance.getEntriesByType('resource').some(e => /vega/.test(e.name))")
    render_all(page)
    for fig in page.query_selector_all("figure.figure"):
        charted = fig.query_selector(".vega-chart") is not None
        static = fig.query_selector(".static-figure")
        assert static.is_visible() != charted, "a rendered chart replaces its static image, and only then"
        if not charted:
            assert fig.eval_on_selector("img", "i => i.complete && i.naturalWidth > 0")
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert any(u.endswith("vega-embed.min.js") for u in loaded)
    assert page.errors == [] and page.outside == []
    # the appendix links to each figure's provenance card, and opens it
    card = page.locator("#provenance a").first
    card.click()
    assert page.locator(f"details[id='{card.get_attribute('href')[1:]}']").evaluate("d => d.open")
    # every cross-reference and citation points at something on the page
    for href in page.eval_on_selector_all("main a[href^='#']", "as => as.map(a => a.getAttribute('href'))"):
        assert page.locator(f"[id='{href[1:]}']").count() == 1, href


def test_chart_control_changes_chart(open_page):
    page = open_page()
    render_all(page)
    controls = page.locator(".vega-chart .vega-bind select, .vega-chart .vega-bind input[type=range]")
    assert controls.count() >= 1
    for i in range(controls.count()):
        control = controls.nth(i)
        chart = control.locator("xpath=ancestor::div[contains(@class,'vega-chart')]")
        before = chart.locator("svg").first.inner_html()
        if control.evaluate("e => e.tagName") == "SELECT":
            values = control.evaluate("s => [...s.options].map(o => o.value)")
            current = control.input_value()
            control.select_option(next(v for v in values if v != current))
        else:
            control.focus()
            page.keyboard.press("Home")
        page.wait_for_function("([el, html]) => el.querySelector('svg').innerHTML !== html",
                               arg=[chart.element_handle(), before])
    assert page.errors == []


def test_footnote_and_citation_cards_on_hover_focus_and_tap(open_page):
    page = open_page()
    card = page.locator("#hover-card")
    note = page.locator("main a.footnote-ref").first
    note_text = page.locator(f"[id='{note.get_attribute('href')[1:]}']").inner_text().replace("↩︎", "").strip()
    note.hover()
    card.wait_for(state="visible")
    assert note_text in card.inner_text()
    cite = page.locator("main .citation a[data-ref]").first
    ref_text = page.locator(f"#ref-{cite.get_attribute('data-ref')}").inner_text().strip()
    cite.hover()
    page.wait_for_function("t => document.getElementById('hover-card').innerText.includes(t)", arg=ref_text[:40])
    page.mouse.move(5, 5)
    card.wait_for(state="hidden")
    cite.focus()  # keyboard readers get the same card
    card.wait_for(state="visible")
    page.keyboard.press("Escape")
    card.wait_for(state="hidden")
    # a tap shows the card instead of jumping away
    touch = open_page(viewport={"width": 390, "height": 800}, has_touch=True, is_mobile=True)
    touch.locator("main a.footnote-ref").first.tap()
    touch.locator("#hover-card").wait_for(state="visible")
    assert urlsplit(touch.url).fragment == ""


def test_dark_mode_toggle_swaps_colours_figures_and_persists(open_page):
    page = open_page(color_scheme="light")
    dark_fg = page.evaluate("JSON.parse(document.getElementById('chart-theme').textContent).dark.fg")
    render_all(page)
    bg = lambda: page.evaluate("getComputedStyle(document.documentElement).backgroundColor")  # noqa: E731
    light_bg = bg()
    toggle = page.locator("#theme-toggle")
    assert toggle.inner_text().strip() == "Dark theme"  # what a click gives
    toggle.focus()
    page.keyboard.press("Enter")  # a keyboard reader can switch too
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert toggle.inner_text().strip() == "Light theme"
    assert bg() != light_bg and _luminance(bg()) < _luminance(light_bg)
    _assert_static_figures_show(page, "-dark.svg")
    page.wait_for_function("fg => [...document.querySelectorAll('.vega-chart svg text')].some("
                           "t => t.getAttribute('fill') === fg)", arg=dark_fg)
    page.reload(wait_until="load")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    _assert_static_figures_show(page, "-dark.svg")
    page.locator("#theme-toggle").click()
    _assert_static_figures_show(page, ".svg", not_suffix="-dark.svg")
    assert page.errors == [] and page.outside == []


def _assert_static_figures_show(page, suffix: str, not_suffix: str = "@") -> None:
    """The image each <picture> really displays (charts hidden again, so every one loads)."""
    render_all(page)
    page.evaluate("document.querySelectorAll('figure.chart-ready').forEach(f => f.classList.remove('chart-ready'))")
    for img in page.query_selector_all(".static-figure img"):
        img.scroll_into_view_if_needed()
    page.wait_for_function("([s, n]) => [...document.querySelectorAll('.static-figure img')].every("
                           "i => i.complete && i.currentSrc.endsWith(s) && !i.currentSrc.endsWith(n))",
                           arg=[suffix, not_suffix])


def _luminance(css: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_narrow_screen_has_no_horizontal_overflow(open_page):
    page = open_page(viewport={"width": 360, "height": 740})
    render_all(page)
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 360
    assert page.evaluate("document.querySelector('.toc details').open") is False  # folded away
    note = page.locator("main .marginnote").first
    assert note.evaluate("n => getComputedStyle(n).float") == "none"  # inline, not in a gutter
    box = note.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360


def test_wide_screen_puts_notes_in_the_margin_and_toc_beside(open_page):
    page = open_page()
    text = page.locator("main .chapter p").first.bounding_box()
    for sel in ("main .marginnote", "main .aside"):
        assert page.locator(sel).first.bounding_box()["x"] > text["x"] + text["width"], sel
    toc = page.locator(".toc details")
    assert toc.evaluate("d => d.open") and toc.bounding_box()["x"] + toc.bounding_box()["width"] <= text["x"]
    page.locator("main .chapter").last.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 900
    assert 0 <= page.locator(".toc summary").bounding_box()["y"] < 900  # it followed the reader down


@pytest.mark.parametrize("scheme,width", [("light", 1280), ("dark", 360)])
def test_axe_core_finds_no_violations(open_page, scheme, width):
    page = open_page(color_scheme=scheme, viewport={"width": width, "height": 800})
    render_all(page)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    problems = [f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
                for v in result["violations"]]
    assert problems == []


def test_print_and_no_javascript_show_static_figures(open_page):
    page = open_page(color_scheme="dark")
    render_all(page)
    page.emulate_media(media="print")
    assert page.locator(".static-figure").first.is_visible()
    assert not page.locator(".vega-chart").first.is_visible()
    assert not page.locator("#theme-toggle").is_visible() and not page.locator(".copy-code").first.is_visible()
    # paper is light, whatever the screen's theme: light colours and the light figures
    assert _luminance(page.evaluate("getComputedStyle(document.documentElement).backgroundColor")) > 250
    _assert_static_figures_show(page, ".svg", not_suffix="-dark.svg")
    plain = open_page(java_script_enabled=False)
    assert plain.locator(".static-figure img").first.is_visible()
    assert not plain.locator(".vega-chart").first.is_visible() and not plain.locator("#theme-toggle").is_visible()
    assert plain.locator(".toc a").first.is_visible()  # the contents stay reachable without scripts


def test_code_is_highlighted_and_copied(open_page):
    page = open_page(permissions=["clipboard-read", "clipboard-write"])
    block = page.locator("main div.sourceCode").first
    assert block.locator("code span.kw").count() >= 1  # pandoc's highlighting, styled by the page
    block.hover()
    block.locator("button.copy-code").click()
    assert page.evaluate("navigator.clipboard.readText()") == block.locator("pre").inner_text().rstrip("\n")
    assert block.locator("button.copy-code").inner_text() == "Copied"
