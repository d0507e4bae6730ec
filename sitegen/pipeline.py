"""The build, stage by stage:

    chapters (front matter)         -> which experiments are needed
    experiments (figures.runner)    -> fresh results, or --frozen refuses
    chapters (Jinja, then pandoc)   -> HTML fragments with placeholders, cached per chapter
    figures (sitegen.drawing)       -> drawn, cached, while the pandoc processes run
    bibliography (citeproc)         -> numbered references
    assemble + page template        -> a staging folder, swapped into site/

Only this module (and the caches it calls) writes to disk. Nothing imports
torch unless an experiment must run, nor matplotlib unless a figure is drawn.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import publish
from .errors import BuildError
from .freshness import input_fingerprint, site_digest
from .project import REPO, Project

# numpy (figures.store), jinja2 (chapters) and the rest load after the no-op check:
# a build that finds nothing to do starts and exits in a blink
if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from figures.store import ResultStore

    from . import chapters as chapmod


def canonical_json(obj) -> str:  # as figures.store's, without importing numpy
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


PAUSE_ENV = "SITEGEN_PAUSE_AT"  # test hook, "stage:marker-file[:seconds]"


@dataclass
class BuildReport:
    up_to_date: bool = False
    ran: list[str] = field(default_factory=list)
    chapters_rendered: int = 0
    chapters_cached: int = 0
    figures_drawn: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def pause_point(stage: str) -> None:
    """Let a test stop a real build at `stage` (it touches the marker, then sleeps) to kill it there."""
    spec = os.environ.get(PAUSE_ENV)
    if spec and spec.split(":")[0] == stage:
        _, marker, *secs = spec.split(":")
        Path(marker).touch()
        time.sleep(float(secs[0]) if secs else 600)


def run_experiment(store: ResultStore, status, project: Project, progress: bool):
    """Run one experiment, checkpointing under .cache/runs/<name>/<profile>/<key>, so a
    killed run resumes where it stopped and a changed config starts afresh."""
    from figures import runner

    workdir = project.cache / "runs" / status.name / status.profile / status.key[:16]
    stored = runner.run_one(store, status.name, status.profile, project.root, progress=progress, workdir=workdir)
    shutil.rmtree(workdir.parent, ignore_errors=True)  # the result is stored: checkpoints are spent
    return stored


class Builder:
    def __init__(self, project: Project, *, frozen: bool = False, progress: bool = True,
                 log: Callable[[str], None] = print, force: tuple[str, ...] = (), wait_s: float = 0.0):
        self.project = project
        self.frozen = frozen
        self.progress = progress
        self.log = log
        self.force = force
        self.wait_s = wait_s
        self.report = BuildReport()

    @property
    def store(self) -> ResultStore:
        from figures.store import ResultStore

        return ResultStore(self.project.results)

    # -- stages -------------------------------------------------------------
    def _timed(self, stage: str, t0: float) -> None:
        self.report.timings[stage] = round(time.perf_counter() - t0, 3)

    def load_chapters(self) -> list[chapmod.Chapter]:
        from . import chapters as chapmod

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
        from figures import plots

        from . import freshness
        from .results import scan_calls

        known = freshness.registration(self.project.cache)
        plot_names = set(plots.names())
        for name in self.force:
            if name not in known:
                raise BuildError(f"build --force {name}: no such experiment; known: {', '.join(sorted(known))}")
        needed: set[str] = set(self.force)
        for ch in chs:
            sources = [(ch.code.jinja, ch.body_line)] + [
                ("{{ %s }}" % c, line) for c, line in zip(ch.meta.get("claims") or [], ch.claim_lines())]
            for source, first in sources:
                figs, exps = scan_calls(source)
                needed.update(freshness.plot_experiment(f) for f, _ in figs if f in plot_names)
                for e, line in exps:
                    if e not in known:
                        raise BuildError(f"unknown experiment {e!r}; known: {', '.join(sorted(known))}",
                                         ch.path, first + line - 1)
                    needed.add(e)
        return sorted(needed)

    def ensure_results(self, names: list[str]) -> None:
        from . import freshness

        profile = self.project.config.profile
        states = freshness.status(self.store, names, profile, self.project.cache, set(self.force))
        for s in states:
            if s.reason.startswith("corrupt") and s.name not in self.force:
                raise freshness.corrupt_result(self.store, s)
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
        from tqdm import tqdm  # a bar over the experiments (each trainer shows its epochs)

        for s in tqdm(stale, desc="experiments", unit="exp", leave=False, disable=None if self.progress else True):
            t0 = time.perf_counter()
            run_experiment(self.store, s, self.project, self.progress)
            self.report.ran.append(s.name)
            self.log(f"  {s.name}: done in {time.perf_counter() - t0:.1f} s")

    def render_chapters(self, chs: list[chapmod.Chapter], view, pool: ThreadPoolExecutor) -> list[Future]:
        """Jinja here, then one pandoc process per changed chapter in `pool` (futures: cache hit?)."""
        from figures import plots

        from . import chapters as chapmod, pandoc

        known_figs = set(plots.names())
        claims_on = self.project.config.profile in self.project.config.claims_in
        jinja_cache = self.project.cache / "jinja"
        jinja_cache.mkdir(parents=True, exist_ok=True)
        # Jinja's output depends on the chapter, the stored results and the helpers' code only
        inputs = [self._results_digest(), sorted(known_figs), claims_on,
                  *(Path(__file__).with_name(m).read_text(encoding="utf-8")
                    for m in ("results.py", "chapters.py", "sandbox.py", "frontmatter.py", "numbers.py")),
                  (REPO / "figures" / "store.py").read_text(encoding="utf-8")]  # StoredResult.get walks the paths
        for ch in chs:
            done = jinja_cache / f"{sha256(canonical_json([ch.body, ch.meta.get('claims'), inputs]))}.json"
            if (hit := _read_json(done)) is not None:
                ch.markdown, ch.used_figures = hit["markdown"], hit["used"]
                continue
            used: list[str] = []
            helpers = view.helpers(known_figs, used)
            ch.markdown = chapmod.render_jinja(ch, helpers)
            ch.used_figures = used
            if claims_on:
                chapmod.check_claims(ch, view.claim_helpers())
            _write_atomic(done, json.dumps({"markdown": ch.markdown, "used": used}))
        cache = self.project.cache / "chapters"
        cache.mkdir(parents=True, exist_ok=True)
        filter_src = pandoc.FILTER.read_text(encoding="utf-8")
        version = _pandoc_version(self.project.cache)

        def one(ch: chapmod.Chapter) -> bool:
            key = sha256(canonical_json([ch.markdown, ch.slug, version, filter_src, pandoc.READER]))
            hit = cache / f"{key}.html"
            if hit.exists():
                ch.html = hit.read_text(encoding="utf-8")
                return True
            ch.html = chapmod.render_markdown(ch)
            _write_atomic(hit, ch.html)
            pause_point("pandoc")
            return False

        return [pool.submit(one, ch) for ch in chs]

    def _results_digest(self) -> str:
        """Every stored result of this profile, byte for byte (result.json checksums the rest)."""
        files = sorted(self.project.results.glob(f"*/{self.project.config.profile}/result.json"))
        return sha256(b"".join(str(f).encode() + b"\0" + f.read_bytes() for f in files))

    def bib_entries(self) -> dict:
        from . import bibliography

        bib = self.project.bibliography
        if not bib.exists():
            return {}
        cache = self.project.cache / "bibliography"
        cache.mkdir(parents=True, exist_ok=True)
        entries_file = cache / f"entries-{sha256(bib.read_bytes())[:20]}.json"
        if entries_file.exists():
            return json.loads(entries_file.read_text(encoding="utf-8"))
        entries = bibliography.load_entries(bib)
        _write_atomic(entries_file, json.dumps(entries, sort_keys=True))
        return entries

    def references(self, chs: list[chapmod.Chapter], entries: dict):
        from . import bibliography
        from .assemble import check_citations, cited_keys

        bib, csl = self.project.bibliography, self.project.csl
        keys = cited_keys(chs)
        if not keys and not bib.exists():
            return []
        if not bib.exists():
            bibliography.load_entries(bib)  # the one-line "bibliography not found"
        check_citations(chs, set(entries), bib.name)
        key = sha256(canonical_json([bib.read_text(encoding="utf-8", errors="replace"),
                                     csl.read_text(encoding="utf-8") if csl.exists() else "", keys]))
        cache = self.project.cache / "bibliography"
        refs_file = cache / f"refs-{key[:20]}.json"
        if refs_file.exists():
            return [bibliography.Reference(**r) for r in json.loads(refs_file.read_text(encoding="utf-8"))]
        refs = bibliography.format_references(keys, bib, csl, entries)
        _write_atomic(refs_file, json.dumps([r.__dict__ for r in refs], sort_keys=True))
        return refs

    def draw_figures(self, chs: list[chapmod.Chapter], view) -> dict:
        from . import drawing, freshness

        names = sorted({f for ch in chs for f in ch.used_figures})
        results = {name: view.load(freshness.plot_experiment(name)) for name in names}

        def drawn(name: str) -> None:
            self.report.figures_drawn.append(name)
            pause_point("figures")
        return drawing.draw_figures(self.project, names, results, drawn)

    # -- the whole build ----------------------------------------------------
    def build(self) -> BuildReport:
        project = self.project
        extra = {"profile": project.config.profile, "frozen": self.frozen, "force": list(self.force)}
        stamp = project.cache / "last-build.json"
        publish.check_writable(project.site, project.cache)  # before the work, not after it
        with publish.build_lock(project.cache, self.wait_s, self.log):
            publish.recover(project.site)
            fingerprint = input_fingerprint(project, extra)
            if not self.force and _read_json(stamp) == {"fingerprint": fingerprint,
                                                        "site": site_digest(project.site)}:
                self.report.up_to_date = True
                return self.report
            from . import freshness

            freshness.use_project_modules(project.root)
            t0 = time.perf_counter()
            chs = self.load_chapters()
            pause_point("chapters")
            self._timed("chapters", t0)
            t0 = time.perf_counter()
            self.ensure_results(self.needed_experiments(chs))
            self._timed("experiments", t0)
            from .results import ResultsView

            view = ResultsView(self.store, project.config.profile)
            t0 = time.perf_counter()
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
                entries = pool.submit(self.bib_entries)
                rendered = self.render_chapters(chs, view, pool)
                self._timed("jinja", t0)
                t0 = time.perf_counter()
                figs = self.draw_figures(chs, view)  # matplotlib here, pandoc in its processes
                self._timed("figures", t0)
                hits = [f.result() for f in rendered]
                self.report.chapters_cached = sum(hits)
                self.report.chapters_rendered = len(hits) - sum(hits)
                self._timed("pandoc", t0)  # overlaps figures
                t0 = time.perf_counter()
                refs = self.references(chs, entries.result())
                self._timed("bibliography", t0)
            t0 = time.perf_counter()
            from . import notebooks, video  # the slides deck and video, the companion notebooks

            media = video.stage(self, view, figs).update(notebooks.stage(project, self.log))
            self._timed("media", t0)
            t0 = time.perf_counter()
            from .page import write_site

            stage = publish.staging_dir(project.site)
            try:
                write_site(project, stage, chs, refs, figs, media)
                pause_point("publish")
                publish.swap_in(stage, project.site)
            except BaseException:
                shutil.rmtree(stage, ignore_errors=True)
                raise
            self._timed("page", t0)
            # the inputs as they were when we read them (a file edited meanwhile rebuilds next
            # time), unless an experiment run wrote results: those were inputs of this build
            if self.report.ran:
                fingerprint = input_fingerprint(project, extra)
            _write_atomic(stamp, json.dumps({"fingerprint": fingerprint, "site": site_digest(project.site)}))
        return self.report


def _pandoc_version(cache: Path) -> str:
    from . import pandoc

    try:
        return pandoc.pandoc_version(cache)
    except (OSError, ValueError) as e:
        raise BuildError(f"pandoc cannot run ({e}); run `make` to reinstall pypandoc_binary") from None


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
