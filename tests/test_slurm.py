"""A real one-node Slurm cluster (scripts/slurm_node.py: munged, slurmctld and slurmd from
Debian's packages, in a temp folder, stopped by PID) runs our jobs through the submitit
executor: a training job and an experiment of the quick profile land in the stores with
their Slurm job ids and node, a failing job is one line naming its log, a submission
Slurm refuses says why, and a cancelled job is seen to end. Accounting is off, as on many
small clusters: no poll may complain about it. Skipped only where Slurm is not installed
(`make test` installs it as root, so CI runs it); about 40 s on 2 busy cores."""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads: no spinning on a busy box

import importlib.util  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from conftest import REPO, make_project  # noqa: E402

pytest.importorskip("submitit")
pytestmark = pytest.mark.slow


def load_script():
    spec = importlib.util.spec_from_file_location("slurm_node", REPO / "scripts" / "slurm_node.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def node():
    script = load_script()
    if script.missing():
        pytest.skip(script.missing())
    with script.SingleNode() as cluster:
        daemons = list(cluster.procs.values())
        yield cluster
    assert all(p.poll() is not None for p in daemons), "a daemon outlived the cluster"
    assert not any(Path(f"/proc/{p.pid}").exists() and p.poll() is None for p in daemons)


@pytest.fixture
def cluster(node, monkeypatch):
    """This process's Slurm commands (and submitit's) go to the one-node cluster."""
    from lab.slurm_watch import Job

    monkeypatch.setenv("SLURM_CONF", str(node.conf))
    monkeypatch.setenv("PATH", node.env()["PATH"])
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(Job, "_results_timeout_s", 2)  # a job that left no result: said at once
    return node


def slurm(root: Path, *args: str) -> list[str]:
    return ["--root", str(root), "--profile", "quick", *args, "--executor", "slurm", "--cpus-per-job", "1"]


def test_training_and_an_experiment_run_as_slurm_jobs(tmp_path, cluster, capfd):
    import build as cli
    from lab.experiments.profiles import SEEDS
    from lab.weights import WeightStore
    from sitegen.project import load_project

    root = make_project(tmp_path / "proj")
    # the network highway_gates analyses, one job per seed of the profile
    assert cli.main(slurm(root, "train", "--only", "highway8")) == 0, capfd.readouterr()
    out, err = capfd.readouterr()
    ids = re.findall(r"network highway8: job (\d+) started; log \S+", out)
    assert len(ids) == len(SEEDS["quick"]) and len(set(ids)) == len(ids), out
    assert len(re.findall(rf"trained highway8 in .* \(job \d+ on {cluster.host}\)", out)) == len(ids), out
    manifest = WeightStore(root / ".cache" / "models").manifest()
    assert sorted(e["job"]["job_id"] for e in manifest.values()) == sorted(ids)
    assert all(e["job"]["executor"] == "slurm" and e["job"]["node"] == cluster.host for e in manifest.values())

    # then the experiment, on those networks (--jobs 1: no campaign of the profile's other networks first)
    assert cli.main(slurm(root, "figures", "--only", "highway_gates", "--jobs", "1")) == 0, capfd.readouterr()
    out2, err2 = capfd.readouterr()
    (job_id,) = re.findall(r"experiment highway_gates: job (\d+) started", out2)
    stored = json.loads((load_project(root).results / "highway_gates" / "quick" / "result.json").read_text())
    assert stored["provenance"]["job"] == {"executor": "slurm", "node": cluster.host, "job_id": job_id}
    assert sorted(stored["provenance"]["networks"].values()) == sorted(e["key"] for e in manifest.values())
    assert "accounting" not in err + err2 + out + out2 and "sacct" not in err + err2  # quiet polling


def test_a_failing_job_is_one_line_with_its_log(tmp_path, cluster):
    from lab import executors
    from lab.experiments.profiles import RECIPES
    from lab.jobs import network_job

    root = make_project(tmp_path / "proj")
    ex = executors.make(executors.ComputeSettings(executor="slurm", cpus_per_job=1), root / ".cache" / "jobs")
    (failed,) = executors.run(ex, [network_job("resnet9", RECIPES["quick"], root)], log=lambda m: None,
                              progress=False)  # 9 is no 6n+2
    assert not failed.ok and re.fullmatch(
        r"  FAILED network resnet9: ValueError: resnet9: depth must be 6n\+2; log: \S+_log\.err", failed.message)
    assert "depth must be 6n+2" in failed.log.read_text() and "Traceback" in failed.log.read_text()


def test_a_refused_submission_says_why_and_names_no_log(tmp_path, cluster, capfd):
    import build as cli

    root = make_project(tmp_path / "proj")  # the node has no GPU: sbatch refuses the job
    # the job of the test before may still be leaving the queue on a busy machine: this test's own count
    before = set(cluster.jobs())
    assert cli.main(slurm(root, "train", "--only", "resnet8", "--gpus-per-job", "1")) == 1
    out, err = capfd.readouterr()
    assert re.search(r"FAILED network resnet8: .*Invalid generic resource", out), out
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "job(s) failed" in last and "log" not in last, last
    assert not set(cluster.jobs()) - before  # nothing was queued


def test_a_cancelled_job_ends_without_a_result(tmp_path, cluster):
    from lab import executors

    ex = executors.make(executors.ComputeSettings(executor="slurm", cpus_per_job=1), tmp_path / "jobs")
    running = ex.submit(executors.Job("bench", "sleep", "", time.sleep, (120,)))
    end = time.monotonic() + 30
    while "RUNNING" not in cluster.client("squeue", "-h", "-o", "%T", "-j", running.job_id).stdout:
        assert time.monotonic() < end, cluster.log_tail()
        time.sleep(0.2)
    running.handle.cancel()
    while not running.handle.done():  # squeue says it ended: no sacct on this cluster
        assert time.monotonic() < end + 30, "the cancelled job was never seen to end"
        time.sleep(0.5)
    outcome = executors._outcome(running, here=False)
    assert not outcome.ok and "ended without a result" in outcome.message, outcome.message
    assert not cluster.jobs() and not cluster.strays()


def test_the_script_as_the_readme_shows_it(node):
    """`python scripts/slurm_node.py` prints the SLURM_CONF to export; Ctrl-C stops it all."""
    import signal
    import subprocess
    import sys

    script = subprocess.Popen([sys.executable, str(REPO / "scripts" / "slurm_node.py")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        lines = [script.stdout.readline() for _ in range(3)]
        conf = next(ln.split("=", 1)[1].strip() for ln in lines if ln.strip().startswith("export SLURM_CONF="))
        sinfo = subprocess.run(["sinfo", "-h", "-o", "%T"], env={**node.env(), "SLURM_CONF": conf},
                               capture_output=True, text=True, timeout=30)
        assert sinfo.stdout.strip() == "idle", sinfo
    finally:
        script.send_signal(signal.SIGINT)
        assert script.wait(60) == 0, script.stderr.read()
    assert not Path(conf).parent.exists()  # its folder removed, its daemons stopped
