"""Bad input, the common cases: each fails the real build with one line naming file and
line, exit 1, and site/ byte for byte as it was (conftest.refused, on a copy of the
built fixture project). Careless chapters: test_careless.py; hostile ones: test_sandbox.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import append, at, refused, site_files

CH1 = "01-first-chapter.md"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("case, change, line, expected", [
    ("broken yaml", ("title: First chapter", "title: [unclosed"), 3, "invalid YAML"),
    ("unknown citation", ("[@he2016deep] builds", "[@nobody2099] builds"), 7, "unknown citation @nobody2099"),
    ("unknown figure", ('figure("gradient_flow")', 'figure("no_such_plot")'), 14, "unknown figure 'no_such_plot'"),
    ("unknown result", ('"plain56", "first_over_last"', '"plain56", "no_metric"'), 11,
     "result gradient_flow/plain56/no_metric does not exist"),
    ("broken cross-reference", ("see @fig:gradient_flow", "see @fig:nothing"), 12,
     "broken cross-reference @fig:nothing"),
    ("undefined variable", ("A note.", "A {{ nonsense }} note."), 16, "template error: 'nonsense' is undefined"),
    ("failing claim", ('> result("gradient_flow", "resnet56", "spread")', '< result("gradient_flow", "resnet56", "spread")'),
     4, "claim does not hold"),
])
def test_bad_chapter(built_copy, capsys, case, change, line, expected):
    before = site_files(built_copy)
    edit(built_copy / "content" / CH1, *change)
    refused(built_copy, capsys, before, at(CH1, line), expected)


@pytest.mark.parametrize("case, path, text, where, expected", [
    ("broken bibliography", "references.bib", "@article{x,\n  title = {Unclosed,\n\n@article{y, title={Y}, year=2000}\n",
     r"references\.bib:\d+", "invalid BibTeX"),
    ("unknown setting", "site.yml", "title: ok\nnot_a_setting: 1\n", r"site\.yml:\d+", "not_a_setting"),
    ("malformed site config", "site.yml", 'title: "ok"\nauthors: [unclosed\n', r"site\.yml:\d+", "invalid YAML"),
    ("no front matter", "03-bad.md", "No front matter here.\n", at("03-bad.md", 1), "missing YAML front matter"),
    ("invalid UTF-8", "03-bad.md", b"---\ntitle: Bad\n---\n\nA \xff byte.\n", at("03-bad.md", 5), "not valid UTF-8"),
    ("unknown experiment", "03-bad.md", '---\ntitle: Bad\n---\n\nx\n\n{{ result("nope", "x") }}\n',
     at("03-bad.md", 7), "unknown experiment 'nope'"),
    ("invalid notebook", "notebooks/bad.ipynb", '{"cells": [\n  {oops}\n', at("bad.ipynb", 2), "invalid notebook"),
])
def test_bad_file(built_copy, capsys, case, path, text, where, expected):
    before = site_files(built_copy)
    target = built_copy / "content" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(text if isinstance(text, bytes) else text.encode())
    refused(built_copy, capsys, before, where, expected)


def test_missing_bibliography(built_copy, capsys):
    before = site_files(built_copy)
    (built_copy / "content" / "references.bib").unlink()
    refused(built_copy, capsys, before, r"references\.bib", "bibliography not found")


def test_undefined_variable_in_page_template(built_copy, capsys):
    before = site_files(built_copy)
    template = built_copy / "templates" / "article.html.j2"
    lines = template.read_text().splitlines(keepends=True)
    body = next(i for i, ln in enumerate(lines) if "<body" in ln) + 1
    template.write_text("".join(lines[:body] + ["<p>{{ no_such_variable }}</p>\n"] + lines[body:]))
    refused(built_copy, capsys, before, at("article.html.j2", body + 1), "undefined template variable",
            "no_such_variable")


DATA_EXP = '''\
"""data_exp: reads CIFAR-10, which is not there."""
from dataclasses import dataclass

from lab.experiments import Output, register
from lab.experiments.common import load_data


@dataclass(frozen=True)
class Config:
    n: int = 10


@register("data_exp", Config, profiles={"quick": {}}, estimate_s={"quick": 1})
def run(cfg, ctx):
    load_data("cifar10", cfg.n, cfg.n, 0, ctx)
    return Output(metrics={"peak": 1.0}, data={})
'''


def test_missing_data_set(built_copy, capsys, monkeypatch):
    (built_copy / "lab" / "experiments").mkdir(parents=True)
    (built_copy / "lab" / "experiments" / "data_exp.py").write_text(DATA_EXP)
    append(built_copy / "content" / "02-second.md", 'Peak {{ result("data_exp", "peak") }}.\n')
    monkeypatch.setenv("RESNET_DATA", str(built_copy / "no-such-cifar"))
    refused(built_copy, capsys, site_files(built_copy), None, "no-such-cifar")
    assert not (built_copy / "lab" / "results" / "data_exp").exists()


def test_missing_pandoc(built_copy, capsys, monkeypatch):
    from sitegen import pandoc

    monkeypatch.setattr(pandoc, "pandoc_path", lambda: str(built_copy / "no-pandoc"))
    append(built_copy / "content" / "02-second.md", "Needs pandoc.\n")
    err = refused(built_copy, capsys, site_files(built_copy), None, "reinstall pypandoc_binary")
    assert err.startswith(("error: pandoc cannot run", "error: pandoc binary missing")), err


@pytest.mark.parametrize("command, says", [
    (("build", "--force", "nosuch"), ("build --force nosuch: no such experiment; known: ", "gradient_flow")),
    (("figures", "--force", "nope"), ("unknown experiment 'nope'; known: ", "gradient_flow")),
    (("train", "--only", "nosuch"), ("train --only nosuch: no such network in the quick profile",)),
])
def test_unknown_name_on_the_command_line(built_copy, capsys, command, says):
    err = refused(built_copy, capsys, site_files(built_copy), None, *says, command=command)
    assert err.startswith("error: " + says[0]), err
