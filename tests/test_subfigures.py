"""Sub-figures, as a Quarto article writes them (`::: {#fig-x layout-ncol=2}`) and in the
project's own labels: one figure number, the images lettered (a), (b), each with its alt
text, caption and dark variant; references to the figure and to a sub-figure ("Figure 3b");
and every shape the build cannot lay out is one line `file:line: message`, exit 1."""
from __future__ import annotations

import re

from conftest import cli_build, site_files
from test_porting import BOX, fails_at

DARK_BOX = BOX.replace("<rect ", '<rect fill="#eee" ')

PANELS = """\
---
title: Panels
---

The blocks side by side (@fig-blocks); the plain one alone in @fig-blocks-plain, the residual
one in @fig:blocks-b, a grid in @fig:grid and one more figure, @fig:after.

::: {#fig-blocks layout-ncol=2}
![The plain block [@he2016deep].](images/plain.svg){#fig-blocks-plain alt="Two convolutions, one after the other"}

![The residual block.](images/residual.svg){alt="The same two convolutions with a shortcut around them"}

![A third, *narrowed*.](images/plain.svg){#fig-blocks-third alt="The plain block again" width=50%}

Three blocks; only @fig-blocks-plain lacks the shortcut.
:::

![After the panels.](images/residual.svg){#fig:after alt="A box"}

::: {#fig:grid .page layout-nrow=2}
![One.](images/plain.svg){alt="One box"}

![Two.](images/plain.svg){alt="Two boxes"}

![Three.](images/plain.svg){alt="Three boxes"}
:::
"""


def panels(root, text: str = PANELS):
    images = root / "content" / "images"
    images.mkdir(exist_ok=True)
    for name in ("plain", "residual", "box"):
        (images / f"{name}.svg").write_text(BOX)
    (images / "plain-dark.svg").write_text(DARK_BOX)
    (root / "content" / "03-panels.md").write_text(text)
    return root / "content"


def test_sub_figures_are_one_figure_lettered_and_referred_to(built_copy, capsys):
    panels(built_copy)
    code, err = cli_build(built_copy, capsys)
    assert code == 0, err
    site = built_copy / "site"
    page = (site / "index.html").read_text()
    group = re.search(r'<figure class="figure subfigures l-body" id="fig-blocks" data-figure="blocks">'
                      r'<div class="subfigure-grid" style="--columns: 2">(.*?)</div><figcaption>'
                      r'<span class="figure-number">Figure (\d+)\.</span> Three blocks; only '
                      r'<a class="xref" href="#fig-blocks-plain">Figure \d+a</a> lacks', page, re.S)
    assert group, page[page.find('id="fig-blocks"') - 200:][:1500]
    cells, number = group[1], int(group[2])
    subs = re.findall(r'<figure class="subfigure" id="([^"]+)">.*?<img src="figures/([^"]+)" alt="([^"]*)".*?'
                      r'<figcaption><span class="subfigure-letter">\((\w)\)</span> (.*?)</figcaption></figure>', cells)
    assert [(a, src, letter) for a, src, _, letter, _ in subs] == [
        ("fig-blocks-plain", "blocks-plain.svg", "a"), ("fig-blocks-b", "blocks-b.svg", "b"),
        ("fig-blocks-third", "blocks-third.svg", "c")], subs
    assert [alt for _, _, alt, _, _ in subs] == ["Two convolutions, one after the other",
                                                 "The same two convolutions with a shortcut around them",
                                                 "The plain block again"]
    assert re.search(r'The plain block <span class="citation" data-cites="he2016deep">\[<a href="#ref-he2016deep"',
                     subs[0][4]) and subs[2][4] == "A third, <em>narrowed</em>."
    assert '<div class="figure-media sized" style="max-width: 50%"><picture' in cells
    # one number: the group is Figure N, the next figure N + 1; references name the sub-figure's letter
    refs = dict(re.findall(r'<a class="xref" href="#(fig-[\w-]+)">(Figure \d+\w?)</a>', page))
    assert refs["fig-blocks"] == f"Figure {number}" and refs["fig-after"] == f"Figure {number + 1}"
    assert refs["fig-blocks-plain"] == f"Figure {number}a" and refs["fig-blocks-b"] == f"Figure {number}b"
    assert refs["fig-grid"] == f"Figure {number + 2}"
    # each image its own files, its dark variant beside it (the residual block has none: light in both)
    figures = site / "figures"
    assert (figures / "blocks-plain-dark.svg").read_text() == DARK_BOX
    assert (figures / "blocks-b-dark.svg").read_text() == BOX == (figures / "blocks-b.svg").read_text()
    assert 'srcset="figures/blocks-plain-dark.svg" media="screen and (prefers-color-scheme: dark)"' in cells
    assert not (figures / "blocks.svg").exists()
    # layout-nrow=2 of three: two columns; the div's .page widens the whole figure
    assert re.search(r'<figure class="figure subfigures l-page" id="fig-grid" data-figure="grid">'
                     r'<div class="subfigure-grid" style="--columns: 2">', page)
    # the card lists each part's source
    card = re.search(r'id="fig-blocks-provenance">.*?</details>', page, re.S)[0]
    assert "(a) content/images/plain.svg, (b) content/images/residual.svg" in card
    assert "(a) dark variant" in card and "(b) dark variant" not in card
    # a rebuild changes no byte
    before = site_files(built_copy)
    assert cli_build(built_copy, capsys)[0] == 0 and site_files(built_copy) == before


FIGURE_DIV = "::: {#fig-p layout-ncol=2}\n"
TWO = '![A](images/box.svg){alt="A"}\n\n![B](images/box.svg){alt="B"}\n'

BAD = [
    ('::: {#fig-p layout="[[1,1],[1]]"}\n' + TWO + ":::\n", 0,
     "figure div attribute layout=[[1,1],[1]] is not supported", "layout-ncol=N", "layout-nrow=N"),
    ("::: {#fig-p fig-cap-location=top layout-ncol=2}\n" + TWO + ":::\n", 0,
     "figure div attribute fig-cap-location=top is not supported"),
    ("::: {layout-ncol=2}\n" + TWO + ":::\n", 0, "layout-ncol lays out the sub-figures of a figure div, which needs a label"),
    ("::: {#fig-p layout-ncol=two}\n" + TWO + ":::\n", 0, "layout-ncol=two must be a whole number from 1 to 6"),
    ("::: {#fig-p .column-page layout-ncol=2}\n" + TWO + ":::\n", 0, "figure div class .column-page is not supported"),
    (FIGURE_DIV + '![A](images/box.svg){alt="A"}\n:::\n', 0, "figure div {#fig:p} needs two or more sub-figures"),
    ("::: {#fig-p}\n![A](images/box.svg)\n:::\n", 0, "needs two or more sub-figures"),
    (FIGURE_DIV + '![A](images/box.svg){alt="A"}\n![B](images/box.svg){alt="B"}\n:::\n', 0,
     "each image a paragraph of its own"),
    (FIGURE_DIV + "Intro first.\n\n" + TWO + ":::\n", 0, "and then its caption, one paragraph"),
    (FIGURE_DIV + TWO + "\nCaption.\n\nMore caption.\n:::\n", 0, "and then its caption, one paragraph"),
    (FIGURE_DIV + '![A](images/box.svg){#fig-p-a}\n\n![B](images/box.svg){alt="B"}\n:::\n', 1,
     "figure image 'images/box.svg' has no alt text"),
    (FIGURE_DIV + TWO + "\n" + '![C](charts/depth.vl.json){alt="C"}\n:::\n', 0, "not a chart"),
    (FIGURE_DIV + '![A](images/box.svg){#fig-p-a .page alt="A"}\n\n![B](images/box.svg){alt="B"}\n:::\n', 1,
     "sub-figure class .page is not supported"),
    (FIGURE_DIV + '![A](images/box.svg){#fig-p-a alt="A"}\n\n![B](images/box.svg){#fig-p-a alt="B"}\n:::\n', 3,
     "figure label fig:p-a is used twice"),
]


def test_what_sub_figures_cannot_lay_out_is_an_error_at_its_line(built_copy, capsys):
    from test_porting import port

    port(built_copy)
    (built_copy / "content" / "03-ported.md").unlink()
    original = (built_copy / "content" / "02-second.md").read_text()
    for text, offset, *expected in BAD:
        (built_copy / "content" / "02-second.md").write_text(original)
        fails_at(built_copy, capsys, text, offset, *expected)


def test_columns_follow_quarto_layout_attributes():
    from sitegen.render.subfigures import columns

    assert columns({"layout-ncol": "2"}, 3) == 2 and columns({"layout-ncol": "4"}, 2) == 2  # never more than parts
    assert columns({"layout-nrow": "2"}, 3) == 2 and columns({"layout-nrow": "1"}, 3) == 3
    assert columns({}, 3) == 1  # a figure div without a layout: stacked
