"""The Python that runs the project: this checkout's .venv, when the one a command was
typed with lacks what the project needs.

`python build.py ...` and `python3 scripts/gpu_run.py ...` run with whatever Python is
first on PATH. `use_project_python()` re-executes the command with `.venv/bin/python`
(made by `make`) when that Python lacks one of the project's packages and .venv exists;
without .venv it goes on, and a module found missing later is reported by
`missing_module()` as what it is, with the command that installs it. Standard library
only: it runs before anything the project installs is imported.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
# the import name of each of pyproject.toml's dependencies (tests/test_readme.py holds them in step)
IMPORTS = ("torch", "numpy", "matplotlib", "PIL", "pypandoc", "jinja2", "filelock", "yaml", "tqdm",
           "watchdog", "html5lib", "nbformat", "nbconvert", "nbclient", "ipykernel", "imageio_ffmpeg",
           "typst", "submitit", "vl_convert")
REEXEC_ENV = "RESNET_EXPLAINER_REEXEC"  # set in the re-executed process: never twice


def missing_imports() -> list[str]:
    """The project's packages this Python cannot import (found, not imported)."""
    return [name for name in IMPORTS if importlib.util.find_spec(name) is None]


def in_project_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV_PYTHON.parent.parent.resolve()


def use_project_python(argv: list[str] | None = None) -> None:
    """Re-execute this command with .venv's Python if this one lacks a package and .venv exists."""
    if in_project_venv() or os.environ.get(REEXEC_ENV) or not VENV_PYTHON.exists() or not missing_imports():
        return
    argv = sys.argv if argv is None else argv
    os.environ[REEXEC_ENV] = "1"
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *argv])


def missing_module(e: ModuleNotFoundError) -> str | None:
    """The one-line error for a third-party module this Python lacks, or None when the
    missing module is one of ours (a bug, or an author's import: not this error)."""
    top = (e.name or "").split(".")[0]
    if not top or top in ("sitegen", "lab", "figures") or importlib.util.find_spec(top) is not None:
        return None
    fix = (f"install it into .venv with `{VENV_PYTHON} -m pip install -e {REPO}`" if in_project_venv() else
           "run `make` (it creates .venv with everything the project needs), then the same command again")
    return f"this Python ({sys.executable}) has no module {top!r}, which the project needs; {fix}"


def not_a_bug(e: BaseException) -> int | None:
    """The exit status of an error that is no bug of ours, said in at most one line; None for a bug."""
    if isinstance(e, BrokenPipeError):  # `build.py figures --list | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141  # as a command killed by SIGPIPE
    if isinstance(e, ModuleNotFoundError) and (line := missing_module(e)):
        print(f"error: {line}", file=sys.stderr)
        return 1
    return None
