#!/usr/bin/env python3
"""Build the residual-networks explainer: chapters + experiments -> site/.

    python build.py build            build site/ (runs stale experiments first)
    python build.py build --frozen   build from committed results only; fail if any is stale
    python build.py build --wait     wait for a build already running instead of refusing
    python build.py figures          run the stale experiments of the current profile
    python build.py figures --force gradient_flow   rerun one experiment
    python build.py figures --list   show every experiment and network, and whether it is fresh
    python build.py train --commit   train the profile's missing networks, committing each
    python build.py figures --executor local --jobs 2   two jobs at once (networks first, then experiments)
    python build.py train --executor slurm --partition gpu --gpus-per-job 1   on a Slurm cluster
    python build.py serve            preview on http://127.0.0.1:8000, rebuilding on change
    python build.py check            check links, HTML and accessibility of site/
    python build.py clean            remove site/ and the build caches (never results or checkpoints)

Quiet by default (one line per command); -v/--verbose adds each stage's time,
-q/--quiet prints only errors. Every author error is printed as one line
`file:line: message` with exit code 1; a bug of ours says so in one line, exit
code 2, with its traceback in .cache/error.log (and on stderr with -v).
"""
from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))


def _project(args):
    from sitegen.project import load_project

    return load_project(args.root, profile=args.profile)


def _say(args, message: str) -> None:
    if not args.quiet:
        print(message)


def _wait_s(args) -> float:
    return 0.0 if args.wait is None else args.wait


def cmd_build(args) -> int:
    from sitegen.build import build

    t0 = time.perf_counter()
    project = _project(args)
    report = build(project, frozen=args.frozen, progress=not args.quiet, wait_s=_wait_s(args),
                   log=lambda m: _say(args, m), force=tuple(args.force or ()))
    dt = time.perf_counter() - t0
    index = project.site / "index.html"
    if report.up_to_date:
        _say(args, f"site is up to date ({dt:.2f} s): {index}")
        return 0
    drawn = f", figures drawn: {', '.join(report.figures_drawn)}" if report.figures_drawn else ""
    _say(args, f"built {index} in {dt:.2f} s ({report.chapters_rendered} chapters rendered, "
               f"{report.chapters_cached} cached; experiments run: {', '.join(report.ran) or 'none'}{drawn})")
    if args.verbose:
        for stage, secs in report.timings.items():
            print(f"  {stage:13s} {secs:7.3f} s")
    return 0


def cmd_figures(args) -> int:
    from sitegen.modules import project_modules

    project = _project(args)
    with project_modules(project.root):  # its own experiments, if any
        return _figures(args, project)


def _figures(args, project) -> int:
    from lab.store import ResultStore
    from sitegen import plan, publish, run

    profile = project.config.profile
    store = ResultStore(project.results)
    force = {_experiment(project, name) for name in args.force or ()}
    names = [_experiment(project, n) for n in args.only] if args.only else sorted(plan.registration(project.cache))
    states = plan.status(store, sorted(set(names) | force), project, force)  # planned once
    if args.list:
        for s in states:
            print(f"{s.name:26s} {profile:6s} {'fresh' if s.fresh else 'STALE: ' + s.reason}")
        if profile != "quick":  # quick networks live in the local cache, trained in seconds
            from lab import campaign

            _print_networks(campaign.network_states(profile), profile)
        return 0
    todo = [s for s in states if not s.fresh or s.name in force]
    if not todo:
        _say(args, f"all {len(states)} experiments are fresh ({profile} profile)")
        return 0
    executor = _executor(args, project)
    with publish.build_lock(project.cache, _wait_s(args), lambda m: _say(args, m)):
        outcomes = run.run_jobs(project, todo, progress=not args.quiet, log=lambda m: _say(args, m),
                                executor=executor)
    return _failures(outcomes)


def _failures(outcomes) -> int:
    """Exit 1 naming the jobs that failed (each one's line above says why, with its log
    where it has one: a job the scheduler refused has none), else 0."""
    failed = [o for o in outcomes if not o.ok]
    if failed:
        where = "each one's log is named above" if all(o.log for o in failed) else "each one's reason is above"
        print(f"error: {len(failed)} job(s) failed: {', '.join(o.job.label for o in failed)}; {where}",
              file=sys.stderr)
    return 1 if failed else 0


COMPUTE_FLAGS = ("executor", "jobs", "partition", "time_min", "gpus_per_job", "cpus_per_job", "sbatch")


def _executor(args, project):
    """The executor of `compute:` in site.yml, each setting overridden by its flag."""
    import dataclasses

    from lab import executors
    from lab.config import ConfigError
    from sitegen.errors import BuildError

    given = {k: getattr(args, k) for k in COMPUTE_FLAGS if getattr(args, k, None) is not None}
    if "sbatch" in given:
        given["sbatch"] = tuple(given["sbatch"])
    try:
        settings = dataclasses.replace(project.config.compute, **given)
    except ConfigError as e:
        raise BuildError(f"--{e.path[0].replace('_', '-')}: {e}") from None
    try:
        return executors.make(settings, project.cache / "jobs")
    except executors.ExecutorError as e:
        raise BuildError(str(e)) from None


def _experiment(project, name: str) -> str:
    from sitegen import plan
    from sitegen.errors import BuildError

    known = plan.registration(project.cache)
    if name not in known:
        raise BuildError(f"unknown experiment {name!r}; known: {', '.join(sorted(known))}")
    return name


def cmd_train(args) -> int:
    from lab import campaign

    project = _project(args)
    profile = project.config.profile
    if args.list:
        _print_networks(campaign.network_states(profile, root=project.root), profile)
        return 0
    if args.report:
        print(campaign.report(profile, root=project.root))
        return 0
    if args.prune:
        gone = campaign.prune()
        _say(args, f"deleted {len(gone)} stale network(s): {', '.join(gone) or 'none'}")
        return 0
    known = sorted(s.name for s in campaign.network_states(profile, root=project.root)) if args.only else []
    for name in args.only or ():
        if name not in known:
            from sitegen.errors import BuildError

            raise BuildError(f"train --only {name}: no such network in the {profile} profile; known: {', '.join(known)}")
    outcomes = campaign.train_missing(profile, args.only, commit=args.commit, progress=not args.quiet,
                                      log=lambda m: _say(args, m), executor=_executor(args, project),
                                      root=project.root)
    done = [o.job.name for o in outcomes if o.ok]
    _say(args, f"trained {len(done)} network(s): {', '.join(done) or ('none' if outcomes else 'none was missing')}")
    return _failures(outcomes)


def _print_networks(states, profile: str) -> None:
    for s in states:
        print(f"{'network ' + s.name:26s} seed {s.seed:<3d} {profile:6s} {s.state + ':':9s} {s.detail}")


def cmd_clean(args) -> int:
    from sitegen import cache, publish

    project = _project(args)
    with publish.build_lock(project.cache, _wait_s(args)):
        if project.site.is_dir():
            shutil.rmtree(project.site)
        for path in cache.clean(project.cache):  # never .cache/runs: a run's checkpoints are hours of work
            _say(args, f"removed {path}")
    return 0


def cmd_serve(args) -> int:
    from sitegen.serve import serve

    return serve(_project(args), host="127.0.0.1", port=args.port, train=args.train,
                 verbose=args.verbose, profile=args.profile)


def cmd_check(args) -> int:
    from sitegen.check import check

    return check(_project(args), verbose=args.verbose, quiet=args.quiet)


def _common() -> argparse.ArgumentParser:
    """-q/-v and --profile are accepted before or after the command."""
    common = argparse.ArgumentParser(add_help=False)
    from lab.experiments import PROFILE_NAMES

    common.add_argument("--profile", choices=PROFILE_NAMES, default=argparse.SUPPRESS,
                        help="experiment profile (default: `profile:` in content/site.yml)")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="print only errors")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="print each stage's time and the detail")
    return common


def _compute_flags(p: argparse.ArgumentParser) -> None:
    from lab.executors import EXECUTORS

    g = p.add_argument_group("where the jobs run (default: `compute:` in content/site.yml, "
                             "else one at a time in this process)")
    g.add_argument("--executor", choices=EXECUTORS, help="local: this machine; slurm: a cluster, through submitit")
    g.add_argument("--jobs", type=int, metavar="N",
                   help="jobs at once: local, N subprocesses (round-robin over the GPUs); slurm, at most N submitted")
    g.add_argument("--partition", metavar="NAME", help="Slurm partition")
    g.add_argument("--time-min", type=int, dest="time_min", metavar="MINUTES",
                   help="Slurm time limit of each job; a job killed at it resumes from its last epoch when resubmitted")
    g.add_argument("--gpus-per-job", type=int, dest="gpus_per_job", metavar="N", help="GPUs each Slurm job asks for")
    g.add_argument("--cpus-per-job", type=int, dest="cpus_per_job", metavar="N",
                   help="CPU cores each Slurm job asks for (its torch threads)")
    g.add_argument("--sbatch", action="append", metavar="OPTION",
                   help="an extra sbatch option, passed through; repeatable: --sbatch=--account=abc")


def _wait_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", nargs="?", type=float, const=math.inf, metavar="SECONDS",
                   help="if another build holds the lock, wait (for ever, or SECONDS) instead of refusing")


def make_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__, parents=[common],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(ROOT), help="project folder (default: this repository)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", parents=[common], help="build site/ from content/ and the experiment results")
    p.add_argument("--frozen", action="store_true", help="never train: fail, naming stale experiments")
    p.add_argument("--force", action="append", metavar="NAME", help="rerun this experiment first")
    _wait_flag(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("figures", parents=[common], help="run stale experiments (and only those)")
    p.add_argument("--force", action="append", metavar="NAME", help="rerun this experiment even if fresh")
    p.add_argument("--only", action="append", metavar="NAME", help="consider only this experiment")
    p.add_argument("--list", action="store_true", help="list experiments and whether each is fresh")
    _wait_flag(p)
    _compute_flags(p)
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("train", parents=[common], help="train the profile's missing networks, each one a job")
    p.add_argument("--only", action="append", metavar="NAME", help="train only this network")
    p.add_argument("--commit", action="store_true", help="git-commit each network as it finishes")
    p.add_argument("--list", action="store_true", help="list the networks: trained, missing or stale")
    p.add_argument("--report", action="store_true",
                   help="a Markdown table of every network and seed: errors, mean ± sd, cost, precision, CPU")
    p.add_argument("--prune", action="store_true",
                   help="delete stored networks that no profile's current code keys")
    _compute_flags(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("serve", parents=[common], help="preview site/ on 127.0.0.1 and rebuild on change")
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; 0 picks a free one)")
    p.add_argument("--train", action="store_true", help="run stale experiments without asking")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("check", parents=[common], help="check links, HTML validity and accessibility of site/")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("clean", parents=[common], help="remove site/ and the build caches (results are kept)")
    _wait_flag(p)
    p.set_defaults(func=cmd_clean)
    return parser


def report_bug(e: BaseException, args) -> int:
    """A bug of ours, not the author's: one line that says so, the traceback in
    .cache/error.log (and on stderr with -v), exit 2."""
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(e))
    log = Path(args.root) / ".cache" / "error.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(text, encoding="utf-8")
    except OSError:
        log = Path(tempfile.gettempdir()) / "resnet-explainer-error.log"
        log.write_text(text, encoding="utf-8")
    if args.verbose:
        print(text, end="", file=sys.stderr)
    message = " ".join(str(e).split())[:300]
    print(f"error: bug in the site generator, not in your files ({type(e).__name__}: {message}); "
          f"traceback in {log}; please report it", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    args.quiet = getattr(args, "quiet", False)
    args.profile = getattr(args, "profile", None)
    args.verbose = getattr(args, "verbose", False) and not args.quiet
    from sitegen.errors import BuildError, authored

    try:
        with authored():  # the figures package's own author errors (`train`) are BuildErrors too
            return args.func(args)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the previous site and stored results are unchanged", file=sys.stderr)
        return 130
    except Exception as e:
        from sitegen.environment import not_a_bug  # a closed pipe (`| head -1`), a package this Python lacks
        status = not_a_bug(e)
        return report_bug(e, args) if status is None else status


if __name__ == "__main__":
    from sitegen.environment import use_project_python
    use_project_python()  # the python on PATH lacks torch: this checkout's .venv runs it
    sys.exit(main())
