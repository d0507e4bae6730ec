"""Issue 23, battery finding 8: each error names the line the mistake is on (not where
Jinja, PyYAML or pandoc gave up), and the file the mistake is in."""
from __future__ import annotations

import pytest

from conftest import append, refused, site_files

CH2 = "02-second.md"


@pytest.mark.parametrize("text", ["The value {{ result(\n\nmore prose\n\nand more\n",
                                  "{{ 1 }} and {{ 2\n\nprose\n\n{{ 3 }}\n"])
def test_unclosed_jinja_tag_is_named_where_it_opens(built_copy, capsys, text):
    before = site_files(built_copy)
    line = append(built_copy / "content" / CH2, text)
    refused(built_copy, capsys, before, rf"{CH2}:{line}")


def test_private_use_character_line(built_copy, capsys):
    before = site_files(built_copy)
    line = append(built_copy / "content" / CH2, "A line.\n\nA private \ue000 character.\n")
    refused(built_copy, capsys, before, rf"{CH2}:{line + 2}", "private-use")


def test_slides_front_matter_line(built_copy, capsys):
    before = site_files(built_copy)
    (built_copy / "content" / "slides.md").write_text("---\ntitle: [unclosed\n---\n## A slide\n\nText.\n")
    refused(built_copy, capsys, before, r"slides\.md:(2|3)", "invalid YAML")


def test_slides_front_matter_line_of_a_bad_key(built_copy, capsys):
    before = site_files(built_copy)
    (built_copy / "content" / "slides.md").write_text("---\ntitle: T\n\nvideo: {nope: 1}\n---\n## A\n\nText.\n")
    refused(built_copy, capsys, before, r"slides\.md:4", "unknown video option")


def test_unclosed_brace_in_the_bibliography(built_copy, capsys):
    before = site_files(built_copy)
    bib = built_copy / "content" / "references.bib"
    bib.write_text("@article{he2016deep,\n  title = {Deep residual learning,\n  year = {2016}\n}\n\n"
                   + bib.read_text() + "\n\n\n")
    refused(built_copy, capsys, before, r"references\.bib:2", "never closed")


def test_non_utf8_bibliography_has_its_line(built_copy, capsys):
    before = site_files(built_copy)
    bib = built_copy / "content" / "references.bib"
    bib.write_bytes(b"@misc{x,\n  title = {caf\xe9}\n}\n\n" + bib.read_bytes())
    refused(built_copy, capsys, before, r"references\.bib:2", "not valid UTF-8")


def test_bad_csl_path_blames_site_yml(built_copy, capsys):
    before = site_files(built_copy)
    yml = built_copy / "content" / "site.yml"
    text = yml.read_text()
    yml.write_text(text + "csl: styles/missing.csl\n")
    refused(built_copy, capsys, before, rf"site\.yml:{text.count(chr(10)) + 1}", "missing.csl", "fix `csl:`")


def test_broken_csl_blames_the_style(built_copy, capsys):
    before = site_files(built_copy)
    (built_copy / "content" / "ieee.csl").write_text('<?xml version="1.0"?>\n<style>\n<oops>\n</style>\n')
    refused(built_copy, capsys, before, r"ieee\.csl:\d+", "not valid XML")
