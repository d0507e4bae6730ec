"""Networks' keys: they change with exactly the code and recipe that make a network (its
model files, lab.train, the batching part of lab.data) and with nothing else:
not comments, not the device, not where the data lies."""
from __future__ import annotations

import ast
import dataclasses

import pytest
import torch

import lab.keys as keys_mod
from lab import models, paths, weights
from lab.experiments.profiles import RECIPES
from lab.keys import code_tree
from lab.networks import Recipe, make_model

QUICK = Recipe(**RECIPES["quick"])


def test_code_tree_ignores_comments_docstrings_and_layout_but_not_code():
    a = 'def f(x):\n    """Doc."""\n    # why\n    return  x + 1\n'
    b = "def f(x): return (x+1)  # reformatted\n"
    assert code_tree(a) == code_tree(b)
    assert code_tree(a) != code_tree("def f(x):\n    return x + 2\n")
    assert code_tree(a) != code_tree("def f(y):\n    return y + 1\n")
    # a module docstring goes too, a string statement elsewhere stays
    assert code_tree('"""Module."""\nX = 1\n') == code_tree("X = 1\n")
    assert code_tree('X = 1\n"not a docstring"\n') != code_tree("X = 1\n")


def test_code_tree_picks_named_definitions():
    src = "A = 1\n\ndef f():\n    return A\n\ndef g():\n    return 2\n"
    assert code_tree(src, ["f"]) == code_tree("def f():\n    return A\n")
    assert code_tree(src, ["f"]) == code_tree(src.replace("return 2", "return 3"), ["f"])
    with pytest.raises(KeyError, match="h"):
        code_tree(src, ["h"])


def test_family_modules_name_the_class_each_factory_builds():
    for name in list(models.FACTORIES) + ["resnet8", "plain14", "preact_resnet8", "highway8", "densenet7"]:
        if name == "resnet1202":
            continue  # 19M parameters: slow to build, same class as resnet20
        assert weights.model_files(name)[0] == type(make_model(name)).__module__ or \
            type(make_model(name)).__module__ in weights.model_files(name), name
    assert weights.model_files("highway20") == ["lab.models.highway", "lab.models.resnet"]
    assert weights.model_files("resnet20") == ["lab.models.resnet"]


def test_editing_one_model_file_changes_exactly_its_networks_keys(monkeypatch):
    names = ["resnet20", "plain20", "preact_resnet20", "highway20", "densenet22"]
    before = {n: weights.model_key(n, QUICK) for n in names}
    real = keys_mod.module_source_hash

    def edit(target):
        monkeypatch.setattr(keys_mod, "module_source_hash",
                            lambda m, n=None: real(m, n) + ("*" if m == target else ""))
        return {n for n in names if weights.model_key(n, QUICK) != before[n]}

    assert edit("lab.models.highway") == {"highway20"}
    assert edit("lab.models.densenet") == {"densenet22"}
    assert edit("lab.models.resnet") == set(names)  # highway and densenet import it
    assert edit("lab.train") == set(names)
    assert edit("lab.data") == set(names)
    assert edit("figures.plotstyle") == set()


def test_key_depends_on_recipe_and_name_not_on_device_or_data_copy(tmp_path, monkeypatch):
    k = weights.model_key("resnet20", QUICK)
    assert weights.model_key("resnet20", dataclasses.asdict(QUICK)) == k  # Recipe or its dict
    assert weights.model_key("resnet32", QUICK) != k
    for field in dataclasses.fields(Recipe):  # every field of the recipe counts
        v = getattr(QUICK, field.name)
        other = (not v) if isinstance(v, bool) else v + 1 if isinstance(v, (int, float)) else v + "-other"
        assert weights.model_key("resnet20", dataclasses.replace(QUICK, **{field.name: other})) != k, field.name
    assert not {"device", "amp", "precision", "path"} & {f.name for f in dataclasses.fields(Recipe)}
    # another device, another copy of CIFAR-10 (and another working folder): the same network
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr("lab.train.default_device", lambda: torch.device("cuda"))
    monkeypatch.setenv("RESNET_DATA", str(tmp_path / "cifar-elsewhere"))
    monkeypatch.setenv("RESNET_DATA_CACHE", str(tmp_path / "cache-elsewhere"))
    monkeypatch.chdir(tmp_path)
    assert weights.model_key("resnet20", QUICK) == k


def top_level_names(node: ast.AST) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return {t.id for t in targets if isinstance(t, ast.Name)}


def test_data_key_covers_batching_code_only(tmp_path, monkeypatch):
    """Each batching definition of lab.data is in every network's key, and nothing
    else of data.py is: finding and decoding the data set retrain nothing. Edits go to
    copies of data.py; the checkout's stays as it is."""
    batching = set(weights.TRAINING_SOURCES["lab.data"])
    body = ast.parse((paths.REPO / "lab" / "data.py").read_text(encoding="utf-8")).body
    copies: list = []
    real = keys_mod.locate
    monkeypatch.setattr(keys_mod, "locate", lambda m: copies[-1] if m == "lab.data" and copies else real(m))
    names = ["resnet20", "highway20", "densenet22"]
    before = {n: weights.model_key(n, QUICK) for n in names}

    def keys_with(statements: list) -> dict:
        copies.append(tmp_path / str(len(copies)) / "data.py")  # its name is hashed too
        copies[-1].parent.mkdir()
        copies[-1].write_text(ast.unparse(ast.Module(body=statements, type_ignores=[])), encoding="utf-8")
        return {n: weights.model_key(n, QUICK) for n in names}

    assert keys_with(body) == before  # the copy keys as the checkout does
    kept = [node for node in body if top_level_names(node) & batching]
    assert len(kept) < len(body) and set().union(*map(top_level_names, kept)) >= batching
    assert keys_with(kept) == before  # the rest of data.py gone: imports, finding, decoding
    for node in kept:
        name = min(top_level_names(node) & batching)
        edited = keys_with([ast.parse(f"{name} = None").body[0] if n is node else n for n in kept])
        assert all(edited[n] != before[n] for n in names), name
