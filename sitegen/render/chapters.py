"""Chapters, rendered: Jinja in the sandbox (result(), value(), figure() and the
claims), then pandoc to an HTML fragment, each step cached chapter by chapter.

Jinja's output depends on the chapter, the stored results and the helpers' code
only, so it is cached by those; pandoc's on the Markdown, the slug, pandoc's
version and the Lua filter. Editing one chapter re-renders only it. Every error
names the file and the line of the source, not of Jinja's output.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from lab.spread import STANDARD_ERRORS
from lab.store import sha256

from .. import pandoc, sandbox
from ..cache import Cache, key, source
from ..errors import BuildError
from ..model import Chapter
from ..project import Project
from . import measured, numbers
from .results import ResultsView

# the code Jinja's output depends on (StoredResult.get walks the paths in lab.store)
JINJA_CODE = ("sitegen.render.results", "sitegen.render.chapters", "sitegen.sandbox", "sitegen.frontmatter",
              "sitegen.limits", "sitegen.render.numbers", "sitegen.render.measured", "lab.store", "lab.spread")


def results_digest(project: Project) -> str:
    """Every stored result of this profile, byte for byte (result.json checksums the rest)."""
    files = sorted(project.results.glob(f"*/{project.config.profile}/result.json"))
    return sha256(b"".join(str(f).encode() + b"\0" + f.read_bytes() for f in files))


def jinja(chs: list[Chapter], view: ResultsView, known_figures: set[str], project: Project) -> None:
    """Each chapter's Markdown after Jinja, and the figures it placed (its claims checked)."""
    claims_on = project.config.profile in project.config.claims_in
    inputs = [results_digest(project), sorted(known_figures), claims_on, source(*JINJA_CODE)]
    cache = Cache(project.cache, "jinja")
    for ch in chs:
        entry = key(ch.body, ch.meta.get("claims"), inputs)
        doc = json_entry(cache, ch.slug, entry, ("markdown", "used"))
        if doc is not None:
            ch.markdown, ch.used_figures = doc["markdown"], doc["used"]
            continue
        used: list[str] = []
        with sandbox.budget(f"the Jinja of {ch.path.name}"):  # a BuildError at the line it was running
            ch.markdown = render_jinja(ch, view.helpers(known_figures, used))
            ch.used_figures = used
            if claims_on:
                check_claims(ch, view.claim_helpers())
        cache.put(ch.slug, entry, json.dumps({"markdown": ch.markdown, "used": used}).encode("utf-8"))


def start_pandoc(chs: list[Chapter], project: Project, pool: ThreadPoolExecutor, done: list[float],
                 processes: int) -> list[Future]:
    """The chapters not cached go through pandoc in `pool`, in up to `processes` processes, each
    rendering a share of them (a process's start costs as much as a chapter). Each future
    gives how many chapters its process rendered, and adds the time it finished to `done`."""
    cache = Cache(project.cache, "chapters")
    filter_src = pandoc.filters_source()
    version = _pandoc_version(project.cache)
    entries, todo = {}, []
    for ch in chs:
        entries[ch.slug] = key(ch.markdown, ch.slug, version, filter_src, pandoc.READER)
        hit = json_entry(cache, ch.slug, entries[ch.slug], ("html",))  # JSON: a truncated entry is a miss
        if hit is None:
            todo.append(ch)
        else:
            ch.html = hit["html"]

    def render(share: list[Chapter]) -> int:
        htmls = pandoc.chapters_to_html([(ch.markdown, ch.path, f"{ch.slug}-") for ch in share], project.cache)
        for ch, html in zip(share, htmls):
            ch.html = html
            cache.put(ch.slug, entries[ch.slug], json.dumps({"html": html}).encode("utf-8"))
        done.append(time.perf_counter())
        return len(share)

    return [pool.submit(render, share) for share in _shares(todo, processes)]


def _shares(chs: list[Chapter], n: int) -> list[list[Chapter]]:
    """`chs` in at most n shares of about equal length, longest first, each in the article's order."""
    shares: list[list[Chapter]] = [[] for _ in range(min(n, len(chs)))]
    for ch in sorted(chs, key=lambda c: -len(c.markdown)):
        min(shares, key=lambda s: sum(len(c.markdown) for c in s)).append(ch)
    order = {id(ch): i for i, ch in enumerate(chs)}
    return [sorted(s, key=lambda c: order[id(c)]) for s in shares]


def json_entry(cache: Cache, name: str, entry: str, fields: tuple[str, ...]) -> dict | None:
    """A JSON cache entry with `fields`, or None when it is missing or damaged (made again)."""
    raw = cache.get(name, entry)
    try:
        doc = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and all(f in doc for f in fields) else None


def _pandoc_version(cache_root: Path) -> str:
    try:
        return pandoc.pandoc_version(cache_root)
    except (OSError, ValueError) as e:
        raise BuildError(f"pandoc cannot run ({e}); run `make` to reinstall pypandoc_binary") from None


def render_jinja(ch: Chapter, helpers: dict[str, Callable[..., Any]]) -> str:
    name = str(ch.path)
    env = sandbox.AuthorEnvironment(formatted=numbers.formatted)
    try:
        # compiled with the file name so that the frames carry it (and so the line)
        tmpl = env.template_class.from_code(env, env.compile(ch.code.jinja, filename=name), env.globals, None)
        return ch.code.restore(sandbox.render(tmpl, helpers))
    except Exception as e:
        err = sandbox.author_error(e, name, ch.path, ch.body_line, source=ch.code.jinja)
        if err is None:
            raise  # ours: a bug, with its traceback
        raise err from None


def render_markdown(ch: Chapter) -> str:
    return pandoc.markdown_to_html(ch.markdown, ch.path, id_prefix=f"{ch.slug}-")


def check_claims(ch: Chapter, helpers: dict[str, Callable[..., Any]]) -> None:
    """Each claim is a Jinja expression over result() and value(); it must be true."""
    claims = ch.meta.get("claims") or []
    lines = ch.claim_lines()
    env = sandbox.AuthorEnvironment()
    for i, claim in enumerate(claims):
        line = lines[i] if i < len(lines) else (ch.front.key_lines.get("claims", 2) if ch.front else 2)
        try:
            with measured.noted() as inside_noise:
                ok = bool(env.compile_expression(claim, undefined_to_none=False)(**helpers))
        except Exception as e:
            err = sandbox.author_error(e, "<claim>", ch.path, line, f"claim `{claim}`: ")
            if err is None:
                raise
            raise BuildError(err.message, ch.path, line) from None
        if not ok and inside_noise:
            raise BuildError(f"claim holds on the means but not beyond the noise (the difference of the "
                             f"means is within {STANDARD_ERRORS:g} standard errors): `{claim}`: "
                             + "; ".join(inside_noise), ch.path, line)
        if not ok:
            raise BuildError(f"claim does not hold for the current results: `{claim}`; "
                             f"update the prose or the experiment", ch.path, line)
