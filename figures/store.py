"""The results cache: one folder per experiment and profile, committed to git.

    figures/results/<experiment>/<profile>/result.json   config, key, provenance, data
    figures/results/<experiment>/<profile>/arrays.npz    larger arrays (optional)

The key hashes only what changes a result: the experiment's config, the source
of the modules it declares, and the major versions of the libraries it uses.
Plot style is not in it. result.json carries a sha256 of its own content and of
arrays.npz, so a truncated or hand-edited file is detected and treated as stale.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import os
import platform
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Iterable, Iterator

# numpy is imported where arrays are read or written: a build that only quotes
# numbers from result.json (most rebuilds) never pays for it.

# Library versions enter the key at major-version granularity: a result made
# with torch 2.11 on the GPU machine stays fresh under torch 2.13 on CPU, but a
# torch 3 would recompute everything.
KEY_LIBRARIES = ("torch", "numpy")


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


class MissingSource(KeyError):
    """A module or definition that a key is to hash does not exist: the declaring author's mistake."""


def module_source_hash(module_name: str, names: Iterable[str] | None = None) -> str:
    """Hash of what a module's code *does*: its normalised syntax tree, or that of
    every .py file of a package; with `names`, only those top-level definitions.

    Comments, docstrings and formatting do not enter it, so tidying code changes
    no key. Read from disk without importing, so checking freshness stays cheap
    and always sees the file as it is now."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise MissingSource(f"module {module_name} declared by an experiment does not exist")
    origin = Path(spec.origin)
    files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    h = hashlib.sha256()
    for f in files:
        if "__pycache__" not in f.parts:
            tree = code_tree(f.read_text(encoding="utf-8"), names)
            h.update(f.relative_to(origin.parent).as_posix().encode() + b"\0" + tree.encode() + b"\0")
    return h.hexdigest()


def code_tree(source: str, names: Iterable[str] | None = None) -> str:
    """A canonical text of `source`'s syntax tree without docstrings or positions.

    Written by hand rather than with ast.dump, whose output changes between
    Python versions (3.13 omits empty fields); fields that are None or empty
    are left out for the same reason, so 3.11 and 3.13 agree."""
    tree = ast.parse(source)
    body = tree.body
    if names is not None:
        wanted = set(names)
        body = [n for n in body if wanted & _defines(n)]
        missing = wanted - set().union(*(_defines(n) for n in body)) if body else wanted
        if missing:
            raise MissingSource(f"no top-level definition of {', '.join(sorted(missing))}")
    return "\n".join(_canon(n) for n in _strip_docstring(body))


def _defines(node: ast.AST) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {t.id for t in targets if isinstance(t, ast.Name)}
    return set()


def _strip_docstring(body: list) -> list:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _canon(node: Any) -> str:
    if isinstance(node, ast.AST):
        parts = []
        for field in node._fields:
            value = getattr(node, field, None)
            if field == "body" and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                value = _strip_docstring(value)
            if value is None or value == []:
                continue
            parts.append(f"{field}={_canon(value)}")
        return f"{type(node).__name__}({','.join(parts)})"
    if isinstance(node, list):
        return "[" + ",".join(_canon(x) for x in node) + "]"
    return repr(node)


def library_versions(names: Iterable[str] = KEY_LIBRARIES, major_only: bool = True) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            v = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            v = "absent"
        out[name] = v.split(".")[0] if major_only else v
    return out


def module_files(modules: Iterable[str]) -> list[Path]:
    """The source files of `modules` (a package: all its .py files)."""
    files: list[Path] = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            origin = Path(spec.origin)
            files += sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    return files


def result_key(experiment: str, config: dict, modules: Iterable[str]) -> str:
    """The hash that decides whether a stored result is still valid."""
    parts = {
        "experiment": experiment,
        "config": config,
        "sources": {m: module_source_hash(m) for m in sorted(set(modules))},
        "libraries": library_versions(),
    }
    return sha256(canonical_json(parts))


def git_commit(root: Path, paths: Iterable[str | Path] = ()) -> str:
    """HEAD's short hash, "+dirty" if a tracked file differs from it: with `paths`, only
    those files count (the code a result or network came from, not the prose beside it)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root,
                             capture_output=True, text=True, timeout=10)
        commit = out.stdout.strip() or "uncommitted"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                *[str(p) for p in paths]],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_info() -> dict[str, str]:
    import torch

    # CPU training is repeatable only on the same kind of processor and thread count
    # (oneDNN picks its kernels by instruction set): both go into the provenance
    info = {"torch": torch.__version__, "python": platform.python_version(),
            "threads": str(torch.get_num_threads()), "cpu_model": _cpu_model()}
    if torch.cuda.is_available():
        info["device"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda or ""
    else:
        info["device"] = f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
        info["cuda"] = ""
    return info


def job_info() -> dict[str, str]:
    """Which executor, node and job ran this process: for the provenance of what it stores.
    Read from submitit's environment inside a submitit job (local subprocess or Slurm)."""
    import socket

    if os.environ.get("SUBMITIT_EXECUTOR"):
        from submitit import JobEnvironment

        env = JobEnvironment()
        return {"executor": env.cluster, "node": env.hostname, "job_id": str(env.job_id)}
    return {"executor": "local", "node": socket.gethostname(), "job_id": str(os.getpid())}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
        """Walk metrics, then data, then arrays, then the config by a path of keys
        (so prose can quote a setting, such as a batch size, rather than type it)."""
        for root in (self.metrics, self.data, self.arrays, self.config):
            node: Any = root
            try:
                for p in path:
                    node = node[p]
                return node
            except (KeyError, TypeError, IndexError):
                continue
        raise KeyError("/".join(path))


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
            _atomic_write(folder / "arrays.npz", raw)
        elif (folder / "arrays.npz").exists():
            (folder / "arrays.npz").unlink()
        body["checksum"] = sha256(canonical_json(body))
        text = json.dumps(body, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
        _atomic_write(folder / "result.json", text.encode("utf-8"))
        return self.load(experiment, profile)  # type: ignore[return-value]


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: never half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
