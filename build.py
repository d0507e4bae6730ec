#!/usr/bin/env python3
"""Build the residual-networks explainer: chapters + experiments -> site/.

    python build.py build            build site/ (runs stale experiments first)
    python build.py build --frozen   build from committed results only; fail if any is stale
    python build.py figures          run the stale experiments of the current profile
    python build.py figures --force gradient_flow   rerun one experiment
    python build.py figures --list   show every experiment and whether it is fresh
    python build.py serve            preview on http://127.0.0.1:8000, rebuilding on change
    python build.py check            check links, HTML and accessibility of site/
    python build.py clean            remove site/ and the build cache (never results)

Every author error is printed as one line `file:line: message` with exit code 1.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))


def _project(args):
    from sitegen.project import load_project

    return load_project(args.root, profile=args.profile)


def cmd_build(args) -> int:
    from sitegen.pipeline import Builder

    t0 = time.perf_counter()
    project = _project(args)
    report = Builder(project, frozen=args.frozen, progress=not args.quiet,
                     log=(lambda m: None) if args.quiet else print, force=tuple(args.force or ())).build()
    dt = time.perf_counter() - t0
    if report.up_to_date:
        print(f"site is up to date ({dt:.2f} s): {project.site / 'index.html'}")
        return 0
    if not args.quiet:
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in report.timings.items())
        print(f"built {project.site / 'index.html'} in {dt:.1f} s "
              f"({report.chapters_rendered} chapters rendered, {report.chapters_cached} cached; "
              f"experiments run: {', '.join(report.ran) or 'none'})")
        if args.verbose:
            print(f"  stages: {stages}")
    return 0


def cmd_figures(args) -> int:
    from figures import experiments, runner
    from figures.store import ResultStore

    project = _project(args)
    profile = project.config.profile
    store = ResultStore(project.results)
    names = sorted(experiments.load_all())
    if args.only:
        names = [experiments.get(n).name for n in args.only]
    states = runner.status(store, names, profile)
    if args.list:
        for s in states:
            print(f"{s.name:18s} {profile:6s} {'fresh' if s.fresh else 'STALE: ' + s.reason}")
        return 0
    force = set(args.force or ())
    for name in force:
        experiments.get(name)  # unknown name -> clear error
    todo = [s for s in states if not s.fresh or s.name in force]
    if force:
        todo = [s for s in runner.status(store, sorted(force | {s.name for s in todo}), profile)
                if not s.fresh or s.name in force]
    if not todo:
        print(f"all {len(states)} experiments are fresh ({profile} profile)")
        return 0
    total = sum(s.estimate_s for s in todo)
    print(f"will run {len(todo)} experiment(s), {profile} profile, about {total / 60:.1f} min:")
    for s in todo:
        print(f"  {s.name:18s} ~{s.estimate_s:6.0f} s  ({'forced' if s.name in force else s.reason})")
    for s in todo:
        t0 = time.perf_counter()
        stored = runner.run_one(store, s.name, profile, project.root, progress=not args.quiet,
                                workdir=project.cache / "runs" / s.name / profile)
        print(f"  {s.name}: {time.perf_counter() - t0:.1f} s on {stored.provenance.get('device')}")
    return 0


def cmd_clean(args) -> int:
    project = _project(args)
    for path in (project.site, project.cache):
        if path.exists():
            shutil.rmtree(path)
            print(f"removed {path}")
    return 0


def cmd_serve(args) -> int:
    from sitegen.serve import serve

    return serve(_project(args), host="127.0.0.1", port=args.port, train=args.train)


def cmd_check(args) -> int:
    from sitegen.check import check

    return check(_project(args))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(ROOT), help="project folder (default: this repository)")
    parser.add_argument("--profile", choices=("quick", "cpu", "full"),
                        help="experiment profile (default: `profile:` in content/site.yml)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="print stage timings and detail")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="build site/ from content/ and the experiment results")
    p.add_argument("--frozen", action="store_true", help="never train: fail, naming stale experiments")
    p.add_argument("--force", action="append", metavar="NAME", help="rerun this experiment first")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("figures", help="run stale experiments (and only those)")
    p.add_argument("--force", action="append", metavar="NAME", help="rerun this experiment even if fresh")
    p.add_argument("--only", action="append", metavar="NAME", help="consider only this experiment")
    p.add_argument("--list", action="store_true", help="list experiments and whether each is fresh")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("serve", help="preview site/ on 127.0.0.1 and rebuild on change")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--train", action="store_true", help="run stale experiments without asking")
    p.set_defaults(func=cmd_serve)

    sub.add_parser("check", help="check links, HTML validity and accessibility of site/").set_defaults(func=cmd_check)
    sub.add_parser("clean", help="remove site/ and .cache/ (results are kept)").set_defaults(func=cmd_clean)

    args = parser.parse_args(argv)
    from sitegen.errors import BuildError

    try:
        return args.func(args)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (KeyError, ValueError, RuntimeError) as e:
        # data, config and divergence errors from the figures package: one line, no traceback
        if type(e).__name__ in {"DataError", "Divergence", "ConfigError", "KeyError"}:
            print(f"error: {str(e).strip(chr(39))}", file=sys.stderr)
            return 1
        raise
    except KeyboardInterrupt:
        print("interrupted; the previous site and stored results are unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
