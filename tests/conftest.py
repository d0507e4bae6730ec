"""Shared fixtures: a small but complete project in a temporary folder, built once; and the
one harness for bad input (refused: one line `file:line: message`, exit 1, site kept)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

SITE_YML = """\
title: "A test article"
description: "Fixture article for the tests."
abstract: "An *abstract* with math $x^2$."
authors:
  - name: "Ada Tester"
    affiliation: "Test Lab"
    url: "https://example.org/ada"
published: "2026-01-01"
profile: quick
"""

CHAPTER_1 = """\
---
title: First chapter
claims:
  - result("gradient_flow", "plain56", "spread") > result("gradient_flow", "resnet56", "spread")
---

Residual learning [@he2016deep] builds on earlier work [@glorot2010understanding; @he2016deep].

$$y = F(x) + x$$ {#eq:block}

The plain network's first layer gets {{ result("gradient_flow", "plain56", "first_over_last", fmt="{:.1f}") }}
times the last layer's gradient; see @fig:gradient_flow and @eq:block.

{{ figure("gradient_flow") }}

A note.[^n]

[^n]: The footnote text.
"""

CHAPTER_2 = """\
---
title: Second chapter
---

As @eq:block in @sec:first-chapter showed, and @fig:gradient_flow too [@ioffe2015batch].

$$\\frac{\\partial L}{\\partial x} = \\frac{\\partial L}{\\partial y}\\left(1 + \\frac{\\partial F}{\\partial x}\\right)$$ {#eq:grad}

That is @eq:grad [@ioffe2015batch, Table 2]; @tbl:small counts it.

| term | count |
|------|------:|
| identity | 1 |

Table: A small table. {#tbl:small}

## A section with notes

The shortcut adds one term.[A margin note beside this line.]{.marginnote} A second note.[^two]

::: aside
An aside in the gutter.
:::

```python
def block(x):
    return x + f(x)  # identity shortcut
```

[^two]: The second chapter's footnote.
"""


def make_project(root: Path) -> Path:
    (root / "content").mkdir(parents=True)
    (root / "content" / "site.yml").write_text(SITE_YML)
    (root / "content" / "01-first-chapter.md").write_text(CHAPTER_1)
    (root / "content" / "02-second.md").write_text(CHAPTER_2)
    shutil.copy(REPO / "content" / "references.bib", root / "content" / "references.bib")
    shutil.copy(REPO / "content" / "ieee.csl", root / "content" / "ieee.csl")
    shutil.copytree(REPO / "templates", root / "templates")
    return root


def fresh_build(root: Path, modules: tuple[str, ...]) -> list[str]:
    """Build `root` in a fresh Python, as `build.py build` does: its output's lines, the last
    one the notebooks it ran, then which of `modules` it loaded."""
    code = ("import sys; from sitegen.build import build; from sitegen.project import load_project; "
            f"r = build(load_project({str(root)!r}), progress=False, log=print); "
            f"print(r.notebooks_run, sorted(m for m in {modules!r} if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


@pytest.fixture(scope="session")
def built_project(tmp_path_factory) -> Path:
    """One full quick build shared by read-only tests."""
    from sitegen.build import build
    from sitegen.project import load_project

    root = make_project(tmp_path_factory.mktemp("built") / "proj")
    build(load_project(root), progress=False, log=lambda m: None)
    return root


@pytest.fixture
def built_copy(built_project, tmp_path) -> Path:
    """A private copy of the built fixture project (site, results and caches): a test
    may break it, and its first build finds everything cached but the broken part."""
    root = tmp_path / "proj"
    shutil.copytree(built_project, root, symlinks=True)
    return root


def site_files(root: Path) -> dict:
    """Every file of root/site, byte for byte."""
    site = root / "site"
    return {p.relative_to(site): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def cli_build(root: Path, capsys, *extra: str) -> tuple[int, str]:
    """`build.py --root ROOT -q build ...`: (exit code, stderr)."""
    import build as cli

    capsys.readouterr()
    code = cli.main(["--root", str(root), "-q", "build", *extra])
    return code, capsys.readouterr().err.strip()


def append(path: Path, text: str) -> int:
    """Append `text` as a paragraph of its own (after a blank line); the line it starts on."""
    old = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n"
    path.write_text(old + text, encoding="utf-8")
    return old.count("\n") + 1


def at(file: str, line: int) -> str:
    """The `where` of refused(): `file:line`, as a regex."""
    return f"{re.escape(file)}:{line}"


def refused(root: Path, capsys, before: dict, where: str | None, *expected: str,
            command: tuple[str, ...] = ("build",)) -> str:
    """The one bad-input harness: `build.py -q <command>` fails with one line `error: ...<where>: ...`
    (where: a regex such as at("02-second.md", 12); None for a mistake that is in no file) that
    says each of `expected`, exit 1, and site/ is byte for byte `before` (site_files)."""
    import build as cli

    capsys.readouterr()
    code = cli.main(["--root", str(root), "-q", *command])
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert re.match(rf"error: \S*{where}: " if where is not None else "error: ", err), err
    assert all(e in err for e in expected), err
    assert site_files(root) == before
    return err
