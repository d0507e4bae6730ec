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
    from figures.slurm_watch import Job

    monkeypatch.setenv("SLURM_CONF", str(node.conf))
    monkeypatch.setenv("PATH", node.env()["PATH"])
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(Job, "_results_timeout_s", 2)  # a job that left no result: said at once
    return node


def slurm(root: Path, *args: str) -> list[str]:
    return ["--root", str(root), "--profile", "quick", *args, "--executor", "slurm", "--cpus-per-job", "1"]


def test_training_and_an_experiment_run_as_slurm_jobs(tmp_path, cluster, capfd):
    import build as cli
    from figures.experiments.profiles import SEEDS
    from figures.weights import WeightStore
    from sitegen.project import load_project

    root = make_project(tmp_path / "proj")
    assert cli.main(slurm(root, "train", "--only", "resnet8")) == 0, capfd.readouterr()
    out, err = capfd.readouterr()
    ids = re.findall(r"network resnet8: job (\d+) started; log \S+", out)
    assert len(ids) == len(SEEDS["quick"]) and len(set(ids)) == len(ids), out  # a job per seed
    assert len(re.findall(rf"trained resnet8 in .* \(job \d+ on {cluster.host}\)", out)) == len(ids), out
    jobs = [e["job"] for e in WeightStore(root / ".cache" / "models").manifest().values()]
    assert sorted(j["job_id"] for j in jobs) == sorted(ids)
    assert all(j["executor"] == "slurm" and j["node"] == cluster.host for j in jobs), jobs

    # one job at a time: the experiment's job trains its own network (highway8), and no
    # campaign of the profile's other networks runs first
    assert cli.main(slurm(root, "figures", "--only", "highway_gates", "--jobs", "1")) == 0, capfd.readouterr()
    out2, err2 = capfd.readouterr()
    (job_id,) = re.findall(r"experiment highway_gates: job (\d+) started", out2)
    stored = json.loads((load_project(root).results / "highway_gates" / "quick" / "result.json").read_text())
    assert stored["provenance"]["job"] == {"executor": "slurm", "node": cluster.host, "job_id": job_id}
    assert "accounting" not in err + err2 + out + out2 and "sacct" not in err + err2  # quiet polling


def test_a_failing_job_is_one_line_with_its_log(tmp_path, cluster):
    from figures import executors
    from figures.experiments.profiles import RECIPES
    from figures.jobs import network_job

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
    assert cli.main(slurm(root, "train", "--only", "resnet8", "--gpus-per-job", "1")) == 1
    out, err = capfd.readouterr()
    assert re.search(r"FAILED network resnet8: .*Invalid generic resource", out), out
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "job(s) failed" in last and "log" not in last, last
    assert not cluster.jobs()


def test_a_cancelled_job_ends_without_a_result(tmp_path, cluster):
    from figures import executors

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
