#!/usr/bin/env python3
"""Retrain in bf16, under their keys, the networks of a profile trained in another precision.

    python3 scripts/one_precision.py --out .cache/bf16      train, in a clone of HEAD, what is not bf16
    python3 scripts/gpu_run.py --take .cache/bf16           then, here: the files and entries replace ours
    python3 build.py figures --profile cifar10-10ep         and every result that read them reruns
    python3 scripts/one_precision.py --compare HEAD         before committing: what the precision alone moved

A campaign trains each network on whatever its sitting's machine offers: bf16 where
the CPU computes it natively, fp32 elsewhere (the precision is not in a network's
key; every manifest entry says which). Comparing two networks then also compares
two precisions. This script makes a profile uniform: on a machine with native bf16
(AMX or AVX512-BF16, or a GPU) it clones HEAD into `--out`/clone, drops there the
networks whose manifest entry is not bf16 alone, trains them again with the clone's
own `build.py train` (one at a time, resumable: run it again to go on), and packs the
retrained ones as `--out`/weights.tar.gz, which `gpu_run.py --take` merges (file and
manifest entry both). Each result records the sha256 of the weights it read, so a
result made from a replaced network is stale after the take (lab.runner).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from lab import paths  # noqa: E402
from gpu_run import _tar  # noqa: E402  (the archives --take reads)

WEIGHTS = paths.WEIGHTS.relative_to(paths.REPO)  # inside any checkout


def to_retrain(manifest: dict[str, dict], names: list[str], precision: str = "bf16") -> list[str]:
    """The stored files of networks `names` not trained in `precision` alone (a network
    resumed elsewhere may have run some epochs in each: it is retrained too)."""
    return sorted(f for f, e in manifest.items() if e.get("name") in names and e.get("precision") != [precision])


def retrained(mine: dict[str, dict], theirs: dict[str, dict], precision: str = "bf16") -> list[str]:
    """The files of `theirs` (the clone's manifest) that replace ours: same file, other weights."""
    return sorted(f for f, e in theirs.items() if f in mine and e.get("sha256") != mine[f].get("sha256")
                  and e.get("precision") == [precision])


def compare(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """Markdown rows: each network whose precision changed from `before` to `after` (the
    same key, seed and data order), its final errors in each, and the paired differences'
    mean and standard deviation: what the precision alone moved."""
    from statistics import mean, stdev

    rows = ["| network | seed | before | after | train err | test err | Δ test |", "|---|---|---|---|---|---|---|"]
    deltas: dict[str, list[float]] = {"train_error": [], "test_error": []}
    changed = [f for f in after if f in before and after[f].get("precision") != before[f].get("precision")]
    for f in sorted(changed, key=lambda f: (after[f]["name"], (after[f].get("recipe") or {}).get("seed", 0))):
        b, a = before[f].get("final") or {}, after[f].get("final") or {}
        for k in deltas:
            deltas[k].append(100 * (a[k] - b[k]))
        rows.append(f"| {after[f]['name']} | {(after[f].get('recipe') or {}).get('seed', 0)} | "
                    f"{'/'.join(before[f]['precision'])} | {'/'.join(after[f]['precision'])} | "
                    f"{100 * b['train_error']:.1f} → {100 * a['train_error']:.1f} % | "
                    f"{100 * b['test_error']:.1f} → {100 * a['test_error']:.1f} % | {deltas['test_error'][-1]:+.1f} |")
    if len(deltas["test_error"]) > 1:
        rows.append("| **paired difference** | n = %d | | | %+.2f ± %.2f points | %+.2f ± %.2f points | |" % (
            len(deltas["test_error"]), mean(deltas["train_error"]), stdev(deltas["train_error"]),
            mean(deltas["test_error"]), stdev(deltas["test_error"])))
    return rows


def manifest(checkout: Path) -> dict[str, dict]:
    from lab.weights import WeightStore

    return WeightStore(checkout / WEIGHTS).manifest()


def prepare(root: Path, clone: Path, names: list[str]) -> list[str]:
    """A clone of `root`'s HEAD without the networks to retrain (kept as it is if it exists:
    what it retrained is bf16 already, and its checkpoints resume)."""
    from lab.weights import WeightStore

    if not clone.exists():
        subprocess.run(["git", "clone", "--quiet", str(root), str(clone)], check=True)
    store = WeightStore(clone / WEIGHTS)
    return store.prune(set(store.manifest()) - set(to_retrain(store.manifest(), names)))


def data_source() -> dict[str, str]:
    """RESNET_DATA for the clone: it lies outside the project, so the `../shared` beside
    the project is not beside it; the archive that this checkout would find is named."""
    from lab.cifar import SHARED_ARCHIVES

    if os.environ.get("RESNET_DATA"):
        return {}
    found = [p for p in SHARED_ARCHIVES if p.exists()]
    return {"RESNET_DATA": str(found[0])} if found else {}


def pack(root: Path, clone: Path, out: Path) -> list[str]:
    """weights.tar.gz of the retrained files and the clone's manifest, as `--take` reads it."""
    theirs = manifest(clone)
    files = retrained(manifest(root), theirs)
    _tar(out / "weights.tar.gz", clone, [clone / WEIGHTS / f for f in files + ["MANIFEST.json"]])
    return files


def parser() -> argparse.ArgumentParser:
    from lab.experiments.profiles import NETWORKS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="where the clone and weights.tar.gz go (needed but with --compare)")
    p.add_argument("--profile", default="cifar10-10ep", choices=sorted(NETWORKS))
    p.add_argument("--only", action="append", metavar="NAME", help="only this network (all its seeds)")
    p.add_argument("--pack", action="store_true", help="only pack what the clone retrained so far")
    p.add_argument("--compare", metavar="REV", help="print what the precision changed: the networks whose "
                   "precision differs between REV's manifest and this checkout's, errors before and after")
    return p


def main(argv: list[str] | None = None) -> int:
    from sitegen.environment import use_project_python

    if argv is None:
        use_project_python()  # the python3 on PATH lacks torch and .venv exists: .venv runs it
    from lab.experiments.profiles import NETWORKS
    from lab.train import default_device, native_bf16

    args = parser().parse_args(argv)
    root = REPO
    if args.compare:
        before = subprocess.run(["git", "show", f"{args.compare}:{WEIGHTS.as_posix()}/MANIFEST.json"], cwd=root,
                                capture_output=True, text=True, check=True).stdout
        print("\n".join(compare(json.loads(before), manifest(root))))
        return 0
    if not args.out:
        parser().error("--out is needed: where the clone and weights.tar.gz go")
    out = Path(args.out).resolve()
    clone = out / "clone"
    names = [n for n in NETWORKS[args.profile] if not args.only or n in args.only]
    out.mkdir(parents=True, exist_ok=True)
    if not args.pack:
        if not native_bf16(default_device()):
            print("error: this machine does not compute bf16 natively (no AMX, AVX512-BF16 or GPU): "
                  "its networks would be fp32", file=sys.stderr)
            return 1
        dropped = prepare(root, clone, names)
        print(f"to retrain in bf16: {', '.join(dropped) or 'none left'}")
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE",  # the data is decoded once, here
               "RESNET_DATA_CACHE": os.environ.get("RESNET_DATA_CACHE", str(root / "data")),
               **data_source()}
        only = [a for n in names for a in ("--only", n)]
        rc = subprocess.run([sys.executable, "build.py", "train", "--profile", args.profile, *only],
                            cwd=clone, env=env).returncode
        if rc:
            return rc
    files = pack(root, clone, out)
    print(f"packed {len(files)} retrained networks into {out / 'weights.tar.gz'}: {', '.join(files)}")
    print(f"take them with: python3 scripts/gpu_run.py --take {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
