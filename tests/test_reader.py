"""The page as a reader meets it, in real Chromium: typeset maths that never
clips, print (PDF) in one column, the theme toggle's label, copy buttons,
tooltips on touch, social-card metadata (site: tests/reader_site.py)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from reader_site import URL, chromium, reader, reader_root  # noqa: F401 (fixtures)


EQUATIONS = """() => [...document.querySelectorAll('main .equation')].map(eq => {
  const col = eq.parentElement.getBoundingClientRect(), body = eq.querySelector('.equation-body');
  const num = eq.querySelector('.equation-number'), r = eq.getBoundingClientRect();
  return {id: eq.id, left: r.left - col.left, right: r.right - col.right, page: document.documentElement.clientWidth,
          scrolls: body.scrollWidth > body.clientWidth + 1, focusable: body.tabIndex === 0,
          number: num && num.getBoundingClientRect().right - col.right, numberShown: num ? num.offsetWidth > 0 : null,
          font: getComputedStyle(eq.querySelector('math')).fontFamily};
})"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 360])
def test_math_font_loads_and_no_display_equation_is_wider_than_its_column(reader, width):
    page = reader(viewport={"width": width, "height": 800})
    page.evaluate("document.fonts.ready")
    assert page.evaluate("document.fonts.check('16px \"Latin Modern Math\"')")
    assert page.evaluate("[...document.fonts].some(f => f.family.includes('Latin Modern Math') && f.status === 'loaded')")
    eqs = page.evaluate(EQUATIONS)
    assert len(eqs) >= 4 and all("Latin Modern Math" in e["font"] for e in eqs)
    for e in eqs:
        assert e["left"] >= -1 and e["right"] <= 1, e            # inside its column
        if e["number"] is not None:
            assert e["numberShown"] and e["number"] <= 1, e     # the number is never pushed out
        if e["scrolls"]:
            assert e["focusable"], e                             # a keyboard reader can scroll it
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # the highway equation's three statements: one line apart at most, never clipped
    parts = page.locator("#eq-highway math").evaluate_all("ms => ms.map(m => m.getBoundingClientRect().width)")
    assert len(parts) == 3
    # TeX's layout, which only a font with a MATH table gives: limits above and below the sum,
    # parentheses stretched around the fraction
    sums = page.locator("main munderover").first
    op, under = sums.evaluate("m => [m.children[0].getBoundingClientRect(), m.children[1].getBoundingClientRect()]")
    assert under["top"] >= op["bottom"] - 2
    paren = page.locator("main .equation mo[stretchy='true']").first
    assert paren.evaluate("p => p.getBoundingClientRect().height") > 1.6 * page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)")
    assert page.errors == [] and page.outside == []


PRINT_LAYOUT = """() => {
  const p = document.querySelector('main .chapter p'), fig = document.querySelector('main figure.figure');
  const shown = s => [...document.querySelectorAll(s)].some(e => e.offsetWidth > 0);
  return {left: p.getBoundingClientRect().left, right: p.getBoundingClientRect().right,
          width: document.documentElement.clientWidth, scroll: document.documentElement.scrollWidth,
          toc: shown('.toc'), charts: shown('.vega-chart'), statics: shown('.static-figure img'),
          figureBreak: getComputedStyle(fig).breakInside};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("paper,width_mm", [("A4", 210), ("Letter", 215.9)])
def test_print_is_one_column_from_the_left_margin_and_fits(reader, paper, width_mm):
    page = reader(color_scheme="dark")
    page.locator("figure:has(.vega-chart)").first.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('.vega-chart').dataset.rendered === 'true'", timeout=20_000)
    pdf = page.pdf(format=paper)
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert 1 <= pages <= 25
    # the page box as Chromium lays it out for print: the paper's width less print.css's margins
    page.emulate_media(media="print")
    page.set_viewport_size({"width": round((width_mm - 30) / 25.4 * 96), "height": 1000})
    lay = page.evaluate(PRINT_LAYOUT)
    assert lay["left"] < 4 and lay["right"] <= lay["width"] + 1 and lay["scroll"] <= lay["width"], lay
    assert not lay["toc"] and not lay["charts"] and lay["statics"] and lay["figureBreak"] == "avoid", lay


@pytest.mark.browser
def test_theme_toggle_names_the_theme_it_gives(reader):
    page = reader(color_scheme="light")
    toggle = page.locator("#theme-toggle")
    assert toggle.inner_text().strip() == "Dark theme" and toggle.locator(".icon-moon").is_visible()
    toggle.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert toggle.inner_text().strip() == "Light theme" and toggle.locator(".icon-sun").is_visible()
    dark = reader(color_scheme="dark")  # follows the system before any click
    assert dark.locator("#theme-toggle").inner_text().strip() == "Light theme"


@pytest.mark.browser
def test_bibtex_has_url_and_doi_and_a_copy_button(reader):
    page = reader(permissions=["clipboard-read", "clipboard-write"])
    bib = page.locator("#citation pre.bibtex")
    text = bib.inner_text()
    assert f"url = {{{URL}}}" in text and "doi = {10.1234/test.5678}" in text
    button = page.get_by_role("button", name="Copy the BibTeX entry")
    button.click()
    assert page.evaluate("navigator.clipboard.readText()") == text.rstrip("\n")
    assert "https://doi.org/10.1234/test.5678" in page.locator("#citation pre.citation-text").inner_text()


@pytest.mark.browser
def test_chart_tooltip_opens_on_a_tap(reader):
    page = reader(viewport={"width": 390, "height": 800}, has_touch=True, is_mobile=True)
    page.locator("figure:has(.vega-chart)").first.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('.vega-chart').dataset.rendered === 'true'", timeout=20_000)
    mark = page.locator(".vega-chart svg .mark-symbol path").nth(3)
    mark.scroll_into_view_if_needed()
    box = mark.bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tip = page.locator("#vg-tooltip-element.visible")
    tip.wait_for(state="visible")
    assert "layer" in tip.inner_text()
    page.touchscreen.tap(10, 10)  # a tap outside the chart closes it
    tip.wait_for(state="hidden")
    assert page.errors == []


def test_social_cards_are_absolute_and_the_repository_is_linked(reader_root, built_project):
    html = (reader_root / "site" / "index.html").read_text(encoding="utf-8")
    assert f'<meta property="og:url" content="{URL}">' in html
    assert f'<meta property="og:image" content="{URL}preview.png">' in html
    assert f'<meta name="twitter:image" content="{URL}preview.png">' in html
    assert html.count('href="https://example.org/code/resnets"') >= 2  # reuse and "how the figures were made"
    # without `url:` there is no absolute address: no image rather than a relative one
    plain = (built_project / "site" / "index.html").read_text(encoding="utf-8")
    assert 'property="og:image"' not in plain and 'content="summary"' in plain


def test_vtt_chapters_start_where_the_track_says():
    from sitegen.render.page import vtt_chapters

    track = "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nThe talk\n\n2\n00:01:01.500 --> 00:01:03.500\nGradients\n"
    assert vtt_chapters(track) == [{"start": 0.0, "label": "0:00", "title": "The talk"},
                                   {"start": 61.5, "label": "1:01", "title": "Gradients"}]


def test_math_font_subsets_are_the_ranges_the_stylesheet_declares():
    """article.css's two unicode-ranges are the ones subset.py cut the font files to."""
    import importlib.util

    fonts = Path(__file__).resolve().parent.parent / "templates" / "static" / "vendor" / "fonts"
    spec = importlib.util.spec_from_file_location("fontsubset", fonts / "subset.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    css = (fonts.parent.parent / "article.css").read_text(encoding="utf-8")
    faces = dict(re.findall(r'url\("vendor/fonts/([\w-]+\.woff2)"\) format\("woff2"\);\s*unicode-range: ([^;]+);', css))
    assert faces == {"lmmath-core.woff2": mod.CORE.replace(",", ", "), "lmmath-extra.woff2": mod.EXTRA.replace(",", ", ")}
    assert not set(mod.codepoints(mod.CORE)) & set(mod.codepoints(mod.EXTRA))
    for name in faces:
        assert (fonts / name).read_bytes()[:4] == b"wOF2" and (fonts / name).stat().st_size < 200_000
    assert "GUST Font License" in (fonts / "LICENSE-latin-modern-math.txt").read_text(encoding="utf-8")
