#!/usr/bin/env python3
"""The whole GPU run in one command: data, a 50-step benchmark, the epochs that fit,
training, the experiments, and the weights and results written back.

    python3 scripts/gpu_run.py --out "$OUT"                     on the GPU machine
    python3 scripts/gpu_run.py --profile quick --jobs 2 --out /tmp/gpu-dry    dry run on CPU
    python3 scripts/gpu_run.py --take /tmp/gpu-dry              back here: merge what it wrote

1. data: unpack shared/data/cifar10-jpeg.tar.gz into data/ and decode it once, so that
   every job loads the tensor file (skipped for synthetic data, the quick profile);
2. bench: time 50 SGD steps of each network, the networks shared out over N jobs that
   run side by side as in training (lab.jobs.bench_job), for each N of --jobs;
3. fit: the longest cifar10-Nep profile (lab.experiments.profiles.GPU_EPOCHS)
   whose estimated wall time fits --budget-min, and the N that trains it soonest;
4. train: `build.py train --executor local --jobs N`, several networks on each GPU;
5. figures: `build.py figures` with the same executor, while --deadline-min allows;
6. out: weights.tar.gz, results.tar.gz, logs.tar.gz (partial.tar.gz if a network was
   cut short), summary.json with every step's time, and run.log.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ARCHIVE = "cifar10-jpeg.tar.gz"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="auto", help="a profile, or auto: the longest cifar10-Nep that fits")
    p.add_argument("--jobs", default="4,8", help="jobs at once to benchmark, comma-separated; the fastest is used")
    p.add_argument("--budget-min", type=float, default=8.0, help="training time to fit the epochs to (minutes)")
    p.add_argument("--deadline-min", type=float, default=9.5,
                   help="the whole command ends by then, packing included (the device allows 10 minutes)")
    p.add_argument("--bench-steps", type=int, default=50, help="timed SGD steps of each network")
    p.add_argument("--only", action="append", metavar="NAME", help="only this network (tests)")
    p.add_argument("--no-figures", action="store_true", help="train only")
    p.add_argument("--root", default=str(REPO), help="project folder (default: this checkout)")
    p.add_argument("--out", default=os.environ.get("OUT", ""), help="where the archives go (default: $OUT)")
    p.add_argument("--take", metavar="DIR", help="merge the weights and results a run wrote to DIR into --root")
    return p


class Run:
    """The run's log (printed and kept in run.log) and its summary, step by step."""

    def __init__(self, out: Path, deadline_min: float):
        self.out, self.t0, self.summary = out, time.monotonic(), {"steps": {}}
        self.deadline = self.t0 + 60 * deadline_min
        self.log_file = (out / "run.log").open("a", encoding="utf-8")
        self.started_wall = time.time() - 1  # files newer than this are the run's

    def log(self, message: str) -> None:
        print(message, flush=True)
        self.log_file.write(message + "\n")
        self.log_file.flush()

    def left_s(self) -> float:
        return self.deadline - time.monotonic()

    def step(self, name: str, started: float) -> None:
        secs = round(time.monotonic() - started, 1)
        self.summary["steps"][name] = secs
        self.log(f"[{name}: {secs:.1f} s; {time.monotonic() - self.t0:.0f} s since the start]")

    def sh(self, args: list[str], timeout_s: float) -> int:
        """Run a command with its output in the log; at the timeout its whole process group
        (the jobs it started too) is stopped and 124 returned."""
        import threading

        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        reader = threading.Thread(target=lambda: [self.log("  | " + ln.rstrip()) for ln in proc.stdout])
        reader.start()
        try:
            proc.wait(timeout=max(timeout_s, 1))
        except subprocess.TimeoutExpired:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:  # all gone already
                    break
                time.sleep(3)
            proc.wait()
            self.log(f"  | stopped after {timeout_s:.0f} s")
            return 124
        finally:
            reader.join(timeout=10)
        return proc.returncode


def use_wheels(run: Run) -> None:
    """submitit travels as a wheel (.whl/, as the device README says): install it aside."""
    try:
        import submitit  # noqa: F401
        return
    except ImportError:
        pass
    target = Path("/tmp/gpu-run-site")
    wheels = sorted(str(w) for w in (REPO / ".whl").glob("*.whl"))
    if not wheels:
        sys.exit(f"error: this Python ({sys.executable}) lacks submitit and .whl/ holds no wheel of it: run `make` "
                 "(it makes .venv, which this script then uses), or `pip download --no-deps submitit==1.5.4 -d .whl`")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                    "--no-compile", "--target", str(target), *wheels], check=True)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))
    sys.path.insert(0, str(target))
    run.log(f"installed {', '.join(Path(w).name for w in wheels)} into {target}")


def unpack_data(run: Run) -> dict:
    """The archive into data/ (the cache folder lab.cifar looks in), decoded once."""
    from lab.cifar import SHARED_ARCHIVES, cache_root, load_cifar10

    cache = cache_root()
    folder = cache / ARCHIVE.removesuffix(".tar.gz")
    if not folder.is_dir():
        archive = next((p for p in SHARED_ARCHIVES if p.exists()), None)
        if archive is None:
            raise SystemExit(f"no {ARCHIVE}: looked in {', '.join(map(str, SHARED_ARCHIVES))}")
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "xzf", str(archive), "-C", str(cache)], check=True)
    t0 = time.monotonic()
    data = load_cifar10(folder, progress=False)
    return {"data": repr(data), "decode_s": round(time.monotonic() - t0, 1)}


def benchmark(names: list[str], recipe: dict, jobs: int, steps: int, root: Path, run: Run) -> dict:
    """Seconds a step of each network with `jobs` of them side by side, and each job's start-up."""
    from lab import executors
    from lab.jobs import bench_job

    shares = [s for s in (names[i::jobs] for i in range(jobs)) if s]
    peers = [sum(1 for s in shares if len(s) > k) for k in range(max(map(len, shares)))]
    barrier = root / ".cache" / "jobs" / f"barrier-{os.getpid()}-{jobs}"
    ex = executors.make(executors.ComputeSettings(jobs=len(shares)), root / ".cache" / "jobs")
    t0 = time.monotonic()
    outs = executors.run(ex, [bench_job(s, recipe, steps, root, str(barrier), peers) for s in shares],
                         log=run.log, progress=False)
    wall = time.monotonic() - t0
    if not all(o.ok for o in outs):
        raise SystemExit(f"the benchmark with {jobs} jobs failed; see run.log")
    step_s = {k: v for o in outs for k, v in o.summary["step_seconds"].items()}
    busy = max(sum(2 * steps * step_s[n] for n in s) for s in shares)  # warm-up + timed epochs
    return {"jobs": len(shares), "step_s": step_s, "startup_s": round(max(wall - busy, 0.0), 1)}


def makespan(durations: list[float], slots: int) -> float:
    """Wall time of jobs run in this order, each on the first free slot (as executors.run)."""
    free = [0.0] * max(slots, 1)
    for d in durations:
        free[free.index(min(free))] += d
    return max(free)


def estimate_s(bench: dict, names: list[str], recipe: dict) -> float:
    from lab.campaign import EVAL_SHARE

    steps = (recipe.get("n_train") or 50_000) // recipe["batch_size"]
    return makespan([bench["startup_s"] + recipe["epochs"] * steps * bench["step_s"][n] * EVAL_SHARE
                     for n in names], bench["jobs"])


def fit(benches: list[dict], names: list[str], profiles: list[str], budget_s: float) -> dict:
    """The longest of `profiles` that some benchmarked N trains within `budget_s`, with the
    N that trains it soonest; the shortest profile if none fits."""
    from lab.experiments.profiles import RECIPES

    table = {p: {b["jobs"]: round(estimate_s(b, names, RECIPES[p]), 1) for b in benches} for p in profiles}
    fits = [p for p in profiles if min(table[p].values()) <= budget_s]
    chosen = max(fits, key=lambda p: RECIPES[p]["epochs"]) if fits else min(profiles, key=lambda p: RECIPES[p]["epochs"])
    jobs = min(table[chosen], key=table[chosen].get)
    return {"profile": chosen, "jobs": jobs, "estimate_s": table[chosen][jobs], "fits": bool(fits),
            "budget_s": round(budget_s), "estimates_s": table}


def pack(run: Run, root: Path, profile: str) -> None:
    """What the run made, as at most 8 files of at most 16 MiB (the device's limits)."""
    from lab.campaign import profile_store

    store = profile_store(profile, root).root
    new = [p for p in store.glob("*.pt") if p.stat().st_mtime >= run.started_wall]
    _tar(run.out / "weights.tar.gz", root, new + [store / "MANIFEST.json"])
    _tar(run.out / "results.tar.gz", root, sorted((root / "lab" / "results").glob(f"*/{profile}/*")))
    _tar(run.out / "logs.tar.gz", root, sorted((root / ".cache" / "jobs").glob("*_log.*")))
    partial = sorted((store / "partial").glob("*.ckpt")) + sorted((store / "partial").glob("*.probes.json"))
    if partial and sum(p.stat().st_size for p in partial) < 15 * 2**20:
        _tar(run.out / "partial.tar.gz", root, partial)


def _tar(path: Path, root: Path, files: list[Path]) -> None:
    with tarfile.open(path, "w:gz") as tf:
        for f in files:
            if f.is_file():
                tf.add(f, arcname=str(f.resolve().relative_to(root.resolve())))


def take(folder: Path, root: Path) -> int:
    """Merge a run's archives into `root`, all or nothing: every archive is read and checked
    first (each member inside the checkout, the manifest valid JSON), then the files are
    written, each atomically; if one fails, those written are put back as they were.
    Manifest entries merge under the store's lock, so entries trained here meanwhile stay;
    a network the archive holds replaces the one here, entry and file (retrained under its key)."""
    from lab.paths import atomic_write
    from lab.weights import MANIFEST, WeightStore

    names = [n for n in ("results.tar.gz", "partial.tar.gz", "weights.tar.gz") if (folder / n).exists()]
    files: dict[Path, bytes] = {}
    manifests: dict[Path, dict] = {}
    try:
        if not names:
            raise ValueError("holds no results.tar.gz, partial.tar.gz or weights.tar.gz")
        for name in names:
            with tarfile.open(folder / name) as tf:
                for m in (m for m in tf.getmembers() if m.isfile()):
                    target = (root / m.name).resolve()
                    if not target.is_relative_to(root.resolve()):
                        raise ValueError(f"{name}: {m.name} lies outside the checkout")
                    raw = tf.extractfile(m).read()
                    if target.name == MANIFEST:
                        manifests[target] = json.loads(raw)
                    else:
                        files[target] = raw
    except (OSError, tarfile.TarError, ValueError) as e:
        print(f"error: {folder}: {e}; nothing was taken", file=sys.stderr)
        return 1
    before: dict[Path, bytes | None] = {}
    try:
        for target, raw in files.items():
            old = target.read_bytes() if target.is_file() else None
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, raw)
            before[target] = old  # written: to put back if a later one fails
        for target, theirs in manifests.items():
            store = WeightStore(target.parent)
            with store._manifest_lock():
                mine = store.manifest()
                # a network new here, or one this take wrote over (retrained under its key:
                # another precision or machine), whose entry must then say the new file's sha256
                added = {k: v for k, v in theirs.items() if (target.parent / k).exists()
                         and (k not in mine or target.parent / k in files)}
                old = target.read_bytes() if target.is_file() else None
                store._write_manifest({**mine, **added})
                before[target] = old
            print(f"took {len(added)} manifest entries into {target.relative_to(root.resolve())}")
    except BaseException as e:
        for target, old in before.items():
            atomic_write(target, old) if old is not None else target.unlink(missing_ok=True)
        print(f"error: taking {folder} failed ({type(e).__name__}: {e}); the checkout is as it was", file=sys.stderr)
        return 1
    for target in files:
        print(f"took {target.relative_to(root.resolve())}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from sitegen.environment import use_project_python

    if argv is None:
        use_project_python()  # the python3 on PATH lacks torch and .venv exists: .venv runs it
    args = parser().parse_args(argv)
    root = Path(args.root).resolve()
    if args.take:
        return take(Path(args.take), root)
    out = Path(args.out or root / ".cache" / "gpu-run")
    out.mkdir(parents=True, exist_ok=True)
    run = Run(out, args.deadline_min)
    t = time.monotonic()
    use_wheels(run)
    import torch

    from lab.experiments.profiles import GPU_EPOCHS, NETWORKS, RECIPES

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU (a dry run)"
    run.summary.update(device=gpu, torch=torch.__version__, python=sys.version.split()[0], argv=sys.argv[1:])
    run.log(f"device: {gpu}; torch {torch.__version__}; {os.cpu_count()} CPU cores")
    ladder = [f"cifar10-{n}ep" for n in GPU_EPOCHS] if args.profile == "auto" else [args.profile]
    names = [n for n in NETWORKS[ladder[0]] if not args.only or n in args.only]
    run.step("setup", t)

    t = time.monotonic()
    if RECIPES[ladder[0]]["data"] != "synthetic":
        run.summary["data"] = unpack_data(run)
        run.log(f"data: {run.summary['data']}")
    run.step("data", t)

    t = time.monotonic()
    benches = [benchmark(names, RECIPES[ladder[0]], int(n), args.bench_steps, root, run)
               for n in args.jobs.split(",")]
    run.summary["bench"] = benches
    run.step("bench", t)

    budget = min(60 * args.budget_min, run.left_s() - 45)  # packing, and the slack of the estimate
    choice = run.summary["fit"] = fit(benches, names, ladder, budget)
    run.log(f"fit: {choice['profile']} with {choice['jobs']} jobs at once, about {choice['estimate_s'] / 60:.1f} min "
            f"({'fits' if choice['fits'] else 'does NOT fit'} {budget / 60:.1f} min); estimates {choice['estimates_s']}")

    profile, jobs = choice["profile"], str(choice["jobs"])
    cli = [sys.executable, str(REPO / "build.py"), "--root", str(root), "--profile", profile]
    only = [a for n in args.only or () for a in ("--only", n)]
    t = time.monotonic()
    rc = run.sh(cli + ["train", "--executor", "local", "--jobs", jobs, *only], run.left_s() - 20)
    run.summary["train_rc"] = rc
    run.step("train", t)

    t = time.monotonic()
    if not args.no_figures and rc == 0 and run.left_s() > 60:
        run.summary["figures_rc"] = run.sh(cli + ["figures", "--executor", "local", "--jobs", jobs],
                                           run.left_s() - 30)
    else:
        run.log("figures: skipped (training did not finish, --no-figures, or too little time left); "
                f"run `python build.py figures --profile {profile}` next")
    run.step("figures", t)

    t = time.monotonic()
    pack(run, root, profile)
    run.step("pack", t)
    (out / "summary.json").write_text(json.dumps(run.summary, indent=1) + "\n", encoding="utf-8")
    run.log(f"wrote {', '.join(sorted(p.name for p in out.iterdir()))} to {out}")
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ModuleNotFoundError as e:  # a package this Python lacks (torch, before `make`): said as that
        from sitegen.environment import not_a_bug

        if not_a_bug(e) is None:
            raise
        sys.exit(1)
