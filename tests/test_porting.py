"""An article written for Quarto, ported: what it uses either works (callouts, {#fig-x}
labels, image widths, a static Vega-Lite chart, unnumbered front matter, narrative
citations, subtitle, several affiliations, lang) or is one line `file:line: message`,
exit 1, with the last good site kept. Nothing is dropped in silence."""
from __future__ import annotations

import json
import re

from conftest import append, cli_build, refused, site_files

SPEC = {"$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"values": [{"depth": 20, "error": 8.75}, {"depth": 56, "error": 6.97}]},
        "mark": "line", "encoding": {"x": {"field": "depth", "type": "quantitative"},
                                     "y": {"field": "error", "type": "quantitative"}}}
BOX = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>\n'

# what a Quarto article looks like after the README's few replacements (none of these lines changed)
QUARTO = """\
---
title: Depth, ported
---

@he2016deep proposed the residual block; its error falls with depth (@fig-depth, @fig-chart),
as the original paper reports [@he2016deep].

::: {.callout-note}
## Read this first
The numbers in @tbl-errors are the paper's.
:::

::: {.callout-warning title="Not *our* runs"}
They come from a table.
:::

::: callout-tip
A plain tip.
:::

![A box, narrowed.](images/box.svg){#fig-depth alt="A black square" width=60%}

![Error by depth.](charts/depth.vl.json){#fig-chart alt="Test error falls from 8.75% at 20 layers to 6.97% at 56"}

$$ e = 1 - a $$ {#eq-error}

| depth | error |
|---|---:|
| 20 | 8.75 |

: Errors from the paper. {#tbl-errors}

By @eq-error, and see @sec:about and @sec-results; @he2016deep [p. 772] has the table.

## Results {#sec-results}
"""

ABOUT = "---\ntitle: About\nnumbered: false\n---\n\nThis article was ported from Quarto.{## a note to self ##}\n"

SITE = {"subtitle: ": "subtitle: \"A port, with nothing lost\"\n", "lang: ": "lang: en-GB\n"}


def port(root):
    content = root / "content"
    (content / "images").mkdir()
    (content / "images" / "box.svg").write_text(BOX)
    (content / "charts").mkdir()
    (content / "charts" / "depth.vl.json").write_text(json.dumps(SPEC, indent=2))
    (content / "00-about.md").write_text(ABOUT)
    (content / "03-ported.md").write_text(QUARTO)
    site = (content / "site.yml").read_text().replace(
        '    affiliation: "Test Lab"\n',
        '    affiliation: ["Test Lab", "Second Institute"]\n  - name: "Bo Porter"\n    affiliation: "Port Authority"\n')
    (content / "site.yml").write_text(site + "".join(SITE.values()))
    return content


def test_a_quarto_article_ports_with_nothing_lost(built_copy, capsys):
    port(built_copy)
    code, err = cli_build(built_copy, capsys)
    assert code == 0, err
    page = (built_copy / "site" / "index.html").read_text()
    assert page.startswith('<!DOCTYPE html>\n<html lang="en-GB">')
    assert '<p class="subtitle">A port, with nothing lost</p>' in page
    assert "Test Lab; Second Institute" in page and "Port Authority" in page
    assert page.count('name="citation_author_institution"') == 3
    assert "ported from Quarto.</p>" in page and "note to self" not in page  # {## ##}: the README's comment
    # front matter without a number; the chapters after it count from 1
    assert re.search(r'<section class="chapter" id="about"[^>]*>\s*<h2>About</h2>', page)
    assert '<h2><span class="chapter-number">1</span> First chapter</h2>' in page
    assert '<h2><span class="chapter-number">3</span> Depth, ported</h2>' in page
    assert '<a class="xref" href="#about">About</a>' in page
    assert re.search(r'<a class="xref" href="#ported-results">Section 3</a>', page)
    # callouts: styled, labelled for screen readers, titled by a heading, title= or their kind
    assert '<div class="callout callout-note" role="note" aria-label="Note: Read this first">' in page
    assert "<em>our</em> runs" in page and 'aria-label="Tip"' in page
    toc = re.search(r'<nav class="toc".*?</nav>', page, re.S).group(0)
    assert "Depth, ported" in toc and "Read this first" not in toc  # a callout's heading is its title, no section
    # Quarto's labels are the article's own: numbered figures, an equation, a table
    figures = dict(re.findall(r'<a class="xref" href="#fig-(depth|chart)">Figure (\d+)</a>', page))
    assert figures == {"depth": "2", "chart": "3"}, figures
    assert re.search(r'<div class="figure-media sized" style="max-width: 60%">', page)
    assert re.search(r'href="#eq-error">Equation \d+</a>', page) and re.search(r'href="#tbl-errors">Table \d+</a>', page)
    # the chart: its spec published, and drawn by the build (light and dark) for print, no-JS and feeds
    assert 'data-spec="figures/chart.vl.json"' in page and '<script type="application/json" class="vega-spec">' in page
    spec = json.loads((built_copy / "site" / "figures" / "chart.vl.json").read_text())
    assert spec["data"] == SPEC["data"] and spec["description"].startswith("Test error falls")
    static = re.search(r'<figure class="figure l-body" id="fig-chart".*?<img src="figures/chart.svg" '
                       r'alt="Test error falls[^"]*" width="(\d+)" height="(\d+)"', page)
    svgs = {t: (built_copy / "site" / "figures" / f"chart{t}.svg").read_text() for t in ("", "-dark")}
    assert static and re.search(rf'<svg [^>]*width="{static[1]}" height="{static[2]}"', svgs[""]), static
    assert 'srcset="figures/chart-dark.svg"' in page and svgs[""] != svgs["-dark"]
    # a citation in the text names the authors; in brackets it stays a number
    assert re.search(r'<span class="citation narrative" data-cites="he2016deep">He et al\. '
                     r'\[<a href="#ref-he2016deep" data-ref="he2016deep">1</a>\]</span> proposed', page)
    assert re.search(r'reports <span class="citation" data-cites="he2016deep">\[<a ', page)
    assert re.search(r'He et al\. \[<a [^>]*>1</a>, p\.\s772\]</span> has the table', page)  # \s: pandoc's nbsp


def test_a_callout_renders_the_same_bytes_every_run():
    """Its attributes were a Lua table, whose keys pandoc's Lua visits in an order that changes
    from run to run: a cold build wrote role and aria-label either way round."""
    from sitegen import pandoc

    text = '::: {.callout-note title="Hi"}\nBody.\n:::\n'
    outs = {pandoc.markdown_to_html(text) for _ in range(8)}
    assert len(outs) == 1 and 'role="note" aria-label="Note: Hi"' in outs.pop()


def test_narrative_names_follow_the_authors():
    from sitegen.render.references import narrative

    one, two = [{"family": "He"}], [{"family": "Glorot"}, {"family": "Bengio"}]
    assert narrative({"author": one}) == "He"
    assert narrative({"author": two}) == "Glorot and Bengio"
    assert narrative({"author": two + one}) == "Glorot et al."
    assert narrative({"author": [{"family": "Maaten", "non-dropping-particle": "van der"}]}) == "van der Maaten"
    assert narrative({"author": [{"literal": "OpenAI"}]}) == "OpenAI"
    assert narrative({"title": "A report"}) == "“A report”"


def fails_at(root, capsys, text: str, offset: int, *expected: str, name: str = "02-second.md") -> str:
    """`text` appended to a chapter fails at its line `offset` (0: its first)."""
    before = site_files(root)
    line = append(root / "content" / name, text)
    return refused(root, capsys, before, re.escape(name) + f":{line + offset}", *expected)


BAD = [
    ("::: {.callout-foo}\nText.\n:::\n", 0, "fenced div class .callout-foo is not supported", "known: .aside"),
    ("Intro.\n\n::: {.column-margin}\nText.\n:::\n", 2, "fenced div class .column-margin", "::: aside"),
    ("{{< include _intro.qmd >}}\n", 0, "unexpected '<'"),
    ("Text.\n\nMore{# a note to self,\nover two lines #}.\n", 2, "`{# ... #}` is no comment here", "`{## ... ##}`"),
    ("::: {#fig-panels layout-ncol=2}\n![A](images/box.svg){#fig-a}\n:::\n", 0, "needs two or more sub-figures"),
    ('::: {#fig-panels layout="[[1],[1]]"}\n![A](images/box.svg)\n:::\n', 0, "layout=[[1],[1]] is not supported"),
    ('::: {.callout-note collapse="true"}\nText.\n:::\n', 0, "callout attribute collapse is not supported"),
    # the README's "Add a figure" with the blank line between the two images left out
    ('![A.](images/box.svg){#fig:one alt="A"}\n![B.](images/box.svg){#fig:two alt="B"}\n', 0,
     "figure image {#fig:one} must be a paragraph of its own"),
    ('Text with ![a box](images/box.svg){#fig-inline alt="A"} inside.\n', 0, "{#fig:inline} must be a paragraph"),
    ('- ![A.](images/box.svg){#fig:listed alt="A"}\n', 0, "{#fig:listed} must be a paragraph"),
    ('Inline ![a](images/box.svg){width="50%;position:fixed"}.\n', 0, "image width 50%;position:fixed is not a length"),
    ('![A.](images/box.svg){#fig:wide alt="A" width=150%}\n', 0, "figure width '150%' must be a percentage up to 100%"),
    ('![A.](images/box.svg){#fig:al alt="A" fig-align="center"}\n', 0, "figure attribute fig-align is not supported"),
    ('![A.](images/box.svg){#fig:mg .column-margin alt="A"}\n', 0, "figure class .column-margin is not supported"),
    ('![C.](charts/none.vl.json){#fig:c alt="A"}\n', 0, "chart spec 'charts/none.vl.json' not found"),
    ('![C.](charts/depth.vl.json){#fig:c}\n', 0, "chart 'charts/depth.vl.json' has no alt text"),
]


def test_what_would_be_lost_is_an_error_at_its_line(built_copy, capsys):
    port(built_copy)
    (built_copy / "content" / "03-ported.md").unlink()  # the images stay; the article without the port
    original = (built_copy / "content" / "02-second.md").read_text()
    for text, offset, *expected in BAD:
        (built_copy / "content" / "02-second.md").write_text(original)
        fails_at(built_copy, capsys, text, offset, *expected)


def test_a_broken_chart_spec_is_blamed_at_its_own_line(built_copy, capsys):
    content = port(built_copy)
    before = None
    cases = [('{\n  "mark": "line",\n  "data": {"values": [1, 2,]}\n}\n', "depth.vl.json:3", "not valid JSON"),
             ('{\n  "data": {"values": []},\n  "mark": "barr"\n}\n', "depth.vl.json:3", "not Vega-Lite at mark"),
             ('{\n  "mark": "line",\n  "data": {"url": "https://example.org/d.csv"}\n}\n', "depth.vl.json:3",
              "is not published with the site"),
             ('{"mark": "line", "data": {"values": [{"a": NaN}]}}', "depth.vl.json", "NaN is not JSON"),
             ('[1, 2]', "depth.vl.json:1", "a chart spec is a JSON object")]
    for spec, where, expected in cases:
        (content / "charts" / "depth.vl.json").write_text(json.dumps(SPEC))
        if before is None:
            assert cli_build(built_copy, capsys)[0] == 0
            before = site_files(built_copy)
        (content / "charts" / "depth.vl.json").write_text(spec)
        refused(built_copy, capsys, before, re.escape(where), expected)


def test_front_matter_and_site_settings_are_checked_at_their_line(built_copy, capsys):
    content = built_copy / "content"
    before = site_files(built_copy)
    (content / "00-about.md").write_text("---\ntitle: About\nnumbered: no way\n---\n\nText.\n")
    refused(built_copy, capsys, before, r"00-about\.md:3", "`numbered:` must be true or false")
    (content / "00-about.md").unlink()
    site = (content / "site.yml").read_text()
    (content / "site.yml").write_text(site + "lang: english please\n")
    refused(built_copy, capsys, before, rf"site\.yml:{site.count(chr(10)) + 1}", "`lang:` must be a language tag")
    (content / "site.yml").write_text(site.replace('affiliation: "Test Lab"', "affiliation: {lab: 1}"))
    refused(built_copy, capsys, before, r"site\.yml:\d+", "`affiliation:` of Ada Tester must be text or a list")


def readme_blocks(section: str) -> list[tuple[str, str]]:
    from conftest import REPO

    text = (REPO / "README.md").read_text().split(f"\n## {section}\n", 1)[1]
    found = re.findall(r"^```(\w*)\n(.*?)^```|^(## )", text, re.S | re.M)  # a heading in a block is no end
    return [(lang, body) for lang, body, _ in found[:next((i for i, f in enumerate(found) if f[2]), None)]]


def test_every_site_setting_is_in_the_readme_and_its_example_loads():
    import dataclasses

    import yaml

    from lab.config import from_dict
    from lab.executors import ComputeSettings
    from sitegen.project import SiteConfig

    [(lang, text)] = readme_blocks("Site settings")
    doc = yaml.safe_load(text)
    fields = {f.name for f in dataclasses.fields(SiteConfig)}
    assert lang == "yaml" and fields <= set(doc), fields - set(doc)
    assert all(re.search(rf"\b{f.name}\b", text) for f in dataclasses.fields(ComputeSettings))
    config = from_dict(SiteConfig, {k: v for k, v in doc.items() if k in fields})
    assert config.author_list[0].affiliations == ("Test Lab", "Second Institute")


def test_the_readme_port_example_builds(built_copy, capsys):
    [(lang, text)] = readme_blocks("Porting an article from Quarto")
    content = built_copy / "content"
    (content / "charts").mkdir()
    (content / "charts" / "depth.vl.json").write_text(json.dumps(SPEC))
    (content / "00-about.md").write_text(text)
    code, err = cli_build(built_copy, capsys)
    assert lang == "markdown" and code == 0, err
    page = (built_copy / "site" / "index.html").read_text()
    assert re.search(r"<h2>About this article</h2>", page) and 'class="chapter-number">1</span> First' in page
    assert re.search(r'He et al\. \[<a href="#ref-he2016deep"[^>]*>1</a>\]</span> proposed', page)
    assert '<a class="xref" href="#fig-depth">Figure 1</a> shows' in page
    assert 'class="callout callout-note"' in page and 'aria-label="Note: Where the numbers come from"' in page
