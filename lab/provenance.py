"""Where and from what a result or a network was made: for its provenance, never its key.

    git_commit    the commit of the code it came from, "+dirty" if that code differs from it
    device_info   torch, Python, threads, the processor (cpu_model) and the GPU, if any
    job_info      which executor, node and job ran it (lab.executors)

None of this changes a number: a network trained on a GPU, in bf16, or on
another CPU is the same network, and says where it ran.
"""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Iterable


def git_commit(root: Path, paths: Iterable[str | Path] = ()) -> str:
    """HEAD's short hash, "+dirty" if a tracked file differs from it: with `paths`, only
    those files count (the code a result or network came from, not the prose beside it)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root,
                             capture_output=True, text=True, timeout=10)
        commit = out.stdout.strip() or "uncommitted"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                *[str(p) for p in paths]],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_model() -> str:
    """The processor, as the trainer names it for each epoch (lab.train.host_name)."""
    from lab.train import host_name

    return host_name("cpu") or platform.processor() or platform.machine()


def device_info() -> dict[str, str]:
    import torch

    # CPU training is repeatable only on the same kind of processor and thread count
    # (oneDNN picks its kernels by instruction set): both go into the provenance
    info = {"torch": torch.__version__, "python": platform.python_version(),
            "threads": str(torch.get_num_threads()), "cpu_model": cpu_model()}
    if torch.cuda.is_available():
        info["device"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda or ""
    else:
        info["device"] = f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
        info["cuda"] = ""
    return info


def job_info() -> dict[str, str]:
    """Which executor, node and job ran this process: for the provenance of what it stores.
    Read from submitit's environment inside a submitit job (local subprocess or Slurm)."""
    import socket

    if os.environ.get("SUBMITIT_EXECUTOR"):
        from submitit import JobEnvironment

        env = JobEnvironment()
        return {"executor": env.cluster, "node": env.hostname, "job_id": str(env.job_id)}
    return {"executor": "local", "node": socket.gethostname(), "job_id": str(os.getpid())}
