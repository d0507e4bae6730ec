"""Issue 23, battery finding 1: every file that reaches site/ resolves inside the project.
A link that leads out (a figure's dark variant, a static asset, a chapter, a file that
site.yml names) fails the build with one line naming it; nothing of it is published."""
from __future__ import annotations

import pytest

from conftest import append, refused as conftest_refused, site_files

SECRET = "secret-outside-the-project-7f3a"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'


@pytest.fixture
def outside(tmp_path):
    path = tmp_path / "elsewhere" / "passwd.svg"
    path.parent.mkdir()
    path.write_text(f"<svg><!-- {SECRET} --></svg>")
    return path


def refused(root, capsys, before, where):
    err = conftest_refused(root, capsys, before, where, "outside the project")
    assert not any(SECRET.encode() in data for data in site_files(root).values())
    return err


def test_implicit_dark_variant_linked_outside(built_copy, capsys, outside):
    before = site_files(built_copy)
    images = built_copy / "content" / "images"
    images.mkdir()
    (images / "block.svg").write_text(SVG)
    (images / "block-dark.svg").symlink_to(outside)
    line = append(built_copy / "content" / "02-second.md",
                  '![A block.](images/block.svg){#fig:block alt="A black square"}\n')
    refused(built_copy, capsys, before, rf"02-second\.md:{line}")


def test_static_file_linked_outside(built_copy, capsys, outside):
    before = site_files(built_copy)
    (built_copy / "templates" / "static" / "leak.svg").symlink_to(outside)
    refused(built_copy, capsys, before, r"static/leak\.svg(:1)?")


def test_chapter_linked_outside(built_copy, capsys, outside):
    before = site_files(built_copy)
    (built_copy / "content" / "03-leak.md").symlink_to(outside)
    refused(built_copy, capsys, before, r"03-leak\.md:1")


def test_bibliography_linked_outside(built_copy, capsys, tmp_path):
    before = site_files(built_copy)
    bib = built_copy / "content" / "references.bib"
    moved = tmp_path / "elsewhere.bib"
    moved.write_bytes(bib.read_bytes())
    bib.unlink()
    bib.symlink_to(moved)
    refused(built_copy, capsys, before, r"references\.bib:1")


def test_write_phase_copies_nothing_from_outside(tmp_path, outside):
    from sitegen import write
    from sitegen.errors import BuildError

    root = tmp_path / "proj"
    (root / "inside").mkdir(parents=True)
    (root / "inside" / "ok.svg").write_text(SVG)
    (root / "inside" / "link.svg").symlink_to(outside)
    with pytest.raises(BuildError, match="outside the project"):
        write.write(root / "site", {"ok.svg": root / "inside" / "ok.svg", "x.svg": root / "inside" / "link.svg"}, root)
    assert not list(root.glob(".site.staging-*")) and not (root / "site").exists()
    staged = write.write(root / "site", {"ok.svg": root / "inside" / "ok.svg"}, root)
    assert (staged / "ok.svg").read_text() == SVG
