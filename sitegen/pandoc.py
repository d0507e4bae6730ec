"""The one place that runs pandoc (the binary shipped by pypandoc_binary).

We call the binary directly, through the path pypandoc knows, so we can read
its warnings and errors and turn them into one-line BuildErrors.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

from .cache import Cache, key
from .errors import BuildError

FILTER = Path(__file__).parent / "filters" / "article.lua"
PORTING = Path(__file__).parent / "filters" / "porting.lua"  # runs first: Quarto's syntax, and marks of what would vanish
DRIVER = Path(__file__).parent / "filters" / "chapters.lua"  # many chapters, one process
READER = "markdown+tex_math_dollars+footnotes+raw_attribute+fenced_divs+bracketed_spans-implicit_figures"


@functools.lru_cache(maxsize=1)
def pandoc_path() -> str:
    # the binary that pypandoc_binary ships, found without importing pypandoc
    spec = importlib.util.find_spec("pypandoc")
    exe = Path(spec.origin).parent / "files" / "pandoc" if spec and spec.origin else None
    if exe is not None and os.access(exe, os.X_OK):
        return str(exe)
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as e:
        raise BuildError(f"pandoc not found ({e}); run `make` to install pypandoc_binary") from None


@functools.lru_cache(maxsize=1)
def pandoc_version(cache_root: Path | None = None) -> str:
    """`pandoc --version`'s first line; remembered in the build cache per binary (path, size, mtime)."""
    return _ask_binary(cache_root, "version", ["--version"]).splitlines()[0]


def _ask_binary(cache_root: Path | None, name: str, args: list[str]) -> str:
    """What the binary prints for `args`, remembered in the build cache per binary (path, size, mtime)."""
    exe = pandoc_path()

    def ask() -> bytes:
        return subprocess.run([exe, *args], capture_output=True, check=True).stdout

    if cache_root is None:
        return ask().decode("utf-8")
    st = os.stat(exe)
    return Cache(cache_root, "pandoc").bytes(name, key(exe, st.st_size, st.st_mtime_ns), ask, ".txt").decode("utf-8")


TIMEOUT_S = 120       # longest one pandoc run may take (a chapter takes a second)
MEMORY = "-M2g"       # most heap one pandoc run may use (Haskell's runtime stops it there)
# the heap a run starts with: the binary's own -H64m has the kernel hand it 64 MB that a chapter
# never fills (a fifth of a run's CPU, as page faults); -H16m costs no more in collections
HEAP = "-H16m"


def run(args: list[str], text: str, file: Path | str | None = None) -> str:
    try:
        proc = _spawn(args, text)
    except subprocess.TimeoutExpired:
        raise BuildError(TOO_LONG, file) from None
    if proc.returncode != 0:
        raise BuildError("pandoc: " + (proc.stderr.strip().splitlines() or ["failed"])[0], file)
    return proc.stdout


TOO_LONG = (f"pandoc ran for more than {TIMEOUT_S} s on this file and was stopped; something in it is "
            f"pathological for pandoc (deeply nested brackets, emphasis or lists?)")


def _spawn(args: list[str], text: str) -> subprocess.CompletedProcess:
    """pandoc under our heap and time limits; subprocess.TimeoutExpired (with the stderr so far)."""
    try:
        return subprocess.run([pandoc_path(), "+RTS", MEMORY, HEAP, "-RTS", *args], input=text, capture_output=True,
                              text=True, encoding="utf-8", timeout=TIMEOUT_S)
    except FileNotFoundError:
        raise BuildError("pandoc binary missing; run `make` to reinstall pypandoc_binary") from None


def markdown_to_html(text: str, file: Path | str | None = None, id_prefix: str = "") -> str:
    """A chapter body (Markdown, already through Jinja) to an HTML fragment."""
    return chapters_to_html([(text, file, id_prefix)])[0]


def chapters_to_html(chapters: list[tuple[str, Path | str | None, str]], cache_root: Path | None = None) -> list[str]:
    """Chapter bodies (Markdown through Jinja; each with its file and id prefix) to HTML fragments,
    in one pandoc process (filters/chapters.lua): each read, filtered and written on its own, as
    `pandoc -f READER -t html5 --mathml --wrap=none --section-divs -L porting.lua -L article.lua
    --id-prefix P` would, without a process's start for each (as much as reading a chapter).
    A mistake names its chapter's file, a run past its time the chapter it was on."""
    if not chapters:
        return []
    job = {"reader": READER, "abbreviations": abbreviations(cache_root), "filters": [str(PORTING), str(FILTER)],
           "chapters": [{"markdown": _detab(text), "id_prefix": prefix} for text, _, prefix in chapters]}
    files = [file for _, file, _ in chapters]

    def on(stderr: str | bytes | None) -> Path | str | None:  # the chapter a failed run had started last
        text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr or ""
        started = re.findall(r"^sitegen: chapter (\d+)$", text, re.M)
        return files[int(started[-1]) - 1] if started else files[0]

    try:
        proc = _spawn(["lua", str(DRIVER)], json.dumps(job, ensure_ascii=False))
    except subprocess.TimeoutExpired as e:
        raise BuildError(TOO_LONG, on(e.stderr)) from None
    if proc.returncode != 0:  # the process itself failed (its heap): not one chapter's mistake alone
        said = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("sitegen: chapter ")]
        raise BuildError("pandoc: " + (said or ["failed"])[0], on(proc.stderr))
    rendered = json.loads(proc.stdout)
    for doc, file in zip(rendered, files):
        if "error" in doc:
            raise BuildError("pandoc: " + (doc["error"].strip().splitlines() or ["failed"])[0], file)
    return [doc["html"] for doc in rendered]


def _detab(text: str, stop: int = 4) -> str:
    """What pandoc's command line makes of a text before it reads Markdown, and pandoc.read does
    not: each line ended by a newline, and its tabs expanded to the next multiple of `stop` columns."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return "".join((_expand(line, stop) if "\t" in line else line) + "\n" for line in lines)


def _expand(line: str, stop: int) -> str:
    out, column = [], 0
    for ch in line:
        width = stop - column % stop if ch == "\t" else 1
        out.append(" " * width if ch == "\t" else ch)
        column += width
    return "".join(out)


@functools.lru_cache(maxsize=1)
def abbreviations(cache_root: Path | None = None) -> list[str]:
    """pandoc's default abbreviations ("e.g.", "al."), which its command line reads and
    pandoc.read does not; remembered in the build cache per binary."""
    return _ask_binary(cache_root, "abbreviations", ["--print-default-data-file", "abbreviations"]).split()


def filters_source() -> str:
    """What the filters do, for the chapters' cache key."""
    return "".join(f.read_text(encoding="utf-8") for f in (DRIVER, PORTING, FILTER))


def inline_markdown(text: str) -> str:
    """A caption or abstract: Markdown to HTML without the outer <p>."""
    return _unwrap(run(["-f", READER, "-t", "html5", "--mathml", "--wrap=none"], text))


SPLIT = "<!-- sitegen:split -->"


def inline_markdown_many(texts: list[str]) -> list[str]:
    """inline_markdown of each text, in one pandoc run (a run costs more than a caption).
    Notes and link definitions reach across texts: a text with one gets a run of its own."""
    if len(texts) < 2 or any(SPLIT in t or "[^" in t or "]:" in t for t in texts):
        return [inline_markdown(t) for t in texts]
    parts = run(["-f", READER, "-t", "html5", "--mathml", "--wrap=none"], f"\n\n{SPLIT}\n\n".join(texts)).split(SPLIT)
    if len(parts) != len(texts):  # a text ran into the next (an unclosed fence)
        return [inline_markdown(t) for t in texts]
    return [_unwrap(part) for part in parts]


def _unwrap(html: str) -> str:
    html = html.strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return html
