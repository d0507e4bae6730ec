"""A companion notebook's executed copy is kept with the project (content/notebooks/executed/),
so that a fresh clone, with no .cache, shows its outputs without running it, and its page
says where they came from. The copy is rewritten when the cells or a file the run read
change; a frozen build refuses a stale copy instead of running it. Real builds, real kernels."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import fresh_build
from sitegen.build import build
from sitegen.errors import BuildError
from sitegen.project import load_project


def notebook(code: str):
    nb = new_notebook(cells=[new_markdown_cell("# Stored outputs\n\nIt reads a number."), new_code_cell(code)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    for i, c in enumerate(nb.cells):
        c.id = f"cell-{i}"
    return nb


@pytest.fixture(scope="module")
def built(built_project, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("store") / "proj"
    shutil.copytree(built_project, root, symlinks=True)
    folder = root / "content" / "notebooks"
    folder.mkdir()
    (folder / "number.txt").write_text("41\n")
    nbformat.write(notebook("print('answer', int(open('number.txt').read()) + 1)"), str(folder / "reads.ipynb"))
    log: list[str] = []
    report = build(load_project(root), progress=False, log=log.append)
    assert log == ["executing notebook reads.ipynb (quick mode)"] and report.notebooks_run == ["reads.ipynb"]
    return root


def clone(built: Path, to: Path) -> Path:
    """What a clone has: the project's files, without site/ and .cache/."""
    shutil.copytree(built, to, ignore=shutil.ignore_patterns("site", ".cache"))
    return to


def copy_meta(root: Path) -> dict:
    return json.loads((root / "content" / "notebooks" / "executed" / "reads.ipynb").read_text())["metadata"]["sitegen"]


def test_the_executed_copy_says_what_made_it(built):
    meta = copy_meta(built)
    assert meta["deps"]["project:content/notebooks/number.txt"]
    assert meta["ran"]["quick"] is True and meta["ran"]["python"] == sys.version.split()[0]
    source = (built / "content" / "notebooks" / "reads.ipynb").read_bytes()
    assert "answer 42" in (built / "site" / "notebooks" / "reads.html").read_text()
    assert b"answer 42" not in source  # the author's file stays without outputs; the site offers it as is
    assert (built / "site" / "notebooks" / "reads.ipynb").read_bytes() == source


def test_a_fresh_clone_runs_no_notebook_and_builds_the_same_site(built, tmp_path):
    root = clone(built, tmp_path / "clone")
    out = fresh_build(root, ("nbclient", "ipykernel", "jupyter_client"))
    assert out[-1] == "[] []" and not any("executing notebook" in line for line in out)
    built_files = sorted(p.relative_to(built / "site") for p in (built / "site").rglob("*") if p.is_file())
    assert built_files == sorted(p.relative_to(root / "site") for p in (root / "site").rglob("*") if p.is_file())
    for rel in built_files:  # byte for byte, the notebook's page included
        assert (root / "site" / rel).read_bytes() == (built / "site" / rel).read_bytes(), rel
    page = (root / "site" / "notebooks" / "reads.html").read_text()
    ran = copy_meta(root)["ran"]
    assert f"on {ran['date']}" in page and f"torch {ran['torch']}" in page
    assert "<code>content/notebooks/executed/reads.ipynb</code>" in page
    assert f"digests of the {len(copy_meta(root)['deps'])} files the run imported or read" in " ".join(page.split())


def test_a_file_the_run_read_makes_the_copy_stale_frozen_refuses(built, tmp_path):
    root = clone(built, tmp_path / "clone")
    (root / "content" / "notebooks" / "number.txt").write_text("99\n")
    with pytest.raises(BuildError) as err:
        build(load_project(root), frozen=True, progress=False, log=lambda m: None)
    message = str(err.value)
    assert message.startswith(f"{root / 'content' / 'notebooks' / 'reads.ipynb'}: its executed copy is stale: "
                              "content/notebooks/number.txt changed; a frozen build never runs a notebook")
    assert "content/notebooks/executed/reads.ipynb, to be committed" in message and "\n" not in message
    assert not (root / "site").exists()  # refused before any page was made
    log: list[str] = []
    build(load_project(root), progress=False, log=log.append)  # not frozen: run again, the copy rewritten
    assert log == ["executing notebook reads.ipynb (quick mode)"]
    assert "answer 100" in (root / "site" / "notebooks" / "reads.html").read_text()
    assert copy_meta(root)["deps"] != copy_meta(built)["deps"]
    assert build(load_project(root), progress=False, log=log.append).up_to_date  # the new copy was an input
    chapter = root / "content" / "02-second.md"
    chapter.write_text(chapter.read_text() + "\nOne more sentence.\n")
    build(load_project(root), frozen=True, progress=False, log=log.append)  # fresh now: a frozen build uses it
    assert len(log) == 1


def test_edited_cells_or_no_copy_frozen_refuses_saying_why(built, tmp_path):
    root = clone(built, tmp_path / "clone")
    path = root / "content" / "notebooks" / "reads.ipynb"
    nbformat.write(notebook("print('other cells')"), str(path))
    with pytest.raises(BuildError, match=r"its executed copy is stale: its cells or sitegen/render/kernel.py changed"):
        build(load_project(root), frozen=True, progress=False, log=lambda m: None)
    shutil.rmtree(root / "content" / "notebooks" / "executed")
    with pytest.raises(BuildError, match=r"reads.ipynb: it has no executed copy yet; a frozen build never runs"):
        build(load_project(root), frozen=True, progress=False, log=lambda m: None)
    (root / "content" / "notebooks" / "executed").mkdir()
    (root / "content" / "notebooks" / "executed" / "reads.ipynb").write_text("{not json")
    with pytest.raises(BuildError, match=r"its executed copy reads.ipynb is damaged"):
        build(load_project(root), frozen=True, progress=False, log=lambda m: None)
    log: list[str] = []
    build(load_project(root), progress=False, log=log.append)  # a damaged copy is made again
    assert log == ["executing notebook reads.ipynb (quick mode)"]
    assert "other cells" in (root / "site" / "notebooks" / "reads.html").read_text()
