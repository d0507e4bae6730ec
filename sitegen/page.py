"""The article page: assembled chapters through the Jinja page template, and
every file the page needs written into the staging folder.
"""
from __future__ import annotations

import datetime as _dt
import json
import shutil
from pathlib import Path

import jinja2

from figures.store import git_commit

from . import pandoc
from .assemble import assemble
from .errors import BuildError
from .project import Project


def page_env(templates: Path) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)),
                              undefined=jinja2.StrictUndefined, autoescape=jinja2.select_autoescape(["html", "j2"]),
                              keep_trailing_newline=True)


def render_page(project: Project, context: dict, template: str = "article.html.j2") -> str:
    env = page_env(project.templates)
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


def write_site(project: Project, stage: Path, chapters, refs, figures) -> None:
    bodies, numbering = assemble(chapters, figures, refs)
    cfg = project.config
    fig_dir = stage / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    for name, fig in figures.items():
        (fig_dir / f"{name}.svg").write_bytes(fig.svg_light)
        (fig_dir / f"{name}-dark.svg").write_bytes(fig.svg_dark)
        if fig.spec is not None:
            (fig_dir / f"{name}.vl.json").write_text(json.dumps(fig.spec, sort_keys=True, allow_nan=False),
                                                      encoding="utf-8")
    static = project.templates / "static"
    if static.exists():
        shutil.copytree(static, stage / "static")
    context = {
        "site": cfg,
        "authors": cfg.author_list,
        "abstract_html": pandoc.inline_markdown(cfg.abstract) if cfg.abstract else "",
        "chapters": [
            {"slug": ch.slug, "title": ch.title, "number": i, "html": body, "file": ch.path.name}
            for i, (ch, body) in enumerate(zip(chapters, bodies), 1)
        ],
        "references": refs,
        "figures": [{"number": num, "name": name, "anchor": numbering.labels[f"fig:{name}"][0],
                     "provenance": figures[name].provenance} for num, name in numbering.figures],
        "build": {
            "profile": cfg.profile,
            "commit": git_commit(project.root),
            "year": (cfg.published or _dt.date.today().isoformat())[:4],
        },
    }
    html = render_page(project, context)
    (stage / "index.html").write_text(html, encoding="utf-8")
