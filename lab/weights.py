"""Trained networks, keyed by what made them, and kept in git.

    lab/weights/<name>-<key16>.pt    half-precision weights, history, probes
    lab/weights/MANIFEST.json        per file: network, key, sha256, recipe, cost

A network's key (`model_key`) hashes only what decides its weights: its name,
the recipe, the syntax trees of the code that builds, feeds and trains it
(the model files it is defined in, lab.train, lab.networks and the
batching part of lab.data) and the major versions of torch and numpy.
Comments, docstrings and formatting do not enter it, nor does the machine: a
network trained on a GPU or another CPU is the same network, and its
provenance says where it ran. Editing highway.py makes the Highway nets
stale and no other; editing resnet.py makes every net that imports it stale.

Weights are stored in half precision (about 2 bytes a parameter). Analyses
always run on the rounded weights, also right after training, so a result is
the same whether its networks were just trained or loaded from git.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Mapping

from lab import keys, paths
from lab.keys import DATA_BATCHING, canonical_json, library_versions, sha256
from lab.paths import atomic_write
from lab.provenance import job_info

MANIFEST = "MANIFEST.json"
# Besides the model files: the trainer, the network recipes, and what batches the data.
TRAINING_SOURCES: dict[str, tuple[str, ...] | None] = {
    "lab.networks": None,
    "lab.train": None,
    "lab.data": DATA_BATCHING,
}


# The module that defines each family's class, by name prefix (a test checks it
# against the built models), so that keys are computed without importing torch.
FAMILY_MODULES = (("preact_resnet", "lab.models.resnet"), ("resnet", "lab.models.resnet"),
                  ("plain", "lab.models.resnet"), ("highway", "lab.models.highway"),
                  ("densenet", "lab.models.densenet"))


def model_files(name: str) -> list[str]:
    """The lab.models modules network `name` is built from: the module of its
    class and every lab.models module that one imports, transitively."""
    start = next((m for prefix, m in FAMILY_MODULES if name.startswith(prefix)), None)
    if start is None:
        raise ValueError(f"unknown model {name!r}")
    seen: list[str] = []
    todo = [start]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.append(mod)
        todo += _model_imports(mod)
    return sorted(seen)


def _model_imports(module: str) -> list[str]:
    return [m for m in keys.imports(module) if m.startswith("lab.models.")]


def model_sources(name: str) -> dict[str, str]:
    """{module: syntax-tree hash} of every source that decides network `name`'s weights."""
    out = {m: keys.module_source_hash(m) for m in model_files(name)}
    for module, names in TRAINING_SOURCES.items():
        out[module] = keys.module_source_hash(module, names)
    return out


def model_key(name: str, recipe: Any) -> str:
    """The key of network `name` trained with `recipe` (a Recipe or its dict)."""
    if dataclasses.is_dataclass(recipe):
        recipe = dataclasses.asdict(recipe)
    return sha256(canonical_json({"name": name, "recipe": dict(recipe), "sources": keys.keyed_sources(model_sources(name)),
                                  "libraries": library_versions()}))


def file_name(name: str, key: str) -> str:
    return f"{name}-{key[:16]}.pt"


class WeightStore:
    """A folder of trained networks and their manifest; only this class writes it."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else paths.WEIGHTS  # the committed networks

    def manifest(self) -> dict[str, dict]:
        try:
            return json.loads((self.root / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def has(self, name: str, key: str) -> bool:
        entry = self.manifest().get(file_name(name, key))
        return bool(entry) and entry.get("key") == key and (self.root / file_name(name, key)).exists()

    def load(self, name: str, key: str) -> dict | None:
        """{"model": state_dict (float32), "history": dict, "probes": list}, or None when
        absent, or when the file does not match the sha256 the manifest holds."""
        import torch

        path = self.root / file_name(name, key)
        entry = self.manifest().get(path.name)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        if not entry or entry.get("key") != key or entry.get("sha256") != sha256(raw):
            return None
        saved = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        return {"model": _as_float(saved["model"]), "history": saved["history"],
                "probes": json.loads(saved["probes"]), "data": saved.get("data", {})}

    def save(self, name: str, key: str, model_state: Mapping, history: dict, probes: list,
             data: dict, meta: dict) -> dict:
        """Store a trained network; returns its state as `load` will give it back."""
        import torch

        self.root.mkdir(parents=True, exist_ok=True)
        half = {k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu())
                for k, v in model_state.items()}
        buf = io.BytesIO()
        torch.save({"model": half, "history": history, "probes": json.dumps(probes), "data": data}, buf)
        raw = buf.getvalue()
        path = self.root / file_name(name, key)
        atomic_write(path, raw)
        entry = {"name": name, "key": key, "sha256": sha256(raw), "bytes": len(raw), "data": data,
                 "job": job_info(), **meta}  # job: executor, node and job id that trained it
        with self._manifest_lock():
            manifest = self.manifest()
            manifest[path.name] = entry
            self._write_manifest(manifest)
        return {"model": _as_float(half), "history": history, "probes": probes, "data": data}

    def prune(self, keep: set[str]) -> list[str]:
        """Delete stored networks whose file names are not in `keep`; returns their names."""
        with self._manifest_lock():
            manifest = self.manifest()
            gone = sorted(set(manifest) - keep)
            for fname in gone:
                (self.root / fname).unlink(missing_ok=True)
                del manifest[fname]
            if gone:
                self._write_manifest(manifest)
        return gone

    def _manifest_lock(self):
        """Jobs training at once (subprocesses, cluster nodes) each add their entry: the
        manifest's read-modify-write is one at a time. The lock file lives in partial/,
        which git ignores and the site's fingerprint skips."""
        from filelock import FileLock

        (self.root / "partial").mkdir(parents=True, exist_ok=True)
        return FileLock(self.root / "partial" / "MANIFEST.lock")

    def _write_manifest(self, manifest: dict) -> None:
        atomic_write(self.root / MANIFEST,
                      (json.dumps(manifest, sort_keys=True, indent=1) + "\n").encode("utf-8"))


def _as_float(state: Mapping) -> dict:
    return {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
