"""The author's workflow, for real: builds killed with SIGKILL at several points
(the last good site stays byte-identical and the next build succeeds), two builds
at once (one refuses or waits), a killed training run that resumes to the same
metrics, the no-op shortcut's correctness and the live preview server (bad input:
test_errors.py)."""
from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import build as cli
from conftest import REPO, site_files

BUILD = [sys.executable, str(REPO / "build.py")]
TIMEOUT = 180

TINY_TRAIN = '''\
"""tiny_train: three epochs of a tiny CNN on synthetic images, checkpointed each epoch."""
import os, time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from lab.experiments import Output, register
from lab.experiments.common import synthetic_data
from lab.train import TrainConfig, train


@dataclass(frozen=True)
class Config:
    epochs: int = 3  # passes over the data
    seed: int = 0    # random seed


@register("tiny_train", Config, modules=("lab.train",), profiles={"quick": {}},
          estimate_s={"quick": 5})
def run(cfg, ctx):
    """Tiny resumable training run."""
    torch.manual_seed(cfg.seed)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=4), nn.ReLU(), nn.Flatten(), nn.Linear(256, 10))

    def on_epoch(rec):
        with open(os.environ["TINY_LOG"], "a") as f:
            f.write(f"{os.getpid()} {rec.epoch}\\n")
        if os.environ.get("TINY_PAUSE_AFTER") == str(rec.epoch):
            Path(os.environ["TINY_LOG"] + ".paused").touch()
            time.sleep(600)

    hist = train(model, synthetic_data(256, 64, cfg.seed), TrainConfig(epochs=cfg.epochs, batch_size=64, lr=0.05),
                 device="cpu", checkpoint=Path(ctx.workdir) / "ckpt.pt", progress=False, on_epoch=on_epoch)
    return Output(metrics={"train_loss": [e.train_loss for e in hist.epochs],
                           "test_error": hist.final.test_error, "test_loss": hist.final.test_loss})
'''

CURVES = '''\
"""serve_exp: numbers for the preview test (no training)."""
from dataclasses import dataclass

from lab.experiments import Output, register


@dataclass(frozen=True)
class Config:
    scale: float = 2.0  # multiplier


@register("serve_exp", Config, profiles={"quick": {}}, estimate_s={"quick": 1})
def run(cfg, ctx):
    """Three points."""
    ctx.facts.update(data="none", n_train=0, n_test=0)
    return Output(metrics={"peak": 3 * cfg.scale}, data={"y": [cfg.scale, 2 * cfg.scale, 3 * cfg.scale]})
'''

PLOT = '''\
"""serve_plot: a line."""
from figures.plotstyle import figure

EXPERIMENT = "serve_exp"
WIDTH = "body"


def draw(result, theme):
    fig, axes = figure(theme, WIDTH)
    axes[0][0].plot(result.data["y"], color=theme.residual)
    return fig


def caption(result):
    return "A line that peaks at {:.1f}.".format(result.metrics["peak"])


def alt(result):
    return "A rising line up to {:.1f}.".format(result.metrics["peak"])
'''


# -- helpers -----------------------------------------------------------------
@pytest.fixture
def proj(built_copy) -> Path:
    """A private copy of the built quick project (results, caches and site)."""
    return built_copy


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def start(root: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([*BUILD, "--root", str(root), *args], env={**os.environ, **(env or {})},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def run(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = start(root, *args, env=env)
    out, err = proc.communicate(timeout=TIMEOUT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def wait_until(cond, proc: subprocess.Popen | None = None, timeout: float = TIMEOUT, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"process ended before {what}: {proc.stderr.read()}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # the build and its pandoc/worker children
    proc.communicate()


def pandoc_running(session: int) -> bool:
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if b"pandoc" in (d / "cmdline").read_bytes() and os.getsid(int(d.name)) == session:
                return True
        except (OSError, ProcessLookupError):
            continue
    return False


# -- killed builds, two builds at once ------------------------------------------
@pytest.mark.parametrize("stage", ["pandoc-process", "pandoc", "figures", "publish"])
def test_killed_build_leaves_last_good_site(proj, stage, tmp_path, capsys):
    before = site_files(proj)
    append(proj / "content" / "02-second.md", "\nA sentence the killed build never published.\n")
    shutil.rmtree(proj / ".cache" / "figures")  # so that the figure stage draws
    if stage == "pandoc-process":  # no hook: kill while a real pandoc process runs
        shutil.rmtree(proj / ".cache" / "chapters")
        proc = start(proj, "-q", "build")
        wait_until(lambda: pandoc_running(proc.pid), proc, what="pandoc to start")
    else:
        marker = tmp_path / "paused"
        proc = start(proj, "-q", "build", env={"SITEGEN_PAUSE_AT": f"{stage}:{marker}"})
        wait_until(marker.exists, proc, what=f"the {stage} stage")
    kill(proc)
    assert site_files(proj) == before
    assert cli.main(["--root", str(proj), "-q", "build"]) == 0, capsys.readouterr().err
    assert "never published" in (proj / "site" / "index.html").read_text()
    assert not list(proj.glob(".site.staging-*")) and not (proj / "site.old").exists()
    assert cli.main(["--root", str(proj), "build"]) == 0 and "up to date" in capsys.readouterr().out


def test_two_builds_at_once_refuse_or_wait(proj, tmp_path):
    append(proj / "content" / "02-second.md", "\nText of the first build.\n")
    marker = tmp_path / "paused"
    first = start(proj, "-q", "build", env={"SITEGEN_PAUSE_AT": f"pandoc:{marker}:3"})
    wait_until(marker.exists, first, what="the first build to hold the lock")
    refused = run(proj, "build")
    assert refused.returncode == 1
    assert re.fullmatch(rf"error: \S+build\.lock: another build is running \(pid {first.pid}\); "
                        r"wait for it or run with --wait\n", refused.stderr), refused.stderr
    waiting = start(proj, "build", "--wait")
    out, err = waiting.communicate(timeout=TIMEOUT)
    assert first.wait(timeout=TIMEOUT) == 0 and waiting.returncode == 0, err
    assert f"waiting for the build running in pid {first.pid}" in out
    assert "site is up to date" in out  # it ran after the first had published, not beside it
    assert "Text of the first build." in (proj / "site" / "index.html").read_text()


def test_killed_training_resumes_to_the_same_metrics(project_root, tmp_path, monkeypatch):
    roots = {}
    for name in ("whole", "killed"):
        roots[name] = tmp_path / name
        shutil.copytree(project_root, roots[name])
        (roots[name] / "lab" / "experiments").mkdir(parents=True)
        (roots[name] / "lab" / "experiments" / "tiny_train.py").write_text(TINY_TRAIN)
    args = ("--profile", "quick", "-q", "figures", "--only", "tiny_train")
    log = tmp_path / "epochs.log"
    monkeypatch.setenv("TINY_LOG", str(tmp_path / "whole.log"))
    assert cli.main(["--root", str(roots["whole"]), *args]) == 0  # uninterrupted, in this process
    proc = start(roots["killed"], *args, env={"TINY_LOG": str(log), "TINY_PAUSE_AFTER": "1"})
    wait_until(Path(f"{log}.paused").exists, proc, what="epoch 1 to finish")
    assert list((roots["killed"] / ".cache" / "runs" / "tiny_train" / "quick").glob("*/ckpt.pt"))
    kill(proc)
    result = Path("lab/results/tiny_train/quick/result.json")
    assert not (roots["killed"] / result).exists()
    resumed = run(roots["killed"], *args, env={"TINY_LOG": str(log)})
    assert resumed.returncode == 0, resumed.stderr
    epochs = [line.split() for line in log.read_text().splitlines()]
    assert [e for _, e in epochs] == ["1", "2", "3"] and epochs[0][0] != epochs[1][0] == epochs[2][0]
    metrics = [json.loads((roots[n] / result).read_text())["metrics"] for n in ("whole", "killed")]
    assert metrics[0] == metrics[1]
    assert not (roots["killed"] / ".cache" / "runs" / "tiny_train" / "quick").exists()  # spent checkpoints


# -- the no-op shortcut ----------------------------------------------------------
def test_any_input_change_rebuilds(proj, capsys):
    assert cli.main(["--root", str(proj), "build"]) == 0
    chapter = proj / "content" / "02-second.md"
    st = chapter.stat()
    chapter.write_text(chapter.read_text().replace("As @eq:block", "So @eq:block"))  # same size
    os.utime(chapter, ns=(st.st_atime_ns, st.st_mtime_ns))  # and same mtime
    (proj / "site" / "static" / "article.css").unlink()  # and a damaged site
    capsys.readouterr()
    assert cli.main(["--root", str(proj), "build"]) == 0
    assert "built" in capsys.readouterr().out
    assert "So <a class=\"xref\"" in (proj / "site" / "index.html").read_text()
    assert (proj / "site" / "static" / "article.css").exists()


def test_cli_is_quiet_by_default_and_verbose_on_request(proj, capsys):
    append(proj / "content" / "02-second.md", "\nMore.\n")
    assert cli.main(["--root", str(proj), "build", "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    append(proj / "content" / "02-second.md", "\nMore.\n")
    assert cli.main(["--root", str(proj), "build", "--verbose"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("built ") and "1 chapters rendered" in lines[0]
    assert {ln.split()[0] for ln in lines[1:]} >= {"read", "plan", "run", "pandoc", "figures", "page", "write", "publish"}
    assert cli.main(["--root", str(proj), "build"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


# -- live preview ----------------------------------------------------------------
def test_serve_rebuilds_what_changed_and_reloads(project_root):
    proj = project_root  # with its own experiment only: edits elsewhere in lab/ cannot make it stale
    for sub, name, text in (("lab/experiments", "serve_exp", CURVES), ("figures/plots", "serve_plot", PLOT)):
        (proj / sub).mkdir(parents=True, exist_ok=True)
        (proj / sub / f"{name}.py").write_text(text)
    (proj / "content" / "01-first-chapter.md").write_text("---\ntitle: Live\n---\n\nSee @fig:serve_plot "
                                                         "[@he2016deep].\n\n{{ figure(\"serve_plot\") }}\n")
    (proj / "content" / "02-second.md").write_text("---\ntitle: Second\n---\n\nText.\n")
    assert cli.main(["--root", str(proj), "-q", "build"]) == 0
    server = start(proj, "serve", "--port", "0")
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in server.stdout], daemon=True).start()

    def next_line(pattern: str) -> str:
        while True:
            line = lines.get(timeout=TIMEOUT)
            if re.search(pattern, line):
                return line

    try:
        port = re.search(r"http://127\.0\.0\.1:(\d+)/", next_line("serving")).group(1)

        def get(path: str) -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
                return r.read().decode()

        page, on_disk = get("/"), (proj / "site" / "index.html").read_text()
        script = page[page.index("<script>/* live"):page.rindex("</script>") + 9]
        assert "/__version" in script and page.replace(script, "") == on_disk
        assert "/__version" not in on_disk  # never in the built files
        version = json.loads(get("/__version"))["version"]

        append(proj / "content" / "02-second.md", "\nA live edit.\n")
        assert "1 chapter(s) re-rendered" in next_line("rebuilt")
        assert json.loads(get("/__version"))["version"] == version + 1 and "A live edit." in get("/")

        plot = proj / "figures" / "plots" / "serve_plot.py"
        plot.write_text(plot.read_text().replace("A line that peaks", "An edited line that peaks"))
        line = next_line("rebuilt")
        assert "0 chapter(s) re-rendered; redrew serve_plot)" in line, line
        assert "An edited line that peaks" in get("/")

        exp = proj / "lab" / "experiments" / "serve_exp.py"
        exp.write_text(exp.read_text().replace("scale: float = 2.0", "scale: float = 3.0"))
        assert "serve_exp (code or config changed" in next_line("stale experiments")
        assert "stale" in json.loads(get("/__version"))["error"]
        assert "An edited line" in (proj / "site" / "index.html").read_text()  # last good site kept
    finally:
        server.terminate()
        server.communicate(timeout=30)


# -- build.py check ------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed (make browser-deps)")
def test_check_names_each_problem_with_page_and_anchor(proj, capsys):
    index = proj / "site" / "index.html"
    html = index.read_text()
    html = re.sub(r'(<section class="chapter" id="second"[^>]*>)', r'\1<a href="#no-such-anchor">x</a>'
                  r'<img src="figures/gone.svg"><b id="first-chapter">!</b>', html, count=1)
    index.write_text(html.replace("</main>", '<div><img src="static/article.css"></span></main>', 1))
    capsys.readouterr()
    assert cli.main(["--root", str(proj), "check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "index.html#second (content/02-second.md): links: '#no-such-anchor': no element with id 'no-such-anchor'" in out
    assert "index.html#second (content/02-second.md): links: 'figures/gone.svg': no such file in site/" in out
    assert any(re.match(r"index\.html:\d+: html: duplicate id 'first-chapter'", ln) for ln in out)
    assert any(re.match(r"index\.html:\d+:\d+: html: unexpected-end-tag \(name=span\)", ln) for ln in out)
    assert any(re.match(r"index\.html#second \(content/02-second\.md\): accessibility: \[critical\] image-alt", ln)
               for ln in out)
    assert re.match(r"checked 1 page\(s\) in .*: 2 broken of \d+ internal links, \d+ HTML error", out[-1])
