"""Never lose the last good site: build into a staging folder, swap it in only
when everything succeeded, and let only one build run at a time.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from pathlib import Path

from .errors import BuildError


@contextlib.contextmanager
def build_lock(cache: Path, wait_s: float = 0.0):
    """An exclusive lock on .cache/build.lock; a second build waits or refuses."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / "build.lock"
    with open(path, "a+") as f:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    f.seek(0)
                    holder = f.read().strip() or "another process"
                    raise BuildError(f"another build is running ({holder}); wait for it or use --wait",
                                     path) from None
                time.sleep(0.2)
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def recover(site: Path) -> None:
    """Finish a swap that a killed build left half done."""
    old = site.with_name(site.name + ".old")
    if old.exists():
        if site.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, site)


def staging_dir(site: Path) -> Path:
    stage = site.with_name(f".{site.name}.staging-{os.getpid()}")
    if stage.exists():
        shutil.rmtree(stage)
    for stale in site.parent.glob(f".{site.name}.staging-*"):
        shutil.rmtree(stale, ignore_errors=True)
    stage.mkdir(parents=True)
    return stage


def swap_in(stage: Path, site: Path) -> None:
    """Replace `site` by `stage`; at every instant one complete site exists on disk."""
    old = site.with_name(site.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if site.exists():
        os.replace(site, old)
    os.replace(stage, site)
    shutil.rmtree(old, ignore_errors=True)


def write_if_changed(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
