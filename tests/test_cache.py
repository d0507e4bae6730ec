"""The results cache: keys, staleness, exact recomputation, frozen mode, corruption."""
from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import dataclass

import pytest

from lab import experiments, runner
from lab.experiments import Context, Output, register
from lab.store import ResultStore
from sitegen.errors import BuildError
from sitegen.build import build
from sitegen.project import load_project


@dataclass(frozen=True)
class TinyConfig:
    scale: float = 1.0   # multiplier (unitless)
    seed: int = 0        # seed


@pytest.fixture
def two_experiments(tmp_path, monkeypatch):
    """Experiments `exp_a` and `exp_b`, each depending on its own module file."""
    pkg = tmp_path / "mods"
    pkg.mkdir()
    for name in ("dep_a", "dep_b"):
        (pkg / f"{name}.py").write_text(f"VALUE = 1.0  # {name}\n")
    monkeypatch.syspath_prepend(str(pkg))
    calls = []

    def make(name, dep):
        @register(name, TinyConfig, modules=(dep,),
                  profiles={"quick": {}, "cifar10-10ep": {"scale": 2.0}, "paper": {"scale": 3.0}})
        def run(cfg, ctx: Context) -> Output:
            calls.append(name)
            return Output(metrics={"value": cfg.scale})
        return run

    make("exp_a", "dep_a")
    make("exp_b", "dep_b")
    yield pkg, calls
    for name in ("exp_a", "exp_b"):
        experiments.REGISTRY.pop(name, None)
    for mod in ("dep_a", "dep_b"):
        sys.modules.pop(mod, None)


def test_changed_source_recomputes_exactly_the_dependent_result(tmp_path, two_experiments):
    pkg, calls = two_experiments
    store = ResultStore(tmp_path / "results")
    for name in ("exp_a", "exp_b"):
        runner.run_one(store, name, "quick", tmp_path, progress=False)
    assert all(s.fresh for s in runner.status(store, ["exp_a", "exp_b"], "quick"))
    (pkg / "dep_a.py").write_text("VALUE = 2.0  # edited\n")
    states = {s.name: s for s in runner.status(store, ["exp_a", "exp_b"], "quick")}
    assert not states["exp_a"].fresh and states["exp_a"].reason == "code or config changed"
    assert states["exp_b"].fresh


def test_profile_config_is_part_of_the_key(tmp_path, two_experiments):
    store = ResultStore(tmp_path / "results")
    runner.run_one(store, "exp_a", "quick", tmp_path, progress=False)
    assert runner.status(store, ["exp_a"], "quick")[0].fresh
    assert runner.status(store, ["exp_a"], "cifar10-10ep")[0].reason == "missing"


def test_provenance_is_stored(tmp_path, two_experiments):
    store = ResultStore(tmp_path / "results")
    stored = runner.run_one(store, "exp_a", "quick", tmp_path, progress=False)
    p = stored.provenance
    for field in ("code_hash", "commit", "device", "torch", "wall_time_s", "started", "command", "profile"):
        assert field in p, field
    doc = json.loads((tmp_path / "results" / "exp_a" / "quick" / "result.json").read_text())
    assert doc["config"] == {"scale": 1.0, "seed": 0}


@pytest.mark.parametrize("damage", ["truncate", "edit"])
def test_corrupt_result_is_stale(tmp_path, two_experiments, damage):
    store = ResultStore(tmp_path / "results")
    runner.run_one(store, "exp_a", "quick", tmp_path, progress=False)
    path = tmp_path / "results" / "exp_a" / "quick" / "result.json"
    text = path.read_text()
    path.write_text(text[: len(text) // 2] if damage == "truncate" else text.replace('"value": 1.0', '"value": 9.0'))
    state = runner.status(store, ["exp_a"], "quick")[0]
    assert not state.fresh and state.reason.startswith("corrupt")


def test_unknown_config_key_raises():
    from lab.config import ConfigError, from_dict

    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(TinyConfig, {"scale": 1.0, "scael": 2.0})


def test_build_recomputes_changed_model_and_frozen_refuses(project_root, monkeypatch):
    """Through the real build: a changed model file makes gradient_flow stale."""
    import lab.keys as keys_mod

    log = []
    report = build(load_project(project_root), progress=False, log=log.append)
    assert report.ran == ["gradient_flow"]
    report = build(load_project(project_root), progress=False, log=log.append, force=())
    assert report.ran == []

    real = keys_mod.module_source_hash

    def edited(name, names=None):  # as if lab/models/resnet.py had been edited
        return real(name, names) + ("-edited" if name == "lab.models.resnet" else "")

    monkeypatch.setattr(keys_mod, "module_source_hash", edited)
    (project_root / "content" / "02-second.md").touch()  # defeat the no-op shortcut
    with pytest.raises(BuildError, match=r"stale results.*gradient_flow \[quick\]: networks changed: "
                                         r"plain14, plain14@seed1, resnet14, resnet14@seed1; "
                                         r"trains plain14, plain14@seed1, resnet14, resnet14@seed1 first"):
        build(load_project(project_root), frozen=True, progress=False, log=log.append)
    before = ResultStore(load_project(project_root).results).load("gradient_flow", "quick").provenance["started"]
    report = build(load_project(project_root), progress=False, log=log.append)
    assert report.ran == ["gradient_flow"]
    assert any("experiments to run" in m for m in log)
    # its figure, started drawing before the plan from the result then stored, is drawn from the new one
    after = ResultStore(load_project(project_root).results).load("gradient_flow", "quick").provenance["started"]
    page = (project_root / "site" / "index.html").read_text()
    assert after != before and "gradient_flow" in report.figures_drawn and after in page and before not in page


def test_estimate_counts_networks_missing_from_the_model_cache(tmp_path):
    """A stale result made from cached networks says which of them must be trained again."""
    store = ResultStore(tmp_path / "results")
    made = store.save("exp_x", "quick", "k1", {}, {"networks": {"plain20": "a" * 64, "resnet20": "b" * 64},
                                                  "wall_time_s": 5.0},
                      {"resnet20": {"train_seconds": 30.0}, "plain20": {"train_seconds": 40.0}}, {})
    models = tmp_path / "models"
    models.mkdir()
    (models / f"resnet20-{'b' * 16}.pt").write_bytes(b"")
    assert runner.untrained(made, models) == ["plain20"]
    assert runner.train_seconds(store, {"exp_x": {}}, "quick") == {"resnet20": 30.0, "plain20": 40.0}
    (models / f"resnet20-{'b' * 16}.pt").unlink()
    assert runner.untrained(made, models) == ["plain20", "resnet20"]


def test_the_hash_of_a_folder_of_code_does_not_depend_on_where_it_lies(tmp_path):
    from sitegen.cache import source

    for where in ("a/pkg", "b/c/pkg"):
        (tmp_path / where).mkdir(parents=True)
        (tmp_path / where / "m.py").write_text("x = 1\n")
    assert source(tmp_path / "a/pkg") == source(tmp_path / "b/c/pkg")  # a moved checkout hits its caches
    assert source(tmp_path / "a/pkg" / "m.py") == source(tmp_path / "b/c/pkg" / "m.py")
    (tmp_path / "b/c/pkg/m.py").write_text("x = 2\n")
    assert source(tmp_path / "a/pkg") != source(tmp_path / "b/c/pkg")


def test_estimate_counts_networks_that_a_code_change_retrains(tmp_path):
    """A model-file edit: the result's networks have new keys, and the rerun trains them first."""
    from lab.store import result_key

    store, models = ResultStore(tmp_path / "results"), tmp_path / "models"
    models.mkdir()
    modules = ["lab.experiments.common"]
    key = result_key("exp_x", {"profile": "quick"}, modules)
    store.save("exp_x", "quick", key, {"recipe": {}}, {"networks": {"resnet8": "0" * 16}, "wall_time_s": 5.0},
               {"resnet8": {"train_seconds": 600.0}}, {})
    reg = {"exp_x": {"modules": modules, "estimate_s": {"quick": 1}, "configs": {"quick": {}}}}
    [s] = runner.status(store, ["exp_x"], "quick", reg, models)
    assert not s.fresh and s.reason == "networks changed: resnet8; trains resnet8 first (~10 min)"
    assert s.estimate_s == 605.0
