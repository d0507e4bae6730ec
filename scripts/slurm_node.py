#!/usr/bin/env python3
"""A real single-node Slurm cluster on this machine: munged, slurmctld and slurmd from
Debian's packages, configured in a fresh folder, the node reached at 127.0.0.1 on two
free ports, and stopped by the PIDs it started. The tests run `--executor slurm`
against it (tests/test_slurm.py); by hand it lets you try the Slurm executor without
a cluster:

    apt-get install slurmctld slurmd slurm-client munge   # `make test` does, as root
    python scripts/slurm_node.py        # prints `export SLURM_CONF=...`; Ctrl-C stops it

From Python:  `with SingleNode() as node:` then SLURM_CONF=node.conf for sbatch & co.
Accounting is off (no slurmdbd), as on many small clusters: sacct answers nothing, and
lab.slurm_watch follows the jobs through squeue instead.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "scancel", "sinfo")
PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])  # the daemons live in sbin
PACKAGES = "slurmctld slurmd slurm-client munge"


class SlurmNodeError(RuntimeError):
    """The cluster did not come up; the message has the end of the daemon's log."""


def missing() -> str:
    """Why this machine cannot run the cluster, or '' where it can."""
    lost = [n for n in DAEMONS + CLIENTS if not shutil.which(n, path=PATH)]
    return f"Slurm is not installed ({', '.join(lost)} missing): apt-get install {PACKAGES}" if lost else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONF = """\
ClusterName=single
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={run}/munge.sock
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={run}/slurmctld.pid
SlurmdPidFile={run}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=300
KillWait=2
InactiveLimit=0
NodeName={host} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


class SingleNode:
    """The cluster, started by `start()` (or `with`) and stopped by `stop()`, jobs and all."""

    def __init__(self, cpus: int | None = None):
        self.cpus = cpus or os.cpu_count() or 1
        self.host = socket.gethostname().split(".")[0]
        self.dir: Path | None = None
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def conf(self) -> Path:
        return self.dir / "slurm.conf"

    def __enter__(self) -> "SingleNode":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self) -> dict:
        return dict(os.environ, SLURM_CONF=str(self.conf), PATH=PATH)

    def start(self, timeout_s: float = 30.0) -> None:
        why = missing()
        if why:
            raise SlurmNodeError(why)
        # munged wants its socket's folder open to all, and its key private
        self.dir = Path(tempfile.mkdtemp(prefix="slurm-node-"))
        run, key = self.dir / "run", self.dir / "munge"
        for folder, mode in ((self.dir, 0o755), (run, 0o755), (key, 0o700),
                             (self.dir / "state", 0o755), (self.dir / "spool", 0o755)):
            folder.mkdir(exist_ok=True)
            folder.chmod(mode)
        (key / "munge.key").write_bytes(os.urandom(1024))
        (key / "munge.key").chmod(0o400)
        self.conf.write_text(CONF.format(host=self.host, ctld_port=free_port(), slurmd_port=free_port(),
                                         user=pwd.getpwuid(os.getuid()).pw_name, run=run, dir=self.dir,
                                         cpus=self.cpus))
        try:
            self._spawn("munged", "-F", f"--key-file={key / 'munge.key'}", f"--socket={run / 'munge.sock'}",
                        f"--pid-file={run / 'munged.pid'}", f"--log-file={key / 'munged.log'}",
                        f"--seed-file={key / 'munged.seed'}")
            self._wait(lambda: (run / "munge.sock").exists(), "munged", timeout_s)
            self._spawn("slurmctld", "-D", "-i", "-f", str(self.conf))
            self._spawn("slurmd", "-D", "-N", self.host, "-f", str(self.conf))
            self._wait(lambda: self.state() == "idle", "the node to be idle", timeout_s)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str, *args: str) -> None:
        with open(self.dir / f"{name}.out", "ab") as out:
            self.procs[name] = subprocess.Popen([shutil.which(name, path=PATH), *args], env=self.env(),
                                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                                start_new_session=True)

    def _wait(self, ready, what: str, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        while not ready():
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise SlurmNodeError(f"{name} exited ({proc.returncode}): {self.log_tail(name)}")
            if time.monotonic() > end:
                raise SlurmNodeError(f"waited {timeout_s:.0f} s for {what}: {self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self, name: str = "", lines: int = 5) -> str:
        """The last lines of a daemon's output and log (every daemon's, without a name)."""
        out = []
        for n in [name] if name else list(self.procs):
            for path in (self.dir / f"{n}.out", self.dir / f"{n}.log", self.dir / "munge" / f"{n}.log"):
                if path.exists():
                    out += [f"{n}: {ln}" for ln in path.read_text(errors="replace").splitlines()[-lines:]]
        return " | ".join(out) or "no log"

    def client(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        """A Slurm command (sinfo, squeue, scancel...) against this cluster."""
        return subprocess.run(list(args), env=self.env(), capture_output=True, text=True, check=check, timeout=30)

    def state(self) -> str:
        try:
            return self.client("sinfo", "-h", "-n", self.host, "-o", "%T").stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    def jobs(self) -> list[str]:
        """Ids of the jobs pending or running."""
        return self.client("squeue", "-h", "-o", "%i").stdout.split()

    def stop(self) -> None:
        """Cancel the jobs, stop the daemons by PID, end any job step left, remove the folder."""
        if self.dir is None:
            return
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            try:
                ids = self.jobs()
                if ids:
                    self.client("scancel", *ids)
                    end = time.monotonic() + 10
                    while (self.jobs() or self.strays()) and time.monotonic() < end:
                        time.sleep(0.2)
            except (OSError, subprocess.SubprocessError):
                pass  # the controller is gone: the sweep below ends its jobs
        for name in reversed(list(self.procs)):  # slurmd, slurmctld, munged
            proc = self.procs.pop(name)
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for pid in self.strays():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def strays(self) -> list[int]:
        """Processes this cluster started that outlived it: job steps (slurmstepd) and the
        jobs' own processes, found by the SLURM_CONF they inherited from it."""
        mine, pids = f"SLURM_CONF={self.conf}".encode(), []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                environ = (proc / "environ").read_bytes().split(b"\0")
                cmdline = (proc / "cmdline").read_bytes()
                if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    continue  # ended, waiting to be reaped
            except (OSError, IndexError):
                continue
            if int(proc.name) != os.getpid() and mine in environ and (
                    cmdline.startswith(b"slurmstepd") or any(e.startswith(b"SLURM_JOB_ID=") for e in environ)):
                pids.append(int(proc.name))
        return pids


def main() -> int:
    why = missing()
    if why:
        print(f"error: {why}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with SingleNode() as node:
        print(f"a one-node Slurm cluster is up ({node.host}, {node.cpus} CPUs); in another shell:\n"
              f"  export SLURM_CONF={node.conf}\nCtrl-C stops it.", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
