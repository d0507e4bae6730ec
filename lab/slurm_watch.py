"""How the Slurm executor follows its jobs: through sacct, as submitit does, or through
squeue where the cluster keeps no accounting (no slurmdbd: a small cluster, or the one-node
cluster of scripts/slurm_node.py). Then sacct fails at every poll, and submitit would
print its error each time and never learn that a job ended without a result (killed,
cancelled): `run` would wait for ever. Here the first such answer switches to squeue,
quietly, and a job that squeue no longer lists has ended.
"""
from __future__ import annotations

import subprocess
import time

from submitit.core import logger
from submitit.slurm.slurm import SlurmInfoWatcher, SlurmJob

NO_ACCOUNTING = "accounting storage is disabled"


class Watcher(SlurmInfoWatcher):
    """submitit's watcher, with squeue in place of sacct where accounting is off."""

    def __init__(self, delay_s: int = 600):
        super().__init__(delay_s)
        self.accounting = True

    def update(self) -> None:
        command = self._make_command()
        if command is None:
            return
        self._num_calls += 1
        if self.accounting:
            done = _run(command)
            if done is not None and done.returncode == 0:
                self._info_dict.update(self.read_info(done.stdout))
            elif done is not None and NO_ACCOUNTING in done.stderr:
                self.accounting = False
            else:
                why = " ".join((done.stderr if done is not None else "no answer").split())
                logger.get_logger().warning(f"sacct failed ({why}); job states may be late")
        if not self.accounting:
            self._info_dict.update(self.from_squeue({x.split("_")[0] for x in self._registered - self._finished}))
        self._last_status_check = time.time()
        for job_id in self._registered - self._finished:
            if self.is_done(job_id, mode="cache"):
                self._finished.add(job_id)

    def from_squeue(self, ids: set[str]) -> dict[str, dict[str, str]]:
        """{job id: {"JobID", "State", "NodeList"}} as sacct's would be; a job squeue no
        longer lists (ended some minutes ago) is "ENDED". Nothing where squeue fails."""
        if not ids:
            return {}
        done = _run(["squeue", "-h", "-t", "all", "-o", "%i|%T|%N", "-j", ",".join(sorted(ids))])
        if done is None or (done.returncode != 0 and "Invalid job id" not in done.stderr):
            return {}  # no answer: ask again at the next poll
        info = self.read_info("JobID|State|NodeList\n" + (done.stdout if done.returncode == 0 else ""))
        for jid in ids:
            if not any(k == jid or k.startswith(jid + "_") for k in info):
                info[jid] = {"JobID": jid, "State": "ENDED", "NodeList": ""}
        return info


def _run(command: list[str]) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None


class Job(SlurmJob):
    """submitit's SlurmJob, followed by the Watcher above."""
    watcher = Watcher()
