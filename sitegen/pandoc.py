"""The one place that runs pandoc (the binary shipped by pypandoc_binary).

We call the binary directly, through the path pypandoc knows, so we can read
its warnings and errors and turn them into one-line BuildErrors.
"""
from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from .errors import BuildError

FILTER = Path(__file__).parent / "filters" / "article.lua"
READER = "markdown+tex_math_dollars+footnotes+raw_attribute+fenced_divs+bracketed_spans-implicit_figures"


@functools.lru_cache(maxsize=1)
def pandoc_path() -> str:
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as e:
        raise BuildError(f"pandoc not found ({e}); run `make` to install pypandoc_binary") from None


@functools.lru_cache(maxsize=1)
def pandoc_version() -> str:
    out = subprocess.run([pandoc_path(), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0]


def run(args: list[str], text: str, file: Path | str | None = None) -> str:
    try:
        proc = subprocess.run([pandoc_path(), *args], input=text, capture_output=True,
                              text=True, encoding="utf-8", timeout=300)
    except FileNotFoundError:
        raise BuildError("pandoc binary missing; run `make` to reinstall pypandoc_binary") from None
    if proc.returncode != 0:
        raise BuildError("pandoc: " + (proc.stderr.strip().splitlines() or ["failed"])[0], file)
    return proc.stdout


def markdown_to_html(text: str, file: Path | str | None = None, id_prefix: str = "") -> str:
    """A chapter body (Markdown, already through Jinja) to an HTML fragment."""
    args = ["-f", READER, "-t", "html5", "--mathml", "--wrap=none",
            "--lua-filter", str(FILTER), "--section-divs"]
    if id_prefix:
        args += ["--id-prefix", id_prefix]
    return run(args, text, file)


def inline_markdown(text: str) -> str:
    """A caption or abstract: Markdown to HTML without the outer <p>."""
    html = run(["-f", READER, "-t", "html5", "--mathml", "--wrap=none"], text).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return html
