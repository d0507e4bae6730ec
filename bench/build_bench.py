"""Our build against plain pandoc on the same generated article, side by side.

Makes a six-chapter article in a temporary folder (about 5,000 words, 100+
inline and 15+ display equations, 25 references cited 40 times, footnotes, ten
figures from a dummy experiment and ten plot modules of its own, cross-references
across chapters), then times, each several times:

    cold     python build.py build  with no site/ and no .cache/ (results stored)
    cold-text  the same with the figures' SVGs already cached (our text pipeline alone)
    no-op    the same again, nothing changed
    edit     after appending a sentence to one chapter
    serve-*  no-op and edit inside one long-lived process, as `build.py serve` rebuilds
    pandoc   pandoc --citeproc --standalone --mathml --toc  on the same chapters

    python bench/build_bench.py [--reps 5] [--keep]
"""
from __future__ import annotations

import argparse
import os
import random
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


@dataclass(frozen=True)
class Config:
    points: int = 60  # samples per curve (count)
    seed: int = 0     # random seed


@register("bench_curves", Config, profiles={"quick": {}, "cpu": {}, "full": {"points": 200}},
          estimate_s={"quick": 1, "cpu": 1, "full": 1})
def run(cfg: Config, ctx: Context) -> Output:
    """Ten noisy decaying curves."""
    rng = np.random.default_rng(cfg.seed)
    ctx.facts.update(data="generated curves", n_train=0, n_test=0)
    x = np.linspace(0, 5, cfg.points)
    series = {f"s{i}": (np.exp(-x / (i + 1)) + 0.02 * rng.standard_normal(cfg.points)).tolist() for i in range(10)}
    return Output(metrics={k: {"peak": float(max(v)), "last": float(v[-1])} for k, v in series.items()},
                  data={"x": x.tolist(), "series": series})
'''

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


def make_article(root: Path) -> list[Path]:
    rng = random.Random(7)
    content = root / "content"
    content.mkdir(parents=True)
    (content / "site.yml").write_text('title: "Benchmark article"\ndescription: "Generated."\n'
                                      'published: "2026-01-01"\nprofile: quick\n'
                                      'authors:\n  - name: "Bench Author"\n')
    (content / "references.bib").write_text(bibtex(N_REFS))
    shutil.copy(REPO / "content" / "ieee.csl", content / "ieee.csl")
    shutil.copytree(REPO / "templates", root / "templates")
    for sub in ("experiments", "plots"):
        (root / "figures" / sub).mkdir(parents=True)
    (root / "figures" / "experiments" / "bench_curves.py").write_text(EXPERIMENT)
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


def cpu_now() -> float:
    """CPU seconds of this process and its finished children (pandoc, helpers): unlike wall
    time it hardly moves when other jobs share the machine."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of a command."""
    t0, c0 = time.perf_counter(), cpu_now()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    dt, cpu = time.perf_counter() - t0, cpu_now() - c0
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr.strip()}")
    return dt, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5, help="repetitions of each measurement")
    ap.add_argument("--keep", action="store_true", help="keep the temporary project and print its path")
    args = ap.parse_args()
    import pypandoc

    tmp = Path(tempfile.mkdtemp(prefix="build-bench-"))
    root = tmp / "article"
    plain = make_article(root)
    text = "\n".join(p.read_text() for p in plain)
    print(f"article: {N_CHAPTERS} chapters, {len(text.split())} words, {text.count('$$') // 2} display and "
          f"{(text.count('$') - text.count('$$') * 2) // 2} inline equations, {text.count('[@')} citations of "
          f"{N_REFS} references, {text.count('[^') // 2} footnotes, {N_FIGURES} figures", flush=True)
    build = [sys.executable, str(REPO / "build.py"), "--root", str(root)]
    pandoc = [pypandoc.get_pandoc_path(), *map(str, plain), "--citeproc", "--standalone", "--mathml", "--toc",
              "--bibliography", "content/references.bib", "--csl", "content/ieee.csl",
              "--metadata", "title=Benchmark article", "-o", str(tmp / "pandoc.html")]
    timed([*build, "-q", "figures"], root)  # results are committed in a real project: not timed
    times: dict[str, list[tuple[float, float]]] = {"pandoc": [], "cold": [], "cold-text": [], "noop": [], "edit": [],
                                     "serve-noop": [], "serve-edit": []}
    sys.path.insert(0, str(REPO))
    from sitegen.build import build as build_site
    from sitegen.project import load_project

    def in_process() -> tuple[float, float]:
        t0, c0 = time.perf_counter(), cpu_now()
        build_site(load_project(root), progress=False, log=lambda m: None)
        return time.perf_counter() - t0, cpu_now() - c0

    chapter = root / "content" / "03-ch3.md"
    def clear(keep_figures: bool = False) -> None:  # what a fresh checkout lacks: site/ and the build cache
        for stale in (root / "site", root / ".cache" / "chapters", root / ".cache" / "jinja",
                      root / ".cache" / "bibliography", root / ".cache" / "last-build.json",
                      *(() if keep_figures else (root / ".cache" / "figures",))):
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)

    for rep in range(args.reps):
        times["pandoc"].append(timed(pandoc, root))
        clear()
        times["cold"].append(timed([*build, "-q", "build"], root))
        times["noop"].append(timed([*build, "-q", "build"], root))
        clear(keep_figures=True)  # everything but matplotlib's part, which pandoc has no share in
        times["cold-text"].append(timed([*build, "-q", "build"], root))
        chapter.write_text(chapter.read_text() + f"\nAn added sentence, number {rep}.\n")
        times["edit"].append(timed([*build, "-q", "build"], root))
        in_process()  # warm: imports done, as in the preview server
        times["serve-noop"].append(in_process())
        chapter.write_text(chapter.read_text() + f"\nA sentence added while serving, number {rep}.\n")
        times["serve-edit"].append(in_process())
    med = {k: statistics.median(w for w, _ in v) for k, v in times.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in times.items()}
    p = med["pandoc"]
    print(f"{'':10s} {'wall median':>11s} {'min':>7s} {'max':>7s} {'vs pandoc':>9s} | {'CPU median':>10s} "
          f"{'vs pandoc':>9s}   ({args.reps} runs each)")
    for k, v in times.items():
        walls = [w for w, _ in v]
        print(f"{k:10s} {med[k]:10.3f}s {min(walls):6.3f}s {max(walls):6.3f}s {med[k] / p:8.2f}x | "
              f"{cpu[k]:9.3f}s {cpu[k] / cpu['pandoc']:8.2f}x")
    goals = [("cold build <= 3x plain pandoc", med["cold"] <= 3 * p),
             ("one-chapter edit faster than plain pandoc (CLI)", med["edit"] < p),
             ("one-chapter edit faster than plain pandoc (serve)", med["serve-edit"] < p),
             ("no-op rebuild < 0.2 s (CLI)", med["noop"] < 0.2),
             ("no-op rebuild < 0.2 s (serve)", med["serve-noop"] < 0.2)]
    for name, ok in goals:
        print(f"goal: {name:52s} {'met' if ok else 'NOT MET'}")
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    clear()
    out = subprocess.run([*build, "-v", "build"], cwd=root, capture_output=True, text=True)
    print("stages of one more cold build:\n" + out.stdout.strip())
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp)
    return 0 if all(ok for _, ok in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
