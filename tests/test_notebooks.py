"""Notebooks: the repository's companion notebooks run end to end in quick mode
(real kernel, nbclient), and small fixture notebooks go through the real build:
pages in the site's look, a notebook chapter, and the three kinds of bad input."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from sitegen.read.notebooks import read
from sitegen.render import notebooks
from sitegen.errors import BuildError
from sitegen.build import build
from sitegen.project import load_project

from conftest import REPO, fresh_build, make_project

COMPANIONS = sorted((REPO / "content" / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", COMPANIONS, ids=lambda p: p.stem)
def test_companion_notebook_runs_in_quick_mode(path):
    nb = notebooks.execute(read(path), path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs)
    assert "quick mode: True" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)  # its plot
    assert notebooks.title_and_summary(nb, path)[0]


def test_the_repository_has_companion_notebooks_without_outputs():
    assert len(COMPANIONS) >= 2
    for path in COMPANIONS:
        nb = read(path)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name
        assert "from lab" in "".join(c.source for c in nb.cells)


def tiny_notebook(*code: str):
    nb = new_notebook(cells=[new_markdown_cell("# A tiny notebook\n\nIt adds *two* numbers: $1 + 1$."),
                             *[new_code_cell(c) for c in code]],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    for i, c in enumerate(nb.cells):
        c.id = f"cell-{i}"
    return nb


PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
CHAPTER = new_notebook(cells=[
    new_raw_cell("---\ntitle: A notebook chapter\n---"),
    new_markdown_cell("The plain network's ratio is {{ result(\"gradient_flow\", \"plain56\", \"first_over_last\", "
                      "fmt=\"{:.1f}\") }}, as @fig:gradient_flow shows.\n\n$$a = b$$ {#eq:nb}"),
    new_code_cell("print({'a': {'b': 1}})\n{{ not_jinja }}", execution_count=1, outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="{{ shown as is }}\n"),
        nbformat.v4.new_output("display_data", data={"image/png": PIXEL, "text/plain": "<Figure>"}),
    ]),
])


@pytest.fixture(scope="module")
def nb_project(tmp_path_factory) -> Path:
    root = make_project(tmp_path_factory.mktemp("nb") / "proj")
    folder = root / "content" / "notebooks"
    folder.mkdir()
    nbformat.write(tiny_notebook("x = 1 + 1\nprint('sum', x)"), str(folder / "tiny.ipynb"))
    nbformat.write(CHAPTER, str(root / "content" / "03-notebook.ipynb"))
    build(load_project(root), progress=False, log=lambda m: None)
    return root


def test_notebook_page_in_the_site_look_with_download(nb_project):
    site = nb_project / "site"
    page = (site / "notebooks" / "tiny.html").read_text()
    assert '<link rel="stylesheet" href="../static/article.css">' in page and (site / "static" / "article.css").exists()
    assert "<h1" in page and "A tiny notebook" in page and "<math" in page  # Markdown cells through pandoc
    assert "sum 2" in page  # executed by the build
    assert 'href="tiny.ipynb" download' in page and "GPU" in page and "QUICK=0" in page
    assert '<link rel="icon" href="data:,">' in page  # no /favicon.ico request to 404
    assert (site / "notebooks" / "tiny.ipynb").read_bytes() == \
        (nb_project / "content" / "notebooks" / "tiny.ipynb").read_bytes()
    index = (site / "index.html").read_text()
    assert re.search(r'<a href="notebooks/tiny.html">A tiny notebook</a>: It adds <em>two</em> numbers', index)
    assert 'href="notebooks/tiny.ipynb" download' in index


def test_a_notebook_can_be_a_chapter(nb_project):
    html = (nb_project / "site" / "index.html").read_text()
    chapter = html.split('id="notebook"', 1)[1].split("</section>\n", 1)[0]
    assert re.search(r"ratio is <span class=\"result-number\" data-experiment=\"gradient_flow\" [^>]*>[\d.]+</span>, "
                     r"as <a class=\"xref\" href=\"#fig-gradient_flow\">Figure 1</a>", chapter)
    assert "{{ not_jinja }}" in chapter and "{{ shown as is }}" in chapter  # code is shown, not run by Jinja
    assert '<img src="data:image/png;base64,' in chapter and 'id="eq-nb"' in chapter


def test_executed_notebooks_are_cached(nb_project, tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(nb_project, root)
    (root / "content" / "02-second.md").write_text((root / "content" / "02-second.md").read_text() + "\nMore.\n")
    log: list[str] = []
    build(load_project(root), progress=False, log=log.append)
    assert not any("executing notebook" in m for m in log)
    nb = root / "content" / "notebooks" / "tiny.ipynb"
    nbformat.write(tiny_notebook("print('changed')"), str(nb))
    build(load_project(root), progress=False, log=log.append)
    assert any("executing notebook tiny.ipynb" in m for m in log)
    assert "changed" in (root / "site" / "notebooks" / "tiny.html").read_text()


def _broken_schema(path: Path) -> None:
    doc = json.loads(path.read_text())
    doc["cells"][1]["cell_type"] = "cod"
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("breakage, where, message", [
    (lambda p: nbformat.write(tiny_notebook("x = 1", "1 / 0"), str(p)), ": ",
     "cell 3 (`1 / 0`) failed: ZeroDivisionError: division by zero"),
    (_broken_schema, ": ", "invalid notebook: cell 2:"),
    (lambda p: p.write_text(p.read_text()[:-40]), ":", "invalid notebook: not JSON"),
], ids=["failing-cell", "invalid-nbformat", "not-json"])
def test_bad_notebook_is_one_line_and_keeps_the_site(nb_project, tmp_path, breakage, where, message):
    root = tmp_path / "proj"
    shutil.copytree(nb_project, root)
    before = (root / "site" / "index.html").read_bytes()
    nb = root / "content" / "notebooks" / "tiny.ipynb"
    breakage(nb)
    with pytest.raises(BuildError) as err:
        build(load_project(root), progress=False, log=lambda m: None)
    assert str(err.value).startswith(f"{nb}{where}") and message in str(err.value) and "\n" not in str(err.value)
    assert (root / "site" / "index.html").read_bytes() == before
    if "cell 3" in message:  # and once through the CLI: exit 1, the same single line
        run = subprocess.run([sys.executable, str(REPO / "build.py"), "--root", str(root), "-q", "build"],
                             capture_output=True, text=True)
        assert run.returncode == 1 and run.stderr.strip() == f"error: {err.value}"


def test_a_notebook_reruns_only_when_a_file_it_imports_or_reads_changes(tmp_path):
    folder = tmp_path / "content" / "notebooks"
    folder.mkdir(parents=True)
    (folder / "helper.py").write_text("WORD = 'first'\n")
    (folder / "numbers.txt").write_text("1 2 3\n")
    (folder / "unrelated.py").write_text("X = 1\n")
    path = folder / "deps.ipynb"
    nbformat.write(tiny_notebook("import lab.config\nimport helper\n"
                                 "print(helper.WORD, open('numbers.txt').read().split())"), str(path))
    log: list[str] = []

    def run() -> str:
        nb = notebooks.executed(path, tmp_path / ".cache", log.append, tmp_path)
        return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)

    assert run() == "first ['1', '2', '3']\n" and len(log) == 1
    deps = json.loads((folder / "executed" / "deps.ipynb").read_text())["metadata"]["sitegen"]["deps"]  # its copy
    assert {"repo:lab/config.py", "repo:lab/__init__.py", "project:content/notebooks/helper.py",
            "project:content/notebooks/numbers.txt"} <= set(deps)
    assert not any(n.split(":", 1)[1].startswith("/") or ".venv" in n for n in deps)  # relative, no installed code
    assert "project:content/notebooks/unrelated.py" not in deps
    (folder / "unrelated.py").write_text("X = 2\n")
    assert run() == "first ['1', '2', '3']\n" and len(log) == 1  # a file it never touched: cached
    (folder / "helper.py").write_text("WORD = 'second'\n")
    assert run() == "second ['1', '2', '3']\n" and len(log) == 2  # a module it imports
    (folder / "numbers.txt").write_text("4\n")
    assert run() == "second ['4']\n" and len(log) == 3  # a file it reads
    nb = notebooks.executed(path, tmp_path / ".cache", log.append, tmp_path)
    assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [1]  # the hidden probes are not counted


def test_a_notebook_page_is_converted_once(tmp_path, monkeypatch):
    path = tmp_path / "tiny.ipynb"
    nbformat.write(tiny_notebook("x = 1"), str(path))
    nb = read(path)
    first = notebooks.rendered(nb, path, tmp_path / ".cache")
    assert first["title"] == "A tiny notebook" and "<math" in first["summary"] and '<span class="dv">1</span>' in first["cells"]
    monkeypatch.setattr(notebooks, "to_html", lambda text, path=None: pytest.fail("converted again"))
    assert notebooks.rendered(read(path), path, tmp_path / ".cache") == first
    nbformat.write(tiny_notebook("x = 2"), str(path))  # another notebook: converted
    with pytest.raises(pytest.fail.Exception, match="converted again"):
        notebooks.rendered(read(path), path, tmp_path / ".cache")


def test_a_page_is_one_pandoc_run_of_every_kind_of_cell_and_output(monkeypatch):
    nb = tiny_notebook("print('hi')\n1/0")
    nb.cells.insert(1, new_markdown_cell("```python\nan unclosed fence"))
    nb.cells.insert(2, new_markdown_cell("## Next cell\n\nits own"))
    code = nb.cells[3]
    code.execution_count, code.metadata = 4, {"tags": ["secret-tag"], "execution": {"started": "now"}}
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="hi \x1b[31mred\x1b[0m\n"),
        nbformat.v4.new_output("display_data", data={"image/png": PIXEL, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'/>"}),
        nbformat.v4.new_output("execute_result", execution_count=4, data={
            "text/html": "<table><tr><td>7</td></tr></table>", "image/png": PIXEL, "text/plain": "7"}),
        nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                               traceback=["\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"]),
    ]
    calls, real = [], notebooks.pandoc.run
    monkeypatch.setattr(notebooks.pandoc, "run", lambda *a, **k: calls.append(a) or real(*a, **k))
    html = notebooks.to_html(nbformat.writes(nb))
    assert len(calls) == 1  # nbconvert ran one per Markdown cell
    assert '<h2 id="next-cell">Next cell</h2>' in html  # the unclosed fence stayed in its own cell
    assert html.count('<div class="output') == 5 and "\x1b" not in html and "hi red" in html
    assert html.count('<img alt="A figure output of code cell [4]" src="data:image/png;base64,' + PIXEL) == 1
    assert 'src="data:image/svg+xml;base64,' in html  # SVG text, inlined as base64 like the pictures
    assert "<td>7</td>" in html  # the table, not its picture (nbconvert's preference)
    assert "secret-tag" not in html and "started" not in html  # cell metadata is not printed
    assert '<span class="bu">print</span>' in html and "ZeroDivisionError: division by zero" in html


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_notebook_page_passes_axe_core(nb_project, scheme):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    page_file = nb_project / "site" / "notebooks" / "tiny.html"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(color_scheme=scheme, viewport={"width": 360, "height": 800})
        page.goto(page_file.as_uri(), wait_until="load")
        page.add_script_tag(path=str(REPO / "vendor" / "axe-core" / "axe.min.js"))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        code_colour = page.evaluate("getComputedStyle(document.querySelector('.cell.code code span')).color")
        browser.close()
    assert [f"{v['id']}: {v['help']}" for v in result["violations"]] == []
    assert code_colour not in ("", "rgb(0, 0, 0)")  # the chapters' highlighting reaches the page


@pytest.fixture(scope="module")
def companion_built(tmp_path_factory) -> Path:
    root = make_project(tmp_path_factory.mktemp("companion") / "proj")
    (root / "content" / "notebooks").mkdir()
    nbformat.write(tiny_notebook("print('sum', 1 + 1)"), str(root / "content" / "notebooks" / "tiny.ipynb"))
    build(load_project(root), progress=False, log=lambda m: None)
    return root


@pytest.fixture
def companion_project(companion_built, tmp_path) -> Path:
    """A private copy of a built project with one companion notebook (executed and cached)."""
    shutil.copytree(companion_built, tmp_path / "proj", symlinks=True)
    return tmp_path / "proj"


def test_a_build_with_its_notebooks_cached_loads_no_jupyter_package(companion_project):
    chapter = companion_project / "content" / "02-second.md"
    chapter.write_text(chapter.read_text() + "\nOne more sentence.\n")
    out = fresh_build(companion_project, ("nbformat", "nbclient", "nbconvert"))
    assert out[-1] == "[] []" and not any("executing notebook" in line for line in out)
    assert "sum 2" in (companion_project / "site" / "notebooks" / "tiny.html").read_text()


def test_a_notebook_saved_with_other_metadata_is_checked_but_not_run_again(companion_project):
    path = companion_project / "content" / "notebooks" / "tiny.ipynb"
    doc = json.loads(path.read_text())
    doc["metadata"]["authors"] = [{"name": "Ada"}]  # the same cells: nothing to run
    path.write_text(json.dumps(doc))
    log: list[str] = []
    build(load_project(companion_project), progress=False, log=log.append)
    assert not any("executing notebook" in m for m in log)
    assert (companion_project / "site" / "notebooks" / "tiny.ipynb").read_bytes() == path.read_bytes()
    doc["metadata"]["kernelspec"] = "python3"  # no longer nbformat: the same cells, still an error
    path.write_text(json.dumps(doc))
    with pytest.raises(BuildError, match="invalid notebook"):
        build(load_project(companion_project), progress=False, log=log.append)


def test_a_notebook_not_cached_runs_in_a_forked_process(companion_project):
    path = companion_project / "content" / "notebooks" / "tiny.ipynb"
    nbformat.write(tiny_notebook("print('sum', 2 + 2)"), str(path))
    # a fresh process, as `build.py build` is (a thread left by an earlier test would keep it from forking)
    code = ("from sitegen.project import load_project; from sitegen.render import notebooks; "
            f"project = load_project({str(companion_project)!r}); log = []\n"
            "with notebooks.start(project, log.append) as work:\n"
            "    print(len(work.children), len(work.own), log); work.finish()\n"
            "media = notebooks.media(project, log.append)\n"
            "print(len(log), 'sum 4' in media.files['notebooks/tiny.html'].decode())")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    # one worker has it, this process none; media() then finds it cached: no second run
    assert run.stdout.splitlines() == ["1 0 ['executing notebook tiny.ipynb (quick mode)']", "1 True"]
