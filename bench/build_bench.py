"""Our build against plain pandoc on the same generated article, side by side.

Makes a six-chapter article in a temporary folder (about 5,000 words, 100+
inline and 15+ display equations, 25 references cited 40 times, footnotes, ten
figures from a dummy experiment and ten plot modules of its own, cross-references
across chapters, a companion notebook that imports the figures package) beside a
copy of the code (build.py, sitegen/, figures/ without weights and results), as
an author's checkout has them, then times, each several times:

    fresh    python build.py build  with no site/ and no .cache/, as the first build of a new clone
             (results and the notebook's executed copy stored, as a clone has them:
             content/notebooks/executed/, made once, untimed)
    cold     the same with the caches a fresh build also fills kept: the experiments'
             registration (importing every experiment module, and so torch), the page's title
             card and the templates' compiled code
    cold-text  the same with the figures' SVGs also cached (our text pipeline alone)
    no-op    the same again, nothing changed
    edit     after appending a sentence to one chapter
    serve-*  no-op, chapter edit and plot-module edit inside one long-lived process, as
             `build.py serve` rebuilds
    plot-edit     after editing one plot module's drawing code
    caption-edit  after editing one plot module's caption
    new-exp       after adding an experiment and a sentence quoting it (the build runs it)
    notebook-edit after editing the companion notebook's code cell (the build runs it again)
    frozen-model  `build --frozen` after editing a module an experiment declares: the refusal
                  naming the stale result (exit 1 expected)
    pandoc   pandoc --citeproc --standalone --mathml --toc  on the same chapters

    python bench/build_bench.py [--reps 5] [--keep] [--baseline CHECKOUT]

--baseline times another checkout's code on its own copy of the same article, side by side:
the two take turns, scenario by scenario in every repetition, so that a machine that speeds
up or slows down meanwhile (a job beside it, another CPU's turbo) moves both alike. Make one
with `git archive COMMIT build.py sitegen figures templates | tar -x -C /tmp/old`.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
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

from figures.experiments import Context, Output, register
from figures.experiments.bench_model import decay


@dataclass(frozen=True)
class Config:
    points: int = 60  # samples per curve (count)
    seed: int = 0     # random seed


@register("bench_curves", Config, profiles={"quick": {}},
          modules=("figures.experiments.bench_model",), estimate_s={"quick": 1})
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

from figures.experiments import Context, Output, register


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
    for name in ("sitegen", "figures"):
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
    (root / "figures" / "experiments" / "bench_curves.py").write_text(EXPERIMENT)
    (root / "figures" / "experiments" / "bench_model.py").write_text(MODEL.format(offset=0))
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


def cpu_now() -> float:
    """CPU seconds of this process and its finished children (pandoc, helpers): unlike wall
    time it hardly moves when other jobs share the machine."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# as in an author's shell: Python keeps the modules it compiled (__pycache__), so a build
# compiles only what changed (PYTHONDONTWRITEBYTECODE in this machine's environment would
# have every build compile all of sitegen and figures, a cost no author pays)
AUTHOR_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], cwd: Path, expect: int = 0) -> tuple[float, float]:
    """(wall, CPU) seconds of a command."""
    t0, c0 = time.perf_counter(), cpu_now()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=AUTHOR_ENV)
    dt, cpu = time.perf_counter() - t0, cpu_now() - c0
    if proc.returncode != expect:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr.strip()}")
    return dt, cpu


# The preview server's rebuilds, in one process that imports the copy's own code (as
# `build.py serve` in that checkout would): warmed by one build, then timed.
SERVER = r"""
import json, resource, sys, time
from pathlib import Path

root, rep = Path(sys.argv[1]), int(sys.argv[2])
sys.path.insert(0, str(root))
from sitegen.build import build
from sitegen.modules import forget_modules
from sitegen.project import load_project


def cpu_now():
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def rebuild(code_changed=False):
    t0, c0 = time.perf_counter(), cpu_now()
    if code_changed:  # as the server does when a .py file changed
        forget_modules()
    build(load_project(root), progress=False, log=lambda m: None)
    return time.perf_counter() - t0, cpu_now() - c0


rebuild()  # warm: imports done, as in the preview server
out = {"serve-noop": rebuild()}
chapter = root / "content" / "03-ch3.md"
chapter.write_text(chapter.read_text() + f"\nA sentence added while serving, number {rep}.\n")
out["serve-edit"] = rebuild()
plot = root / "figures" / "plots" / "bench_fig05.py"
plot.write_text(plot.read_text().replace("epoch", f"epoch ({rep})", 1))
out["serve-plot-edit"] = rebuild(code_changed=True)
print(json.dumps(out))
"""


class Copy:
    """One checkout's code beside its own copy of the article."""

    def __init__(self, label: str, code: Path, folder: Path):
        self.label, self.root = label, folder / "article"
        copy_code(code, self.root)
        self.plain = make_article(self.root, code)
        self.build = [sys.executable, str(self.root / "build.py"), "--root", str(self.root)]
        timed([*self.build, "-q", "figures", "--only", "bench_curves"], self.root)  # committed in a real project
        timed([*self.build, "-q", "build"], self.root)  # so is the notebook's executed copy: not timed

    def clear(self, keep_figures: bool = False) -> None:
        """What a fresh checkout lacks, but for the caches only a first build fills."""
        root = self.root
        for stale in (root / "site", root / ".cache" / "chapters", root / ".cache" / "jinja",
                      root / ".cache" / "bibliography", root / ".cache" / "last-build.json",
                      *(() if keep_figures else (root / ".cache" / "figures", root / ".cache" / "notebooks"))):
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)

    def scenarios(self, rep: int, pandoc: list[str]):
        """Each scenario of one repetition in turn: yields (name, (wall, CPU))."""
        root, build = self.root, self.build
        yield "pandoc", timed(pandoc, root)
        shutil.rmtree(root / "site", ignore_errors=True)
        shutil.rmtree(root / ".cache", ignore_errors=True)
        yield "fresh", timed([*build, "-q", "build"], root)
        self.clear()
        yield "cold", timed([*build, "-q", "build"], root)
        yield "noop", timed([*build, "-q", "build"], root)
        self.clear(keep_figures=True)  # everything but matplotlib's part, which pandoc has no share in
        yield "cold-text", timed([*build, "-q", "build"], root)
        chapter = root / "content" / "03-ch3.md"
        chapter.write_text(chapter.read_text() + f"\nAn added sentence, number {rep}.\n")
        yield "edit", timed([*build, "-q", "build"], root)
        proc = subprocess.run([sys.executable, "-c", SERVER, str(root), str(rep)], cwd=root, capture_output=True,
                              text=True, env=AUTHOR_ENV)
        if proc.returncode:
            sys.exit(f"failed: the preview server's rebuilds in {root}\n{proc.stderr.strip()}")
        yield from ((k, tuple(v)) for k, v in json.loads(proc.stdout.splitlines()[-1]).items())
        edit_plot(root, 3, "epoch", f"epoch ({rep})")
        yield "plot-edit", timed([*build, "-q", "build"], root)
        edit_plot(root, 4, "peaking at", f"peaking ({rep}) at")
        yield "caption-edit", timed([*build, "-q", "build"], root)
        name = f"bench_new{rep}"
        (root / "figures" / "experiments" / f"{name}.py").write_text(NEW_EXPERIMENT.format(name=name))
        ch2 = root / "content" / "02-ch2.md"
        ch2.write_text(ch2.read_text() + f'\nIt is {{{{ result("{name}", "value", fmt="{{:.1f}}") }}}}.\n')
        yield "new-exp", timed([*build, "-q", "build"], root)
        notebook = root / "content" / "notebooks" / "companion.ipynb"
        notebook.write_text(re.sub(r"\[:\d+\]", f"[:{4 + rep}]", notebook.read_text()))
        yield "notebook-edit", timed([*build, "-q", "build"], root)
        (root / "figures" / "experiments" / "bench_model.py").write_text(MODEL.format(offset=rep + 1))
        yield "frozen-model", timed([*build, "-q", "build", "--frozen"], root, expect=1)
        timed([*build, "-q", "build"], root)  # the stale result rerun: not timed


ORDER = ("pandoc", "fresh", "cold", "cold-text", "noop", "edit", "serve-noop", "serve-edit", "plot-edit",
         "caption-edit", "serve-plot-edit", "new-exp", "notebook-edit", "frozen-model")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5, help="repetitions of each measurement")
    ap.add_argument("--keep", action="store_true", help="keep the temporary projects and print their path")
    ap.add_argument("--baseline", type=Path, help="another checkout, timed side by side on the same article")
    args = ap.parse_args()
    import pypandoc

    tmp = Path(tempfile.mkdtemp(prefix="build-bench-"))
    copies = [Copy("this", REPO, tmp / "this")]
    if args.baseline:
        copies.append(Copy("baseline", args.baseline.resolve(), tmp / "baseline"))
    text = "\n".join(p.read_text() for p in copies[0].plain)
    print(f"article: {N_CHAPTERS} chapters, {len(text.split())} words, {text.count('$$') // 2} display and "
          f"{(text.count('$') - text.count('$$') * 2) // 2} inline equations, {text.count('[@')} citations of "
          f"{N_REFS} references, {text.count('[^') // 2} footnotes, {N_FIGURES} figures", flush=True)
    for c in copies:
        print(f"{c.label}: {REPO if c.label == 'this' else args.baseline.resolve()}", flush=True)
    pandoc = {c.label: [pypandoc.get_pandoc_path(), *map(str, c.plain), "--citeproc", "--standalone", "--mathml",
                        "--toc", "--bibliography", "content/references.bib", "--csl", "content/ieee.csl",
                        "--metadata", "title=Benchmark article", "-o", str(c.root / "pandoc.html")] for c in copies}
    times = {c.label: {k: [] for k in ORDER} for c in copies}
    for rep in range(args.reps):
        runs = [c.scenarios(rep, pandoc[c.label]) for c in copies[::(-1) ** rep]]  # who goes first alternates
        for steps in zip(*runs):  # the copies take turns, scenario by scenario
            for c, (name, measured) in zip(copies[::(-1) ** rep], steps):
                times[c.label][name].append(measured)
    # one plain pandoc for both: its runs in every copy's turn
    p_wall = statistics.median(w for c in copies for w, _ in times[c.label]["pandoc"])
    p_cpu = statistics.median(u for c in copies for _, u in times[c.label]["pandoc"])
    med = {c.label: {k: statistics.median(w for w, _ in v) for k, v in times[c.label].items()} for c in copies}
    cpu = {c.label: {k: statistics.median(u for _, u in v) for k, v in times[c.label].items()} for c in copies}
    print(f"plain pandoc: wall {p_wall:.3f} s, CPU {p_cpu:.3f} s (median of {args.reps * len(copies)} runs); "
          f"the ratios are to these; wall median over {args.reps} runs each, [min-max]")
    print(f"{'':16s}" + " | ".join(f"{c.label + ': wall':>22s} {'x':>6s} {'CPU':>7s} {'x':>6s}" for c in copies))
    for k in ORDER[1:]:
        cols = []
        for c in copies:
            walls = [w for w, _ in times[c.label][k]]
            cols.append(f"{med[c.label][k]:6.3f} s [{min(walls):5.2f}-{max(walls):5.2f}] {med[c.label][k] / p_wall:5.2f}x "
                        f"{cpu[c.label][k]:6.3f} {cpu[c.label][k] / p_cpu:5.2f}x")
        print(f"{k:16s}" + " | ".join(cols))
    m = med["this"]
    goals = [("cold build with figures <= 5x plain pandoc", m["cold"] <= 5 * p_wall),
             ("plot-module edit <= 5x plain pandoc (CLI)", m["plot-edit"] <= 5 * p_wall),
             ("caption edit <= 5x plain pandoc (CLI)", m["caption-edit"] <= 5 * p_wall),
             ("plot-module edit <= 3x plain pandoc (serve)", m["serve-plot-edit"] <= 3 * p_wall),
             ("one-chapter edit faster than plain pandoc (CLI)", m["edit"] < p_wall),
             ("one-chapter edit faster than plain pandoc (serve)", m["serve-edit"] < p_wall),
             ("no-op rebuild < 0.2 s (CLI)", m["noop"] < 0.2),
             ("no-op rebuild < 0.2 s (serve)", m["serve-noop"] < 0.2)]
    for name, ok in goals:
        print(f"goal: {name:52s} {'met' if ok else 'NOT MET'}")
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    this = copies[0]
    this.clear()
    out = subprocess.run([*this.build, "-v", "build"], cwd=this.root, capture_output=True, text=True, env=AUTHOR_ENV)
    print("stages of one more cold build:\n" + out.stdout.strip())
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp)
    return 0 if all(ok for _, ok in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
