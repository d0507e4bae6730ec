"""Our build against plain pandoc on the same generated article, side by side.

Makes a six-chapter article (bench/bench_article.py) in a temporary folder (about 5,000 words, 100+
inline and 15+ display equations, 25 references cited 40 times, footnotes, ten
figures from a dummy experiment and ten plot modules of its own, cross-references
across chapters, a companion notebook that imports the figures package) beside a
copy of the code (build.py, sitegen/, lab/ without weights and results, figures/), as
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
with `git archive COMMIT build.py sitegen lab figures templates | tar -x -C /tmp/old` (a commit
with lab/: the article's own experiment is written for lab/experiments).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_article import (MODEL, N_CHAPTERS, N_FIGURES, N_REFS, NEW_EXPERIMENT, REPO, copy_code, edit_plot,
                           make_article)


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
# `build.py serve` in that checkout would): warmed by one build and one chapter edit (the
# first edit after start fills what only rendering imports), then timed as an author's
# later edits are.
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
chapter = root / "content" / "03-ch3.md"
chapter.write_text(chapter.read_text() + f"\nA first edit while serving, number {rep}.\n")
rebuild()  # and the render path's own imports and caches, which an author's first edit fills once
out = {"serve-noop": rebuild()}
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
        (root / "lab" / "experiments" / f"{name}.py").write_text(NEW_EXPERIMENT.format(name=name))
        ch2 = root / "content" / "02-ch2.md"
        ch2.write_text(ch2.read_text() + f'\nIt is {{{{ result("{name}", "value", fmt="{{:.1f}}") }}}}.\n')
        yield "new-exp", timed([*build, "-q", "build"], root)
        notebook = root / "content" / "notebooks" / "companion.ipynb"
        notebook.write_text(re.sub(r"\[:\d+\]", f"[:{4 + rep}]", notebook.read_text()))
        yield "notebook-edit", timed([*build, "-q", "build"], root)
        (root / "lab" / "experiments" / "bench_model.py").write_text(MODEL.format(offset=rep + 1))
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
