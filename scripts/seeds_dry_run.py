"""Will the article read right on every seed? A dry run before the campaign ends.

While a campaign trains new seeds, the article stays on those already trained
(ANALYSED_SEEDS in lab/experiments/profiles.py; empty once every seed is trained).
Its prose and claims must then read results that hold a spread. This script builds the
article, frozen, in a scratch copy of the project whose stored results are rewritten as
if measured on seeds 0, 1 and 2: seed 0 as stored, the others each number times
(1 + `--noise` x a normal draw), then merged by lab.spread exactly as a real run
merges them. Nothing of it is ever committed or published: the numbers are made up,
and only the shape of the data is real.

    .venv/bin/python scripts/seeds_dry_run.py [--noise 0.02] [--keep DIR]

Exit 0: every chapter rendered and every claim held; else the build's own one-line error.
The site it built stays in DIR (--keep) to read.
"""
from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab import spread  # noqa: E402
from lab.experiments import REGISTRY, load_all  # noqa: E402
from lab.experiments.profiles import PROFILES as TABLE  # noqa: E402
from lab.store import ResultStore  # noqa: E402

SEEDS = [0, 1, 2]


def jitter(node, rng: random.Random, noise: float):
    """The same tree with every float moved by a relative normal draw; ints, text and
    flags as they are (parameter counts and names do not vary by seed)."""
    if isinstance(node, dict):
        return {k: jitter(v, rng, noise) for k, v in node.items()}
    if isinstance(node, list):
        return [jitter(v, rng, noise) for v in node]
    if isinstance(node, float):
        return node * (1 + noise * rng.gauss(0, 1))
    return node


def fake_seeds(results: Path, profile: str, noise: float) -> list[str]:
    """Rewrite each stored result of `profile` measured on seed 0 alone as three seeds
    (none, once the article analyses every seed)."""
    store, rng, done = ResultStore(results), random.Random(0), []
    for name, exp in sorted(REGISTRY.items()):
        if profile not in exp.profiles or "recipe" not in exp.profiles[profile]:
            continue  # measures no trained network: no seeds
        if "seeds" in TABLE.get(name, {}).get(profile, {}) or name not in TABLE:
            continue  # analyses seed 0 on purpose (pictures, the landscape, the live figure)
        stored = store.load(name, profile)
        if stored is None or len(stored.provenance.get("seeds") or [0]) > 1:
            continue
        runs = [stored.metrics] + [jitter(stored.metrics, rng, noise) for _ in SEEDS[1:]]
        datas = [stored.data] + [jitter(stored.data, rng, noise) for _ in SEEDS[1:]]
        store.save(name, profile, stored.key, stored.config,
                   {**stored.provenance, "seeds": SEEDS, "seed": None},
                   spread.merge(runs, SEEDS),
                   {**stored.data, "per_seed": {str(s): d for s, d in zip(SEEDS, datas)}},
                   dict(stored.arrays) or None)
        done.append(name)
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--noise", type=float, default=0.02, help="relative sd of the made-up seeds")
    ap.add_argument("--profile", default="cifar10-10ep")
    ap.add_argument("--keep", type=Path, help="build in this folder (kept) instead of a temporary one")
    args = ap.parse_args(argv)
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="seeds-dry-run-"))
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    for f in files:
        src = REPO / f
        if src.is_file() and not f.startswith("lab/weights/"):
            (scratch / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, scratch / f)
    (scratch / "lab" / "weights").unlink(missing_ok=True)
    shutil.rmtree(scratch / "lab" / "weights", ignore_errors=True)
    (scratch / "lab" / "weights").symlink_to(REPO / "lab" / "weights")  # read only here
    load_all()
    faked = fake_seeds(scratch / "lab" / "results", args.profile, args.noise)
    print(f"made up seeds 1, 2 for: {', '.join(faked) or 'nothing'} (in {scratch})")
    return subprocess.run([sys.executable, str(scratch / "build.py"), "--root", str(scratch),
                           "-q", "build", "--frozen", "--profile", args.profile]).returncode


if __name__ == "__main__":
    sys.exit(main())
