"""Work shared among forked processes: matplotlib holds the GIL, so drawing many
figures is done by several processes, each a fork of the build, which has
imported matplotlib and the plot modules already (a fork costs no imports).

    workers = start(jobs, work)   # forks now, before the build starts any thread
    ...                           # the build goes on (pandoc in threads)
    outputs = workers.finish()    # the build's own share, then the workers'

With own_share=False every job goes to a forked worker, and the build only waits for
them in finish() (the companion notebooks: work in the background).

Forking a process that runs threads may deadlock its child, so with threads
running (the preview server) everything is done in this process, one by one.
A worker must not outlive its build (a build killed with -9 would leave it
running): on Linux the kernel kills it when its parent dies (PR_SET_PDEATHSIG),
and everywhere it checks, before each job, that its parent is still the build.
"""
from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import traceback
from typing import Any, Callable, Generic, TypeVar

from ..errors import BuildError

PR_SET_PDEATHSIG = 1
J = TypeVar("J")


class Workers(Generic[J]):
    def __init__(self, jobs: list[J], work: Callable[[J], Any], processes: int | None = None,
                 own_share: bool = True):
        self.jobs, self.work = jobs, work
        n = max(1, min(len(jobs), processes or _cpus()))
        if threading.active_count() > 1 or not hasattr(os, "fork"):
            n, own_share = 1, True
        self.shares = [list(range(i, len(jobs), n)) for i in range(n)] if jobs else []
        self.own = self.shares[0] if own_share and self.shares else []  # done by this process, in finish()
        self.children: list[tuple[int, int, list[int]]] = []  # (pid, read end of its pipe, its jobs)
        parent = os.getpid()
        for share in self.shares[1 if own_share else 0:]:
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker
                os.close(read)
                _serve(parent, [jobs[i] for i in share], work, write)
            os.close(write)
            self.children.append((pid, read, share))

    def finish(self) -> list[Any]:
        """Every job's output, in the jobs' order; of several errors, that of the first job is raised."""
        out: list[Any] = [None] * len(self.jobs)
        failures: list[tuple[int, BaseException]] = []
        try:
            for i in self.own:
                try:
                    out[i] = self.work(self.jobs[i])
                except Exception as e:  # a worker's error may come first in job order: hear them out
                    failures.append((i, e))
                    break
            while self.children:
                pid, read, share = self.children[0]
                with os.fdopen(read, "rb", closefd=False) as f:
                    data = f.read()
                self.children.pop(0)
                os.close(read)
                os.waitpid(pid, 0)
                kind, at, value = pickle.loads(data) if data else ("bug", 0, "a build worker died without a word")
                if kind == "ok":
                    for i, made in zip(share, value):
                        out[i] = made
                elif kind == "author":
                    failures.append((share[at], BuildError(*value)))
                else:
                    failures.append((share[at], RuntimeError(f"a build worker failed:\n{value}")))
        finally:  # interrupted: no worker outlives this call
            self.close()
        if failures:
            raise min(failures, key=lambda f: f[0])[1]
        return out

    def __enter__(self) -> Workers[J]:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers still running (the build failed before it needed them)."""
        for pid, read, _ in self.children:
            _kill(pid)
            os.close(read)
            os.waitpid(pid, 0)
        self.children = []


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start(jobs: list[J], work: Callable[[J], Any], processes: int | None = None,
          own_share: bool = True) -> Workers[J]:
    return Workers(jobs, work, processes, own_share)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _serve(parent: int, jobs: list, work: Callable, write: int) -> None:
    """The worker's side: each job in turn; the outputs, or the first error, pickled to the pipe."""
    try:
        die_with_parent(parent)
        made: list[Any] = []
        try:
            for job in jobs:
                orphaned(parent)
                made.append(work(job))
            payload: tuple = ("ok", 0, made)
        except BuildError as e:
            payload = ("author", len(made), (e.message, e.file, e.line))
        except BaseException:
            payload = ("bug", len(made), traceback.format_exc())
        with os.fdopen(write, "wb") as f:
            f.write(pickle.dumps(payload))
    finally:
        os._exit(0)  # never the parent's atexit handlers, buffers or pytest


def die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # the check before each job remains
    orphaned(parent)


def orphaned(parent: int) -> None:
    """Exit if the build that started this worker is gone (its pid is no longer our parent)."""
    if os.getppid() != parent:
        os._exit(1)
