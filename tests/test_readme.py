"""Every command the README shows works as copied: run by any Python on PATH (which may
lack torch: the checkout's .venv then runs it), piped into `head`, and each fenced
block of the README is exercised by a test (commands, Markdown, Python, YAML, layouts)."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from sitegen import environment

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def bare_python() -> str | None:
    """A Python on PATH (or the system's) that lacks torch, as on a fresh machine."""
    for name in ("python3", "python"):
        for path in filter(None, [shutil.which(name), f"/usr/bin/{name}"]):
            if Path(path).exists() and subprocess.run([path, "-c", "import torch"], capture_output=True).returncode:
                return path
    return None


def test_the_import_names_cover_every_dependency_in_pyproject():
    text = (REPO / "pyproject.toml").read_text()
    deps = re.findall(r'^\s*"([A-Za-z0-9_.-]+)[^"]*",', text.split("dependencies = [", 1)[1].split("]", 1)[0], re.M)
    owners = packages_distributions()
    covered = {d.lower().replace("_", "-") for name in environment.IMPORTS for d in owners.get(name, [])}
    assert {d.lower().replace("_", "-") for d in deps} == covered


def test_a_python_without_torch_runs_the_command_in_the_venv():
    python = bare_python()
    if python is None or not environment.VENV_PYTHON.exists():
        pytest.skip("no Python without torch here, or no .venv")
    run = subprocess.run(f"{python} build.py figures --list | head -1", shell=True, cwd=REPO,
                         capture_output=True, text=True, env={k: v for k, v in os.environ.items()
                                                              if k != environment.REEXEC_ENV})
    assert run.returncode == 0 and run.stderr == "" and re.match(r"\w+ +\S+ +(fresh|STALE)", run.stdout), run


def test_without_a_venv_a_missing_package_is_named_not_a_bug():
    python = bare_python()
    if python is None:
        pytest.skip("no Python without torch here")
    # the variable stops the re-execution, as on a fresh clone before `make`
    run = subprocess.run([python, "build.py", "figures", "--list"], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, environment.REEXEC_ENV: "1"})
    assert run.returncode == 1 and "bug" not in run.stderr, run.stderr
    assert re.fullmatch(r"error: this Python \(\S+\) has no module '\w+', which the project "
                        r"needs; run `make` \(.*\), then the same command again\n", run.stderr), run.stderr


def test_output_into_head_is_no_bug():
    run = subprocess.run(f"{shlex.quote(sys.executable)} build.py figures --list | head -1; "
                         "echo \"status ${PIPESTATUS[0]}\"", shell=True, executable="/bin/bash", cwd=REPO,
                         capture_output=True, text=True)
    assert run.stderr == "" and run.stdout.splitlines()[-1] == "status 141", run  # as `yes | head -1`
    assert len(run.stdout.splitlines()) == 2
