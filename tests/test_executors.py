"""Executors, run for real: submitit's local executor starts each job as a subprocess, and
the Slurm path runs its generated sbatch script through stand-ins for sbatch, srun and
sacct. Quick profile (synthetic data, tiny nets, two epochs) throughout."""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads: no spinning on a busy box

import re  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

import build as cli  # noqa: E402
from conftest import REPO, make_project  # noqa: E402
from lab import executors  # noqa: E402
from lab.experiments import trained  # noqa: E402
from lab.experiments.profiles import RECIPES, SEEDS  # noqa: E402
from lab.jobs import network_job  # noqa: E402
from lab.networks import Recipe  # noqa: E402
from lab.weights import WeightStore, model_key  # noqa: E402

pytest.importorskip("submitit")
QUICK = RECIPES["quick"]


@pytest.fixture
def one_thread(monkeypatch):
    """Jobs and this process on one thread each: CPU results are the same only for the
    same thread count (oneDNN's reductions), which is what "identical" can promise."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    trained._MEMO.clear()
    yield
    torch.set_num_threads(threads)
    trained._MEMO.clear()


def models(root: Path, name: str, recipe: dict = QUICK) -> tuple[dict, dict]:
    """(state dict, history) of a network in the project's model cache."""
    saved = WeightStore(root / ".cache" / "models").load(name, model_key(name, Recipe(**recipe)))
    assert saved is not None, f"{name} not stored under {root}"
    return saved["model"], saved["history"]


def same_network(a: Path, b: Path, name: str, recipe: dict = QUICK) -> None:
    (wa, ha), (wb, hb) = models(a, name, recipe), models(b, name, recipe)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa), name
    assert [e["train_loss"] for e in ha["epochs"]] == [e["train_loss"] for e in hb["epochs"]], name


@pytest.mark.slow
def test_two_networks_train_at_once_and_match_the_local_executor(tmp_path, capsys, one_thread):
    here, there = make_project(tmp_path / "here"), make_project(tmp_path / "jobs")
    only = ["--only", "resnet8", "--only", "plain8"]
    assert cli.main(["--root", str(here), "--profile", "quick", "train", *only]) == 0
    capsys.readouterr()
    assert cli.main(["--root", str(there), "--profile", "quick", "train", "--executor", "local",
                     "--jobs", "2", *only]) == 0, capsys.readouterr().err
    lines = capsys.readouterr().out.splitlines()
    started = [i for i, line in enumerate(lines) if re.search(r"network \w+: job \d+ started; log ", line)]
    ended = [i for i, line in enumerate(lines) if re.search(r"trained \w+ in .* \(job \d+ on ", line)]
    n = len(SEEDS["quick"])  # each network once per seed of the profile
    assert len(started) == len(ended) == 2 * n and sorted(started)[1] < min(ended), lines  # two ran at once
    for name in ("resnet8", "plain8"):
        same_network(here, there, name)
    manifest = WeightStore(there / ".cache" / "models").manifest()
    jobs = {e["name"] + str(e["recipe"]["seed"]): e["job"] for e in manifest.values()}
    assert {j["executor"] for j in jobs.values()} == {"local"} and len({j["job_id"] for j in jobs.values()}) == 2 * n
    assert all(j["node"] == socket.gethostname() for j in jobs.values())
    assert WeightStore(here / ".cache" / "models").manifest().keys() == manifest.keys()


def test_jobs_import_this_checkout_and_take_the_gpus_in_turn(tmp_path, monkeypatch):
    ex = executors.make(executors.ComputeSettings(jobs=2), tmp_path / "jobs")
    handle = ex.executor.submit(eval, "__import__('lab').__file__")
    assert Path(handle.result()).resolve() == REPO / "lab" / "__init__.py"  # not an installed copy
    monkeypatch.setattr(executors, "visible_gpus", lambda: (0, 1))  # as on a machine with two
    ex = executors.make(executors.ComputeSettings(jobs=3), tmp_path / "jobs")
    jobs = [executors.Job("bench", str(i), "", os.getenv, ("CUDA_VISIBLE_DEVICES",)) for i in range(3)]
    assert [ex.submit(j).handle.result() for j in jobs] == ["0", "1", "0"]


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.slow
def test_a_killed_job_resumes_from_its_last_epoch(tmp_path, one_thread):
    recipe = {**QUICK, "epochs": 6}
    killed, whole = make_project(tmp_path / "killed"), make_project(tmp_path / "whole")
    ex = executors.make(executors.ComputeSettings(jobs=2), killed / ".cache" / "jobs")
    job = network_job("resnet8", recipe, killed)
    lines, outcomes = [], []
    runner = threading.Thread(target=lambda: outcomes.extend(
        executors.run(ex, [job], log=lines.append, progress=False)))
    runner.start()
    deadline = time.monotonic() + 300
    while job.epochs_done() < 1 and runner.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    controller = int(re.search(r"job (\d+) started", lines[0]).group(1))
    for pid in children(controller):  # the training process itself, as a scheduler's SIGKILL would
        os.kill(pid, signal.SIGKILL)
    runner.join(timeout=120)
    (failed,) = outcomes
    assert not failed.ok and "\n" not in failed.message
    assert re.fullmatch(r"  FAILED network resnet8: ended without a result .*; rerun to resume it from its "
                        r"last epoch checkpoint; log: \S+_log\.err", failed.message), failed.message
    (resumed,) = executors.run(ex, [job], log=lines.append, progress=False)
    assert resumed.ok, resumed.message
    assert 1 <= resumed.summary["resumed_from"] < 6, resumed.summary  # killed mid-run, not restarted
    assert "resnet8: resuming from its epoch" in Path(str(resumed.log).replace(".err", ".out")).read_text()
    executors.run(executors.InProcess(whole / ".cache" / "jobs"), [network_job("resnet8", recipe, whole)],
                  log=lambda m: None, progress=False)
    same_network(killed, whole, "resnet8", recipe)  # resuming changed nothing


@pytest.mark.slow
def test_a_failing_job_is_one_line_with_its_log_and_the_others_go_on(tmp_path, one_thread):
    root = make_project(tmp_path / "proj")
    bad, good = network_job("resnet9", QUICK, root), network_job("resnet8", QUICK, root)  # 9 is no 6n+2
    for ex in (executors.InProcess(root / ".cache" / "jobs"),
               executors.make(executors.ComputeSettings(jobs=2), root / ".cache" / "jobs")):
        lines = []
        failed, ok = executors.run(ex, [bad, good], log=lines.append, progress=False)
        assert ok.ok and ok.job.name == "resnet8"
        assert not failed.ok and failed.message in lines
        assert re.fullmatch(r"  FAILED network resnet9: ValueError: resnet9: depth must be 6n\+2; log: (\S+)",
                            failed.message), failed.message
        assert "Traceback" in failed.log.read_text() and "depth must be 6n+2" in failed.log.read_text()


FAKE_SBATCH = """\
import os, shutil, subprocess, sys
from pathlib import Path
state = Path(os.environ["FAKE_SLURM"])
n = 4242 + len(list(state.glob("*.sh")))
script = shutil.copy(sys.argv[-1], state / f"{n}.sh")  # as sbatch does: the file may move on
(state / f"{n}.argv").write_text("\\n".join(sys.argv[1:]))
env = dict(os.environ, SLURM_JOB_ID=str(n), SLURM_JOB_NODELIST="fakenode", SLURM_NTASKS="1")
subprocess.Popen(["bash", "-c", 'bash "$0"; echo $? > "$1"', script, state / f"{n}.rc"],
                 env=env, start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)  # sbatch returns at once; the job runs on
print(f"Submitted batch job {n}")
"""
FAKE_SRUN = """\
import os, subprocess, sys
args, files = sys.argv[1:], {}
while args[0].startswith("--"):
    flag = args.pop(0)
    if flag in ("--output", "--error"):
        files[flag] = args.pop(0).replace("%j", os.environ["SLURM_JOB_ID"]).replace("%t", "0")
with open(files["--output"], "a") as out, open(files.get("--error", files["--output"]), "a") as err:
    sys.exit(subprocess.call(args, stdout=out, stderr=err))
"""
FAKE_SACCT = """\
import os, sys
from pathlib import Path
state = Path(os.environ["FAKE_SLURM"])
print("JobID|State|NodeList")
for jid in [a for i, a in enumerate(sys.argv) if sys.argv[i - 1] == "-j"]:
    rc = state / f"{jid}.rc"
    done = rc.exists() and rc.read_text().strip()
    print(f"{jid}|{'RUNNING' if not done else 'COMPLETED' if done == '0' else 'FAILED'}|fakenode")
"""


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch) -> Path:
    """sbatch, srun and sacct stand-ins on PATH: sbatch runs the script it is given at once."""
    bin_dir, state = tmp_path / "bin", tmp_path / "slurm"
    bin_dir.mkdir()
    state.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("srun", FAKE_SRUN), ("sacct", FAKE_SACCT)):
        (bin_dir / name).write_text(f"#!{sys.executable}\n{text}")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM", str(state))
    return state


@pytest.mark.slow
def test_slurm_submission_carries_every_setting_and_its_job_lands_in_the_store(tmp_path, fake_slurm, capsys):
    root = make_project(tmp_path / "proj")
    with open(root / "content" / "site.yml", "a") as f:  # site.yml sets some, flags the rest
        f.write("compute:\n  executor: slurm\n  partition: cpu\n  sbatch: [--account=proj]\n")
    code = cli.main(["--root", str(root), "--profile", "quick", "train", "--only", "resnet8",
                     "--partition", "gpu", "--time-min", "30", "--gpus-per-job", "1", "--cpus-per-job", "2",
                     "--sbatch=--qos=high", "--sbatch=--exclusive"])
    out, err = capsys.readouterr()
    assert code == 0, err + out
    script = (fake_slurm / "4242.sh").read_text()
    for line in ("#SBATCH --partition=gpu", "#SBATCH --time=30", "#SBATCH --gpus-per-node=1",
                 "#SBATCH --cpus-per-task=2", "#SBATCH --qos=high", "#SBATCH --exclusive",
                 "#SBATCH --job-name=network-resnet8", "#SBATCH --signal=USR2@120"):
        assert line in script.splitlines(), line
    assert "--account" not in script  # the flags' list replaces site.yml's, as every flag does
    command = next(line for line in script.splitlines() if line.startswith("srun "))
    assert f"PYTHONPATH={REPO}" in command and "OMP_NUM_THREADS=2" in command
    assert command.endswith(f"-u -m submitit.core._submit {root / '.cache' / 'jobs'}")
    assert (fake_slurm / "4242.argv").read_text().endswith(".sh")  # sbatch is given the script alone
    assert "network resnet8: job 4242 started" in out and f"(job 4242 on {socket.gethostname()})" in out
    (entry,) = [e for e in WeightStore(root / ".cache" / "models").manifest().values()
                if e["recipe"]["seed"] == 0]  # seed 1's job landed beside it
    assert entry["name"] == "resnet8" and entry["job"] == {"executor": "slurm", "job_id": "4242",
                                                          "node": socket.gethostname()}


def test_compute_settings_errors_name_their_line_or_flag(project_root, capsys):
    site = project_root / "content" / "site.yml"
    base = site.read_text()
    lines = base.count("\n")
    for text, line, message in (
            ("compute:\n  executor: slurm\n  partitions: gpu\n", lines + 3, "unknown key(s) partitions"),
            ("compute:\n  jobs: -1\n", lines + 2, "jobs must be 0 or more, not -1"),
            ("compute:\n  sbatch: [-A abc]\n", lines + 2, "sbatch option '-A abc' is not a long option"),
            ("compute: slurm\n", lines + 1, "`compute:` must be a mapping")):
        site.write_text(base + text)
        assert cli.main(["--root", str(project_root), "train", "--list"]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: {site}:{line}: ") and message in err and "\n" not in err, err
    site.write_text(base)
    assert cli.main(["--root", str(project_root), "train", "--jobs", "-2"]) == 1
    assert capsys.readouterr().err.strip() == "error: --jobs: jobs must be 0 or more, not -2"
    if not any((Path(d) / "srun").exists() for d in os.environ["PATH"].split(os.pathsep)):
        assert cli.main(["--root", str(project_root), "train", "--executor", "slurm"]) == 1
        assert "needs Slurm's sbatch and srun on PATH" in capsys.readouterr().err


def readme_section() -> str:
    return (REPO / "README.md").read_text().split("## When one machine is not enough", 1)[1].split("\n## ", 1)[0]


def test_readme_compute_example_is_valid_site_yml(project_root):
    """The `compute:` block the README shows loads as it is."""
    from sitegen.project import load_project

    import textwrap

    block = textwrap.dedent(re.search(r"```yaml\n(\s*compute:.*?\n)\s*```", readme_section(), re.S).group(1))
    site = project_root / "content" / "site.yml"
    site.write_text(site.read_text() + block)
    compute = load_project(project_root).config.compute
    assert compute.executor == "slurm" and compute.partition and compute.gpus_per_job >= 1


def test_readme_commands_parse():
    """Every build.py and gpu_run.py command of the section is one the parsers accept."""
    import shlex

    section = readme_section()
    gpu = load_gpu_script()
    commands = re.findall(r"^\s*(?:\$ )?(python3? (?:build\.py|scripts/gpu_run\.py)[^\n#]*)", section, re.M)
    assert len(commands) >= 6, commands
    for command in commands:
        words = shlex.split(command.replace('"$OUT"', "out"))
        (cli.make_parser() if words[1] == "build.py" else gpu.parser()).parse_args(words[2:])


def load_gpu_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_run", REPO / "scripts" / "gpu_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_dask_example_is_an_executor():
    """The README's Dask executor, on a stand-in client whose futures answer as Dask's do."""
    from concurrent.futures import ThreadPoolExecutor

    class Client:
        def __init__(self):
            self.pool = ThreadPoolExecutor(2)

        def submit(self, fn, pure=True):
            future = self.pool.submit(fn)
            future.key = f"task-{id(future)}"
            return future

    code = re.search(r"```python\n(class Dask:.*?)```", readme_section(), re.S).group(1)  # not indented
    scope = {"executors": executors}
    exec(code, scope)
    jobs = [executors.Job("experiment", n, "k", dict, ({"line": f"{n}: done"},)) for n in ("a", "b")]
    outcomes = executors.run(scope["Dask"](Client()), jobs, log=lambda m: None, progress=False)
    assert all(o.ok and o.job_id.startswith("task-") for o in outcomes)
    assert sorted(o.message.split(" (job")[0] for o in outcomes) == ["  a: done", "  b: done"]


def test_slurm_requeue_resubmits_the_same_task():
    """On Slurm's time-limit signal submitit calls Task.checkpoint and requeues what it returns."""
    job = executors.Job("network", "resnet8", "k", dict, ())
    again = executors.Task(job).checkpoint()
    assert isinstance(again.function, executors.Task) and again.function.job == job


def test_gpu_run_fits_the_longest_profile_within_the_budget():
    gpu = load_gpu_script()
    assert gpu.makespan([5, 3, 3, 1], 2) == 6 and gpu.makespan([4], 8) == 4
    names = ["resnet20", "resnet56"]
    fast = {"jobs": 2, "startup_s": 10.0, "step_s": {"resnet20": 0.004, "resnet56": 0.010}}
    slow = {**fast, "jobs": 1}
    ladder = ["cifar10-20ep", "cifar10-30ep", "cifar10-40ep", "cifar10-60ep"]
    # resnet56, 390 steps an epoch: 40 epochs take 10 + 40 * 390 * 0.010 * 1.08 = 178 s
    got = gpu.fit([slow, fast], names, ladder, budget_s=180)
    assert (got["profile"], got["jobs"], got["fits"]) == ("cifar10-40ep", 2, True)
    assert got["estimate_s"] == pytest.approx(10 + 40 * 390 * 0.010 * 1.08, abs=0.1)
    assert got["estimates_s"]["cifar10-40ep"][1] > got["estimate_s"]  # one at a time: slower
    assert gpu.fit([fast], names, ladder, budget_s=1)["profile"] == "cifar10-20ep"  # none fits
