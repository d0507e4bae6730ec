"""`scripts/gpu_run.py --take DIR` is all or nothing: an archive it cannot take, or a
write that fails halfway, leaves the checkout exactly as it was; and before `make` the
script says what is missing. The whole round trip, run on CPU: the device script trains
and packs, --take merges."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import make_project
from test_executors import same_network
from test_readme import bare_python

from lab.experiments.profiles import SEEDS
from sitegen import environment

REPO = Path(__file__).resolve().parent.parent


def archive(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def take(folder: Path, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "scripts" / "gpu_run.py"), "--root", str(root),
                           "--take", str(folder)], capture_output=True, text=True, timeout=120)


@pytest.fixture
def dirs(tmp_path) -> tuple[Path, Path]:
    """(a checkout, a run's --out folder), both empty."""
    (tmp_path / "checkout").mkdir()
    (tmp_path / "out").mkdir()
    return tmp_path / "checkout", tmp_path / "out"


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_an_archive_member_outside_the_checkout_takes_nothing(dirs, tmp_path):
    root, out = dirs
    archive(out / "results.tar.gz", {"lab/results/a/quick/result.json": b"{}"})
    archive(out / "weights.tar.gz", {"../escaped.txt": b"x"})
    run = take(out, root)
    assert run.returncode == 1 and "lies outside the checkout; nothing was taken" in run.stderr, run.stderr
    assert tree(root) == {} and not (tmp_path / "escaped.txt").exists()


def test_a_damaged_manifest_takes_nothing(dirs, tmp_path):
    root, out = dirs
    archive(out / "results.tar.gz", {"lab/results/a/quick/result.json": b"{}"})
    archive(out / "weights.tar.gz", {"lab/weights/MANIFEST.json": b"{not json"})
    run = take(out, root)
    assert run.returncode == 1 and "nothing was taken" in run.stderr and tree(root) == {}, run.stderr


def test_a_write_that_fails_halfway_puts_back_what_was_written(dirs):
    root, out = dirs
    (root / "lab" / "results" / "a" / "quick").mkdir(parents=True)
    (root / "lab" / "results" / "a" / "quick" / "result.json").write_text("mine")
    (root / "blocker").write_text("a file where the archive wants a folder")
    before = tree(root)
    archive(out / "results.tar.gz", {"lab/results/a/quick/result.json": b"theirs",
                                     "lab/results/b/quick/result.json": b"new",
                                     "blocker/inside.txt": b"cannot be written"})
    run = take(out, root)
    assert run.returncode == 1 and "the checkout is as it was" in run.stderr, run.stderr
    assert tree(root) == before


def test_a_good_archive_is_taken(dirs, tmp_path):
    root, out = dirs
    archive(out / "results.tar.gz", {"lab/results/a/quick/result.json": b"theirs"})
    run = take(out, root)
    assert run.returncode == 0 and run.stdout == "took lab/results/a/quick/result.json\n", run
    assert tree(root) == {"lab/results/a/quick/result.json": b"theirs"}


def test_the_dry_run_before_make_says_what_is_missing(tmp_path):
    python = bare_python()
    if python is None:
        pytest.skip("no Python without torch here")
    run = subprocess.run([python, str(REPO / "scripts" / "gpu_run.py"), "--profile", "quick", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, env={**os.environ, environment.REEXEC_ENV: "1"})
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr  # the variable: as before `make`
    assert run.stderr.startswith("error: this Python (") and "`make`" in run.stderr, run.stderr


def test_a_network_retrained_under_its_key_replaces_file_and_entry(dirs):
    """A network trained again elsewhere (same key, other weights: bf16 for fp32) replaces
    the one here, and its manifest entry with it, so the manifest's sha256 matches the file;
    entries the archive holds for files it does not bring stay as they are here."""
    import json

    root, out = dirs
    weights = root / "lab" / "weights"
    weights.mkdir(parents=True)
    (weights / "a-1.pt").write_bytes(b"fp32")
    (weights / "b-2.pt").write_bytes(b"mine")
    mine = {"a-1.pt": {"sha256": "old", "precision": ["fp32"]}, "b-2.pt": {"sha256": "b", "precision": ["fp32"]}}
    (weights / "MANIFEST.json").write_text(json.dumps(mine))
    theirs = {"a-1.pt": {"sha256": "new", "precision": ["bf16"]}, "b-2.pt": {"sha256": "x", "precision": ["bf16"]}}
    archive(out / "weights.tar.gz", {"lab/weights/a-1.pt": b"bf16",
                                     "lab/weights/MANIFEST.json": json.dumps(theirs).encode()})
    run = take(out, root)
    assert run.returncode == 0, run.stderr
    assert (weights / "a-1.pt").read_bytes() == b"bf16" and (weights / "b-2.pt").read_bytes() == b"mine"
    assert json.loads((weights / "MANIFEST.json").read_text()) == {"a-1.pt": theirs["a-1.pt"], "b-2.pt": mine["b-2.pt"]}


@pytest.mark.slow
def test_gpu_run_dry_run_on_cpu_writes_weights_back(tmp_path):
    """The device script end to end on the quick profile, then --take merges what it wrote."""
    root, back, out = make_project(tmp_path / "gpu"), make_project(tmp_path / "here"), tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "gpu_run.py"), "--root", str(root),
                           "--profile", "quick", "--jobs", "2", "--only", "resnet8", "--only", "plain8",
                           "--bench-steps", "2", "--no-figures", "--out", str(out),
                           "--deadline-min", "60"],  # the logic under test, not this machine's speed
                          capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["steps"]) == ["setup", "data", "bench", "train", "figures", "pack"]
    assert summary["fit"]["profile"] == "quick" and summary["fit"]["jobs"] == 2
    assert set(summary["bench"][0]["step_s"]) == {"resnet8", "plain8"}
    with tarfile.open(out / "weights.tar.gz") as tf:
        names = sorted(Path(n).name for n in tf.getnames())
    per_seed = len(SEEDS["quick"])  # every seed of the profile
    assert names[0] == "MANIFEST.json" and [n.split("-")[0] for n in names[1:]] == ["plain8"] * per_seed + ["resnet8"] * per_seed
    assert "figures: skipped" in (out / "run.log").read_text()
    took = subprocess.run([sys.executable, str(REPO / "scripts" / "gpu_run.py"), "--root", str(back),
                           "--take", str(out)], capture_output=True, text=True, env=env, timeout=120)
    assert took.returncode == 0, took.stderr
    for name in ("resnet8", "plain8"):
        same_network(root, back, name)
