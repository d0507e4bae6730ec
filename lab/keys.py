"""Keys: what a result or a network is made from, hashed, so that a change of what it
computes makes it stale and nothing else does.

    code_tree, module_source_hash   a module's normalised syntax tree: comments, docstrings
                                    and formatting never count
    imports, closure                the project modules a module imports, transitively,
                                    read from the source (nothing is imported)
    result_key                      an experiment's config, the code its modules import and
                                    the major versions of torch and numpy

An experiment's key follows its imports: an edit to any lab/ module its own
module reaches (also through imports inside functions) makes it stale. Two
narrowings are on purpose (NARROWED): only the batching part of lab.data
counts, as in the networks' keys, and lab.experiments.profiles not at all,
since its values enter each result's config. The walk stops at the bookkeeping
modules (BOOKKEEPING): where things are kept and how they are named, never a
number an experiment computes. A network's key is lab.weights.model_key.

Keys spell the lab's modules `figures.*` (KEYED_AS), the package's name when
every committed network was trained: what a folder is called computes nothing,
so moving figures/ to lab/ retrained no network and reran no experiment.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Iterable

PROJECT = "lab"
# How keys spell PROJECT's modules, wherever a key names one: in a key's module list, in an
# import, in a string. "lab" with the next full retrain (README: Waiting for the next full retrain).
KEYED_AS = "figures"
# Library versions enter keys at major-version granularity: a result made with torch 2.11
# on the GPU machine stays fresh under torch 2.13 on CPU, but a torch 3 recomputes everything.
KEY_LIBRARIES = ("torch", "numpy")
# The part of lab.data that decides what a network sees (the networks' keys hash it too).
DATA_BATCHING = ("Loader", "augment", "normalize", "spread", "subset", "MEAN", "STD")
# Modules an experiment's key takes only part of, {module: definitions hashed}; their imports
# are not followed. () = none of it.
NARROWED: dict[str, tuple[str, ...]] = {
    "lab.data": DATA_BATCHING,          # decoding and finding the data rerun nothing
    "lab.experiments.profiles": (),     # its values are in the config: a new profile reruns nothing
}
BOOKKEEPING = ("lab.keys", "lab.store", "lab.provenance", "lab.paths")


class MissingSource(KeyError):
    """A module or definition that a key is to hash does not exist: the declaring author's mistake."""


def keyed_name(name: str) -> str:
    """A project module's name as keys spell it: lab.train -> figures.train."""
    if name == PROJECT or name.startswith(PROJECT + "."):
        return KEYED_AS + name[len(PROJECT):]
    return name


def keyed_sources(sources: dict[str, str]) -> dict[str, str]:
    """{module: hash} as a key hashes it: each module by its keyed_name."""
    return {keyed_name(m): h for m, h in sources.items()}


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def locate(module: str) -> Path | None:
    """The source file of `module` (a package's __init__.py), found without importing it
    or its packages (lab.models would import torch); a package already imported is
    searched along its __path__, which holds a project's own experiments and plots."""
    parent, _, leaf = module.rpartition(".")
    if not parent:
        spec = importlib.util.find_spec(module)
        return Path(spec.origin) if spec is not None and spec.origin not in (None, "built-in", "frozen") else None
    pkg = sys.modules.get(parent)
    if pkg is not None and hasattr(pkg, "__path__"):
        dirs = [Path(d) for d in pkg.__path__]
    else:
        init = locate(parent)
        dirs = [init.parent] if init is not None and init.name == "__init__.py" else []
    for d in dirs:
        for candidate in (d / leaf / "__init__.py", d / f"{leaf}.py"):
            if candidate.is_file():
                return candidate
    return None


def module_source_hash(module_name: str, names: Iterable[str] | None = None) -> str:
    """Hash of what a module's code *does*: its normalised syntax tree, or that of
    every .py file of a package; with `names`, only those top-level definitions.
    Read from disk without importing, so checking freshness stays cheap and always
    sees the file as it is now."""
    origin = locate(module_name)
    if origin is None:
        raise MissingSource(f"module {module_name} declared by an experiment does not exist")
    files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    h = hashlib.sha256()
    for f in files:
        if "__pycache__" not in f.parts:
            tree = file_tree(f, names)
            h.update(f.relative_to(origin.parent).as_posix().encode() + b"\0" + tree.encode() + b"\0")
    return h.hexdigest()


def file_tree(path: Path, names: Iterable[str] | None = None) -> str:
    """code_tree of the file at `path`, parsed once for as long as the file stays as it is
    (a plan asks for the same files once per experiment and network)."""
    stat = path.stat()
    return _file_tree(str(path), stat.st_mtime_ns, stat.st_size, None if names is None else tuple(names))


@functools.lru_cache(maxsize=256)
def _file_tree(path: str, _mtime: int, _size: int, names: tuple[str, ...] | None) -> str:
    return code_tree(Path(path).read_text(encoding="utf-8"), names)


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
    return repr(keyed_name(node) if isinstance(node, str) else node)


def imports(module: str) -> list[str]:
    """The project modules `module` imports anywhere in its source (inside functions too),
    with the packages they run on the way (`lab.models.resnet` runs `lab.models`)."""
    path = locate(module)
    if path is None:
        return []
    stat = path.stat()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for name in _named(package, str(path), stat.st_mtime_ns, stat.st_size):
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix != module and locate(prefix) is not None:
                out.add(prefix)
    return sorted(out)


@functools.lru_cache(maxsize=1024)
def _named(package: str, path: str, _mtime: int, _size: int) -> tuple[str, ...]:
    """Every project name an import statement of `path` names: a module, or a name in one."""
    named: set[str] = set()
    for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            named.add(base)
            named.update(f"{base}.{a.name}" for a in node.names)  # a submodule, or a name in base
    return tuple(sorted(n for n in named if n.split(".")[0] == PROJECT))


def closure(modules: Iterable[str]) -> list[str]:
    """`modules` and every project module they import, transitively; the walk neither
    enters a narrowed module's imports nor goes past a bookkeeping module."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        mod = todo.pop()
        if mod in seen or mod in BOOKKEEPING:
            continue
        seen.add(mod)
        if mod not in NARROWED:
            todo += imports(mod)
    return sorted(seen)


def source_hashes(modules: Iterable[str]) -> dict[str, str]:
    """{module: syntax-tree hash} of `modules` and all they import: each file by itself (a
    package: its __init__.py), the narrowed ones by their named definitions."""
    out = {}
    for mod in closure(modules):
        if mod in NARROWED:
            if NARROWED[mod]:
                out[mod] = module_source_hash(mod, NARROWED[mod])
            continue
        path = locate(mod)
        if path is None:
            raise MissingSource(f"module {mod} declared by an experiment does not exist")
        out[mod] = sha256(file_tree(path))
    return out


def library_versions(names: Iterable[str] = KEY_LIBRARIES, major_only: bool = True) -> dict[str, str]:
    out = {}
    for name in names:
        v = library_version(name)
        out[name] = v.split(".")[0] if major_only else v
    return out


@functools.lru_cache(maxsize=None)
def library_version(name: str) -> str:
    """An installed distribution's version, "absent" if none (read once a process: the
    metadata scan is slow); every version a key or a stamp records comes from here."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def module_files(modules: Iterable[str]) -> list[Path]:
    """The source files of `modules` (a package: all its .py files)."""
    files: list[Path] = []
    for name in modules:
        origin = locate(name)
        if origin is not None:
            files += sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    return files


def result_key(experiment: str, config: dict, modules: Iterable[str]) -> str:
    """The hash that decides whether a stored result is still valid: its config, the code of
    `modules` (the experiment's own, and any it declares) and of all they import."""
    parts = {
        "experiment": experiment,
        "config": config,
        "sources": keyed_sources(source_hashes(sorted(set(modules)))),
        "libraries": library_versions(),
    }
    return sha256(canonical_json(parts))
