"""Never lose the last good site: build into a staging folder, swap it in only
when everything succeeded, and let only one build run at a time.

On Linux the swap is one renameat2(RENAME_EXCHANGE) call, so at every instant
site/ is a complete site, old or new. Elsewhere it is two renames, and a build
killed between them leaves site.old, which the next build's recover() restores.
"""
from __future__ import annotations

import contextlib
import errno
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from .errors import BuildError

RENAME_EXCHANGE = 2
AT_FDCWD = -100


@contextlib.contextmanager
def build_lock(cache: Path, wait_s: float = 0.0, log: Callable[[str], None] | None = None):
    """An exclusive lock on .cache/build.lock (filelock: flock, which the kernel drops
    when its process dies); a second build waits up to wait_s (math.inf: for ever) or refuses."""
    from filelock import FileLock, Timeout

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / "build.lock"
    lock = FileLock(path, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = _holder(path)
        if wait_s <= 0:
            raise BuildError(f"another build is running ({holder}); wait for it or run with --wait", path) from None
        if log:
            log(f"waiting for the build running in {holder} to finish ...")
        try:
            lock.acquire(timeout=-1 if math.isinf(wait_s) else wait_s, poll_interval=0.1)
        except Timeout:
            raise BuildError(f"another build is running ({_holder(path)}); gave up after {wait_s:g} s", path) from None
    try:
        with open(path, "r+", encoding="utf-8") as f:  # who holds it, for the message above
            f.truncate()
            f.write(f"pid {os.getpid()}")
        yield
    finally:
        lock.release()


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "another process"
    except OSError:
        return "another process"


def check_writable(site: Path, cache: Path) -> None:
    """Fail before the build, not after it: site/ is swapped in beside itself and the
    caches are written inside .cache/. A probe directory is made and removed, which
    also answers for root (whom chmod does not stop) and read-only mounts."""
    for target, folder in ((site, site.parent), (cache, cache)):
        while not folder.exists() and folder.parent != folder:  # the nearest folder that exists
            folder = folder.parent
        try:
            Path(tempfile.mkdtemp(prefix=".write-probe-", dir=folder)).rmdir()
        except OSError as e:
            raise BuildError(f"cannot write here ({e.strerror}); the build needs it for {target.name}/, "
                             f"make it writable or build a copy elsewhere", folder) from None


def recover(site: Path) -> None:
    """Finish a two-rename swap that a killed build left half done."""
    old = site.with_name(site.name + ".old")
    if old.exists():
        if site.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, site)


def staging_dir(site: Path) -> Path:
    staged = site.with_name(f".{site.name}.staging-{os.getpid()}")
    for stale in site.parent.glob(f".{site.name}.staging-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a killed build (we hold the lock)
    staged.mkdir(parents=True)
    return staged


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


def swap_in(staged: Path, site: Path) -> None:
    """Replace `site` by `staged`; at every instant one complete site exists on disk."""
    if site.is_dir() and _exchange(staged, site):
        shutil.rmtree(staged, ignore_errors=True)  # now the old site
        return
    old = site.with_name(site.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if site.exists():
        os.replace(site, old)
    os.replace(staged, site)
    shutil.rmtree(old, ignore_errors=True)

