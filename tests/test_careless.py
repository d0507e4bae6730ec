"""A careless author's chapters: each mistake fails the real build with one line,
`file:line: message` naming the line of the source (not of Jinja's output), exit 1,
and site/ byte for byte as it was."""
from __future__ import annotations

import re

import pytest

from conftest import append, at, cli_build, refused, site_files

CH1, CH2 = "01-first-chapter.md", "02-second.md"
SKIP_4 = "{% if false %}\nfour\nlines\ngone\n{% endif %}\n"  # Jinja's output is 5 lines shorter here


@pytest.fixture
def proj(built_copy):
    return built_copy, site_files(built_copy), built_copy / "content"


def test_duplicate_equation_label_across_chapters(proj, capsys):
    root, before, content = proj
    line = append(content / CH2, "$$ z = 1 $$ {#eq:block}\n")
    refused(root, capsys, before, at(CH2, line), "equation label eq:block is used twice (first in 01-first-chapter.md)")


def test_duplicate_equation_label_in_one_chapter(proj, capsys):
    root, before, content = proj
    line = append(content / CH1, "Again:\n\n$$ z = 1 $$ {#eq:block}\n") + 2
    refused(root, capsys, before, at(CH1, line), "equation label eq:block is used twice;")


def test_duplicate_table_label(proj, capsys):
    root, before, content = proj
    line = append(content / CH2, "| a |\n|---|\n| 1 |\n\nTable: Again. {#tbl:small}\n") + 4
    refused(root, capsys, before, at(CH2, line), "table label tbl:small is used twice")


@pytest.mark.parametrize("chapter", [CH1, CH2])
def test_figure_placed_twice(proj, capsys, chapter):
    root, before, content = proj
    line = append(content / chapter, '{{ figure("gradient_flow") }}\n')
    refused(root, capsys, before, at(chapter, line), "figure 'gradient_flow' is placed twice")


def test_same_heading_in_two_chapters_referred_to(proj, capsys):
    root, before, content = proj
    append(content / CH1, "## Setup\n\nOne.\n")
    line = append(content / CH2, "## Setup\n\nTwo, unlike @sec:setup.\n") + 2
    refused(root, capsys, before, at(CH2, line), "@sec:setup is ambiguous", "01-first-chapter.md, 02-second.md")


def test_same_heading_twice_in_one_chapter_referred_to(proj, capsys):
    root, before, content = proj
    line = append(content / CH2, "## Setup\n\nOne.\n\n## Setup\n\nTwo, see @sec:setup.\n") + 6
    refused(root, capsys, before, at(CH2, line), "@sec:setup is ambiguous")


def test_same_heading_unreferred_gets_distinct_anchors(proj, capsys):
    root, _, content = proj
    append(content / CH1, "## Setup\n\nOne.\n")
    append(content / CH2, "## Setup\n\nTwo.\n\n## Setup {#setup-again}\n\nThree, after @sec:setup-again.\n")
    code, err = cli_build(root, capsys)
    assert code == 0, err
    page = (root / "site" / "index.html").read_text()
    ids = re.findall(r'<section id="([^"]*setup[^"]*)"', page)
    assert sorted(ids) == ["first-chapter-setup", "second-setup", "second-setup-again"]
    assert '<a class="xref" href="#second-setup-again">Section 2</a>' in page


def test_duplicate_heading_id(proj, capsys):
    root, before, content = proj
    line = append(content / CH2, "## One {#same}\n\n## Two {#same}\n") + 2
    refused(root, capsys, before, at(CH2, line), "two headings have the id same")


@pytest.mark.parametrize("case, bad, needle", [
    ("unknown citation", "Cited [@nobody2099].", "unknown citation @nobody2099"),
    ("broken cross-reference", "See @fig:nothing.", "broken cross-reference @fig:nothing"),
    ("undefined footnote", "Noted.[^nope]", "footnote [^nope] is not defined"),
    ("duplicate table label", "| a |\n|---|\n| 1 |\n\nTable: Again. {#tbl:small}", "table label tbl:small"),
    ("duplicate equation label", "$$ w $$ {#eq:grad}", "equation label eq:grad is used twice"),
])
def test_errors_after_jinja_name_the_source_line(proj, capsys, case, bad, needle):
    """Jinja dropped lines above the mistake: the line is still the source's."""
    root, before, content = proj
    chapter = content / CH2
    chapter.write_text(chapter.read_text().replace("## A section", SKIP_4 + "\n## A section", 1))
    line = append(chapter, bad + "\n") + bad.count("\n")
    refused(root, capsys, before, at(CH2, line), needle)


def test_undefined_footnote(proj, capsys):
    root, before, content = proj
    line = append(content / CH1, "A claim.[^nope]\n")
    refused(root, capsys, before, at(CH1, line), "footnote [^nope] is not defined; add a line `[^nope]: its text`")


@pytest.mark.parametrize("case, front, line, expected", [
    ("claims: yes", "title: First chapter\nclaims: yes\n", 3, "`claims:` must be a list of expressions"),
    ("claim not text", "title: First chapter\nclaims:\n  - 1 > 0\n  - 3\n", 5, "each claim must be an expression"),
    ("duplicate key", "title: First chapter\ndescription: a\ntitle: Again\n", 4,
     "invalid YAML front matter: duplicate key 'title' (also on line 2)"),
    ("duplicate nested key", "title: T\nclaims:\n  - {a: 1, a: 2}\n", 4, "duplicate key 'a'"),
    ("draft not a boolean", "title: T\ndraft: maybe\n", 3, "`draft:` must be true or false"),
    ("slug with spaces", "title: T\nslug: my chapter\n", 3, "`slug:` 'my chapter' must be letters"),
    ("title not text", "title: [a, b]\n", 2, "front matter needs a `title:`"),
    ("unknown key", "title: T\nclaim: x > 1\n", 3, "unknown front matter key 'claim'"),
])
def test_bad_front_matter(proj, capsys, case, front, line, expected):
    root, before, content = proj
    text = (content / CH1).read_text()
    body = text.split("---\n", 2)[2]
    (content / CH1).write_text("---\n" + front + "---\n" + body)
    refused(root, capsys, before, at(CH1, line), expected)


def test_duplicate_key_in_site_config(proj, capsys):
    root, before, content = proj
    append(content / "site.yml", "profile: quick\n")
    refused(root, capsys, before, at("site.yml", 11), "duplicate key 'profile' (also on line 9)")


@pytest.mark.parametrize("case, encode", [
    ("BOM", lambda t: "\ufeff" + t),
    ("CRLF", lambda t: t.replace("\n", "\r\n")),
    ("BOM and CRLF", lambda t: "\ufeff" + t.replace("\n", "\r\n")),
    ("CR only", lambda t: t.replace("\n", "\r")),
])
def test_bom_and_crlf_chapters_are_read(proj, capsys, case, encode):
    root, _, content = proj
    chapter = content / CH2
    chapter.write_bytes(encode(chapter.read_text() + "\nWindows line.\n").encode("utf-8"))
    code, err = cli_build(root, capsys)
    assert code == 0, err
    page = (root / "site" / "index.html").read_text()
    assert "Windows line." in page and "\r" not in page and "\ufeff" not in page
    assert '<a class="xref" href="#tbl-small">Table 1</a>' in page


def test_crlf_chapter_errors_name_the_right_line(proj, capsys):
    root, before, content = proj
    chapter = content / CH2
    line = append(chapter, "Cited [@nobody2099].\n")
    chapter.write_bytes(chapter.read_bytes().replace(b"\n", b"\r\n"))
    refused(root, capsys, before, at(CH2, line), "unknown citation @nobody2099")


def test_result_of_a_group_is_an_error(proj, capsys):
    root, before, content = proj
    line = append(content / CH1, 'All of it: {{ result("gradient_flow", "plain56") }}.\n')
    refused(root, capsys, before, at(CH1, line), "result gradient_flow/plain56 is a group of values, not one; "
                                             "name one of: first_layer_norm, first_over_last")


def test_result_of_a_list_is_an_error(proj, capsys):
    root, before, content = proj
    line = append(content / CH1, '{{ result("gradient_flow", "depths") }}\n')
    refused(root, capsys, before, at(CH1, line), "result gradient_flow/depths is a list of 2 values")


def test_bad_fmt_is_an_error(proj, capsys):
    root, before, content = proj
    line = append(content / CH1, '{{ result("gradient_flow", "plain56", "layers", fmt="{:.1q}") }}\n')
    refused(root, capsys, before, at(CH1, line), "fmt '{:.1q}'")


def test_chapter_without_number(proj, capsys):
    root, before, content = proj
    (content / "notes.md").write_text("---\ntitle: Notes\n---\n\nForgotten.\n")
    refused(root, capsys, before, at("content/notes.md", 1),
            "a chapter file's name starts with its number, such as 08-notes.md")


def test_unknown_experiment_in_a_claim(proj, capsys):
    root, before, content = proj
    chapter = content / CH1
    chapter.write_text(chapter.read_text().replace("claims:\n", 'claims:\n  - result("nosuch", "x") > 1\n', 1))
    refused(root, capsys, before, at(CH1, 4), "unknown experiment 'nosuch'")


def test_figure_inside_a_paragraph_is_an_error(proj, capsys):
    """It would vanish: only a figure on a paragraph of its own is placed."""
    root, before, content = proj
    line = append(content / CH2, 'Here: {{ figure("gradient_flow") }} in a sentence.\n')
    refused(root, capsys, before, at(CH2, line), 'figure("gradient_flow") must be a paragraph of its own')


def test_arithmetic_error_in_a_chapter_is_the_authors(proj, capsys):
    root, before, content = proj
    line = append(content / CH1, '{{ value("gradient_flow", "plain56", "spread") / 0 }}\n')
    refused(root, capsys, before, at(CH1, line), "ZeroDivisionError: float division by zero")


def test_a_macro_called_with_too_many_arguments_is_the_authors(proj, capsys):
    # Jinja raises the TypeError below the sandbox's own call(), which only passes it on
    root, before, content = proj
    line = append(content / CH1, "{% macro twice() %}2{% endmacro %}{{ twice(1, 2) }}\n")
    refused(root, capsys, before, at(CH1, line), "TypeError: macro 'twice' takes not more than 0 argument(s)")
