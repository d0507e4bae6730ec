"""An author's own figures that cannot be built: a missing image, one without alt
text, an unknown diagram or model. Each fails the real build with one line,
`file:line: message`, exit 1, and leaves site/ as it was."""
from __future__ import annotations

import pytest

from conftest import append, at, cli_build, refused, site_files

CH2 = "02-second.md"
BOX = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>\n'


@pytest.fixture
def proj(built_copy):
    (built_copy / "content" / "images").mkdir()
    (built_copy / "content" / "images" / "box.svg").write_text(BOX)
    return built_copy, site_files(built_copy), built_copy / "content"


@pytest.mark.parametrize("figure,expected", [
    ('![A box.](images/none.svg){#fig:none alt="A box"}', "figure image 'images/none.svg' not found"),
    ("![A box.](images/box.svg){#fig:box}", "figure image 'images/box.svg' has no alt text"),
    ('![A box.](images/box.txt){#fig:box alt="A box"}', "must be .svg or .png"),
    ('![A box.](../../outside.svg){#fig:box alt="A box"}', "is outside the project"),
    ('![Blocks.](diagram:nope){#fig:nope}', "unknown diagram 'nope'; known: blocks, stages"),
    ('![Blocks.](diagram:blocks){#fig:b models="resnet20 resnet99"}', "diagram 'blocks': unknown model 'resnet99'"),
])
def test_bad_author_figure_is_one_line_and_keeps_the_site(proj, capsys, figure, expected):
    root, before, content = proj
    line = append(content / CH2, "Some text.\n\n" + figure + "\n") + 2
    refused(root, capsys, before, at(CH2, line), expected)


def test_a_good_image_builds_and_a_dark_variant_is_optional(proj, capsys):
    root, _, content = proj
    append(content / CH2, "See @fig:box.\n\n![A box.](images/box.svg){#fig:box alt=\"A black square\"}\n")
    code, err = cli_build(root, capsys)
    assert code == 0, err
    html = (root / "site" / "index.html").read_text()
    assert '<a class="xref" href="#fig-box">Figure 2</a>' in html
    assert (root / "site" / "figures" / "box-dark.svg").read_text() == BOX  # no variant: the same image
