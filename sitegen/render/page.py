"""The article page: the assembled chapters through the Jinja page template, and
every file the page needs, as {site path: bytes, or a file to copy}; the write
phase puts them into the staging folder.
"""
from __future__ import annotations

import fnmatch
import json
from pathlib import Path

from lab.store import ResultStore, git_commit

from .. import pandoc
from ..model import Chapter, Media, Reference, RenderedFigure, chapter_numbers
from ..project import Project
from . import images, live, numbers, opening, page_meta, page_notes, porting, subfigures, talk
from .assemble import assemble
from .templates import render_page

STATIC_LEFT_OUT = ("README.md", "*.py")  # READMEs and scripts that made vendored files are for us, not for readers

PREVIEW = "preview.png"
LICENCES = {"CC-BY 4.0": "https://creativecommons.org/licenses/by/4.0/",
            "CC BY 4.0": "https://creativecommons.org/licenses/by/4.0/",
            "CC-BY-SA 4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
            "CC0": "https://creativecommons.org/publicdomain/zero/1.0/"}


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


def assets(project: Project, figures: dict[str, RenderedFigure]) -> dict[str, bytes | Path]:
    """The figures' files and the static folder."""
    files: dict[str, bytes | Path] = {}
    for name, fig in figures.items():
        for f in fig.parts or (fig,):  # a figure of sub-figures: their images
            files[f"figures/{f.name}.{f.ext}"] = f.svg_light
            files[f"figures/{f.name}-dark.{f.ext}"] = f.svg_dark
        if fig.spec is not None:
            files[f"figures/{name}.vl.json"] = json.dumps(fig.spec, sort_keys=True, allow_nan=False).encode("utf-8")
    static = project.templates / "static"
    for path in sorted(static.rglob("*")) if static.exists() else []:
        rel = path.relative_to(static)
        if path.is_file() and not any(fnmatch.fnmatch(part, pat) for part in rel.parts for pat in STATIC_LEFT_OUT):
            files[f"static/{rel.as_posix()}"] = path
    return files


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
        "chart_theme": page_meta.chart_theme(project.cache),
    }


def render_site(project: Project, store: ResultStore, chapters: list[Chapter], refs: list[Reference],
                figures: dict[str, RenderedFigure], media: Media) -> dict[str, bytes | Path]:
    """Every file of the site: the page, its figures and assets, and the media steps' files."""
    cfg = project.config
    for ch in chapters:  # first: what Quarto syntax would have lost (a figure div's images, say)
        porting.check(ch)
    # the author's own figures (images, diagrams of the models) join the plot figures
    theme = page_meta.chart_theme(project.cache)
    figures = {**figures, **images.collect(chapters, project, theme), **subfigures.collect(chapters, project, theme)}
    bodies, numbering = assemble(chapters, figures, refs)
    bodies, footnotes = page_notes.collect_footnotes(bodies)
    bodies = [page_notes.mark_asides(b) for b in bodies]
    bodies, takeaways = opening.lift_takeaways(bodies)  # shown before chapter 1
    files = assets(project, figures)
    files.update(live.files(figures, store, cfg.profile))  # the live lesion figure's networks
    meta = meta_context(project, refs)
    files[PREVIEW] = page_meta.title_card(project)
    chapter_ctx = [
        {"slug": ch.slug, "title": ch.title, "number": number, "html": body, "file": ch.path.name}
        for number, ch, body in zip(chapter_numbers(chapters), chapters, bodies)
    ]
    figure_list = [{"number": num, "name": name, "anchor": numbering.labels[f"fig:{name}"][0],
                    "interactive": figures[name].spec is not None,
                    "provenance": figures[name].provenance} for num, name in numbering.figures]
    sources = numbers.sources([takeaways, *bodies], store, cfg.profile, figure_list)
    context = {
        "site": cfg,
        "authors": cfg.author_list,
        "affiliations": list(dict.fromkeys(x for a in cfg.author_list for x in a.affiliations)),
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
        "video": None, "notebooks": [],  # filled by the media steps (sitegen.render.video, .notebooks)
    }
    context["takeaways_html"] = takeaways
    context.update(media.context)
    files.update(media.files)
    track = media.files.get("media/chapters.vtt")
    if context.get("video") and track is not None:
        text = track.read_text(encoding="utf-8") if isinstance(track, Path) else track.decode("utf-8")
        context["video"] = {**context["video"], "chapter_list": vtt_chapters(text)}
    if context.get("video"):
        context["video"] = {**context["video"], "poster_svg": opening.svg(store, cfg.profile, context["video"]["title"])}
    files.update(talk.tie(project, context, media.files))  # chips beside the headings, the transcript page
    files["index.html"] = render_page(project, context).encode("utf-8")
    return files
