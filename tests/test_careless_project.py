"""Careless changes around the chapters: a hand-edited result, a broken plot module,
a read-only folder, a new commit, a killed build's figure worker, a bug of ours, and the
README's own example chapter, built as an author would copy it."""
from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import build as cli
from conftest import REPO, append, cli_build, refused, site_files

RESULT = Path("lab/results/gradient_flow/quick/result.json")


# -- results -------------------------------------------------------------------------
@pytest.mark.parametrize("damage, where, what", [
    ("edit", r"result\.json:3", "does not match its checksum (edited by hand?)"),
    ("truncate", r"result\.json:\d+", "is not valid JSON"),
])
def test_corrupt_result_stops_the_build_and_names_the_command(built_copy, capsys, damage, where, what):
    path = built_copy / RESULT
    text = path.read_text()
    text = re.sub(r'"spread": [\d.e+-]+', '"spread": 999.0', text, count=1) if damage == "edit" else text[:len(text) // 2]
    path.write_text(text)
    (built_copy / "content" / "02-second.md").touch()
    before = site_files(built_copy)
    refused(built_copy, capsys, before, where, f"stored result gradient_flow [quick] {what}",
            "python build.py figures --force gradient_flow --profile quick")
    assert path.read_text() == text  # nothing was recomputed


# -- plot modules ---------------------------------------------------------------------
@pytest.mark.parametrize("case, source, line, expected", [
    ("syntax error", 'EXPERIMENT = "gradient_flow"\n\n\ndef draw(result, theme)\n    pass\n', 4,
     "plot module broken: SyntaxError: expected ':'"),
    ("error at import", 'EXPERIMENT = "gradient_flow"\nWIDTH = undefined_name\n', 2,
     "plot module broken fails to import: NameError: name 'undefined_name' is not defined"),
    ("error while drawing", 'EXPERIMENT = "gradient_flow"\n\n\ndef draw(result, theme):\n    return 1 / 0\n', 5,
     "drawing failed: ZeroDivisionError: division by zero"),
])
def test_broken_plot_module(built_copy, capsys, case, source, line, expected):
    plots = built_copy / "figures" / "plots"
    plots.mkdir(parents=True)
    (plots / "broken.py").write_text(source)
    append(built_copy / "content" / "02-second.md", '{{ figure("broken") }}\n')
    refused(built_copy, capsys, site_files(built_copy), rf"broken\.py:{line}", expected)


# -- the output folder -----------------------------------------------------------------
@contextlib.contextmanager
def read_only(folder: Path):
    """chmod is no obstacle to root: make the folder immutable then."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("cannot make a folder read-only for root here (no chattr +i)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_read_only_site_parent_is_found_before_the_build(built_copy, capsys):
    append(built_copy / "content" / "02-second.md", "A change to build.\n")
    jinja = sorted((built_copy / ".cache" / "jinja").iterdir())
    before = site_files(built_copy)
    with read_only(built_copy):
        refused(built_copy, capsys, before, re.escape(str(built_copy)), "cannot write here",
                "the build needs it for site/")
    assert sorted((built_copy / ".cache" / "jinja").iterdir()) == jinja  # no chapter was rendered


# -- the commit on the page --------------------------------------------------------------
def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.org", *args], cwd=root,
                          check=True, capture_output=True, text=True).stdout.strip()


def test_a_new_commit_rebuilds_the_page(built_copy, capsys):
    (built_copy / ".gitignore").write_text("site/\n.cache/\n")
    git(built_copy, "init", "-q")
    git(built_copy, "add", "-A")
    git(built_copy, "commit", "-qm", "one")
    assert cli_build(built_copy, capsys) == (0, "")
    first = git(built_copy, "rev-parse", "--short=12", "HEAD")
    assert f"commit <code>{first}</code>" in (built_copy / "site" / "index.html").read_text()
    assert cli.main(["--root", str(built_copy), "build"]) == 0
    assert "up to date" in capsys.readouterr().out
    git(built_copy, "commit", "-q", "--allow-empty", "-m", "two")
    second = git(built_copy, "rev-parse", "--short=12", "HEAD")
    assert cli.main(["--root", str(built_copy), "build"]) == 0
    assert "up to date" not in capsys.readouterr().out
    assert f"commit <code>{second}</code>" in (built_copy / "site" / "index.html").read_text()


# -- figure workers ---------------------------------------------------------------------
PARENT = '''\
import os, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from sitegen.render import drawing


def slow(job):  # a figure that takes its time: the worker is busy with it when its build dies
    Path(os.environ["SLOW_MARKER"]).write_text(str(os.getpid()))
    time.sleep(120)
    return b""


drawing.start(["mine", "the worker's"], slow, processes=2)
time.sleep(120)
'''


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has stopped: nobody reaps it in some containers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_worker_dies_with_its_build(tmp_path):
    marker = tmp_path / "worker.pid"
    parent = subprocess.Popen([sys.executable, "-c", PARENT.format(repo=str(REPO))],
                              env={**os.environ, "SLOW_MARKER": str(marker)})
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() or not marker.read_text():
            assert time.monotonic() < deadline and parent.poll() is None, "the worker never started"
            time.sleep(0.1)
        helper = int(marker.read_text())
        assert alive(helper)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while alive(helper):
            assert time.monotonic() < deadline, "the worker outlived its build"
            time.sleep(0.1)
    finally:
        parent.kill()
        if marker.exists() and marker.read_text() and alive(int(marker.read_text())):
            os.kill(int(marker.read_text()), signal.SIGKILL)


# -- bugs of ours --------------------------------------------------------------------------
def test_a_bug_says_so_and_keeps_its_traceback(built_copy, capsys, monkeypatch):
    from sitegen.render import page_notes

    def broken(html):
        raise TypeError("a bug of ours")

    monkeypatch.setattr(page_notes, "mark_asides", broken)
    append(built_copy / "content" / "02-second.md", "A change to build.\n")
    before = site_files(built_copy)
    code, err = cli_build(built_copy, capsys)
    assert code == 2 and len(err.splitlines()) == 1, err
    log = built_copy / ".cache" / "error.log"
    assert err == (f"error: bug in the site generator, not in your files (TypeError: a bug of ours); "
                   f"traceback in {log}; please report it")
    assert "Traceback" in log.read_text() and "in broken" in log.read_text()
    assert site_files(built_copy) == before
    assert cli.main(["--root", str(built_copy), "-v", "build"]) == 2
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_a_bug_in_a_helper_is_not_blamed_on_the_chapter(built_copy, capsys, monkeypatch):
    """An exception out of our own code under a chapter's result() call is ours."""
    from sitegen.render import results

    monkeypatch.setattr(results, "plain", None)  # result() -> value() -> plain(...): TypeError in results.py
    append(built_copy / "content" / "01-first-chapter.md", "Changed.\n")
    code, err = cli_build(built_copy, capsys)
    assert code == 2 and "bug in the site generator" in err and "TypeError" in err, err


# -- the README's example -----------------------------------------------------------------
def readme_example() -> tuple[str, str]:
    section = (REPO / "README.md").read_text().split("### Add a chapter", 1)[1].split("\n### ", 1)[0]
    name = re.search(r"`content/(\d+-[\w-]+\.md)`", section).group(1)
    return name, re.search(r"```markdown\n(.*?)```", section, re.S).group(1)


def test_readme_example_chapter_builds(built_copy, capsys):
    name, text = readme_example()
    (built_copy / "content" / name).write_text(text)
    code, err = cli_build(built_copy, capsys)
    assert code == 0, err
    page = (built_copy / "site" / "index.html").read_text()
    title = re.search(r"^title: (.*)$", text, re.M).group(1)
    chapter = page.split('<section class="chapter" id="name"', 1)[1].split('<section class="chapter"', 1)[0]
    assert title in chapter and 'id="eq-name-shortcut"' in chapter
    prose = re.sub(r"<[^>]+>", "", re.search(r"<p>In the 56-layer.*?</p>", chapter, re.S).group(0))
    assert "{" not in prose and re.search(r"the first layer gets\s+[\d.,]+ times", prose), prose


def test_readme_example_fits_the_real_article():
    """Copied into content/, it must not collide with what the chapters already have."""
    name, text = readme_example()
    real = {p.name: p.read_text() for p in (REPO / "content").glob("[0-9]*.md")}
    assert not any(n.split("-")[0] == name.split("-")[0] for n in real), "the example's number is taken"
    placed = set(re.findall(r'figure\("([^"]+)"', "".join(real.values())))
    assert not placed & set(re.findall(r'figure\("([^"]+)"', text)), "the example places a placed figure"
    labels = set(re.findall(r"\{#([\w:-]+)", "".join(real.values())))
    assert not labels & set(re.findall(r"\{#([\w:-]+)", text)), "the example reuses a label"
    known = labels | set(re.findall(r"\{#([\w:-]+)", text)) | {f"fig:{f}" for f in placed}
    for ref in re.findall(r"@((?:fig|eq|tbl):[\w-]+)", text):
        assert ref in known, f"@{ref} points nowhere in the article"
    bib = (REPO / "content" / "references.bib").read_text()
    assert all(f"{{{key}," in bib for key in re.findall(r"\[@([\w-]+)\]", text))


def test_readme_commands_exist():
    readme = " ".join((REPO / "README.md").read_text().split())
    commands = re.findall(r"python build\.py((?: -{0,2}[\w.=-]+)*)", readme)
    assert len(commands) >= 5
    parser = cli.make_parser()
    for args in commands:
        if "--help" not in args:
            parser.parse_args(shlex.split(args))  # exits on an unknown command or flag


def test_real_chapters_print_no_template_code():
    """Jinja does not run in inline code: a value shown as code is written `{{ x | code }}`."""
    from sitegen.sandbox import protect_code

    for path in sorted((REPO / "content").glob("[0-9]*.md")):
        code = protect_code(path.read_text(encoding="utf-8"), path)
        stuck = [r for r in code.regions if not r.startswith(("```", "~~~")) and re.search(r"\{\{.*\}\}", r)]
        assert not stuck, f"{path.name}: Jinja inside inline code is printed as typed: {stuck}"
