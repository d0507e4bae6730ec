"""A full build of a small content tree: every stage real (pandoc, citeproc,
training-free quick experiment, matplotlib, Jinja)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import fresh_build
from sitegen.build import build
from sitegen.project import load_project


def test_site_has_chapters_citations_math_and_figure(built_project):
    html = (built_project / "site" / "index.html").read_text()
    assert '<section class="chapter" id="first-chapter"' in html
    assert '<section class="chapter" id="second"' in html
    # citations numbered in order of first citation, resolved against the .bib
    assert re.search(r'data-cites="he2016deep">\[<a href="#ref-he2016deep"[^>]*>1</a>\]', html)
    assert re.search(r'<a href="#ref-glorot2010understanding"[^>]*>2</a>, <a href="#ref-he2016deep"[^>]*>1</a>', html)
    refs = re.findall(r'<li id="ref-([^"]+)" value="(\d+)">', html)
    assert refs == [("he2016deep", "1"), ("glorot2010understanding", "2"), ("ioffe2015batch", "3")]
    assert "deep residual learning" in html.lower() and "https://doi.org/10.1109/CVPR.2016.90" in html
    # MathML, no math JavaScript
    assert html.count("<math") >= 3 and "mathjax" not in html.lower() and "katex" not in html.lower()
    # the figure: embedded once, numbered, with alt text and provenance
    assert html.count('id="fig-gradient_flow"') == 1
    assert re.search(r'<span class="figure-number">Figure 1\.</span>', html)
    assert re.search(r'<img src="figures/gradient_flow.svg" alt="Line charts of gradient norm[^"]+\d', html)
    assert "How this figure was made" in html and "quick" in html
    # cross-references across chapters, numbered
    assert '<a class="xref" href="#fig-gradient_flow">Figure 1</a>' in html
    assert '<a class="xref" href="#eq-block">Equation 1</a>' in html
    assert '<a class="xref" href="#first-chapter">Section 1</a>' in html
    assert 'id="eq-grad"' in html and "(2)</span>" in html
    # a reference then a citation with a locator: "Equation 2 [3, Table 2]", the space kept
    assert re.search(r'>Equation 2</a> <span class="citation" data-cites="ioffe2015batch">'
                     r'\[<a href="#ref-ioffe2015batch"[^>]*>3</a>, Table 2\]</span>', html)
    # captioned tables are numbered and can be referred to
    assert '<table id="tbl-small"' in html and '<span class="table-number">Table 1.</span> A small table.' in html
    assert '<a class="xref" href="#tbl-small">Table 1</a> counts it' in html
    # the result() helper put a number in the prose
    assert re.search(r'first layer gets <span class="result-number" data-experiment="gradient_flow" '
                     r'data-path="plain56/first_over_last">[\d.,]+</span>\s+times', html)
    # footnote rendered
    assert "The footnote text." in html
    for name in ("gradient_flow.svg", "gradient_flow-dark.svg", "gradient_flow.vl.json"):
        assert (built_project / "site" / "figures" / name).stat().st_size > 1000


def test_svgs_are_deterministic_and_themed(built_project, tmp_path):
    site = built_project / "site" / "figures"
    light, dark = (site / "gradient_flow.svg").read_bytes(), (site / "gradient_flow-dark.svg").read_bytes()
    assert light != dark
    assert b"<dc:date>" not in light and b"Date" not in light
    # redraw from scratch (no figure cache): byte-identical
    copy = tmp_path / "again"
    shutil.copytree(built_project, copy, ignore=shutil.ignore_patterns(".cache", "site"))
    build(load_project(copy), progress=False, log=lambda m: None)
    assert (copy / "site" / "figures" / "gradient_flow.svg").read_bytes() == light
    assert (copy / "site" / "index.html").read_text().count("<math") == \
        (built_project / "site" / "index.html").read_text().count("<math")


def test_unchanged_rebuild_does_nothing_and_changes_no_byte(built_project):
    before = {p: p.read_bytes() for p in (built_project / "site").rglob("*") if p.is_file()}
    report = build(load_project(built_project), progress=False, log=lambda m: None)
    assert report.up_to_date and report.ran == []
    after = {p: p.read_bytes() for p in (built_project / "site").rglob("*") if p.is_file()}
    assert after == before


def test_editing_one_chapter_rerenders_only_it(project_root):
    log = []
    build(load_project(project_root), progress=False, log=log.append)
    ch = project_root / "content" / "02-second.md"
    ch.write_text(ch.read_text() + "\nOne more sentence.\n")
    report = build(load_project(project_root), progress=False, log=log.append)
    assert (report.chapters_rendered, report.chapters_cached) == (1, 1)
    assert report.ran == []
    assert "One more sentence." in (project_root / "site" / "index.html").read_text()


def test_a_rerun_that_changes_only_provenance_updates_the_card(project_root):
    """The figure cache covers the whole stored result, not only its metrics."""
    from lab.store import ResultStore

    project = load_project(project_root)
    build(project, progress=False, log=lambda m: None)
    store = ResultStore(project.results)
    old = store.load("gradient_flow", "quick")
    store.save(old.experiment, old.profile, old.key, old.config, {**old.provenance, "started": "2099-01-02T03:04:05Z"},
               old.metrics, old.data, dict(old.arrays) or None)
    report = build(load_project(project_root), progress=False, log=lambda m: None)
    assert report.ran == [] and "gradient_flow" in report.figures_drawn
    assert "2099-01-02T03:04:05Z" in (project_root / "site" / "index.html").read_text()


def test_a_build_that_draws_leaves_matplotlib_to_its_drawing_process(built_copy):
    """The figures and the title card are drawn in a forked process started before the plan,
    so the build itself never imports matplotlib: it goes on to pandoc meanwhile."""
    for stale in ("figures", "page"):
        shutil.rmtree(built_copy / ".cache" / stale)
    (built_copy / ".cache" / "last-build.json").unlink()
    card = (built_copy / "site" / "preview.png").read_bytes()
    svg = (built_copy / "site" / "figures" / "gradient_flow.svg").read_bytes()
    out = fresh_build(built_copy, ("matplotlib",))
    assert out[-1] == "[] []", out  # no notebook ran, and the build process loaded no matplotlib
    assert any((built_copy / ".cache" / "figures").iterdir())  # drawn again, by the other process
    assert (built_copy / "site" / "preview.png").read_bytes() == card
    assert (built_copy / "site" / "figures" / "gradient_flow.svg").read_bytes() == svg


def test_the_drawing_process_leaves_the_glyph_list_unread_until_used():
    """matplotlib's TeX font reader imports fontTools' glyph list (a tenth of the drawing
    process's import); only usetex text reads it, so it loads on first use, and then works."""
    code = ("import sys; from sitegen.render.figures import _import_plotstyle; _import_plotstyle(); "
            "import matplotlib.dviread; print('UV2AGL' in vars(sys.modules['fontTools.agl'])); "
            "import fontTools; print(fontTools.agl.toUnicode('Aacute'), 'UV2AGL' in vars(fontTools.agl))")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1], capture_output=True,
                         text=True, encoding="utf-8", check=True)
    assert out.stdout.split() == ["False", "\u00c1", "True"], out


def test_a_figure_on_a_branch_not_taken_is_not_drawn(project_root):
    """The figures drawn ahead are those the source names; the build draws the ones the
    rendered chapters place when the two differ."""
    ch = project_root / "content" / "02-second.md"
    ch.write_text(ch.read_text() + '\n{% if false %}{{ figure("gradient_flow_training") }}{% endif %}\n')
    report = build(load_project(project_root), progress=False, log=lambda m: None)
    assert report.figures_drawn == ["gradient_flow"]
    assert not (project_root / "site" / "figures" / "gradient_flow_training.svg").exists()
