"""The page templates (templates/*.j2): one Jinja environment for the article,
the deck and the notebook pages, StrictUndefined, and errors that name the
template's own line.

Compiled templates are kept in the build cache (checked against each template's
source): compiling the article template costs more than rendering it.
"""
from __future__ import annotations

import jinja2

from ..cache import Cache
from ..errors import BuildError
from ..project import Project


class _Bytecode(jinja2.BytecodeCache):
    """Jinja's compiled templates, as entries of the build cache (one per template)."""

    def __init__(self, cache: Cache):
        self.cache = cache

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.cache.get(bucket.key, bucket.checksum, ".bc")
        if data is not None:
            try:
                bucket.bytecode_from_string(data)
            except Exception:  # a damaged entry is a miss: compiled again
                bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.cache.put(bucket.key, bucket.checksum, bucket.bytecode_to_string(), ".bc")


def page_env(project: Project) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(project.templates)),
                              bytecode_cache=_Bytecode(Cache(project.cache, "templates")),
                              undefined=jinja2.StrictUndefined, autoescape=jinja2.select_autoescape(["html", "j2"]),
                              keep_trailing_newline=True)


def render_page(project: Project, context: dict, template: str = "article.html.j2") -> str:
    env = page_env(project)
    try:
        return env.get_template(template).render(**context)
    except jinja2.TemplateSyntaxError as e:
        raise BuildError(f"template error: {e.message}", e.filename or project.templates / template, e.lineno) from None
    except jinja2.UndefinedError as e:
        line = None
        tb = e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.endswith(".j2"):
                line, fname = tb.tb_lineno, tb.tb_frame.f_code.co_filename
            tb = tb.tb_next
        raise BuildError(f"undefined template variable: {e.message}",
                         fname if line else project.templates / template, line) from None
