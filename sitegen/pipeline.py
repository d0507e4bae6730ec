"""The build, stage by stage:

    chapters (front matter, Jinja)  -> which experiments are needed
    experiments (figures.runner)    -> fresh results, or --frozen refuses
    chapters (pandoc, cached)       -> HTML fragments with placeholders
    bibliography (citeproc)         -> numbered references
    figures (matplotlib, cached)    -> SVGs, chart specs, provenance
    assemble + page template        -> a staging folder, swapped into site/

Only this module (and the caches it calls) writes to disk.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from figures.store import ResultStore, canonical_json, sha256

from . import bibliography, chapters as chapmod, pandoc, publish
from .errors import BuildError
from .project import REPO, Project

FINGERPRINT_DIRS = ("content", "templates", "sitegen", "figures")


@dataclass
class BuildReport:
    up_to_date: bool = False
    ran: list[str] = field(default_factory=list)
    chapters_rendered: int = 0
    chapters_cached: int = 0
    figures_drawn: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def input_fingerprint(project: Project, extra: dict) -> str:
    """Hash of every input file; equal fingerprints mean an identical site."""
    h = hashlib.sha256(canonical_json(extra).encode())
    roots = [project.root / d for d in FINGERPRINT_DIRS] + [REPO / "sitegen", REPO / "figures"]
    for root in dict.fromkeys(roots):
        if not root.exists():
            continue
        for p in sorted(root.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                st = p.stat()
                h.update(f"{p}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class Builder:
    def __init__(self, project: Project, *, frozen: bool = False, progress: bool = True,
                 log: Callable[[str], None] = print, force: tuple[str, ...] = ()):
        self.project = project
        self.frozen = frozen
        self.progress = progress
        self.log = log
        self.force = force
        self.store = ResultStore(project.results)
        self.report = BuildReport()

    # -- stages -------------------------------------------------------------
    def _timed(self, stage: str, t0: float) -> None:
        self.report.timings[stage] = round(time.perf_counter() - t0, 3)

    def load_chapters(self) -> list[chapmod.Chapter]:
        chs = [chapmod.load_chapter(p) for p in self.project.chapters()]
        if not chs:
            raise BuildError("no chapters found (expected content/NN-name.md)", self.project.content)
        seen: dict[str, Path] = {}
        for ch in chs:
            if ch.slug in seen:
                raise BuildError(f"two chapters share the slug {ch.slug!r} (also {seen[ch.slug].name})", ch.path, 1)
            seen[ch.slug] = ch.path
        return [c for c in chs if not c.meta.get("draft")]

    def needed_experiments(self, chs: list[chapmod.Chapter]) -> list[str]:
        from figures import experiments, plots

        from .results import scan_calls

        known = experiments.load_all()
        needed: set[str] = set()
        for ch in chs:
            claims = "".join("{{ %s }}" % c for c in (ch.meta.get("claims") or []))
            figs, exps = scan_calls(ch.body + claims)
            needed.update(plots.get(f).EXPERIMENT for f in figs if f in plots.names())
            needed.update(e for e in exps if e in known)
        return sorted(needed)

    def ensure_results(self, names: list[str]) -> None:
        from figures import runner

        profile = self.project.config.profile
        states = runner.status(self.store, names, profile)
        stale = [s for s in states if not s.fresh or s.name in self.force]
        if not stale:
            return
        if self.frozen:
            raise BuildError("stale results (frozen build does not train): " + "; ".join(
                f"{s.name} [{profile}]: {s.reason}" for s in stale) +
                f"; run `python build.py figures --profile {profile}` and commit figures/results",
                self.project.results)
        total = sum(s.estimate_s for s in stale)
        self.log(f"experiments to run ({profile} profile, about {total:.0f} s): " +
                 ", ".join(f"{s.name} ({s.reason}, ~{s.estimate_s:.0f} s)" for s in stale))
        for s in stale:
            t0 = time.perf_counter()
            runner.run_one(self.store, s.name, profile, self.project.root, progress=self.progress,
                           workdir=self.project.cache / "runs" / s.name / profile)
            self.report.ran.append(s.name)
            self.log(f"  {s.name}: done in {time.perf_counter() - t0:.1f} s")

    def render_chapters(self, chs: list[chapmod.Chapter], view) -> None:
        from figures import plots

        known_figs = set(plots.names())
        for ch in chs:
            used: list[str] = []
            helpers = view.helpers(known_figs, used)
            ch.markdown = chapmod.render_jinja(ch, helpers)
            ch.used_figures = used
            text = ch.path.read_text(encoding="utf-8")
            if self.project.config.profile in self.project.config.claims_in:
                chapmod.check_claims(ch, {"result": view.value, "value": view.value}, text)
        cache = self.project.cache / "chapters"
        cache.mkdir(parents=True, exist_ok=True)
        filter_src = pandoc.FILTER.read_text(encoding="utf-8")

        def one(ch: chapmod.Chapter) -> bool:
            key = sha256(canonical_json([ch.markdown, ch.slug, pandoc.pandoc_version(), filter_src,
                                         pandoc.READER]))
            hit = cache / f"{key}.html"
            if hit.exists():
                ch.html = hit.read_text(encoding="utf-8")
                return True
            ch.html = chapmod.render_markdown(ch)
            hit.write_text(ch.html, encoding="utf-8")
            return False

        with ThreadPoolExecutor(max_workers=4) as pool:
            hits = list(pool.map(one, chs))
        self.report.chapters_cached = sum(hits)
        self.report.chapters_rendered = len(hits) - sum(hits)

    def references(self, chs: list[chapmod.Chapter]):
        from .assemble import check_citations, cited_keys

        bib, csl = self.project.bibliography, self.project.csl
        keys = cited_keys(chs)
        if not keys and not bib.exists():
            return []
        cache = self.project.cache / "bibliography"
        cache.mkdir(parents=True, exist_ok=True)
        bib_text = bib.read_bytes() if bib.exists() else b""
        entries_file = cache / f"entries-{sha256(bib_text)[:20]}.json"
        if entries_file.exists():
            entries = json.loads(entries_file.read_text(encoding="utf-8"))
        else:
            entries = bibliography.load_entries(bib)
            entries_file.write_text(json.dumps(entries, sort_keys=True), encoding="utf-8")
        check_citations(chs, set(entries), bib.name)
        key = sha256(canonical_json([bib_text.decode("utf-8", "replace"),
                                     csl.read_text(encoding="utf-8") if csl.exists() else "", keys]))
        refs_file = cache / f"refs-{key[:20]}.json"
        if refs_file.exists():
            return [bibliography.Reference(**r) for r in json.loads(refs_file.read_text(encoding="utf-8"))]
        refs = bibliography.format_references(keys, bib, csl, entries)
        refs_file.write_text(json.dumps([r.__dict__ for r in refs], sort_keys=True), encoding="utf-8")
        return refs

    def draw_figures(self, chs: list[chapmod.Chapter], view) -> dict:
        from figures import plots

        from .figure_render import render_figure

        names = sorted({f for ch in chs for f in ch.used_figures})
        out = {}
        for name in names:
            result = view.load(plots.get(name).EXPERIMENT)
            out[name] = render_figure(name, result, self.project.cache / "figures")
        return out

    # -- the whole build ----------------------------------------------------
    def build(self) -> BuildReport:
        project = self.project
        extra = {"profile": project.config.profile, "frozen": self.frozen, "force": list(self.force)}
        stamp = project.cache / "last-build.json"
        with publish.build_lock(project.cache):
            publish.recover(project.site)
            fingerprint = input_fingerprint(project, extra)
            if (not self.force and stamp.exists() and (project.site / "index.html").exists()
                    and json.loads(stamp.read_text()).get("fingerprint") == fingerprint):
                self.report.up_to_date = True
                return self.report
            t0 = time.perf_counter()
            chs = self.load_chapters()
            self._timed("chapters", t0)
            t0 = time.perf_counter()
            self.ensure_results(self.needed_experiments(chs))
            self._timed("experiments", t0)
            from .results import ResultsView

            view = ResultsView(self.store, project.config.profile)
            t0 = time.perf_counter()
            self.render_chapters(chs, view)
            self._timed("pandoc", t0)
            t0 = time.perf_counter()
            refs = self.references(chs)
            self._timed("bibliography", t0)
            t0 = time.perf_counter()
            figs = self.draw_figures(chs, view)
            self._timed("figures", t0)
            t0 = time.perf_counter()
            from .page import write_site

            stage = publish.staging_dir(project.site)
            try:
                write_site(project, stage, chs, refs, figs)
                publish.swap_in(stage, project.site)
            except BaseException:
                shutil.rmtree(stage, ignore_errors=True)
                raise
            self._timed("page", t0)
            # fingerprint again: a run may have written results, changing the inputs
            stamp.write_text(json.dumps({"fingerprint": input_fingerprint(project, extra)}))
        return self.report
