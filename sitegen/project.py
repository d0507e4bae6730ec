"""Where things live, and the article's own settings (content/site.yml).

A Project is a root folder laid out like this repository. Tests build small
projects in temporary folders, so no path here is hard-wired to the repo.
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lab import paths
from lab.config import ConfigError, from_dict
from lab.executors import ComputeSettings

from . import frontmatter
from .errors import BuildError

CHAPTER_NAME = re.compile(r"(\d+)[-_]?")

REPO = paths.REPO
DATA_FROM = "RESNET_DATA_FROM"  # "site.yml" while RESNET_DATA is the project's `data:` setting


LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")  # a BCP 47 tag: en, en-GB, de-CH, zh-Hant


@dataclass(frozen=True)
class Author:
    name: str
    affiliation: str | tuple = ""    # one, or a list of several
    url: str = ""
    affiliation_url: str = ""        # a link for a single affiliation

    @property
    def affiliations(self) -> tuple[str, ...]:
        return (self.affiliation,) if isinstance(self.affiliation, str) and self.affiliation else \
            tuple(a for a in self.affiliation if a) if isinstance(self.affiliation, tuple) else ()


@dataclass(frozen=True)
class SiteConfig:
    title: str                       # article title
    subtitle: str = ""               # a line under the title
    lang: str = "en"                 # the text's language, a BCP 47 tag (<html lang>): en, en-GB, de
    description: str = ""            # one-sentence summary, also the meta description
    abstract: str = ""               # Markdown, shown under the title block
    authors: tuple = ()              # list of {name, affiliation, url}
    published: str = ""              # ISO date of first publication
    updated: str = ""                # ISO date of the last substantive change
    url: str = ""                    # canonical URL of the published article
    bibliography: str = "references.bib"  # relative to content/
    csl: str = "ieee.csl"            # citation style, relative to content/
    profile: str = "cifar10-10ep"    # which experiment profile the figures use (lab.experiments.profiles)
    licence: str = "CC-BY 4.0"       # reuse licence of text and figures
    repository: str = ""             # where the source lives, for "how to reproduce"
    slides: str = "slides.md"        # relative to content/; absent file = no video
    notebooks: str = "notebooks"     # folder of companion notebooks, relative to content/
    notebook_time_limit_s: int = 300  # a companion notebook's cells together may run this long (seconds)
    claims_in: tuple = ("quick", "cifar10-10ep", "paper")  # profiles whose results must satisfy the chapters' claims
    twitter: str = ""                # the site's Twitter/X handle for the card, e.g. "@resnet_explainer"
    bibtex_key: str = ""             # key of the "cite this article" BibTeX entry (default: author+year+word)
    doi: str = ""                    # the article's DOI, if it has one (BibTeX and the citation text)
    journal: str = ""                # where it is published, e.g. "Distill" (BibTeX journal = {...})
    updates: tuple = ()              # corrections after publication: list of {date, text}
    compute: ComputeSettings = ComputeSettings()  # where `build.py figures` and `train` run their jobs (lab.executors)
    data: str = ""                   # CIFAR-10 (a file or folder, relative to the project); $RESNET_DATA overrides it

    @property
    def author_list(self) -> list[Author]:
        return [from_dict(Author, a, "site.yml authors") for a in self.authors]


@dataclass(frozen=True)
class Project:
    root: Path
    config: SiteConfig
    content: Path = field(init=False)
    templates: Path = field(init=False)
    results: Path = field(init=False)
    site: Path = field(init=False)
    cache: Path = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "content", self.root / "content")
        object.__setattr__(self, "templates", self.root / "templates")
        object.__setattr__(self, "results", paths.results(self.root))
        object.__setattr__(self, "site", self.root / "site")
        object.__setattr__(self, "cache", paths.cache(self.root))

    def chapters(self) -> list[Path]:
        """Chapter files in reading order: content/NN-name.md (and .ipynb). Any other
        Markdown or notebook file there is a chapter that lost its number: an error,
        not a chapter silently left out."""
        slides = (self.content / self.config.slides).resolve()
        files = []
        for p in self.content.iterdir():
            if p.suffix not in (".md", ".ipynb") or p.name.startswith(".") or not p.is_file() or p.resolve() == slides:
                continue
            self.refuse_outside(p, "chapter")
            if not CHAPTER_NAME.match(p.name):
                raise BuildError(f"a chapter file's name starts with its number, such as 08-{p.stem}{p.suffix} "
                                 f"(the number sets the order); rename it or move it out of content/", p, 1)
            files.append(p)
        return sorted(files, key=lambda p: (int(CHAPTER_NAME.match(p.name).group(1)), p.name))

    def inside(self, path: Path) -> bool:
        """Does `path`, its links followed, lie inside the project?"""
        return Path(path).resolve().is_relative_to(self.root.resolve())

    def refuse_outside(self, path: Path, what: str, file: Path | None = None, line: int | None = None) -> None:
        """Nothing from outside the project reaches site/: a link that leads out is an error."""
        if not self.inside(path):
            raise BuildError(f"{what} {path.name} is a link to {Path(path).resolve()}, outside the project; "
                             f"copy the file into the project instead", file or path, line or (None if file else 1))

    def check_sources(self) -> None:
        """The files site.yml names, the companion notebooks and the templates lie inside the project."""
        for path, what in ((self.bibliography, "bibliography"), (self.csl, "citation style"),
                           (self.content / self.config.slides, "slides file")):
            if path.exists() or path.is_symlink():
                self.refuse_outside(path, what)
        for folder, what in ((self.content / self.config.notebooks, "notebook file"), (self.templates, "template file")):
            for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
                self.refuse_outside(path, what)

    @property
    def bibliography(self) -> Path:
        return self.content / self.config.bibliography

    @property
    def csl(self) -> Path:
        return self.content / self.config.csl


def load_project(root: str | Path = REPO, profile: str | None = None) -> Project:
    root = Path(root).resolve()
    cfg_path = root / "content" / "site.yml"
    if not cfg_path.exists():
        raise BuildError("missing site config (title, authors, ...); create it", cfg_path)
    doc = frontmatter.load(frontmatter.decode(cfg_path.read_bytes(), cfg_path), cfg_path)
    raw = doc.data or {}
    if not isinstance(raw, dict):
        raise BuildError("site config must be a mapping of settings", cfg_path, 1)
    try:
        config = from_dict(SiteConfig, raw, "site.yml")
        check_authors(config, doc, cfg_path)
    except ConfigError as e:
        raise BuildError(str(e), cfg_path, doc.line_of(e.path)) from None
    except TypeError as e:
        raise BuildError(str(e), cfg_path) from None
    if not isinstance(config.compute, ComputeSettings):
        raise BuildError("`compute:` must be a mapping of settings, such as `executor: slurm`",
                         cfg_path, doc.line_of(("compute",)))
    if profile:
        config = dataclasses.replace(config, profile=profile)
    from lab.experiments import PROFILE_NAMES

    if config.profile not in PROFILE_NAMES:
        raise BuildError(f"profile must be one of {', '.join(PROFILE_NAMES)}, not {config.profile!r}", cfg_path)
    use_data_setting(config.data, root)
    return Project(root=root, config=config)


def check_authors(config: SiteConfig, doc, cfg_path: Path) -> None:
    """Authors, affiliations and the language as the page needs them (each mistake at its line)."""
    items = doc.item_lines.get("authors", [])
    for i, author in enumerate(config.author_list):
        line = items[i] if i < len(items) else doc.line_of(("authors",))
        if not isinstance(author.name, str) or not author.name.strip():
            raise BuildError("each author needs a `name:` (text)", cfg_path, line)
        aff = author.affiliation
        if not (isinstance(aff, str) or (isinstance(aff, tuple) and all(isinstance(a, str) for a in aff))):
            raise BuildError(f"`affiliation:` of {author.name} must be text or a list of texts, not {aff!r}",
                             cfg_path, line)
    if not isinstance(config.lang, str) or not LANG.fullmatch(config.lang):
        raise BuildError(f"`lang:` must be a language tag such as en, en-GB or de, not {config.lang!r}",
                         cfg_path, doc.line_of(("lang",)))
    if not isinstance(config.subtitle, str):
        raise BuildError(f"`subtitle:` must be text, not {config.subtitle!r}", cfg_path, doc.line_of(("subtitle",)))


def use_data_setting(data: str, root: Path) -> None:
    """`data:` as $RESNET_DATA, where lab.cifar and every job (a subprocess) look first;
    a RESNET_DATA set by the user wins. One project's setting never outlives its loading."""
    ours = os.environ.get(DATA_FROM) == "site.yml"
    if os.environ.get("RESNET_DATA") and not ours:
        return
    if data:
        os.environ["RESNET_DATA"] = str((root / Path(data).expanduser()).resolve())
        os.environ[DATA_FROM] = "site.yml"
    elif ours:
        os.environ.pop("RESNET_DATA", None)
        os.environ.pop(DATA_FROM, None)
