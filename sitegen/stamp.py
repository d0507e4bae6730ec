"""Is there anything to do at all? The no-op check, before any phase runs.

The stamp (.cache/last-build.json) holds the fingerprint of every input of the
last build that published, and a digest of the site/ it published. When both
still match, the build exits at once: same inputs, same tools, same commit, and
nobody touched site/. Answered without importing torch, matplotlib or jinja2.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

from .cache import STAMP, read_json, write_atomic
from .project import REPO, Project

FINGERPRINT_DIRS = ("content", "templates", "sitegen", "lab", "figures")


def input_fingerprint(project: Project, extra: dict) -> str:
    """Hash of every input file (name, size, mtime and content), of the tools and of
    the git commit; equal fingerprints mean an identical site."""
    from lab.store import git_commit  # the page states it: a new commit rebuilds the page

    tools = {"python": sys.version, "pandoc": _pandoc_binary_stat(), "commit": git_commit(project.root),
             # any pip install or removal changes the site-packages folder's mtime
             "packages": _stat(Path(importlib.util.find_spec("jinja2").origin).parent.parent)}
    h = hashlib.sha256(json.dumps([extra, tools], sort_keys=True).encode())
    roots = [project.root / d for d in FINGERPRINT_DIRS] + [REPO / "sitegen", REPO / "lab", REPO / "figures"]
    for root in dict.fromkeys(roots):
        if not root.exists():
            continue
        for p in sorted(root.rglob("*")):
            # in-progress training checkpoints change every epoch and are no input of the page
            if p.is_file() and "__pycache__" not in p.parts and "partial" not in p.parts:
                h.update(f"{p}:{_stat(p)}\n".encode())
                if p.suffix != ".pt":  # trained weights (MBs): the page is made from results, not from them
                    h.update(p.read_bytes())
    return h.hexdigest()


def site_digest(site: Path) -> str:
    """What is in site/ now, so a hand-edited or damaged site is rebuilt."""
    if not site.is_dir():
        return ""
    listing = "".join(f"{p.relative_to(site)}:{_stat(p)}\n" for p in sorted(site.rglob("*")) if p.is_file())
    return hashlib.sha256(listing.encode()).hexdigest()


def up_to_date(project: Project, fingerprint: str) -> bool:
    return read_json(project.cache / STAMP) == {"fingerprint": fingerprint, "site": site_digest(project.site)}


def record(project: Project, fingerprint: str) -> None:
    """The stamp of a build that just published."""
    write_atomic(project.cache / STAMP,
                 json.dumps({"fingerprint": fingerprint, "site": site_digest(project.site)}).encode("utf-8"))


def _stat(p: Path) -> str:
    st = p.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _pandoc_binary_stat() -> str:
    """The bundled pandoc's size and mtime, found without importing pypandoc."""
    spec = importlib.util.find_spec("pypandoc")
    exe = Path(spec.origin).parent / "files" / "pandoc" if spec and spec.origin else None
    return _stat(exe) if exe and exe.exists() else "absent"
