"""The build, top to bottom, one phase after the other:

    stamp     nothing changed since the last build?     -> done, site/ untouched
    read      content/ -> chapters, the talk             (sitegen.read)
    plan      which experiments are needed, which stale  (sitegen.plan)
    run       the stale ones, or --frozen refuses        (sitegen.run)
    render    chapters, figures, references, media, page -> {site path: bytes}  (sitegen.render)
    write     those files into a staging folder          (sitegen.write)
    publish   the staging folder swapped in for site/    (sitegen.publish)

Each phase gets what it needs and hands back data (sitegen.model); only the
write phase and the caches (sitegen.cache) write files. Nothing imports torch
unless an experiment must run (or its registration is not cached), and matplotlib
only the forked process that draws the figures (sitegen.render.figures).
"""
from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import publish, stamp
from .errors import BuildError
from .model import BuildReport
from .project import Project

if TYPE_CHECKING:
    from .render.figures import Drawing

PAUSE_ENV = "SITEGEN_PAUSE_AT"  # test hook, "phase:marker-file[:seconds]"


def build(project: Project, *, frozen: bool = False, force: tuple[str, ...] = (), progress: bool = True,
          log: Callable[[str], None] = print, wait_s: float = 0.0, train: bool | None = None) -> BuildReport:
    """`train`: may stale experiments train committed networks (None: ask on a terminal, else refuse)."""
    report = BuildReport()
    extra = {"profile": project.config.profile, "frozen": frozen, "force": list(force)}
    publish.check_writable(project.site, project.cache)  # before the work, not after it
    with _disk_space(project), publish.build_lock(project.cache, wait_s, log):
        publish.recover(project.site)
        fingerprint = stamp.input_fingerprint(project, extra)
        if not force and stamp.up_to_date(project, fingerprint):
            report.up_to_date = True
            return report
        # numpy (lab.store), jinja2 (the chapters) and the rest load only now: a build that
        # finds nothing to do starts and exits in a blink
        from . import write
        from .modules import project_modules

        with project_modules(project.root):  # its own experiments and plots, for this build only
            files = make(project, report, frozen=frozen, force=force, train=train, progress=progress, log=log)
        timed = _Timer(report)
        with timed("write"):
            staged = write.write(project.site, files, project.root)
        try:
            pause_point("publish")
            with timed("publish"):
                publish.swap_in(staged, project.site)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        # the inputs as they were when we read them (a file edited meanwhile rebuilds next
        # time), unless an experiment run wrote results or a notebook run its executed copy:
        # those were inputs of this build
        if report.ran or report.notebooks_run:
            fingerprint = stamp.input_fingerprint(project, extra)
        stamp.record(project, fingerprint)
    return report


def make(project: Project, report: BuildReport, *, frozen: bool, force: tuple[str, ...], train: bool | None,
         progress: bool, log: Callable[[str], None]) -> dict[str, bytes | Path]:
    """Read, plan, run and render: every file of the site ({site path: bytes or source file})."""
    from lab.store import ResultStore

    from . import guard, plan, run
    from .read import read
    from .render import page_meta
    from .render.figures import Drawing
    from .render.results import ResultsView

    store = ResultStore(project.results)
    timed = _Timer(report)
    with timed("read"):
        chapters, deck = read(project)
    pause_point("chapters")
    # the figures the chapters name start drawing now, in a forked process, beside the plan
    ahead = Drawing.ahead(plan.figures_named(chapters, deck), ResultsView(store, project.config.profile).load,
                          project.cache, also=functools.partial(page_meta.title_card, project))
    with ahead or contextlib.nullcontext():
        with timed("plan"):
            todo = plan.plan(project, store, chapters, deck, force)
        with timed("run"):
            guard.check(project, todo.stale, frozen=frozen, train=train)  # the committed networks
            report.ran = run.run_stale(project, todo.stale, frozen=frozen, progress=progress, log=log)
        if report.ran and ahead is not None:  # drawn from results since remade: drawn again in render
            ahead.close()
            ahead = None
        return render(project, store, chapters, deck, report, log, frozen, ahead)


def render(project: Project, store, chapters, deck, report: BuildReport, log,
           frozen: bool = False, ahead: Drawing | None = None) -> dict[str, bytes | Path]:
    """The render phase: every file of the site, from the chapters, the talk and the stored results;
    `ahead`, the figures started before the plan, if their results are still those stored."""
    from .modules import plot_experiment, plot_names
    from .read.bibliography import load_entries
    from .render import chapters as render_chapters, notebooks, page, page_meta, video
    from .render.figures import Drawing
    from .render.references import references
    from .render.results import ResultsView

    view = ResultsView(store, project.config.profile)
    timed = _Timer(report)
    # the companion notebooks not cached run in a forked process meanwhile: forked before any thread
    with notebooks.start(project, log, frozen, report.notebooks_run) as notebook_work:
        with timed("jinja"):
            render_chapters.jinja(chapters, view, set(plot_names()), project)
        # the article's figures and the talk's, drawn together: forked before any thread starts
        article_figures = sorted({f for ch in chapters for f in ch.used_figures})
        names = sorted({*article_figures, *(deck.figures if deck else ())})
        t0 = time.perf_counter()
        if ahead is None or ahead.names != names:  # a figure placed only on a branch taken or not
            if ahead is not None:
                ahead.close()
            ahead = Drawing(names, {n: view.load(plot_experiment(n)) for n in names}, project.cache,
                            also=functools.partial(page_meta.title_card, project))
        cores = os.cpu_count() or 1
        with ahead as drawing, ThreadPoolExecutor(max_workers=max(2, cores)) as pool:
            entries = pool.submit(load_entries, project.bibliography, project.cache)
            t_pandoc, done = time.perf_counter(), []
            rendered = render_chapters.start_pandoc(chapters, project, pool, done, processes=cores)
            report.chapters_rendered = sum(f.result() for f in rendered)
            report.chapters_cached = len(chapters) - report.chapters_rendered
            report.timings["pandoc"] = round(max(done, default=t_pandoc) - t_pandoc, 3)  # beside the figures
            if report.chapters_rendered:
                pause_point("pandoc")
            # what needs no figure comes first, while the figures are drawn in their processes
            with timed("bibliography"):
                refs = references(chapters, project.bibliography, project.csl, entries.result(), project.cache,
                                  project.content / "site.yml")
            with timed("notebooks"):
                notebook_work.finish()
                notebook_media = notebooks.media(project, log, frozen)
            figures = drawing.finish()  # matplotlib here or in forked workers
            report.timings["figures"] = round(time.perf_counter() - t0, 3)
            report.figures_drawn = list(drawing.misses)
            if drawing.misses:
                pause_point("figures")
        with timed("media"):  # the slides deck and video
            media = video.media(project, deck, figures, log).update(notebook_media)
            media.context["slide_links"] = [{"attrs": s.attrs, "figures": list(s.figures), "line": s.line} for s in deck.slides] if deck else []
    with timed("page"):
        return page.render_site(project, store, chapters, refs, {n: figures[n] for n in article_figures}, media)


@contextmanager
def _disk_space(project: Project):
    """A full disk is the machine's state, not a bug of ours: one line (the site is kept)."""
    try:
        yield
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise BuildError(f"no space left on the device ({e.strerror}); free some space and build again "
                         f"(the last good site is kept)", e.filename or project.site) from None


class _Timer:
    """`with timed("phase"):` records the phase's wall time in the report."""

    def __init__(self, report: BuildReport):
        self.report = report

    @contextmanager
    def __call__(self, phase: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.report.timings[phase] = round(time.perf_counter() - t0, 3)


def pause_point(phase: str) -> None:
    """Let a test stop a real build at `phase` (it touches the marker, then sleeps) to kill it there."""
    spec = os.environ.get(PAUSE_ENV)
    if spec and spec.split(":")[0] == phase:
        _, marker, *secs = spec.split(":")
        Path(marker).touch()
        time.sleep(float(secs[0]) if secs else 600)
