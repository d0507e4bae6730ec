"""Keys follow the code's own imports: an experiment's result is stale when any module its
own module reaches changes what it does, and no committed network changes its key when the
code that keys it is tidied (lab.keys, lab.weights)."""
from __future__ import annotations

import json

import pytest

from lab import experiments, keys, paths, runner, weights
from lab.store import ResultStore

MODELS_INIT = paths.REPO / "lab" / "models" / "__init__.py"


@pytest.fixture
def edited_models_init(tmp_path, monkeypatch):
    """lab/models/__init__.py as a copy that a test may edit; the checkout stays as it is."""
    copy = tmp_path / "__init__.py"
    copy.write_text(MODELS_INIT.read_text(encoding="utf-8"), encoding="utf-8")
    real = keys.locate
    monkeypatch.setattr(keys, "locate", lambda module: copy if module == "lab.models" else real(module))
    return copy


def test_an_edit_to_the_models_package_makes_gradient_flow_stale(tmp_path, edited_models_init):
    """gradient_flow calls models.build: lab/models/__init__.py is in its key, though
    it never named it, and the networks' keys (their model files only) stay."""
    exp = experiments.get("gradient_flow")
    assert "lab.models" not in exp.modules and "lab.models" in keys.closure(exp.modules)
    store = ResultStore(tmp_path / "results")
    store.save("gradient_flow", "quick", runner.key_for(exp, "quick"), exp.config_dict("quick"), {}, {}, {})
    status = lambda: runner.status(store, ["gradient_flow"], "quick")[0]  # noqa: E731
    networks = {n: weights.model_key(n, {}) for n in ("resnet20", "highway20")}
    assert status().fresh

    text = edited_models_init.read_text(encoding="utf-8")
    edited_models_init.write_text(text + "\n# a comment, and a docstring are no edit\n", encoding="utf-8")
    assert status().fresh
    edited_models_init.write_text(text + "\nFACTORIES = dict(sorted(FACTORIES.items()))\n", encoding="utf-8")
    assert not status().fresh and status().reason == "code or config changed"
    assert {n: weights.model_key(n, {}) for n in networks} == networks


def test_the_walk_follows_imports_inside_functions_and_keeps_the_narrowings():
    closure = keys.closure(["lab.experiments.trained"])
    assert "lab.networks" in closure  # imported inside a function there
    assert {"lab.models.resnet", "lab.models.highway", "lab.train"} <= set(closure)
    assert not set(closure) & set(keys.BOOKKEEPING)  # where things are kept computes nothing
    sources = keys.source_hashes(["lab.experiments.trained"])
    assert "lab.experiments.profiles" not in sources  # its values are in each config
    assert sources["lab.data"] == keys.module_source_hash("lab.data", keys.DATA_BATCHING)


def test_decoding_the_data_reruns_no_experiment_and_batching_reruns_every_one(tmp_path, monkeypatch):
    data = paths.REPO / "lab" / "data.py"
    copy = tmp_path / "data.py"
    copy.write_text(data.read_text(encoding="utf-8"), encoding="utf-8")
    real = keys.locate
    monkeypatch.setattr(keys, "locate", lambda module: copy if module == "lab.data" else real(module))
    exp = experiments.get("depth_sweep")
    before = runner.key_for(exp, "quick")
    text = copy.read_text(encoding="utf-8")
    copy.write_text(text.replace("def load_cifar10(", "def load_cifar10(*_, **__):\n    pass\n\n\ndef _old_load(", 1),
                    encoding="utf-8")  # finding and decoding the data: not batching
    assert runner.key_for(exp, "quick") == before
    copy.write_text(text.replace("MEAN = (0.4914,", "MEAN = (0.5,", 1), encoding="utf-8")
    assert runner.key_for(exp, "quick") != before


def test_every_committed_network_keeps_its_key():
    """Pinned: each network in lab/weights is keyed by the code as it is now, so no
    refactoring retrains one. A change of what a network computes fails here on purpose:
    retrain it (`python build.py train --commit`), then this passes again."""
    manifest = json.loads((paths.WEIGHTS / weights.MANIFEST).read_text(encoding="utf-8"))
    assert manifest
    for fname, entry in manifest.items():
        assert weights.model_key(entry["name"], entry["recipe"]) == entry["key"], fname


def test_keys_spell_the_lab_by_its_keyed_name_so_a_rename_retrains_nothing():
    """The lab moved from figures/ to lab/ and kept every key (the pins above): a key spells
    the package KEYED_AS in its list of modules, in imports and in strings naming a module,
    and nowhere else (another package, or a word that only starts like it, stays itself)."""
    assert keys.PROJECT == "lab" and keys.KEYED_AS == "figures"
    assert keys.code_tree("from lab.data import spread\nimport lab.train\nM = 'lab.models.resnet'") == \
        keys.code_tree("from figures.data import spread\nimport figures.train\nM = 'figures.models.resnet'")
    assert keys.code_tree("x = 'label.py'") != keys.code_tree("x = 'figures.py'")
    assert keys.code_tree("import sitegen.build") != keys.code_tree("import figures.build")
    assert keys.keyed_sources({"lab.train": "1", "lab": "2", "labels": "3"}) == \
        {"figures.train": "1", "figures": "2", "labels": "3"}
    assert all(m.startswith("lab.") for m in weights.model_sources("resnet20"))  # the code says what is where
