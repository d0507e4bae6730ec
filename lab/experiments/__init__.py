"""The experiment registry: every experiment is a pure function of its config.

    @register("gradient_flow", Config, modules=[...], profiles={...})
    def run(cfg: Config, ctx: Context) -> Output: ...

Every experiment has the `quick` profile (seconds, synthetic data, for tests);
the project's own experiments take theirs from `lab.experiments.profiles`,
which names each profile for what it is. A profile is a dict of overrides on
the config dataclass.
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

from lab.config import from_dict, to_dict
from lab.experiments.profiles import RECIPES

# the profiles' names (quick, cifar10-10ep, paper, cifar10-Nep); their table is
# lab.experiments.profiles.PROFILES, a dict of each experiment's overrides
PROFILE_NAMES = tuple(RECIPES)


@dataclass
class Output:
    """What an experiment returns: small JSON-able numbers and optional arrays."""
    metrics: dict[str, Any]                       # headline numbers, quoted in prose
    data: dict[str, Any] = field(default_factory=dict)      # series for figures and charts
    arrays: dict[str, Any] = field(default_factory=dict)    # numpy arrays (images, grids)


@dataclass
class Context:
    """What the runner hands an experiment besides its config."""
    device: str = "cpu"
    progress: bool = True
    workdir: Any = None           # folder for checkpoints (Path), kept across interruptions
    models: Any = None            # local cache of trained networks (Path), e.g. .cache/models
    weights: Any = None           # committed trained networks (Path), lab/weights
    facts: dict[str, Any] = field(default_factory=dict)  # provenance an experiment adds (data variant)


@dataclass(frozen=True)
class Experiment:
    name: str
    run: Callable[[Any, Context], Output]
    config_cls: type
    profiles: dict[str, dict]
    modules: tuple[str, ...]
    estimate_s: dict[str, float]   # rough wall time per profile (s), for "what will run"
    description: str

    def config(self, profile: str) -> Any:
        if profile not in self.profiles:
            raise KeyError(f"experiment {self.name} has no profile {profile!r}")
        over = {k: v for k, v in self.profiles[profile].items() if k != "seeds"}
        return from_dict(self.config_cls, over, f"{self.name}[{profile}]")

    def seeds(self, profile: str) -> list[int]:
        """The seeds whose networks the experiment analyses under `profile`, one run each
        (lab.spread merges them); [0] for an experiment without a recipe."""
        if profile not in self.profiles:
            raise KeyError(f"experiment {self.name} has no profile {profile!r}")
        has_recipe = "recipe" in {f.name for f in dataclasses.fields(self.config_cls)}
        return [int(s) for s in self.profiles[profile].get("seeds") or [0]] if has_recipe else [0]

    def config_dict(self, profile: str) -> dict:
        """The config as its result's key sees it: with the seeds unless they are just [0],
        so that results made before seeds were a dimension keep their keys."""
        seeds = self.seeds(profile)
        return to_dict(self.config(profile)) | ({"seeds": seeds} if seeds != [0] else {})


REGISTRY: dict[str, Experiment] = {}


def register(name: str, config_cls: type, *, profiles: dict[str, dict],
             modules: tuple[str, ...] | list[str] = (), estimate_s: dict[str, float] | None = None):
    if "quick" not in profiles:
        raise ValueError(f"experiment {name} lacks the quick profile (the tests run it)")

    def wrap(fn: Callable[[Any, Context], Output]) -> Callable[[Any, Context], Output]:
        own = fn.__module__
        REGISTRY[name] = Experiment(
            name=name, run=fn, config_cls=config_cls, profiles=profiles,
            modules=tuple(sorted({own, "lab.experiments.common", *modules})),
            estimate_s=dict(estimate_s or {}), description=(fn.__doc__ or "").strip().split("\n")[0],
        )
        return fn

    return wrap


def load_all() -> dict[str, Experiment]:
    """Import every module in this package so that each registers itself."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return REGISTRY


def get(name: str) -> Experiment:
    load_all()
    if name not in REGISTRY:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]
