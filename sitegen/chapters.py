"""A chapter: YAML front matter + Markdown with Jinja calls -> HTML fragment.

    ---
    title: The residual block
    claims:
      - result("depth_sweep", "resnet56", "test_error") < result("depth_sweep", "plain56", "test_error")
    ---
    ResNet-56 reaches {{ result("depth_sweep", "resnet56", "test_error", fmt="{:.1%}") }} ...
    {{ figure("depth_vs_error") }}

Jinja runs first, in the sandbox (sitegen.sandbox: StrictUndefined, no Python
internals, code blocks and inline code left as typed; `{# #}` comments are off
because pandoc uses `{#id}` for attributes), then pandoc. Every error names the
file and the line of the source, not of Jinja's output.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import pandoc, sandbox
from .errors import BuildError, find_line
from .frontmatter import ALLOWED_META, FRONT, Yaml, decode, normalise, split_chapter  # noqa: F401 (re-exported)


@dataclass
class Chapter:
    path: Path
    meta: dict
    body: str               # Markdown after the front matter
    body_line: int          # line number of the body's first line in the file
    slug: str
    title: str
    markdown: str = ""      # body after Jinja
    html: str = ""          # after pandoc
    used_figures: list[str] = field(default_factory=list)
    used_results: set[str] = field(default_factory=set)
    front: Yaml | None = None                 # where each front matter key and claim was written
    code: sandbox.Protected | None = None     # the body with its code cut out

    def __post_init__(self) -> None:
        if self.code is None:
            self.code = sandbox.protect_code(self.body, self.path)

    def claim_lines(self) -> list[int]:
        return self.front.item_lines.get("claims", []) if self.front else []

    def line_of(self, needle: str | re.Pattern, nth: int = 1) -> int | None:
        """The source line of the nth `needle` outside code; else of the first in
        Jinja's output (text a macro or loop wrote), which is close."""
        return (find_line(self.code.search, needle, self.body_line, nth)
                or find_line(self.markdown, needle, self.body_line))


def split_front_matter(text: str, path: Path) -> tuple[dict, str, int]:
    meta, body, body_line, _ = split_chapter(normalise(text), path)
    return meta, body, body_line


def load_chapter(path: Path, text: str | None = None) -> Chapter:
    text = decode(path.read_bytes(), path) if text is None else normalise(text)
    if path.suffix == ".ipynb":  # a notebook chapter: nbconvert to Markdown with front matter
        from .notebooks import chapter_markdown

        text = chapter_markdown(path, text)
    meta, body, body_line, front = split_chapter(text, path)
    stem = re.sub(r"^\d+[-_]?", "", path.stem) or path.stem
    slug = str(meta.get("slug") or stem)
    return Chapter(path, meta, body, body_line, slug, meta["title"].strip(), front=front)


def jinja_env() -> sandbox.AuthorEnvironment:
    return sandbox.AuthorEnvironment()


def render_jinja(ch: Chapter, helpers: dict[str, Callable[..., Any]]) -> str:
    name = str(ch.path)
    env = jinja_env()
    try:
        # compiled with the file name so that the frames carry it (and so the line)
        tmpl = env.template_class.from_code(env, env.compile(ch.code.jinja, filename=name), env.globals, None)
        return ch.code.restore(tmpl.render(**helpers))
    except Exception as e:
        err = sandbox.author_error(e, name, ch.path, ch.body_line)
        if err is None:
            raise  # ours: a bug, with its traceback
        raise err from None


def render_markdown(ch: Chapter) -> str:
    return pandoc.markdown_to_html(ch.markdown, ch.path, id_prefix=f"{ch.slug}-")


def check_claims(ch: Chapter, helpers: dict[str, Callable[..., Any]], text: str | None = None) -> None:
    """Each claim is a Jinja expression over result() and value(); it must be true."""
    claims = ch.meta.get("claims") or []
    lines = ch.claim_lines()
    env = jinja_env()
    for i, claim in enumerate(claims):
        line = lines[i] if i < len(lines) else (ch.front.key_lines.get("claims", 2) if ch.front else 2)
        try:
            ok = bool(env.compile_expression(claim, undefined_to_none=False)(**helpers))
        except Exception as e:
            err = sandbox.author_error(e, "<claim>", ch.path, line, f"claim `{claim}`: ")
            if err is None:
                raise
            raise BuildError(err.message, ch.path, line) from None
        if not ok:
            raise BuildError(f"claim does not hold for the current results: `{claim}`; "
                             f"update the prose or the experiment", ch.path, line)
