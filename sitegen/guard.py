"""The committed networks (lab/weights), guarded: they are hours of training.

Before the run phase, every file MANIFEST.json lists must be there, byte for byte
as its sha256 says: a damaged, edited or deleted network is reported with the
command that restores it, never taken for absent and retrained. The frozen build
(CI) checks this always, any other build where its profile uses committed weights.
And a build that would train committed networks asks first on a terminal, or
refuses with the command that trains them (`build.py train`, `build.py figures`):
the serve loop asks on its own and passes train=True.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .errors import BuildError, find_line
from .project import Project


def check(project: Project, stale: list, *, frozen: bool, train: bool | None) -> None:
    """Verify the committed networks; then, unless frozen, may `stale` train any (see consent)?"""
    profile = project.config.profile
    if frozen or committed(profile):
        verify_weights(profile)
    if stale and not frozen:
        consent(project, stale, train)


def committed(profile: str) -> bool:
    """Are `profile`'s networks the committed ones (else the quick profile's local model cache)?"""
    from lab.experiments.profiles import RECIPES

    return RECIPES.get(profile, {}).get("data") != "synthetic"


def verify_weights(profile: str) -> None:
    """Every network MANIFEST.json lists is there, byte for byte as its sha256 says."""
    from lab import paths, weights
    from lab.store import sha256

    folder = Path(paths.WEIGHTS)
    manifest = folder / weights.MANIFEST
    rel = f"{folder.parent.name}/{folder.name}"
    if not manifest.is_file():
        if any(folder.glob("*.pt")):
            raise BuildError(f"{rel} holds networks but no {weights.MANIFEST}; restore it with "
                             f"`git checkout -- {rel}/{weights.MANIFEST}`", manifest)
        return
    text = manifest.read_text(encoding="utf-8", errors="replace")
    try:
        entries = json.loads(text)
    except ValueError as e:
        raise BuildError(f"not valid JSON ({getattr(e, 'msg', e)}); restore it with `git checkout -- "
                         f"{rel}/{weights.MANIFEST}`", manifest, getattr(e, "lineno", None)) from None
    for fname, entry in sorted(entries.items() if isinstance(entries, dict) else ()):
        path = folder / fname
        if not path.is_file():
            problem = "is missing (deleted?)"
        elif sha256(path.read_bytes()) != (entry or {}).get("sha256"):
            problem = "does not match its sha256 (damaged or edited)"
        else:
            continue
        name = (entry or {}).get("name", fname.rsplit("-", 1)[0])
        raise BuildError(f"committed network {rel}/{fname} {problem}; restore it with `git checkout -- {rel}/{fname}` "
                         f"or retrain it with `python build.py train --only {name} --profile {profile}`",
                         manifest, find_line(text, f'"{fname}"'))


def consent(project: Project, stale: list, train: bool | None) -> None:
    """Running `stale` must not train committed networks unasked: ask on a terminal, else refuse."""
    profile = project.config.profile
    if train or not committed(profile):
        return
    from lab import campaign
    from lab.experiments import REGISTRY

    # the seeds the stale experiments analyse (an experiment may analyse more than the
    # profile's default): the campaign may still be training the others
    analysed = {seed for s in stale if s.name in REGISTRY for seed in REGISTRY[s.name].seeds(profile)}
    todo = [s for s in campaign.network_states(profile, root=project.root)
            if s.state != "trained" and s.seed in analysed]
    if not todo:
        return
    names = [f"{s.name}{f' seed {s.seed}' if s.seed else ''} ({s.state})" for s in todo]
    listing = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    question = (f"the stale experiments ({', '.join(s.name for s in stale)}) may train networks that lab/weights "
                f"does not hold: {listing}; training rewrites the committed weights")
    if train is None and sys.stdin is not None and sys.stdin.isatty():
        if input(f"{question}\ntrain them now? [y/N] ").strip().lower() in ("y", "yes"):
            return
    raise BuildError(f"{question}; not without asking: train them with `python build.py train --profile {profile}` "
                     f"(--commit commits each), or run the experiments with `python build.py figures --profile "
                     f"{profile}`, then build again", Path("lab") / "weights")
