"""Is anything to be done? The site's input fingerprint (the no-op check), and
which experiments a build needs and whether their stored results are fresh,
answered without importing torch or matplotlib when no Python source changed.

A project may bring its own experiments and plots: <root>/figures/experiments
and <root>/figures/plots join the packages' search paths (the benchmark and the
tests register small experiments that way).

Registration (each experiment's config per profile and its module list) is a
pure function of the Python sources under figures/, so it is cached on disk by
their content hash; the result key is then computed exactly as figures.runner
does, and only a source change pays for importing the experiment modules.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.util
import json
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import BuildError, find_line

if TYPE_CHECKING:  # figures.store imports numpy: not for a no-op build
    from figures.store import ResultStore

    from .project import Project

PACKAGES = ("figures.experiments", "figures.plots")
FINGERPRINT_DIRS = ("content", "templates", "sitegen", "figures")


def input_fingerprint(project: Project, extra: dict) -> str:
    """Hash of every input file (name, size, mtime and content), of the tools and of
    the git commit; equal fingerprints mean an identical site."""
    from figures.store import git_commit  # the page states it: a new commit rebuilds the page

    tools = {"python": sys.version, "pandoc": _pandoc_binary_stat(), "commit": git_commit(project.root),
             # any pip install or removal changes the site-packages folder's mtime
             "packages": _stat(Path(importlib.util.find_spec("jinja2").origin).parent.parent)}
    h = hashlib.sha256(json.dumps([extra, tools], sort_keys=True).encode())
    repo = Path(__file__).resolve().parent.parent
    roots = [project.root / d for d in FINGERPRINT_DIRS] + [repo / "sitegen", repo / "figures"]
    for root in dict.fromkeys(roots):
        if not root.exists():
            continue
        for p in sorted(root.rglob("*")):
            # in-progress training checkpoints change every epoch and are no input of the page
            if p.is_file() and "__pycache__" not in p.parts and "partial" not in p.parts:
                h.update(f"{p}:{_stat(p)}\n".encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def site_digest(site: Path) -> str:
    """What is in site/ now, so a hand-edited or damaged site is rebuilt."""
    if not site.is_dir():
        return ""
    listing = "".join(f"{p.relative_to(site)}:{_stat(p)}\n" for p in sorted(site.rglob("*")) if p.is_file())
    return hashlib.sha256(listing.encode()).hexdigest()


def _stat(p: Path) -> str:
    st = p.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _pandoc_binary_stat() -> str:
    """The bundled pandoc's size and mtime, found without importing pypandoc."""
    spec = importlib.util.find_spec("pypandoc")
    exe = Path(spec.origin).parent / "files" / "pandoc" if spec and spec.origin else None
    return _stat(exe) if exe and exe.exists() else "absent"


def use_project_modules(root: Path) -> None:
    """Search <root>/figures/{experiments,plots} too, and forget another project's modules."""
    changed = False
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        base = Path(pkg.__file__).parent
        local = root / "figures" / base.name
        paths = [str(base)] + ([str(local)] if local.is_dir() and local.resolve() != base.resolve() else [])
        if list(pkg.__path__) != paths:
            pkg.__path__[:] = paths
            changed = True
    if not changed:
        return
    importlib.invalidate_caches()
    allowed = tuple(p for name in PACKAGES for p in importlib.import_module(name).__path__)
    for mod in [m for m in sys.modules if m.startswith(tuple(p + "." for p in PACKAGES))]:
        if not str(getattr(sys.modules[mod], "__file__", "") or "").startswith(allowed):
            del sys.modules[mod]
    from figures import experiments

    for key in [k for k, e in experiments.REGISTRY.items() if e.run.__module__ not in sys.modules]:
        del experiments.REGISTRY[key]


def source_files() -> list[Path]:
    """Every Python file the experiments' registration can depend on."""
    import figures

    roots = [Path(figures.__file__).parent] + [
        Path(p) for name in PACKAGES for p in importlib.import_module(name).__path__[1:]]
    files = []
    for root in roots:
        files += [p for p in root.rglob("*.py") if "__pycache__" not in p.parts and "results" not in p.parts]
    return sorted(files)


def sources_digest() -> str:
    h = hashlib.sha256()
    for p in source_files():
        h.update(str(p).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def plot_experiment(name: str) -> str:
    """EXPERIMENT of plot module `name`, read from its source (no matplotlib import)."""
    from figures import plots

    spec = importlib.util.find_spec(f"figures.plots.{name}")
    if spec is None or spec.origin is None:
        raise BuildError(f"unknown figure {name!r}; known: {', '.join(plots.names()) or 'none'}")
    experiment = _literal_experiment(spec.origin, Path(spec.origin).stat().st_mtime_ns)
    if experiment is None:
        experiment = getattr(load_plot(name), "EXPERIMENT", None)
    if not isinstance(experiment, str):
        raise BuildError("a plot module needs EXPERIMENT = \"<experiment name>\"", spec.origin, 1)
    return experiment


def load_plot(name: str):
    """figures.plots.<name>, imported; a mistake in it is its author's, named with its line."""
    from figures import plots

    try:
        return plots.get(name)
    except KeyError:
        raise BuildError(f"unknown figure {name!r}; known: {', '.join(plots.names()) or 'none'}") from None
    except Exception as e:
        raise import_error(e, f"plot module {name}") from None


def import_error(e: BaseException, what: str) -> BuildError:
    """`file:line: ...` for an exception raised while importing an author's module."""
    if isinstance(e, SyntaxError):
        return BuildError(f"{what}: {type(e).__name__}: {e.msg}", e.filename, e.lineno)
    frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith("<")]
    last = frames[-1] if frames else None
    return BuildError(f"{what} fails to import: {type(e).__name__}: {e}",
                      last.filename if last else None, last.lineno if last else None)


@functools.lru_cache(maxsize=256)
def _literal_experiment(path: str, _mtime: int) -> str | None:
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except SyntaxError:
        return None  # importing it reports the error with its line
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "EXPERIMENT" for t in node.targets)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    return None


def registration(cache: Path) -> dict[str, dict]:
    """{name: {modules, configs: {profile: dict}, estimate_s}} for every experiment."""
    digest = sources_digest()
    path = cache / f"registry-{digest[:24]}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    from figures import experiments

    try:
        loaded = experiments.load_all()
    except SyntaxError as e:
        raise import_error(e, "experiment module") from None
    reg = {}
    for name, exp in sorted(loaded.items()):
        reg[name] = {"modules": list(exp.modules), "estimate_s": exp.estimate_s,
                     "configs": {p: exp.config_dict(p) for p in exp.profiles}}
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob("registry-*.json"):
        old.unlink(missing_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(reg, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return reg


def status(store: ResultStore, names: list[str], profile: str, cache: Path, force: frozenset | set = frozenset()):
    """figures.runner.status, from the cached registration; the estimates of the stale (and
    `force`d) ones include training the shared networks the model cache lacks."""
    from figures.runner import Status, changed_networks

    reg = registration(cache)
    out = []
    counted: set[str] = set()  # a shared network is trained once, by the first experiment that needs it
    seconds: dict[str, float] | None = None
    for name in names:
        if name not in reg:
            from figures import experiments

            experiments.get(name)  # the one-line "unknown experiment" error
        entry = reg[name]
        if profile not in entry["configs"]:
            raise BuildError(f"experiment {name} has no profile {profile!r}")
        from figures.store import result_key

        try:
            key = result_key(name, {"profile": profile, **entry["configs"][profile]}, entry["modules"])
        except KeyError as e:  # a declared module or definition that does not exist
            raise BuildError(f"experiment {name}: {e.args[0]}") from None
        stored = store.load(name, profile)
        changed = changed_networks(stored) if stored is not None and stored.key == key else []
        if stored is not None and stored.key == key and not changed:
            reason, fresh = "fresh", True
        elif changed:
            reason, fresh = f"networks changed: {', '.join(changed)}", False
        elif stored is not None:
            reason, fresh = "code or config changed", False
        elif (store.folder(name, profile) / "result.json").exists():
            reason, fresh = "corrupt (checksum mismatch)", False
        else:
            reason, fresh = "missing", False
        prev = stored.provenance.get("wall_time_s") if stored else None
        estimate = float(prev or entry["estimate_s"].get(profile, 60.0))
        missing = [n for n in _untrained(stored, cache / "models") if n not in counted] if stored and (not fresh or name in force) else []
        if missing:
            # the stored wall time may have found these networks trained: they must be trained first
            seconds = _train_seconds(store, reg, profile) if seconds is None else seconds
            counted.update(missing)
            extra = sum(seconds.get(n, 0.0) for n in missing)
            estimate += extra
            reason += f"; trains {', '.join(missing)} first (~{extra / 60:.0f} min)"
        out.append(Status(name, profile, key, fresh, reason, estimate))
    return out


def corrupt_result(store: ResultStore, s) -> BuildError:
    """A result.json that fails its checksum: hand-edited or damaged. Rerunning it may
    mean hours of training, so the build stops and says how, instead of doing it."""
    path = store.folder(s.name, s.profile) / "result.json"
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        json.loads(text)
        line, what = find_line(text, '"checksum"') or 1, "does not match its checksum (edited by hand?)"
    except ValueError as e:
        line, what = getattr(e, "lineno", 1), f"is not valid JSON ({getattr(e, 'msg', e)})"
    return BuildError(f"stored result {s.name} [{s.profile}] {what}; restore it (`git checkout -- {path.name}` "
                      f"in its folder) or recompute it with `python build.py figures --force {s.name} "
                      f"--profile {s.profile}`", path, line)


def _untrained(stored, models: Path) -> list[str]:
    """The shared networks a result was made from that neither the committed weights
    nor the local model cache hold."""
    from figures.weights import ROOT

    out = []
    for item in filter(None, str(stored.provenance.get("models", "")).split(", ")):
        net, _, key = item.partition(" ")
        if not any(d.is_dir() and any(d.glob(f"{net}-{key}*.pt")) for d in (models, ROOT)):
            out.append(net)
    return out


def _train_seconds(store: ResultStore, reg: dict, profile: str) -> dict[str, float]:
    """How long each network took to train, as recorded by any stored result of `profile`."""
    seconds: dict[str, float] = {}
    for name in sorted(reg):
        stored = store.load(name, profile)
        for net, m in (stored.metrics.items() if stored else ()):
            if isinstance(m, dict) and isinstance(m.get("train_seconds"), (int, float)):
                seconds.setdefault(net, float(m["train_seconds"]))
    return seconds


def forget_modules() -> None:
    """Drop the imported experiments, models and plots, so that a long-running
    preview imports them afresh from the edited files (the packages stay)."""
    keep = {"figures", "figures.store", "figures.config", "figures.runner", *PACKAGES}
    for mod in [m for m in sys.modules if m.startswith("figures.") and m not in keep]:
        del sys.modules[mod]
    from figures import experiments

    experiments.REGISTRY.clear()
    importlib.invalidate_caches()
