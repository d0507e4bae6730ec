"""Bad input: one line naming file and line, non-zero exit, previous site kept."""
from __future__ import annotations

import pytest

import build as cli


def build_cli(root, capsys, *extra):
    code = cli.main(["--root", str(root), "-q", "build", *extra])
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.fixture
def good_site(project_root, capsys):
    code, err = build_cli(project_root, capsys)
    assert code == 0, err
    site = project_root / "site"
    return {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def assert_site_kept(project_root, snapshot):
    site = project_root / "site"
    now = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert now == snapshot


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("case, change, expected", [
    ("broken yaml", ("title: First chapter", "title: [unclosed"), r"01-first-chapter.md:3: invalid YAML"),
    ("unknown citation", ("[@he2016deep] builds", "[@nobody2099] builds"),
     r"01-first-chapter.md:7: unknown citation @nobody2099"),
    ("unknown figure", ('figure("gradient_flow")', 'figure("no_such_plot")'),
     r"01-first-chapter.md:14: unknown figure 'no_such_plot'"),
    ("unknown result", ('"plain56", "first_over_last"', '"plain56", "no_metric"'),
     r"01-first-chapter.md:11: result gradient_flow/plain56/no_metric does not exist"),
    ("broken cross-reference", ("see @fig:gradient_flow", "see @fig:nothing"),
     r"01-first-chapter.md:12: broken cross-reference @fig:nothing"),
    ("undefined variable", ("A note.", "A {{ nonsense }} note."),
     r"01-first-chapter.md:16: template error: 'nonsense' is undefined"),
    ("failing claim", ('> result("gradient_flow", "resnet56", "spread")', '< result("gradient_flow", "resnet56", "spread")'),
     r"01-first-chapter.md:4: claim does not hold"),
])
def test_bad_chapter(project_root, good_site, capsys, case, change, expected):
    edit(project_root / "content" / "01-first-chapter.md", *change)
    code, err = build_cli(project_root, capsys)
    assert code == 1
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: ") and expected in err, err
    assert_site_kept(project_root, good_site)


def test_missing_bibliography(project_root, good_site, capsys):
    (project_root / "content" / "references.bib").unlink()
    code, err = build_cli(project_root, capsys)
    assert code == 1 and "references.bib: bibliography not found" in err
    assert len(err.splitlines()) == 1
    assert_site_kept(project_root, good_site)


def test_broken_bibliography_names_line(project_root, good_site, capsys):
    bib = project_root / "content" / "references.bib"
    bib.write_text("@article{x,\n  title = {Unclosed,\n\n@article{y, title={Y}, year=2000}\n")
    code, err = build_cli(project_root, capsys)
    assert code == 1 and "references.bib:" in err and "invalid BibTeX" in err
    assert_site_kept(project_root, good_site)


def test_broken_site_config(project_root, good_site, capsys):
    (project_root / "content" / "site.yml").write_text("title: ok\nnot_a_setting: 1\n")
    code, err = build_cli(project_root, capsys)
    assert code == 1 and "site.yml" in err and "not_a_setting" in err
    assert_site_kept(project_root, good_site)


def test_missing_front_matter(project_root, good_site, capsys):
    (project_root / "content" / "03-bad.md").write_text("No front matter here.\n")
    code, err = build_cli(project_root, capsys)
    assert code == 1 and "03-bad.md:1: missing YAML front matter" in err
    assert_site_kept(project_root, good_site)
