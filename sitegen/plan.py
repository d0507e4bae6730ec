"""The plan phase: which experiments the article and the talk need, and which of
them must run before anything is rendered.

    needed(...)  every experiment a chapter's result()/value() calls and claims
                 name, and those the article's and the slides' figures draw from
    status(...)  lab.runner.status, the one freshness check, asked with the
                 cached registration below
    plan(...)    both, and the stale ones (or forced) as the run phase's list

Registration (each experiment's config per profile and its module list) is a
pure function of the Python sources under lab/, so it is cached by their
content: only a source change pays for importing the experiment modules (and
torch). The figures one plots draw from are read from their source too.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .cache import Cache, key
from .errors import BuildError, authored, find_line
from .model import Chapter, Deck
from .modules import import_error, plot_experiment, plot_names, source_files
from .project import Project
from .read.chapters import calls

if TYPE_CHECKING:  # lab.runner imports the experiments: not for a plan whose registration is cached
    from lab.runner import Status
    from lab.store import ResultStore


@dataclass
class Plan:
    experiments: list[str]                              # what the article and the talk quote or draw from
    stale: list[Status] = field(default_factory=list)   # to run now: stale, or forced


def registration(cache_root: Path) -> dict[str, dict]:
    """lab.runner.registration() of every experiment, cached by the sources it depends on."""
    # named from their `lab` folder on (not where the checkout lies); plot modules are
    # not among them: they register nothing, so editing one imports no experiment
    named = [("/".join(p.parts[len(p.parts) - 1 - p.parts[::-1].index("lab"):]), p) for p in source_files()]
    digest = key([[name, p.read_bytes().decode("utf-8", "replace")] for name, p in named])

    def register() -> dict:
        from lab import runner

        try:
            return runner.registration()
        except SyntaxError as e:
            raise import_error(e, "experiment module") from None

    with authored():  # a config that does not fit its dataclass
        return Cache(cache_root, "registry").json("experiments", digest, register)


def needed(chapters: list[Chapter], deck: Deck | None, known: Iterable[str], force: Iterable[str] = ()) -> list[str]:
    """Every experiment the chapters quote or draw from, the talk's figures' and the forced ones."""
    known = set(known)
    plots = set(plot_names())
    for name in force:
        if name not in known:
            raise BuildError(f"build --force {name}: no such experiment; known: {', '.join(sorted(known))}")
    out: set[str] = set(force)
    for ch in chapters:
        for figs, exps, first in calls(ch):
            out.update(plot_experiment(f) for f, _ in figs if f in plots)
            for e, line in exps:
                if e not in known:
                    raise BuildError(f"unknown experiment {e!r}; known: {', '.join(sorted(known))}",
                                     ch.path, first + line - 1)
                out.add(e)
    out.update(plot_experiment(f) for f in (deck.figures if deck else ()))
    return sorted(out)


def figures_named(chapters: list[Chapter], deck: Deck | None) -> list[str]:
    """The known figures that the chapters' source and the talk place: those the render phase
    draws, unless a template places one only on a branch it takes or not."""
    named = {f for ch in chapters for figs, _, _ in calls(ch) for f, _ in figs}
    return sorted((named | set(deck.figures if deck else ())) & set(plot_names()))


def status(store: ResultStore, names: list[str], project: Project, force: Iterable[str] = ()) -> list[Status]:
    """Whether each result is fresh, with estimates that count the networks to train first."""
    from lab import paths, runner

    with authored():
        return runner.status(store, names, project.config.profile, registration(project.cache),
                             paths.models(project.root), force)


def plan(project: Project, store: ResultStore, chapters: list[Chapter], deck: Deck | None,
         force: Iterable[str] = ()) -> Plan:
    force = tuple(force)
    names = needed(chapters, deck, registration(project.cache), force)
    states = status(store, names, project, force)
    for s in states:
        if s.reason.startswith("corrupt") and s.name not in force:
            raise corrupt_result(store, s)
    return Plan(names, [s for s in states if not s.fresh or s.name in force])


def corrupt_result(store: ResultStore, s: Status) -> BuildError:
    """A result.json that fails its checksum: hand-edited or damaged. Rerunning it may
    mean hours of training, so the build stops and says how, instead of doing it."""
    path = store.folder(s.name, s.profile) / "result.json"
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        json.loads(text)
        line, what = find_line(text, '"checksum"') or 1, "does not match its checksum (edited by hand?)"
    except ValueError as e:
        line, what = getattr(e, "lineno", 1), f"is not valid JSON ({getattr(e, 'msg', e)})"
    return BuildError(f"stored result {s.name} [{s.profile}] {what}; restore it (`git checkout -- {path.name}` "
                      f"in its folder) or recompute it with `python build.py figures --force {s.name} "
                      f"--profile {s.profile}`", path, line)
