"""The article's metadata, derived from content/site.yml: the "cite this
article" text and BibTeX entry, dates for people and for Google Scholar, the
preview image for social cards, and the chart colours for the page's scripts.
"""
from __future__ import annotations

import datetime as _dt
import io
import json
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from lab.config import ConfigError, from_dict

from .. import pandoc
from ..cache import Cache, key, source
from ..errors import BuildError
from ..project import Author, SiteConfig
from .charts import vega_config

PREVIEW_SIZE = (1200, 630)  # the size OpenGraph and Twitter cards expect


def parse_date(value: str, field: str, where: Path) -> _dt.date | None:
    if not value:
        return None
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        raise BuildError(f"`{field}:` must be an ISO date such as 2026-11-22, not {value!r}", where) from None


def human_date(d: _dt.date | None) -> str:
    return f"{d:%B} {d.day}, {d.year}" if d else ""


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _is_group(name: str) -> bool:
    """A team or lab rather than a person: BibTeX must not split it into first/last names."""
    return name.lower().startswith("the ") or len(name.split()) > 3


def bibtex_name(a: Author) -> str:
    if _is_group(a.name) or " " not in a.name.strip():
        return "{" + a.name + "}"
    first, last = a.name.rsplit(" ", 1)
    return f"{last}, {first}"


def _last_name(a: Author) -> str:
    return a.name.split()[-1] if not _is_group(a.name) else a.name.split()[1 if a.name.lower().startswith("the ") else 0]


def bibtex_key(cfg: SiteConfig, authors: list[Author], year: str) -> str:
    if cfg.bibtex_key:
        return cfg.bibtex_key
    who = _ascii(_last_name(authors[0])).lower() if authors else "anonymous"
    words = [w for w in re.findall(r"[a-z]+", _ascii(cfg.title).lower()) if w not in {"a", "an", "the", "of", "on"}]
    return re.sub(r"[^a-z0-9]", "", who) + year + (words[0] if words else "")


def bibtex(cfg: SiteConfig, authors: list[Author], published: _dt.date | None, url: str) -> str:
    year = str(published.year) if published else ""
    fields = [("author", " and ".join(bibtex_name(a) for a in authors)),
              ("title", "{" + cfg.title + "}"), ("year", year)]
    if published:
        fields.append(("month", f"{published:%b}".lower()))
    if cfg.journal:
        fields.append(("journal", cfg.journal))
    if url:
        fields.append(("url", url))
    if cfg.doi:
        fields.append(("doi", cfg.doi))
    fields.append(("note", "Interactive article"))
    body = ",\n".join(f"  {k} = {{{v}}}" if k != "month" else f"  {k} = {v}" for k, v in fields if v)
    return f"@article{{{bibtex_key(cfg, authors, year)},\n{body}\n}}"


def citation_text(cfg: SiteConfig, authors: list[Author], published: _dt.date | None, url: str) -> str:
    names = [a.name for a in authors]
    who = names[0] + (", et al." if len(names) > 2 else f" and {names[1]}" if len(names) == 2 else "")
    parts = [f"{who}, “{cfg.title}”", str(published.year) if published else ""]
    link = f"https://doi.org/{cfg.doi}" if cfg.doi else url
    return ", ".join(p for p in parts if p) + "." + (f" {link}" if link else "")


def chart_theme(cache_root: Path) -> str:
    """The static figures' colours, for the interactive charts (one source of truth).
    From figures.themes, which imports no matplotlib, and cached on its source."""
    def make() -> bytes:
        from figures.themes import THEMES  # no matplotlib

        themes = {name: {"fg": t.fg, "muted": t.muted, "category": [t.plain, t.residual, *t.accent]}
                  for name, t in THEMES.items()}
        for t in themes.values():  # Vega's config, for the page's charts and the static SVGs of the build's
            t["vega"] = vega_config(t)
        return json.dumps(themes, sort_keys=True, separators=(",", ":")).encode()

    return Cache(cache_root, "page").bytes("chart-theme", key(source("figures.themes", "sitegen.render.charts")), make).decode()


def title_card(project) -> bytes:
    """The page's title card (preview_image) as site.yml describes it: the page's, and the one
    the figures' drawing process makes ahead, into the cache, where it imports matplotlib anyway."""
    cfg = project.config
    published = parse_date(cfg.published, "published", project.content / "site.yml")
    return preview_image(cfg, cfg.author_list, human_date(published), project.cache)


def preview_image(cfg: SiteConfig, authors: list[Author], date: str, cache_root: Path) -> bytes:
    """A title card as PNG for OpenGraph/Twitter; the same inputs give the same bytes."""
    from lab.keys import library_version

    entry = key(cfg.title, cfg.description, [a.name for a in authors], date, library_version("matplotlib"),
                source(Path(__file__)))
    return Cache(cache_root, "page").bytes("preview", entry, lambda: _draw_card(cfg, authors, date), ".png")


def _draw_card(cfg: SiteConfig, authors: list[Author], date: str) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from figures.themes import LIGHT

    w, h = PREVIEW_SIZE
    fig = Figure(figsize=(w / 100, h / 100), dpi=100)
    fig.patch.set_facecolor("#ffffff")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    ax.axis("off")
    font = {"family": "DejaVu Sans"}  # ships with matplotlib: the same glyphs on every machine
    # the text column is ~700 px wide, left of the diagram; long titles get a smaller size
    size, width = (44, 20) if len(textwrap.wrap(cfg.title, 20)) <= 3 else (34, 27)
    title = textwrap.fill(cfg.title, width)
    ax.text(70, h - 70, title, va="top", ha="left", fontsize=size, fontweight="bold", color="#1a1a1a",
            linespacing=1.15, **font)
    title_px = (title.count("\n") + 1) * size * 100 / 72 * 1.15 * 1.2  # pt -> px, line spacing, ascent
    if cfg.description:
        ax.text(70, h - 70 - title_px - 24, textwrap.fill(cfg.description, 44), va="top", ha="left",
                fontsize=20, color="#4a4a4a", linespacing=1.35, **font)
    byline = " · ".join(x for x in (", ".join(a.name for a in authors), date) if x)
    ax.text(70, 60, byline, va="bottom", ha="left", fontsize=17, color="#595959", **font)
    # a residual block: x -> F(x) -> (+) with the identity shortcut around it
    x0, y0 = 920, 300
    for dy, label in ((90, "weight layer"), (-10, "weight layer")):
        ax.add_patch(FancyBboxPatch((x0 - 80, y0 + dy - 28), 160, 56, boxstyle="round,pad=4",
                                    fc="#eef3fa", ec=LIGHT.residual, lw=2))
        ax.text(x0, y0 + dy, label, ha="center", va="center", fontsize=15, color="#1a1a1a", **font)
    arrows = [((x0, y0 + 200), (x0, y0 + 124)), ((x0, y0 + 56), (x0, y0 + 24)), ((x0, y0 - 42), (x0, y0 - 92))]
    for a, b in arrows:
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=18, color="#333333", lw=2))
    ax.add_patch(FancyArrowPatch((x0, y0 + 165), (x0, y0 - 110), connectionstyle="arc3,rad=-0.9",
                                 arrowstyle="-|>", mutation_scale=18, color=LIGHT.plain, lw=2.5))
    ax.text(x0 + 135, y0 + 30, "identity", ha="left", va="center", fontsize=15, color=LIGHT.plain, **font)
    ax.text(x0, y0 - 125, "F(x) + x", ha="center", va="center", fontsize=18, color="#1a1a1a", **font)
    ax.add_patch(FancyBboxPatch((0, 0), w, 14, boxstyle="square,pad=0", fc=LIGHT.residual, ec="none"))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


@dataclass(frozen=True)
class Update:
    date: str
    text: str   # Markdown


def updates(cfg: SiteConfig, where: Path) -> list[dict]:
    """The `updates:` list of site.yml, newest first, validated."""
    out = []
    for raw in cfg.updates:
        if not isinstance(raw, dict):
            raise BuildError("each entry of `updates:` needs `date:` and `text:`", where)
        try:
            u = from_dict(Update, raw, "site.yml updates")
        except (ConfigError, TypeError) as e:
            raise BuildError(str(e), where) from None
        d = parse_date(str(u.date), "updates: date", where)
        out.append({"date": d.isoformat(), "human": human_date(d), "html": pandoc.inline_markdown(u.text)})
    return sorted(out, key=lambda u: u["date"], reverse=True)
