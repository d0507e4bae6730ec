"""The article page: assembled chapters through the Jinja page template, and
every file the page needs written into the staging folder.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import jinja2

from figures.store import git_commit

from . import images, numbers, page_meta, page_notes, pandoc
from .assemble import assemble
from .errors import BuildError
from .project import Project

PREVIEW = "preview.png"
LICENCES = {"CC-BY 4.0": "https://creativecommons.org/licenses/by/4.0/",
            "CC BY 4.0": "https://creativecommons.org/licenses/by/4.0/",
            "CC-BY-SA 4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
            "CC0": "https://creativecommons.org/publicdomain/zero/1.0/"}


def page_env(templates: Path, cache: Path | None = None) -> jinja2.Environment:
    # compiled templates are kept in `cache` (checked against each template's mtime):
    # compiling the article template costs more than rendering it
    bytecode = None
    if cache is not None:
        (cache / "templates").mkdir(parents=True, exist_ok=True)
        bytecode = jinja2.FileSystemBytecodeCache(str(cache / "templates"))
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), bytecode_cache=bytecode,
                              undefined=jinja2.StrictUndefined, autoescape=jinja2.select_autoescape(["html", "j2"]),
                              keep_trailing_newline=True)


def render_page(project: Project, context: dict, template: str = "article.html.j2") -> str:
    env = page_env(project.templates, project.cache)
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


def _base_url(url: str) -> str:
    """The folder of the canonical URL, for absolute links to files beside the page."""
    if not url or url.endswith("/"):
        return url
    last = url.rsplit("/", 1)[-1]
    return url.rsplit("/", 1)[0] + "/" if "." in last else url + "/"


def vtt_chapters(text: str) -> list[dict]:
    """The chapters track (WebVTT) as a list the page shows under the video:
    each cue's title and start, so a click seeks to the same instant as the track."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [ln for ln in block.strip().splitlines() if ln.strip()]
        timing = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        if timing is None or timing + 1 >= len(lines):
            continue
        h, m, sec = ([0] + lines[timing].split("-->")[0].strip().split(":"))[-3:]
        start = int(h) * 3600 + int(m) * 60 + float(sec)
        out.append({"start": round(start, 3), "label": f"{int(start) // 60}:{int(start) % 60:02d}",
                    "title": " ".join(lines[timing + 1:])})
    return out


def write_assets(project: Project, stage: Path, figures) -> None:
    fig_dir = stage / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    for name, fig in figures.items():
        (fig_dir / f"{name}.{fig.ext}").write_bytes(fig.svg_light)
        (fig_dir / f"{name}-dark.{fig.ext}").write_bytes(fig.svg_dark)
        if fig.spec is not None:
            (fig_dir / f"{name}.vl.json").write_text(json.dumps(fig.spec, sort_keys=True, allow_nan=False),
                                                      encoding="utf-8")
    static = project.templates / "static"
    if static.exists():  # READMEs and scripts that made vendored files are for us, not for readers
        shutil.copytree(static, stage / "static", ignore=shutil.ignore_patterns("README.md", "*.py"))


def meta_context(project: Project, references) -> dict:
    cfg = project.config
    site_yml = project.content / "site.yml"
    authors = cfg.author_list
    published = page_meta.parse_date(cfg.published, "published", site_yml)
    updated = page_meta.parse_date(cfg.updated, "updated", site_yml)
    base = _base_url(cfg.url)
    return {
        "published": {"iso": published.isoformat() if published else "",
                      "human": page_meta.human_date(published),
                      "scholar": f"{published:%Y/%m/%d}" if published else ""},
        "updated": {"iso": updated.isoformat() if updated and updated != published else "",
                    "human": page_meta.human_date(updated)},
        "canonical": cfg.url,
        "base_url": base,  # "" without `url:` in site.yml: social cards then get no image (it must be absolute)
        "preview": {"url": base + PREVIEW if base else "", "width": page_meta.PREVIEW_SIZE[0], "height": page_meta.PREVIEW_SIZE[1],
                    "alt": f"Title card: {cfg.title}"},
        "bibtex": page_meta.bibtex(cfg, authors, published, cfg.url),
        "citation_text": page_meta.citation_text(cfg, authors, published, cfg.url),
        "updates": page_meta.updates(cfg, site_yml),
        "licence_url": LICENCES.get(cfg.licence, ""),
        "reference_links": {r.key: page_notes.link_label(r.link) for r in references
                            if r.link and r.link not in r.html},
        "chart_theme": page_meta.chart_theme(project.cache / "page"),
    }


def write_site(project: Project, stage: Path, chapters, refs, figures, media=None) -> None:
    """`media` (sitegen.video.Media): files and page variables of the video and notebook stages."""
    # the author's own figures (images, diagrams of the models) join the plot figures
    figures = {**figures, **images.collect(chapters, project, page_meta.chart_theme(project.cache / "page"))}
    bodies, numbering = assemble(chapters, figures, refs)
    bodies, footnotes = page_notes.collect_footnotes(bodies)
    bodies = [page_notes.mark_asides(b) for b in bodies]
    cfg = project.config
    write_assets(project, stage, figures)
    meta = meta_context(project, refs)
    (stage / PREVIEW).write_bytes(page_meta.preview_image(cfg, cfg.author_list, meta["published"]["human"],
                                                          project.cache / "page"))
    chapter_ctx = [
        {"slug": ch.slug, "title": ch.title, "number": i, "html": body, "file": ch.path.name}
        for i, (ch, body) in enumerate(zip(chapters, bodies), 1)
    ]
    figure_list = [{"number": num, "name": name, "anchor": numbering.labels[f"fig:{name}"][0],
                    "interactive": figures[name].spec is not None,
                    "provenance": figures[name].provenance} for num, name in numbering.figures]
    from figures.store import ResultStore

    sources = numbers.sources(bodies, ResultStore(project.results), cfg.profile, figure_list)
    context = {
        "site": cfg,
        "authors": cfg.author_list,
        "affiliations": list(dict.fromkeys(a.affiliation for a in cfg.author_list if a.affiliation)),
        "abstract_html": pandoc.inline_markdown(cfg.abstract) if cfg.abstract else "",
        "chapters": chapter_ctx,
        "toc": page_notes.table_of_contents(chapter_ctx),
        "references": refs,
        "footnotes": footnotes,
        "figures": figure_list,
        "number_sources": json.dumps(sources, sort_keys=True, ensure_ascii=False).replace("</", "<\\/"),
        "quoted_experiments": numbers.provenance_entries(sources),
        "meta": meta,
        "build": {
            "profile": cfg.profile,
            "commit": git_commit(project.root),
            "year": meta["published"]["iso"][:4],
        },
        "video": None, "notebooks": [],  # filled by the media stage (sitegen.video, sitegen.notebooks)
    }
    if media is not None:
        context.update(media.context)
        media.write(stage)
        track = media.files.get("media/chapters.vtt")
        if context.get("video") and track is not None:
            text = track.read_text(encoding="utf-8") if isinstance(track, Path) else track.decode("utf-8")
            context["video"] = {**context["video"], "chapter_list": vtt_chapters(text)}
    html = render_page(project, context)
    (stage / "index.html").write_text(html, encoding="utf-8")
