"""Chapters: content/NN-name.md (YAML front matter + Markdown with Jinja calls) -> Chapter.

    ---
    title: The residual block
    claims:
      - result("depth_sweep", "resnet56", "test_error") < result("depth_sweep", "plain56", "test_error")
    ---
    ResNet-56 reaches {{ result("depth_sweep", "resnet56", "test_error", fmt="{:.1%}") }} ...
    {{ figure("depth_vs_error") }}

Reading a chapter splits off its front matter (checked key by key), cuts its
code out (sitegen.sandbox: Jinja never runs in code) and lists the figure() and
result()/value() calls its Jinja and claims make, so that the plan knows which
experiments the article needs before anything is rendered.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import jinja2
from jinja2 import nodes

from .. import sandbox
from ..errors import BuildError
from ..frontmatter import decode, normalise, split_chapter
from ..model import Chapter
from ..project import Project


def load_chapter(path: Path, text: str | None = None) -> Chapter:
    text = decode(path.read_bytes(), path) if text is None else normalise(text)
    if path.suffix == ".ipynb":  # a notebook chapter: nbconvert to Markdown with front matter
        from .notebooks import chapter_markdown

        text = chapter_markdown(path, text)
    meta, body, body_line, front = split_chapter(text, path)
    stem = re.sub(r"^\d+[-_]?", "", path.stem) or path.stem
    slug = str(meta.get("slug") or stem)
    return Chapter(path, meta, body, body_line, slug, meta["title"].strip(),
                   sandbox.protect_code(body, path, body_line), front=front)


def load_chapters(project: Project) -> list[Chapter]:
    """Every chapter in reading order, drafts left out; two chapters may not share a slug."""
    chs = [load_chapter(p) for p in project.chapters()]
    if not chs:
        raise BuildError("no chapters found (expected content/NN-name.md)", project.content)
    seen: dict[str, Path] = {}
    for ch in chs:
        if ch.slug in seen:
            raise BuildError(f"two chapters share the slug {ch.slug!r} (also {seen[ch.slug].name})", ch.path, 1)
        seen[ch.slug] = ch.path
    return [c for c in chs if not c.meta.get("draft")]


@functools.lru_cache(maxsize=256)  # the plan asks twice per chapter (figures drawn ahead, results needed)
def scan_calls(source: str) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
    """(name, template line) of each figure("...") and result("...")/value("...") call."""
    try:
        found = list(sandbox.AuthorEnvironment().parse(source).find_all(nodes.Call))
    except (jinja2.TemplateSyntaxError, RecursionError, MemoryError):
        return (), ()  # the renderer reports it with its line (nested too deeply: too)
    figs, exps = [], []
    for call in found:
        if isinstance(call.node, nodes.Name) and call.args and isinstance(call.args[0], nodes.Const):
            if call.node.name == "figure":
                figs.append((str(call.args[0].value), call.lineno))
            elif call.node.name in ("result", "value"):
                exps.append((str(call.args[0].value), call.lineno))
    return tuple(figs), tuple(exps)


def calls(ch: Chapter) -> list[tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...], int]]:
    """The chapter's body and each claim: (figure calls, result calls, first line in the file)."""
    sources = [(ch.code.jinja, ch.body_line)] + [
        ("{{ %s }}" % c, line) for c, line in zip(ch.meta.get("claims") or [], ch.claim_lines())]
    return [(*scan_calls(source), first) for source, first in sources]
