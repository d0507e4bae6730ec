"""What the reader copy shows of its sources, in real Chromium: every quoted
number with its card, the authors' own figures and the diagrams traced from the
models, and the live explorable (site: tests/reader_site.py)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from reader_site import BOX, QUOTED, chromium, reader, reader_root  # noqa: F401 (fixtures)


NUMBER_SPANS = """() => [...document.querySelectorAll('main .result-number')].map(n => ({
  text: n.textContent, experiment: n.dataset.experiment, path: n.dataset.path, derived: !!n.dataset.derived,
  tab: n.tabIndex}))"""


@pytest.mark.browser
def test_every_quoted_number_carries_its_source_and_opens_its_card_on_focus(reader):
    page = reader()
    spans = page.evaluate(NUMBER_SPANS)
    assert len(spans) == QUOTED, spans
    assert all(s["experiment"] == "gradient_flow" and s["path"] and s["tab"] == 0 for s in spans), spans
    assert {s["path"] for s in spans} >= {"plain56/first_over_last", "plain56/spread", "depths/0", "depths/1"}
    assert [s["text"] for s in spans if s["derived"]] == ["55"]
    card = page.locator("#hover-card")
    for i in range(len(spans)):
        number = page.locator("main .result-number").nth(i)
        number.focus()
        card.wait_for(state="visible")
        text = card.inner_text()
        assert spans[i]["text"] in text and "gradient_flow" in text and "quick profile" in text, text
        assert number.get_attribute("aria-describedby") == "hover-card"
        for href in card.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))"):
            assert page.locator(f"[id='{href[1:]}']").count() == 1, href  # the figure, the provenance entry
    assert "Figure 1" in card.inner_text()
    page.keyboard.press("Escape")
    card.wait_for(state="hidden")
    number = page.locator("main .result-number").first
    number.focus()
    page.keyboard.press("Enter")  # goes where the number comes from
    assert page.url.endswith("#fig-gradient_flow")
    # hover with a mouse, and a tap on a phone
    page.locator("main .result-number").nth(2).hover()
    card.wait_for(state="visible")
    phone = reader(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True)
    phone.locator("main .result-number").first.tap()
    phone.locator("#hover-card").wait_for(state="visible")
    assert "gradient_flow" in phone.locator("#hover-card").inner_text()
    assert page.errors == [] and phone.errors == []


@pytest.mark.browser
def test_without_javascript_a_quoted_number_is_plain_text(reader):
    page = reader(java_script_enabled=False)
    spans = page.evaluate("[...document.querySelectorAll('main .result-number')].map(n => n.tabIndex)")
    assert len(spans) == QUOTED and set(spans) == {-1}
    line = page.locator("main p", has_text="first layer gets").first
    assert re.search(r"first layer gets [\d.,]+ times", line.inner_text())
    assert page.locator("#prov-gradient_flow").count() == 1  # the appendix entry the cards link to


@pytest.mark.browser
def test_axe_finds_no_violations_with_number_cards_open(reader):
    page = reader(color_scheme="dark", viewport={"width": 360, "height": 800})
    page.locator("main .result-number").first.focus()
    page.locator("#hover-card").wait_for(state="visible")
    page.add_script_tag(path=str(Path(__file__).resolve().parent.parent / "vendor" / "axe-core" / "axe.min.js"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in result["violations"]] == []


def test_authors_own_figures_are_numbered_and_referred_to(reader_root):
    html = (reader_root / "site" / "index.html").read_text(encoding="utf-8")
    order = re.findall(r'<figure class="figure l-(\w+)" id="(fig-[\w-]+)"', html)
    assert order == [("page", "fig-gradient_flow"), ("body", "fig-box"), ("page", "fig-blocks")]
    assert '<a class="xref" href="#fig-box">Figure 2</a>' in html and '<a class="xref" href="#fig-blocks">Figure 3</a>' in html
    assert re.search(r'<span class="figure-number">Figure 2.</span> A box of our own, drawn by hand '
                     r'<span class="citation" data-cites="he2016deep">\[<a href="#ref-he2016deep"', html)
    assert re.search(r'<img src="figures/box.svg" alt="A blue rectangle" width="\d+" height="\d+"', html)
    assert 'srcset="figures/box-dark.svg"' in html and "image-figure" not in html
    site = reader_root / "site" / "figures"
    assert (site / "box.svg").read_text() == BOX.format(colour="#1f5fa8")
    assert (site / "box-dark.svg").read_text() == BOX.format(colour="#7fb2ff")
    # the diagram: drawn from the models, its alt text from the same trace, its provenance says so
    light, dark = (site / "blocks.svg").read_text(), (site / "blocks-dark.svg").read_text()
    assert light != dark and "identity shortcut" in light and "no shortcut" in light
    alt = re.search(r'<img src="figures/blocks.svg" alt="([^"]+)"', html).group(1)
    assert "plain (plain20)" in alt and "add the shortcut" in alt and "ReLU" in alt
    assert "figures/diagrams/blocks.py" in html


def test_diagrams_follow_the_code_they_trace():
    """What a diagram draws is what the model's forward() does."""
    from figures.diagrams import network_shapes, trace_block

    plain, post, pre = (trace_block(m) for m in ("plain20", "resnet20", "preact_resnet20"))
    assert [x.kind for x in plain.layers] == ["conv", "bn", "relu", "conv", "bn", "relu"] and not plain.residual
    assert [x.kind for x in post.layers] == ["conv", "bn", "relu", "conv", "bn", "add", "relu"]
    assert [x.kind for x in pre.layers] == ["bn", "relu", "conv", "bn", "relu", "conv", "add"]
    assert post.shortcut.label == "identity" and post.input == (16, 32, 32)
    down = trace_block("resnet20_b", stage=2, index=0)
    assert down.shortcut.label == "option B" and down.layers[-1].shape == (32, 16, 16)
    a, b = network_shapes("resnet20"), network_shapes("resnet20_b")
    assert [s["out"] for s in a["stages"]] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    assert a["stages"][1]["shortcut"].label == "option A" and "no parameters" in a["stages"][1]["shortcut"].detail
    # option B's projections (16→32 and 32→64 channels, each a 1×1 conv and a BN) are the whole difference
    assert [s["shortcut"].detail for s in b["stages"][1:]] == ["1×1 conv /2 + BN, 576 parameters",
                                                             "1×1 conv /2 + BN, 2,176 parameters"]
    assert b["params"] - a["params"] == 576 + 2176


@pytest.mark.browser
@pytest.mark.parametrize("width,scheme", [(1280, "light"), (360, "dark")])
def test_explorable_recomputes_when_its_controls_move(reader, width, scheme):
    page = reader(viewport={"width": width, "height": 800}, color_scheme=scheme)
    box = page.locator(".explorable")
    box.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('.explorable').dataset.ready === 'true'")
    assert not box.locator(".explorable-fallback").is_visible()
    live = box.locator("svg path.live")
    assert box.locator("svg path.measured").count() == 1  # our measured curve, from Figure 2's data
    state = lambda: (live.get_attribute("d"), box.locator(".explorable-readout").inner_text())  # noqa: E731
    before = state()
    assert "20-layer plain chain with batch norm" in before[1] and "measured plain-20" in before[1]
    assert "Per layer that is ×" in before[1]  # the toy's ratio reconciled with the measured one
    assert "gradient| ÷ last layer" in box.locator("svg").inner_html()  # the y-axis has its title
    depth = box.locator("input[name=depth]")
    depth.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")  # a slider moved step by step, as a reader drags it
    after = state()
    assert after != before and "25-layer" in after[1] and len(after[0].split("L")) == 25
    grows = float(box.get_attribute("data-first"))
    box.get_by_role("radio", name="residual").check()
    assert "residual chain" in state()[1] and float(box.get_attribute("data-first")) < grows  # the shortcut tames it
    box.get_by_role("checkbox", name="batch norm").uncheck()
    assert "measured residual" not in state()[1] and "set those to compare" in state()[1]
    assert box.locator("svg path.measured").count() == 0  # no comparison with a network measured otherwise
    box.get_by_role("checkbox", name="batch norm").check()
    box.locator("input[name=scale]").fill("1.5")
    assert "1.50× He" in state()[1] and "set those to compare" in state()[1]
    box.get_by_role("button", name="new random weights").click()
    assert state()[0] != after[0]
    stroke = live.get_attribute("stroke")
    assert stroke == page.evaluate(f"JSON.parse(document.getElementById('chart-theme').textContent).{scheme}.category[1]")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.errors == [] and page.outside == []
