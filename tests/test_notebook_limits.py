"""Companion notebooks run author code at build time, with a limit: a notebook that runs
past `notebook_time_limit_s` (an infinite loop) is one line naming it and the cell, exit 1,
the last good site kept; its kernel and what the kernel started are killed, and its
connection file removed. A kernel whose build was killed ends by itself, and its file
goes at the next build. Real kernels throughout (nbclient, ipykernel)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import REPO
from sitegen.errors import BuildError
from sitegen.render import notebooks

LOOP = "while True: pass"
pytestmark = pytest.mark.slow


def notebook(*code: str):
    nb = new_notebook(cells=[new_markdown_cell("# Loops\n\nFor ever."), *map(new_code_cell, code)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    for i, c in enumerate(nb.cells):
        c.id = f"cell-{i}"
    return nb


@pytest.fixture
def mark(monkeypatch) -> str:
    """A variable every kernel started here inherits, and so whatever it starts."""
    value = uuid.uuid4().hex
    monkeypatch.setenv("SITEGEN_TEST_KERNEL", value)
    return value


def marked(value: str) -> list[int]:
    """Live processes that carry the mark (zombies waiting to be reaped are not alive)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f"SITEGEN_TEST_KERNEL={value}".encode() in (proc / "environ").read_bytes().split(b"\0") and \
                    (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z" and int(proc.name) != os.getpid():
                pids.append(int(proc.name))
        except (OSError, IndexError):
            continue
    return pids


def gone(value: str, within_s: float = 10.0) -> bool:
    end = time.monotonic() + within_s
    while marked(value) and time.monotonic() < end:
        time.sleep(0.2)
    return not marked(value)


def test_a_looping_notebook_stops_at_its_limit_and_its_kernel_is_killed(tmp_path, mark):
    path, kernels = tmp_path / "loops.ipynb", tmp_path / "kernels"
    nb = notebook("import subprocess\nchild = subprocess.Popen(['sleep', '300'])", "x = 1", LOOP)
    nbformat.write(nb, str(path))
    t0 = time.monotonic()
    with pytest.raises(BuildError) as err:
        notebooks.execute(nb, path, time_limit_s=3, kernels=kernels)
    assert str(err.value) == (f"{path}: cell 4 (`{LOOP}`) was still running at the notebook's time limit, "
                              "3 s (notebook_time_limit_s in site.yml)")
    assert time.monotonic() - t0 < 30  # the kernel's start, 3 s, and a kill: not a graceful wait
    assert gone(mark), f"left running: {marked(mark)}"  # the kernel, and the `sleep` it started
    assert not list(kernels.glob("kernel-*.json"))


def test_a_killed_build_leaves_no_kernel_and_its_file_goes_next_time(tmp_path, mark):
    path, kernels = tmp_path / "loops.ipynb", tmp_path / "kernels"
    nbformat.write(notebook(LOOP), str(path))
    code = ("import sys, nbformat; from pathlib import Path; from sitegen.render import notebooks; "
            f"notebooks.execute(nbformat.read({str(path)!r}, as_version=4), Path({str(path)!r}), "
            f"time_limit_s=300, kernels=Path({str(kernels)!r}))")
    build = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 120
        while not [p for p in marked(mark) if p != build.pid] or not list(kernels.glob("kernel-*.json")):
            assert build.poll() is None and time.monotonic() < end, "the kernel never started"
            time.sleep(0.2)
        time.sleep(1)  # into the loop
    finally:
        build.send_signal(signal.SIGKILL)  # as the OOM killer, or `kill -9`, would: no clean-up runs
        build.wait()
    assert gone(mark, 20), f"left running: {marked(mark)}"  # the kernel saw its parent go
    (left,) = kernels.glob("kernel-*.json")
    assert left.name.startswith(f"kernel-{build.pid}-")
    notebooks.sweep_kernel_files(kernels)  # as the next build's first kernel does
    assert not left.exists()


def test_through_the_cli_one_line_exit_1_and_the_site_kept(built_copy, mark):
    folder = built_copy / "content" / "notebooks"
    folder.mkdir(exist_ok=True)
    nb = folder / "loops.ipynb"
    nbformat.write(notebook("print('start')", LOOP), str(nb))
    site_yml = built_copy / "content" / "site.yml"
    base = site_yml.read_text()
    site_yml.write_text(base + "notebook_time_limit_s: 2\n")
    before = (built_copy / "site" / "index.html").read_bytes()
    run = subprocess.run([sys.executable, str(REPO / "build.py"), "--root", str(built_copy), "-q", "build"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stderr
    assert run.stderr == (f"error: {nb}: cell 3 (`{LOOP}`) was still running at the notebook's time limit, "
                          "2 s (notebook_time_limit_s in site.yml)\n")
    assert (built_copy / "site" / "index.html").read_bytes() == before
    assert gone(mark), f"left running: {marked(mark)}"

    from sitegen.project import load_project

    lines = base.count("\n")
    for bad in ("0", "ten"):
        site_yml.write_text(base + f"notebook_time_limit_s: {bad}\n")
        with pytest.raises(BuildError) as err:
            notebooks.time_limit(load_project(built_copy))
        assert str(err.value).startswith(f"{site_yml}:{lines + 1}: notebook_time_limit_s must be whole seconds")
