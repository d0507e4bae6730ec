"""A project's own experiments and plots are searched for one build only
(lab.project.project_modules, for a build or an experiment job): afterwards the packages' search paths, the
imported modules and the experiment registry are as they were."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

from figures import plots
from lab import experiments
from sitegen.modules import plot_names, project_modules

REPO = Path(__file__).resolve().parent.parent
EXPERIMENT = '''\
from dataclasses import dataclass

from lab.experiments import Output, register

WHO = {who!r}


@dataclass(frozen=True)
class Config:
    n: int = 1


@register("scoped_exp", Config, profiles={{"quick": {{}}}})
def run(cfg, ctx):
    return Output(metrics={{"who": WHO}})
'''


def project(root: Path, who: str) -> Path:
    """A project with its own experiment `scoped_exp` and plot `scoped_plot`."""
    (root / "lab" / "experiments").mkdir(parents=True)
    (root / "figures" / "plots").mkdir(parents=True)
    (root / "lab" / "experiments" / "scoped_exp.py").write_text(EXPERIMENT.format(who=who))
    (root / "figures" / "plots" / "scoped_plot.py").write_text('EXPERIMENT = "scoped_exp"\n')
    return root


def state() -> tuple:
    mods = {m: id(v) for m, v in sys.modules.items() if m.startswith(("lab.experiments.", "figures.plots."))}
    return list(experiments.__path__), list(plots.__path__), mods, dict(experiments.REGISTRY)


def test_a_projects_modules_are_searched_within_the_block_only(tmp_path):
    before = state()
    with project_modules(project(tmp_path / "a", "a")):
        assert "scoped_plot" in plot_names()
        assert importlib.import_module("lab.experiments.scoped_exp").WHO == "a"
        assert "scoped_exp" in experiments.REGISTRY
        assert str(tmp_path / "a" / "figures" / "plots") in plots.__path__
    assert state() == before
    assert "scoped_plot" not in plot_names() and "lab.experiments.scoped_exp" not in sys.modules


def test_another_projects_modules_are_put_back_when_the_inner_block_ends(tmp_path):
    a, b = project(tmp_path / "a", "a"), project(tmp_path / "b", "b")
    before = state()
    with project_modules(a):
        mine = importlib.import_module("lab.experiments.scoped_exp")
        inside_a = state()
        with project_modules(b):  # same module name, another project: a's is forgotten meanwhile
            assert importlib.import_module("lab.experiments.scoped_exp").WHO == "b"
            assert experiments.REGISTRY["scoped_exp"].run.__module__ == "lab.experiments.scoped_exp"
            assert str(a / "lab" / "experiments") not in experiments.__path__
        assert state() == inside_a and sys.modules["lab.experiments.scoped_exp"] is mine
        assert experiments.REGISTRY["scoped_exp"].run is mine.run
    assert state() == before


def test_the_checkouts_own_modules_imported_meanwhile_stay(tmp_path):
    """They are the same in every project: a build of a temporary project keeps them cached."""
    with project_modules(project(tmp_path / "a", "a")):
        depth_sweep = importlib.import_module("lab.experiments.depth_sweep")
    assert sys.modules["lab.experiments.depth_sweep"] is depth_sweep
    assert experiments.REGISTRY["depth_sweep"].run is depth_sweep.run
    before = state()
    with project_modules(REPO):  # this checkout's own project: nothing to add, nothing to forget
        assert state() == before
    assert state() == before


def test_an_experiment_job_searches_its_projects_modules_for_the_job_only(tmp_path):
    """lab.jobs runs one experiment, in this process with the local executor: the
    project's own experiment is found while it runs and forgotten when it ends."""
    from lab import jobs, paths, runner
    from lab.store import ResultStore

    root = project(tmp_path / "a", "a")
    with project_modules(root):
        status = runner.status(ResultStore(paths.results(root)), ["scoped_exp"], "quick")[0]
    before = state()
    out = jobs.run_experiment_job(status, str(root))
    assert out["name"] == "scoped_exp" and state() == before
    assert ResultStore(paths.results(root)).load("scoped_exp", "quick").metrics["who"] == "a"
