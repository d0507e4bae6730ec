"""Never lose the last good site: build into a staging folder, swap it in only
when everything succeeded, and let only one build run at a time.

On Linux the swap is one renameat2(RENAME_EXCHANGE) call, so at every instant
site/ is a complete site, old or new. Elsewhere it is two renames, and a build
killed between them leaves site.old, which the next build's recover() restores.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import math
import os
import shutil
import time
from pathlib import Path
from typing import Callable

from .errors import BuildError

RENAME_EXCHANGE = 2
AT_FDCWD = -100


@contextlib.contextmanager
def build_lock(cache: Path, wait_s: float = 0.0, log: Callable[[str], None] | None = None):
    """An exclusive lock on .cache/build.lock; a second build waits up to wait_s
    (math.inf: for ever) or refuses. The kernel drops it when its process dies."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / "build.lock"
    with open(path, "a+") as f:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                f.seek(0)
                holder = f.read().strip() or "another process"
                if time.monotonic() >= deadline:
                    how = "wait for it or run with --wait" if wait_s == 0 else f"gave up after {wait_s:g} s"
                    raise BuildError(f"another build is running ({holder}); {how}", path) from None
                if log and not told:
                    log(f"waiting for the build running in {holder} to finish ...")
                    told = True
                time.sleep(0.1 if math.isinf(wait_s) else min(0.1, max(deadline - time.monotonic(), 0.01)))
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def recover(site: Path) -> None:
    """Finish a two-rename swap that a killed build left half done."""
    old = site.with_name(site.name + ".old")
    if old.exists():
        if site.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, site)


def staging_dir(site: Path) -> Path:
    stage = site.with_name(f".{site.name}.staging-{os.getpid()}")
    for stale in site.parent.glob(f".{site.name}.staging-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a killed build (we hold the lock)
    stage.mkdir(parents=True)
    return stage


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where unsupported."""
    import ctypes
    import ctypes.util

    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    if fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(stage: Path, site: Path) -> None:
    """Replace `site` by `stage`; at every instant one complete site exists on disk."""
    if site.is_dir() and _exchange(stage, site):
        shutil.rmtree(stage, ignore_errors=True)  # now the old site
        return
    old = site.with_name(site.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if site.exists():
        os.replace(site, old)
    os.replace(stage, site)
    shutil.rmtree(old, ignore_errors=True)

