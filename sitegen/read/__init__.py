"""The read phase: what the author wrote, as data (sitegen.model), before anything runs.

    chapters       content/NN-name.md and .ipynb -> Chapter (front matter, body, the calls it makes)
    slides         content/slides.md -> Deck
    notebooks      a notebook file, validated; a notebook chapter as Markdown
    bibliography   references.bib -> CSL-JSON entries

Reading writes nothing but cache entries (sitegen.cache), runs pandoc only to read
(BibTeX, the slides' plain text) and imports neither torch nor matplotlib.
"""
from __future__ import annotations

from ..model import Chapter, Deck
from ..modules import plot_names
from ..project import Project
from . import chapters, slides


def read(project: Project) -> tuple[list[Chapter], Deck | None]:
    """The chapters in reading order and the talk (None without a slides file); the caller
    puts the project's own experiments and plots on the search path (modules.project_modules)."""
    project.check_sources()
    chs = chapters.load_chapters(project)
    path = project.content / project.config.slides
    return chs, slides.parse(path, set(plot_names())) if path.exists() else None
