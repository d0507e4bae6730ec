"""Train a profile's reference networks, each one a job, and keep each one as it ends.

    python build.py train --profile cifar10-10ep            train what is missing
    python build.py train --profile cifar10-10ep --commit   ... and git-commit each network
    python build.py train --profile cifar10-10ep --list     what is trained, missing or stale
    python build.py train --profile cifar10-10ep --executor local --jobs 2   two at once
    python build.py train --prune    delete stored networks that no profile's code keys any more

A campaign is longer than one sitting and the machine can be stopped at any
moment. Each network checkpoints after every epoch (lab/weights/partial/),
so a restarted campaign goes on from the last epoch; with `--commit` each
finished network's weights and manifest entry are committed at once, so the
next session starts from what is in git and trains only what is missing.
Where the jobs run is the executor's business (lab.executors).
"""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lab import names as net_names, paths
from lab.experiments.profiles import NETWORKS, RECIPES, SEEDS
from lab.paths import REPO
from lab.weights import MANIFEST, WeightStore, file_name, model_key

EVAL_SHARE = 1.08  # an epoch's test pass and probe, on top of its training steps (scripts/gpu_run.py too)


@dataclass(frozen=True)
class NetworkState:
    name: str
    seed: int
    key: str
    state: str        # "trained", "missing", "stale" (trained once, under another key), "partial"
    detail: str       # cost when trained, or the estimate to train
    seconds: float    # measured training time, or the estimate (s)


def recipes(profile: str) -> dict[int, dict]:
    """{seed: recipe dict} of `profile`: its shared recipe once per seed it names."""
    return {seed: {**RECIPES[profile], "seed": seed} for seed in SEEDS.get(profile, [0])}


def network_states(profile: str, store: WeightStore | None = None, root: Path = REPO,
                   precision: str | None = None) -> list[NetworkState]:
    """Every network of `profile` and seed, in campaign order (network by network, each
    one's seeds together), with what it cost or will cost at `precision` (this machine's)."""
    store = store or profile_store(profile, root)
    manifest = store.manifest()
    by_name: dict[str, list[dict]] = {}
    for entry in manifest.values():
        by_name.setdefault(entry["name"], []).append(entry)
    precision = precision or _precision_here()
    rates = _images_per_second(manifest, precision)
    out = []
    for name in NETWORKS[profile]:
        for seed, recipe in recipes(profile).items():
            out.append(_state(name, seed, recipe, store, manifest, by_name, rates, precision))
    return out


def _precision_here() -> str:
    from lab.train import default_device, precision

    return precision(default_device())


def _state(name: str, seed: int, recipe_dict: dict, store: WeightStore, manifest: dict,
           by_name: dict, rates: dict, precision: str) -> NetworkState:
    from lab.config import from_dict
    from lab.networks import Recipe

    recipe = from_dict(Recipe, recipe_dict)
    key = model_key(name, recipe)
    fname = file_name(name, key)
    if fname in manifest and store.has(name, key):
        e = manifest[fname]
        return NetworkState(name, seed, key, "trained", _cost(e), float(e.get("train_seconds", 0)))
    n_train = recipe.n_train or 50_000
    rate = rates.get(name) or rates.get(net_names.family(name)) or 0.0
    estimate = recipe.epochs * n_train / rate * EVAL_SHARE if rate else 0.0
    partial = (store.root / "partial" / fname.replace(".pt", ".ckpt")).exists()
    same_recipe = [e for e in by_name.get(name, []) if e.get("recipe") == _recipe_dict(recipe)]
    state = "partial" if partial else ("stale" if same_recipe else "missing")
    guess = f"~{estimate / 60:.0f} min at {rate:.0f} img/s {precision}" if rate else "no measured speed yet"
    return NetworkState(name, seed, key, state, guess, estimate)


def _recipe_dict(recipe) -> dict:
    import dataclasses

    return dataclasses.asdict(recipe)


def _cost(entry: dict) -> str:
    prec = "/".join(entry.get("precision", [])) or "?"
    hosts = "; ".join(entry.get("hosts", [])) or entry.get("device", "?")
    final = entry.get("final") or {}
    err = final.get("test_error")
    return (f"{entry.get('epochs')} epochs in {entry.get('train_seconds', 0) / 60:.0f} min, "
            f"{entry.get('images_per_second', 0):.0f} img/s, {prec} on {hosts}"
            + (f", test error {100 * err:.1f}%" if err is not None else ""))


def _images_per_second(manifest: dict, precision: str | None = None) -> dict[str, float]:
    """Training speed by network and family for estimates, as measured at `precision`. A
    speed seen only at the other precision (bf16 is ~5x fp32 on a CPU with native bf16) is
    scaled by the ratio of the families measured at both, else taken as it is."""
    same = [e for e in manifest.values() if precision is None or e.get("precision") == [precision]]
    other = [e for e in manifest.values() if e not in same]
    here, there = _rates(same), _rates(other)
    both = [here[f] / there[f] for f in here.keys() & there.keys() if not net_names.depth(f)]
    scale = _median(both) if both else 1.0
    return {**{n: r * scale for n, r in there.items()}, **here}


def _rates(entries: list[dict]) -> dict[str, float]:
    """The median measured speed of each network, and of each family per layer (speeds
    vary with the machine's load): a 56-layer net of a family is estimated from the
    family's depth-scaled speed."""
    seen: dict[str, list[float]] = {}
    for e in entries:
        ips = float(e.get("images_per_second") or 0)
        if ips:  # any batch size: a rough guess beats none
            seen.setdefault(e["name"], []).append(ips)
            if net_names.depth(e["name"]):  # per-layer cost roughly constant: speed ~ 1/depth
                seen.setdefault(net_names.family(e["name"]), []).append(ips * net_names.depth(e["name"]))
    rates = {name: _median(v) for name, v in seen.items()}
    for name in list(NETWORKS.get("cifar10-10ep", [])) + list(NETWORKS.get("paper", [])):
        if name not in rates and net_names.family(name) in rates:
            rates[name] = rates[net_names.family(name)] / (net_names.depth(name) or 1)
    return rates


def _median(values: list[float]) -> float:
    v = sorted(values)
    return (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2


def report(profile: str, store: WeightStore | None = None, root: Path = REPO) -> str:
    """A Markdown table, a row per network and seed and a row of each network's mean ± sd:
    final training and test error, wall time, speed, precision and processor, and He et
    al.'s Table 6 number where there is one (the campaign's closing note)."""
    from lab.experiments.depth_sweep import PAPER_TEST_ERROR
    from lab.spread import summarize

    store = store or profile_store(profile, root)
    manifest = store.manifest()
    lines = ["| network | seed | train err | test err | wall | img/s | precision | CPU | paper test |",
             "|---|---|---|---|---|---|---|---|---|"]
    by_name: dict[str, list[NetworkState]] = {}
    for s in network_states(profile, store, root):
        by_name.setdefault(s.name, []).append(s)
    for name, states in by_name.items():
        paper = f"{100 * PAPER_TEST_ERROR[name]:.2f} %" if name in PAPER_TEST_ERROR else "–"
        finals = []
        for s in states:
            e = manifest.get(file_name(name, s.key)) if s.state == "trained" else None
            if e is None:
                lines.append(f"| {name} | {s.seed} | {s.state} | | | | | | {paper} |")
                continue
            final = e.get("final") or {}
            finals.append((final.get("train_error"), final.get("test_error")))
            lines.append(f"| {name} | {s.seed} | {_pct(final.get('train_error'))} | {_pct(final.get('test_error'))} "
                         f"| {e.get('train_seconds', 0) / 60:.0f} min | {e.get('images_per_second', 0):.0f} "
                         f"| {'/'.join(e.get('precision', []))} | {'; '.join(e.get('hosts', []))} | {paper} |")
        if len(finals) > 1:
            seeds = list(range(len(finals)))
            tr, te = (summarize([f[i] for f in finals], seeds) for i in (0, 1))
            lines.append(f"| **{name}** | mean ± sd (n = {len(finals)}) | {_pct(tr['mean'])} ± {_pct(tr['sd'])} "
                         f"| {_pct(te['mean'])} ± {_pct(te['sd'])} | | | | | {paper} |")
    return "\n".join(lines)


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def profile_store(profile: str, root: Path = REPO) -> WeightStore:
    """Where `profile`'s networks are kept: the committed weights, or for synthetic data
    (the quick profile) the project's model cache; lab.experiments.trained decides."""
    from lab.config import from_dict
    from lab.experiments.trained import store_for
    from lab.jobs import context
    from lab.networks import Recipe

    return store_for(from_dict(Recipe, RECIPES[profile]), context(root))


def missing_jobs(profile: str, names: list[str] | None = None, root: Path = REPO,
                 progress: bool = False, log=None) -> list:
    """A job for each network of `profile` not trained yet (of `names`, if given)."""
    from lab.jobs import network_job

    todo = [s for s in network_states(profile, root=root) if s.state != "trained" and (not names or s.name in names)]
    for s in todo if log else ():
        log(f"to train: {s.name} seed {s.seed} ({profile}, {s.state}; {s.detail})")
    return [network_job(s.name, recipes(profile)[s.seed], root, progress) for s in todo]


def train_missing(profile: str, names: list[str] | None = None, commit: bool = False,
                  progress: bool = True, log=print, executor=None, root: Path = REPO) -> list:
    """Train the networks of `profile` that are not trained yet, on `executor` (default:
    one at a time in this process), committing each as it ends; returns the Outcomes."""
    from lab import executors

    executor = executor or executors.InProcess(paths.jobs(root))
    in_git = profile_store(profile, root).root == paths.WEIGHTS  # the quick profile's cache is not committed
    jobs = missing_jobs(profile, names, root, progress and executor.slots == 1, log)

    def keep(outcome) -> None:
        if commit and in_git and outcome.ok:
            _commit(outcome.job.name, outcome.job.key, profile, log)

    return executors.run(executor, jobs, log=log, on_done=keep, progress=progress)


def prune(store: WeightStore | None = None) -> list[str]:
    """Delete stored networks (and in-progress checkpoints) whose key no profile's
    current code gives: after a model edit they are stale for good, and the
    committed set has to stay small."""
    from lab.config import from_dict
    from lab.networks import Recipe

    store = store or WeightStore(paths.WEIGHTS)
    keep = {file_name(name, model_key(name, from_dict(Recipe, recipe)))
            for profile in NETWORKS if profile in RECIPES for name in NETWORKS[profile]
            for recipe in recipes(profile).values()}
    gone = store.prune(keep)
    partial = store.root / "partial"
    for ckpt in sorted(partial.glob("*.ckpt")) if partial.is_dir() else ():
        if ckpt.name.replace(".ckpt", ".pt") not in keep:
            ckpt.unlink()
            ckpt.with_suffix(".probes.json").unlink(missing_ok=True)
            gone.append(ckpt.name)
    return gone


def _commit(name: str, key: str, profile: str, log) -> None:
    """Commit this network's file and the manifest, and nothing else that may be staged."""
    repo = REPO
    files = [str(paths.WEIGHTS / file_name(name, key)), str(paths.WEIGHTS / MANIFEST)]
    # its in-progress checkpoint, committed so that another session could resume, is gone now:
    # its removal is staged with `git rm --cached`, which (unlike `git add`) a retry may repeat
    ckpt = paths.WEIGHTS / "partial" / file_name(name, key).replace(".pt", ".ckpt")
    gone = [str(p) for p in (ckpt, ckpt.with_suffix(".probes.json")) if not p.exists()
            and subprocess.run(["git", "ls-tree", "--name-only", "HEAD", "--", str(p)], cwd=repo,
                               capture_output=True, text=True).stdout.strip()]
    entry = WeightStore(paths.WEIGHTS).manifest().get(file_name(name, key), {})
    seed = (entry.get("recipe") or {}).get("seed", 0)
    msg = f"Trained {name} seed {seed} ({profile}): {_cost(entry)}"
    why = [""]
    for attempt in range(10):  # another git command (a test, a helper) may hold the index lock a while
        add = subprocess.run(["git", "add", "--", *files], cwd=repo, capture_output=True, text=True)
        if add.returncode == 0 and gone:
            add = subprocess.run(["git", "rm", "-q", "--cached", "--ignore-unmatch", "--", *gone], cwd=repo,
                                 capture_output=True, text=True)
        commit = add if add.returncode else subprocess.run(
            ["git", "commit", "-q", "-m", msg, "--", *files, *gone], cwd=repo, capture_output=True, text=True)
        if commit.returncode == 0:
            log(f"committed {Path(files[0]).name}")
            return
        why = (commit.stderr or commit.stdout).strip().splitlines()[-1:] or [""]
        time.sleep(2 + 3 * attempt)  # about 2.5 min in all
    log(f"could not commit {Path(files[0]).name} ({why[0]}): commit it by hand")
