"""Every command the README shows works as copied: run by any Python on PATH (which may
lack torch: the checkout's .venv then runs it), piped into `head`, and each fenced
block of the README is exercised by a test (commands, Markdown, Python, YAML, layouts)."""
from __future__ import annotations

import importlib.util
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


def blocks(section: str | None = None) -> list[tuple[str, str]]:
    """(language, text) of every fenced block of the README, or of one `### section`."""
    text = README if section is None else README.split(f"### {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)


def test_readme_experiment_example_runs_and_returns_its_metrics(tmp_path):
    import json

    from lab import runner
    from lab.store import ResultStore
    from sitegen import modules

    [code] = [text for lang, text in blocks("Add an experiment") if lang == "python"]
    name = re.search(r'@register\("(\w+)"', code).group(1)
    (tmp_path / "lab" / "experiments").mkdir(parents=True)
    (tmp_path / "lab" / "experiments" / f"{name}.py").write_text(code)
    with modules.project_modules(tmp_path):  # and the example is forgotten afterwards
        stored = runner.run_one(ResultStore(tmp_path / "results"), name, "quick", tmp_path, progress=False)
        declared = sys.modules[f"lab.experiments.{name}"].METRICS
    nets = [k for k, v in stored.metrics.items() if isinstance(v, dict)]
    assert nets and all(set(declared["<net>"]) <= set(stored.metrics[n]) for n in nets)
    json.dumps({"metrics": stored.metrics, "data": stored.data}, allow_nan=False)


def test_every_readme_block_is_one_a_test_exercises():
    """A new kind of block needs a test: commands are parsed and the cheap ones run (below and in
    test_careless_project, test_executors), Markdown and Python examples built or run, YAML loaded."""
    import yaml

    for lang, text in blocks():
        assert lang in ("sh", "markdown", "python", "yaml", ""), lang
        if lang == "python":
            compile(text, "README.md", "exec")
        elif lang == "yaml":
            assert isinstance(yaml.safe_load(text), dict)
        elif lang == "":  # the layout: every module it names exists
            for module in re.findall(r"\b([a-z_]+\.py)\b", text):
                assert list(REPO.glob(f"**/{module}")), module


def test_readme_make_targets_and_modules_exist():
    targets = set(re.findall(r"`make (\w+)", README)) | set(re.findall(r"^make (\w+)", README, re.M))
    assert {"test", "figures", "serve", "check", "bench", "clean", "campaign"} <= targets
    for target in targets:
        assert subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True).returncode == 0, target
    for module in re.findall(r"python -m ([\w.]+)", README):
        assert importlib.util.find_spec(module), module


@pytest.mark.parametrize("command", ["figures --list", "train --list --profile cifar10-10ep", "--help"])
def test_readme_listing_commands_run_as_copied(command):
    assert f"python build.py {command}" in " ".join(README.split())
    if shutil.which("python") is None:
        pytest.skip("no `python` on PATH here")
    run = subprocess.run(f"python build.py {command} | head -3", shell=True, cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0 and run.stderr == "" and len(run.stdout.splitlines()) == 3, run


def test_readme_figure_example_builds_its_numbered_figures(built_copy, capsys):
    import build as cli

    [text] = [t for lang, t in blocks("Add a figure") if lang == "markdown"]
    (built_copy / "content" / "images").mkdir()
    (built_copy / "content" / "images" / "block.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>')
    (built_copy / "content" / "03-figures.md").write_text(
        f"---\ntitle: Figures\n---\n\nSee @fig:block, @fig:stages, @fig:pair and @fig:pair-block.\n\n{text}")
    code = cli.main(["--root", str(built_copy), "-q", "build"])
    assert code == 0, capsys.readouterr().err
    html = (built_copy / "site" / "index.html").read_text()
    numbers = re.findall(r'<a class="xref" href="#fig-(block|stages|pair|pair-block)">Figure (\d+\w?)</a>', html)
    assert [n for n, _ in numbers] == ["block", "stages", "pair", "pair-block"], numbers
    block, stages, pair, part = (n for _, n in numbers)
    assert block != stages and pair == str(int(stages) + 1) and part == pair + "a", numbers
    assert html.count('<figure class="subfigure"') == 2 and "The caption they share." in html
