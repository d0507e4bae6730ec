"""The results store: one folder per experiment and profile, committed to git.

    lab/results/<experiment>/<profile>/result.json   config, key, provenance, data
    lab/results/<experiment>/<profile>/arrays.npz    larger arrays (optional)

What decides a result's key is lab.keys; what its provenance says,
lab.provenance. result.json carries a sha256 of its own content and of
arrays.npz, so a truncated or hand-edited file is detected and treated as stale.
"""
from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from lab import spread
from lab.keys import canonical_json, sha256
from lab.paths import atomic_write

# numpy is imported where arrays are read or written: a build that only quotes
# numbers from result.json (most rebuilds) never pays for it.


@dataclass(frozen=True)
class StoredResult:
    experiment: str
    profile: str
    key: str
    config: dict
    provenance: dict
    metrics: dict
    data: dict
    arrays: Mapping  # name -> numpy array, decoded on first use
    checksum: str = ""  # of result.json, which covers the arrays' hash too: what was stored, in full

    def get(self, *path: str) -> Any:
        """Walk metrics, then data, then arrays, then the config by a path of keys (so prose can
        quote a setting, such as a batch size, rather than type it; a list's items by number).
        The data of a result measured on several seeds is the first seed's at its top level
        (the figures read data["per_seed"]), so a path into it is merged over the seeds, as
        the metrics were: a curve becomes a spread at each point."""
        for root in (self.metrics, self.data, self.arrays, self.config):
            found, node = _walk(root, path)
            if found:
                return self._over_seeds(path, node) if root is self.data else node
        raise KeyError("/".join(path))

    def _over_seeds(self, path: tuple, first: Any) -> Any:
        runs = self.data.get("per_seed")
        if not isinstance(runs, dict) or len(runs) < 2 or path[:1] == ("per_seed",):
            return first
        seeds = list(self.provenance.get("seeds") or sorted(runs, key=int))
        walked = [_walk(runs.get(str(s)), path) for s in seeds]
        if not all(ok for ok, _ in walked):
            return first  # a path only the first seed's data holds
        return spread.merge([v for _, v in walked], seeds)


def _walk(node: Any, path: tuple) -> tuple[bool, Any]:
    """(found, the node at `path`)."""
    try:
        for p in path:
            node = node[int(p)] if isinstance(node, list) else node[p]
        return True, node
    except (KeyError, TypeError, IndexError, ValueError):
        return False, None


class NpzArrays(Mapping):
    """The arrays of an .npz file (checksum already verified), decoded on first access."""

    def __init__(self, raw: bytes):
        self._raw, self._arrays = raw, None

    def _load(self) -> dict:
        if self._arrays is None:
            import numpy as np

            with np.load(io.BytesIO(self._raw), allow_pickle=False) as npz:
                self._arrays = {k: npz[k] for k in npz.files}
        return self._arrays

    def __getitem__(self, key: str):
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


class ResultStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def folder(self, experiment: str, profile: str) -> Path:
        return self.root / experiment / profile

    def load(self, experiment: str, profile: str) -> StoredResult | None:
        """The stored result, or None if absent or corrupt (either way: stale)."""
        folder = self.folder(experiment, profile)
        try:
            doc = json.loads((folder / "result.json").read_text(encoding="utf-8"))
            body = {k: v for k, v in doc.items() if k != "checksum"}
            if doc.get("checksum") != sha256(canonical_json(body)):
                return None
            arrays: Mapping = {}
            if body.get("arrays_sha256"):
                raw = (folder / "arrays.npz").read_bytes()
                if sha256(raw) != body["arrays_sha256"]:
                    return None
                arrays = NpzArrays(raw)
        except (OSError, ValueError, KeyError):
            return None
        return StoredResult(experiment, profile, body["key"], body["config"],
                            body["provenance"], body["metrics"], body["data"], arrays, doc["checksum"])

    def save(self, experiment: str, profile: str, key: str, config: dict,
             provenance: dict, metrics: dict, data: dict, arrays: dict | None = None) -> StoredResult:
        folder = self.folder(experiment, profile)
        folder.mkdir(parents=True, exist_ok=True)
        body: dict[str, Any] = {
            "experiment": experiment, "profile": profile, "key": key, "config": config,
            "provenance": provenance, "metrics": metrics, "data": data, "arrays_sha256": "",
        }
        if arrays:
            import numpy as np

            buf = io.BytesIO()
            np.savez_compressed(buf, **{k: np.asarray(v) for k, v in sorted(arrays.items())})
            raw = buf.getvalue()
            body["arrays_sha256"] = sha256(raw)
            atomic_write(folder / "arrays.npz", raw)
        elif (folder / "arrays.npz").exists():
            (folder / "arrays.npz").unlink()
        body["checksum"] = sha256(canonical_json(body))
        text = json.dumps(body, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
        atomic_write(folder / "result.json", text.encode("utf-8"))
        return self.load(experiment, profile)  # type: ignore[return-value]


# lab.experiments.trained (frozen while the seeds campaign runs) and the site generator
# import these from here; their homes are lab.keys and lab.provenance.
from lab.keys import MissingSource, code_tree, module_files, module_source_hash, result_key  # noqa: E402,F401
from lab.provenance import device_info, git_commit, job_info  # noqa: E402,F401
