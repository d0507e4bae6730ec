"""The companion notebooks' executed copies, kept with the project like the experiments'
results, so that a fresh clone shows their outputs without running them:

    <notebooks folder>/executed/NAME.ipynb    NAME.ipynb with the outputs of its last quick run

Its metadata["sitegen"] says what the outputs were made from and how: `key`, a hash of
the cells, the kernel runner (sitegen/render/kernel.py), torch's and Python's versions;
`deps`, the sha256 of every file the run imported or read inside the repository or the
project; `notebook_sha256`, the .ipynb it ran; `ran`, when and with what (shown on the
notebook's page). A copy is fresh while its key matches and every one of those files
still has its digest; otherwise the build runs the notebook again and rewrites the
copy (to be committed), and a frozen build refuses, saying why.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lab.keys import library_version
from lab.paths import atomic_write

from ..cache import key, source
from .kernel import dependency_digests

FOLDER = "executed"


@dataclass(frozen=True)
class Stored:
    text: str | None    # the executed copy (nbformat JSON), None when there is none fresh
    meta: dict          # its metadata["sitegen"] ({} when there is none fresh)
    stale: str          # why it is not fresh ("" when it is)


def copy_path(notebook: Path) -> Path:
    return notebook.parent / FOLDER / notebook.name


def run_key(cells: list) -> str:
    """What a run's outputs are made from, besides the files it touches."""
    return key(cells, source(Path(__file__).with_name("kernel.py")), library_version("torch"),
               sys.version.split()[0])


def load(notebook: Path, entry: str, root: Path) -> Stored:
    """The executed copy of `notebook` if it is fresh for the run key `entry`."""
    path = copy_path(notebook)
    try:
        text = path.read_text(encoding="utf-8")
        meta = json.loads(text)["metadata"]["sitegen"]
        deps = dict(meta["deps"])
        ran = meta["ran"]
    except FileNotFoundError:
        return Stored(None, {}, "it has no executed copy yet")
    except (OSError, ValueError, KeyError, TypeError):
        return Stored(None, {}, f"its executed copy {path.name} is damaged")
    if meta.get("key") != entry:
        now = {"python": sys.version.split()[0], "torch": library_version("torch")}
        tools = [f"{k} {ran.get(k)} -> {v}" for k, v in now.items() if isinstance(ran, dict) and ran.get(k) != v]
        why = ", ".join(tools) if tools else "its cells or sitegen/render/kernel.py changed"
        return Stored(None, {}, f"its executed copy is stale: {why}")
    changed = [n for n, d in dependency_digests(list(deps), root).items() if d != deps[n]]
    if changed:
        return Stored(None, {}, f"its executed copy is stale: {changed[0].split(':', 1)[1]} changed"
                                + (f" (and {len(changed) - 1} more files it read)" if len(changed) > 1 else ""))
    return Stored(text, meta, "")


def save(notebook: Path, nb, entry: str, digest: str, deps: dict, seconds: float) -> str:
    """Keep the executed `nb` as the copy of `notebook`; its text."""
    import nbformat

    nb.metadata["sitegen"] = {
        "key": entry, "notebook_sha256": digest, "deps": deps,
        "ran": {"date": time.strftime("%Y-%m-%d", time.gmtime()), "python": sys.version.split()[0],
                "torch": library_version("torch"), "quick": True, "seconds": round(seconds, 1)}}
    text = nbformat.writes(nb) + "\n"
    atomic_write(copy_path(notebook), text.encode("utf-8"))
    return text


def provenance(meta: dict, notebook: Path, root: Path) -> dict:
    """What the notebook's page says about its outputs."""
    ran = meta.get("ran", {})
    path = copy_path(notebook)
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    return {"date": ran.get("date", ""), "python": ran.get("python", ""), "torch": ran.get("torch", ""),
            "seconds": ran.get("seconds"), "files": len(meta.get("deps", {})), "path": shown}
