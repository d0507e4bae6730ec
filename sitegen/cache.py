"""Every build cache under .cache/: get-or-make by a key built one way, written atomically.

    .cache/<kind>/<name>-<key20><suffix>    one entry (a file, or a folder for the video)

A key is the sha256 of the canonical JSON of what the entry is made from
(`key(...)`); the code it depends on enters through `source(...)`, which hashes
the files of modules found without importing them. An entry is written to a
temporary name and renamed into place, so a killed build never leaves half a
file; writing one drops the older entries of the same name. Only this module
and the build's write phase write files (results and weights are the figures
package's own store).
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from lab.keys import canonical_json, sha256
from lab.paths import atomic_write as write_atomic  # noqa: F401  (the one atomic write)


# every kind of build cache, for `build.py clean` (never .cache/runs or .cache/models:
# an interrupted run's checkpoints and the trained networks are hours of work)
KINDS = ("registry", "pandoc", "jinja", "chapters", "bibliography", "figures", "diagrams", "charts", "page",
         "templates", "video", "notebooks")
STAMP = "last-build.json"


def key(*parts: Any) -> str:
    """The key of an entry made from `parts` (anything JSON can hold)."""
    return sha256(canonical_json(list(parts)))


def source(*items: str | Path) -> str:
    """A hash of code: a module or package by name (found, not imported), or a file or
    folder (its .py files) by path. Content only, so a checkout elsewhere hits the same."""
    parts = []
    for item in items:
        if isinstance(item, Path):  # named by its last part: where the checkout lies is no part of the key
            label, base, files = item.name, item.parent, sorted(item.rglob("*.py")) if item.is_dir() else [item]
        else:
            spec = importlib.util.find_spec(item)
            if spec is None or spec.origin is None:
                raise ModuleNotFoundError(f"module {item} not found")
            origin = Path(spec.origin)
            label = item
            base, files = origin.parent, sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
        for f in files:
            if "__pycache__" not in f.parts:
                parts.append([label, f.relative_to(base).as_posix(), sha256(f.read_bytes())])
    return key(parts)


def read_json(path: Path) -> Any:
    """The JSON in `path`, or None when it is missing or damaged."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class Cache:
    """The entries of one kind, in .cache/<kind>/."""

    def __init__(self, root: Path, kind: str):
        assert kind in KINDS, kind
        self.folder = root / kind

    def path(self, name: str, key: str, suffix: str = ".json") -> Path:
        return self.folder / f"{name}-{key[:20]}{suffix}"

    def has(self, name: str, key: str, suffix: str = ".json") -> bool:
        return self.path(name, key, suffix).exists()

    def get(self, name: str, key: str, suffix: str = ".json") -> bytes | None:
        try:
            return self.path(name, key, suffix).read_bytes()
        except OSError:
            return None

    def put(self, name: str, key: str, data: bytes, suffix: str = ".json") -> None:
        path = self.path(name, key, suffix)
        write_atomic(path, data)
        self._drop_others(name, path)

    def bytes(self, name: str, key: str, make: Callable[[], bytes], suffix: str = ".json") -> bytes:
        """The entry, made (and kept) now unless it exists."""
        data = self.get(name, key, suffix)
        if data is None:
            data = make()
            self.put(name, key, data, suffix)
        return data

    def json(self, name: str, key: str, make: Callable[[], Any]) -> Any:
        """A JSON entry: what make() returned, or what it returned when the entry was made."""
        data = self.get(name, key)
        if data is not None:
            try:
                return json.loads(data)
            except ValueError:
                pass  # damaged: make it again
        value = make()
        self.put(name, key, json.dumps(value, sort_keys=True).encode("utf-8"))
        return value

    def folder_entry(self, name: str, key: str, make: Callable[[Path], None], complete: Callable[[Path], bool]) -> Path:
        """A folder entry: make(tmp) fills a temporary folder, which is then renamed into place."""
        path = self.path(name, key, "")
        if path.is_dir() and complete(path):
            return path
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.folder, prefix=".tmp-") as tmp:
            out = Path(tmp) / "out"
            out.mkdir()
            make(out)
            shutil.rmtree(path, ignore_errors=True)
            out.rename(path)
        self._drop_others(name, path)
        return path

    def _drop_others(self, name: str, keep: Path) -> None:
        for old in self.folder.glob(f"{name}-*"):
            if old != keep and old.name.rsplit("-", 1)[0] == name and not old.name.startswith("."):
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)


def clean(root: Path) -> list[Path]:
    """Remove every build cache under `root` (.cache); returns what was removed."""
    gone = []
    for path in [root / kind for kind in KINDS] + [root / STAMP]:
        if path.is_dir():
            shutil.rmtree(path)
            gone.append(path)
        elif path.exists():
            path.unlink()
            gone.append(path)
    return gone

