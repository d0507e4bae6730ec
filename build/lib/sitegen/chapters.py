"""A chapter: YAML front matter + Markdown with Jinja calls -> HTML fragment.

    ---
    title: The residual block
    claims:
      - result("depth_sweep", "resnet56", "test_error") < result("depth_sweep", "plain56", "test_error")
    ---
    ResNet-56 reaches {{ result("depth_sweep", "resnet56", "test_error", fmt="{:.1%}") }} ...
    {{ figure("depth_vs_error") }}

Jinja runs first (StrictUndefined; `{# #}` comments are off because pandoc
uses `{#id}` for attributes), then pandoc. Every error names file and line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jinja2
import yaml

from . import pandoc
from .errors import BuildError

FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*\n", re.S)
ALLOWED_META = {"title", "slug", "description", "claims", "draft"}


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


def split_front_matter(text: str, path: Path) -> tuple[dict, str, int]:
    m = FRONT.match(text)
    if not m:
        raise BuildError("missing YAML front matter (a block between --- lines with at least `title:`)", path, 1)
    try:
        meta = yaml.safe_load(m.group(1) or "") or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 2 if mark else 1  # +1 for the opening ---, +1 for 1-based
        raise BuildError(f"invalid YAML front matter: {getattr(e, 'problem', None) or e}", path, line) from None
    if not isinstance(meta, dict):
        raise BuildError("front matter must be a mapping such as `title: ...`", path, 2)
    unknown = sorted(set(map(str, meta)) - ALLOWED_META)  # str: YAML keys may be None or numbers
    if unknown:
        line = next((i + 2 for i, ln in enumerate((m.group(1) or "").splitlines())
                     if ln.startswith(unknown[0] + ":")), 2)
        raise BuildError(f"unknown front matter key {unknown[0]!r}; allowed: {', '.join(sorted(ALLOWED_META))}",
                         path, line)
    if not isinstance(meta.get("title"), str) or not meta["title"].strip():
        raise BuildError("front matter needs a `title:`", path, 2)
    body = text[m.end():]
    return meta, body, text.count("\n", 0, m.end()) + 1


def load_chapter(path: Path, text: str | None = None) -> Chapter:
    if text is None:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BuildError(f"not valid UTF-8 (byte {raw[e.start]:#x}); save the file as UTF-8",
                             path, raw.count(b"\n", 0, e.start) + 1) from None
    if path.suffix == ".ipynb":  # a notebook chapter: nbconvert to Markdown with front matter
        from .notebooks import chapter_markdown

        text = chapter_markdown(path, text)
    meta, body, body_line = split_front_matter(text, path)
    stem = re.sub(r"^\d+[-_]?", "", path.stem) or path.stem
    slug = str(meta.get("slug") or stem)
    return Chapter(path, meta, body, body_line, slug, meta["title"].strip())


def jinja_env() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
        comment_start_string="{##", comment_end_string="##}",
    )


def _template_line(exc: BaseException, name: str) -> int | None:
    """The template line an exception was raised at (Jinja maps its frames)."""
    if getattr(exc, "lineno", None) and isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.lineno
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == name:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_jinja(ch: Chapter, helpers: dict[str, Callable[..., Any]]) -> str:
    name = str(ch.path)
    env = jinja_env()
    try:
        # compile (once) with the file name so tracebacks carry it
        tmpl = env.template_class.from_code(env, env.compile(ch.body, filename=name), env.globals, None)
        return tmpl.render(**helpers)
    except BuildError as e:
        line = _template_line(e, name)
        raise BuildError(e.message, ch.path, ch.body_line + line - 1 if line else None) from None
    except jinja2.TemplateError as e:
        line = _template_line(e, name)
        raise BuildError(f"template error: {e.message}", ch.path,
                         ch.body_line + line - 1 if line else None) from None
    except Exception as e:  # a helper raised something unexpected: still one line
        line = _template_line(e, name)
        raise BuildError(f"{type(e).__name__}: {e}", ch.path,
                         ch.body_line + line - 1 if line else None) from None


def render_markdown(ch: Chapter) -> str:
    return pandoc.markdown_to_html(ch.markdown, ch.path, id_prefix=f"{ch.slug}-")


def check_claims(ch: Chapter, helpers: dict[str, Callable[..., Any]], text: str) -> None:
    """Each claim is a Jinja expression over result(); it must be true."""
    claims = ch.meta.get("claims") or []
    if not isinstance(claims, list):
        raise BuildError("`claims:` must be a list of expressions", ch.path, 2)
    env = jinja_env()
    for claim in claims:
        line = next((i + 1 for i, ln in enumerate(text.splitlines()) if str(claim) in ln), 2)
        try:
            ok = bool(env.compile_expression(str(claim), undefined_to_none=False)(**helpers))
        except BuildError as e:
            raise BuildError(f"claim `{claim}`: {e.message}", ch.path, line) from None
        except Exception as e:
            raise BuildError(f"claim `{claim}` could not be evaluated: {e}", ch.path, line) from None
        if not ok:
            raise BuildError(f"claim does not hold for the current results: `{claim}`; "
                             f"update the prose or the experiment", ch.path, line)
