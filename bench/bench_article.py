"""The generated article that bench/build_bench.py times: six chapters of words, equations,
citations, footnotes and cross-references, ten figures from a dummy experiment (no training)
with a plot module each, and a companion notebook, beside a copy of a checkout's code."""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
N_CHAPTERS, N_FIGURES, N_REFS, N_CITES = 6, 10, 25, 40
WORDS = ("residual network layer gradient identity shortcut training error depth block signal "
         "deep plain optimization batch normalization activation convolution weight function "
         "mapping learning rate stack input output path ensemble highway dense feature").split()

EXPERIMENT = '''\
"""bench_curves: ten deterministic curves for the build benchmark (no training)."""
from dataclasses import dataclass

import numpy as np

from lab.experiments import Context, Output, register
from lab.experiments.bench_model import decay


@dataclass(frozen=True)
class Config:
    points: int = 60  # samples per curve (count)
    seed: int = 0     # random seed


@register("bench_curves", Config, profiles={"quick": {}},
          modules=("lab.experiments.bench_model",), estimate_s={"quick": 1})
def run(cfg: Config, ctx: Context) -> Output:
    """Ten noisy decaying curves."""
    rng = np.random.default_rng(cfg.seed)
    ctx.facts.update(data="generated curves", n_train=0, n_test=0)
    x = np.linspace(0, 5, cfg.points)
    series = {f"s{i}": (decay(x, i) + 0.02 * rng.standard_normal(cfg.points)).tolist() for i in range(10)}
    return Output(metrics={k: {"peak": float(max(v)), "last": float(v[-1])} for k, v in series.items()},
                  data={"x": x.tolist(), "series": series})
'''

MODEL = '''"""bench_model: the curves' shape, a module bench_curves declares (its edits make it stale)."""
import numpy as np

OFFSET = {offset}


def decay(x, i):
    return np.exp(-x / (i + 1)) + OFFSET
'''

NEW_EXPERIMENT = '''"""{name}: one number, an experiment added while the article is open."""
from dataclasses import dataclass

from lab.experiments import Context, Output, register


@dataclass(frozen=True)
class Config:
    value: float = 2.5  # the number it returns (unitless)


@register("{name}", Config, profiles={{"quick": {{}}}}, estimate_s={{"quick": 1}})
def run(cfg: Config, ctx: Context) -> Output:
    """One number."""
    ctx.facts.update(data="none", n_train=0, n_test=0)
    return Output(metrics={{"value": cfg.value}})
'''

NOTEBOOK = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {
    "name": "python3", "display_name": "Python 3", "language": "python"}}, "cells": [
    {"cell_type": "markdown", "id": "c0", "metadata": {}, "source": "# A companion notebook\n\nIt uses the plot style."},
    {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": None, "outputs": [],
     "source": "from figures import plotstyle\nprint(sorted(vars(plotstyle))[:3])"}]}

PLOT = '''\
"""bench_fig{i:02d}: curve s{i} of the benchmark experiment."""
from figures.plotstyle import figure

EXPERIMENT = "bench_curves"
WIDTH = "body"


def draw(result, theme):
    fig, axes = figure(theme, WIDTH, aspect=0.4)
    axes[0][0].plot(result.data["x"], result.data["series"]["s{i}"], color=theme.residual)
    axes[0][0].set_xlabel("epoch")
    return fig


def caption(result):
    return "Curve {i} of the benchmark, peaking at {{:.3f}}.".format(result.metrics["s{i}"]["peak"])


def alt(result):
    return "A decaying line; its last value is {{:.3f}}.".format(result.metrics["s{i}"]["last"])
'''


def bibtex(n: int) -> str:
    return "\n".join(
        f"@article{{ref{i:02d},\n  title = {{A study of {WORDS[i % len(WORDS)]} number {i}}},\n"
        f"  author = {{Author{i}, Ada and Writer{i}, Bo}},\n  journal = {{Journal of Benchmarks}},\n"
        f"  volume = {{{i}}},\n  pages = {{{i}--{i + 9}}},\n  year = {{{2000 + i}}},\n"
        f"  doi = {{10.0000/bench.{i}}}\n}}\n" for i in range(1, n + 1))


def chapters(rng: random.Random) -> list[tuple[str, str, str]]:
    """(slug, templated body for our build, plain body for pandoc) per chapter."""
    cites = [f"ref{i:02d}" for i in range(1, N_REFS + 1)]
    cites += rng.sample(cites, N_CITES - N_REFS)
    per_chapter = [cites[i::N_CHAPTERS] for i in range(N_CHAPTERS)]
    out, eq = [], 0
    for c in range(N_CHAPTERS):
        figs = [f for f in range(N_FIGURES) if f % N_CHAPTERS == c]
        ours, plain = [], []
        for p in range(12):
            words = [rng.choice(WORDS) for _ in range(48)]
            sentence = " ".join(words[:20]).capitalize() + ". " + " ".join(words[20:]) + "."
            text = f"{sentence} With $x_{{{p}}} = \\alpha^{{{c}}} + \\beta_{p}$ and $\\sum_i w_i = {p}$ the step is $h_{p}$."
            if p < len(per_chapter[c]):
                text += f" As shown before [@{per_chapter[c][p]}]."
            if p in (2, 7):
                text += f" A remark.[^n{c}{p}]\n\n[^n{c}{p}]: Footnote {p} of chapter {c + 1}, with $y = {p}x$."
            ours.append(text)
            plain.append(text)
            if p in (1, 5, 9):
                eq += 1
                block = f"$$\\frac{{\\partial L}}{{\\partial x_{{{eq}}}}} = \\prod_{{i={eq}}}^{{L}} (1 + F_i'(x_i))$$ {{#eq:e{eq}}}"
                ours.append(block)
                plain.append(block)
            if p in (3, 8) and figs:
                f = figs.pop(0)
                ours.append(f'{{{{ figure("bench_fig{f:02d}") }}}}')
                plain.append(f"![Curve {f} of the benchmark.](figures/bench_fig{f:02d}.svg){{#fig:bench_fig{f:02d}}}")
        xref = (f"See @fig:bench_fig{(c * 3) % N_FIGURES:02d} and @eq:e{max(eq - 4, 1)}, "
                f"and @sec:ch{(c + 5) % N_CHAPTERS + 1}.")
        ours.append(xref + f' The peak is {{{{ result("bench_curves", "s{c}", "peak", fmt="{{:.3f}}") }}}}.')
        plain.append(xref + " The peak is 1.000.")
        out.append((f"ch{c + 1}", "\n\n".join(ours) + "\n", "\n\n".join(plain) + "\n"))
    return out


def copy_code(code: Path, root: Path) -> None:
    """The checkout's code beside the article, as in an author's checkout (no weights or results)."""
    root.mkdir(parents=True)
    shutil.copy(code / "build.py", root / "build.py")
    for name in ("sitegen", "lab", "figures"):
        shutil.copytree(code / name, root / name, ignore=shutil.ignore_patterns("weights", "results", "__pycache__"))


def make_article(root: Path, code: Path) -> list[Path]:
    rng = random.Random(7)
    content = root / "content"
    content.mkdir(parents=True)
    (content / "notebooks").mkdir()
    (content / "notebooks" / "companion.ipynb").write_text(json.dumps(NOTEBOOK))
    (content / "site.yml").write_text('title: "Benchmark article"\ndescription: "Generated."\n'
                                      'published: "2026-01-01"\nprofile: quick\n'
                                      'authors:\n  - name: "Bench Author"\n')
    (content / "references.bib").write_text(bibtex(N_REFS))
    shutil.copy(REPO / "content" / "ieee.csl", content / "ieee.csl")
    shutil.copytree(code / "templates", root / "templates")
    (root / "lab" / "experiments" / "bench_curves.py").write_text(EXPERIMENT)
    (root / "lab" / "experiments" / "bench_model.py").write_text(MODEL.format(offset=0))
    for i in range(N_FIGURES):
        (root / "figures" / "plots" / f"bench_fig{i:02d}.py").write_text(PLOT.format(i=i))
    plain_files = []
    (root / "plain").mkdir()
    for n, (slug, ours, plain) in enumerate(chapters(rng), 1):
        title = f"Chapter {n}"
        (content / f"{n:02d}-{slug}.md").write_text(f"---\ntitle: {title}\n---\n\n{ours}")
        plain_files.append(root / "plain" / f"{n:02d}-{slug}.md")
        plain_files[-1].write_text(f"# {title} {{#{slug}}}\n\n{plain}")
    return plain_files


def edit_plot(root: Path, i: int, old: str, new: str) -> None:
    path = root / "figures" / "plots" / f"bench_fig{i:02d}.py"
    path.write_text(path.read_text().replace(old, new, 1))
