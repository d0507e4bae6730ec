"""The eight experiments and their figures, on the quick profile (synthetic data, tiny nets).

One session fixture runs every experiment once through the real runner into a
temporary result store (sharing trained nets through its model cache); the
tests then check the registry, the declared metrics, every plot module's SVGs,
chart spec and alt text, and a claim over these results through the real build.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads: no spinning on a busy box

import dataclasses  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

import build as cli  # noqa: E402
from figures import plots  # noqa: E402
from lab import experiments, runner  # noqa: E402
from lab.config import to_dict  # noqa: E402
from lab.store import ResultStore  # noqa: E402

NAMES = ("architectures", "depth_sweep", "feature_maps", "gradient_flow", "highway_gates",
         "layer_responses", "lesion", "lesion_live", "loss_landscape", "shattered_gradients")


class Results(dict):
    """{experiment: StoredResult}, and the store they are in."""
    store: ResultStore


@pytest.fixture(scope="session")
def quick_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("experiments")
    store = ResultStore(root / "results")
    out = Results({name: runner.run_one(store, name, "quick", root, progress=False) for name in NAMES})
    out.store = store
    return out


def test_quick_experiments_use_exactly_the_campaign_networks(quick_results):
    """The campaign's list of the quick profile's networks is what the experiments analysed."""
    from lab.experiments.profiles import NETWORKS

    from lab.experiments.profiles import SEEDS
    from lab.names import seeded

    used = set().union(*(r.provenance["networks"] for r in quick_results.values()))
    # every network from every seed, except those only the seed-0 pictures analyse
    wanted = {seeded(n, s) for n in NETWORKS["quick"] for s in SEEDS["quick"]}
    assert used <= wanted and {seeded(n, 0) for n in NETWORKS["quick"]} <= used
    assert {r.provenance["seeds"] == SEEDS["quick"] for r in quick_results.values()} == {True, False}


def test_a_network_rekeyed_makes_exactly_the_results_that_analysed_it_stale(quick_results, monkeypatch):
    """The Highway nets' keys change (as an edit to highway.py changes them; that edit also
    reruns every experiment importing lab.models, by code: tests/test_keys.py), and
    exactly the results made from them say so."""
    import lab.keys as keys_mod

    assert all(s.fresh for s in runner.status(quick_results.store, NAMES, "quick"))
    real = keys_mod.module_source_hash
    monkeypatch.setattr(keys_mod, "module_source_hash",  # the networks' keys hash their model files so
                        lambda m, n=None: real(m, n) + ("*" if m == "lab.models.highway" else ""))
    stale = {s.name: s.reason for s in runner.status(quick_results.store, NAMES, "quick") if not s.fresh}
    assert stale == {"architectures": "networks changed: highway8, highway8@seed1",
                     "highway_gates": "networks changed: highway8, highway8@seed1"}


def test_a_network_retrained_under_its_key_makes_exactly_the_results_that_read_it_stale(
        quick_results, tmp_path):
    """A network trained again with the same code and recipe (another machine or precision)
    keeps its key, but not its weights: each result records the sha256 of the weights it
    read, and exactly those that read the replaced file go stale."""
    import shutil

    from lab import paths
    from lab.weights import WeightStore, file_name

    models = tmp_path / "models"
    shutil.copytree(paths.models(quick_results.store.root.parent), models)
    assert all(s.fresh for s in runner.status(quick_results.store, NAMES, "quick", models=models))
    key = quick_results["highway_gates"].provenance["networks"]["highway8@seed1"]
    assert quick_results["highway_gates"].provenance["weights"]["highway8@seed1"] == \
        WeightStore(models).manifest()[file_name("highway8", key)]["sha256"]
    store = WeightStore(models)
    entry = store.manifest()[file_name("highway8", key)]
    state = store.load("highway8", key)
    state["model"] = {k: v + 1 if v.is_floating_point() else v for k, v in state["model"].items()}
    store.save("highway8", key, state["model"], state["history"], state["probes"], state["data"],
               meta={k: entry[k] for k in ("recipe", "epochs")})
    stale = {s.name: s.reason for s in runner.status(quick_results.store, NAMES, "quick", models=models)
             if not s.fresh}
    assert stale == {"architectures": "networks retrained: highway8@seed1",
                     "highway_gates": "networks retrained: highway8@seed1"}


def test_shattered_gradients_measures_the_initialized_networks_once_for_all_seeds(monkeypatch):
    """The networks at initialization do not depend on the training seed: measured once per
    process over a profile's seeds (they were most of the run's time), with the same numbers
    as a fresh measurement, and never reused where the images depend on the seed."""
    import torch

    from lab.experiments import shattered_gradients as sg

    monkeypatch.setattr(sg, "_INIT", {})
    calls = []
    real = sg.correlations
    monkeypatch.setattr(sg, "correlations", lambda *a: calls.append(1) or real(*a))
    cfg = experiments.get("shattered_gradients").config("quick")
    other = dataclasses.replace(cfg, recipe=dataclasses.replace(cfg.recipe, seed=1))
    g = torch.Generator().manual_seed(0)
    x, bn_x = torch.randn(2 * cfg.pairs, 3, 32, 32, generator=g), torch.randn(16, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (2 * cfg.pairs,), generator=g)
    first = sg.at_init(cfg, x, y, bn_x, "cpu", reuse=True)
    once = len(calls)
    assert once == 2 * len(cfg.init_depths) * cfg.repeats
    assert sg.at_init(other, x, y, bn_x, "cpu", reuse=True) == first and len(calls) == once
    assert sg.at_init(other, x, y, bn_x, "cpu", reuse=False) == first and len(calls) == 2 * once
    # synthetic data and subsets are drawn from the training seed: measured afresh per seed
    assert not sg._images_fixed(cfg)
    assert sg._images_fixed(experiments.get("shattered_gradients").config("cifar10-10ep"))


def test_architectures_times_every_network_side_by_side(quick_results):
    """Seconds per epoch come from this run's own timing, one machine for all, not from the
    networks' training records (made on different processors and precisions)."""
    m = quick_results["architectures"].metrics
    t = m["timing"]
    assert t["precision"] in ("bf16", "fp32") and t["host"] and t["steps_per_epoch"] > 0
    batch = experiments.get("architectures").config("quick").recipe.batch_size
    from lab.spread import is_spread

    def each(v, n):  # every seed's run timed its own: the per-seed values (one, if they agree)
        return v["values"] if is_spread(v) else [v] * n

    n = len(quick_results["architectures"].provenance["seeds"])
    for name in quick_results["architectures"].data["models"]:
        for rate, seconds in zip(each(m[name]["images_per_second"], n), each(m[name]["seconds_per_epoch"], n)):
            assert rate > 0
            assert seconds == pytest.approx(t["steps_per_epoch"] * batch / rate, rel=0.01, abs=0.06)  # rounded to 0.1 s


@pytest.fixture(scope="session")
def vega_schema():
    from altair.vegalite.v6.schema.core import load_schema

    return load_schema()


def test_registry_lists_all_eight_with_every_profile_valid():
    registry = experiments.load_all()
    assert set(NAMES) <= set(registry)
    for name in NAMES:
        exp = registry[name]
        assert exp.config_cls.__dataclass_params__.frozen, name
        # the networks' code enters through their keys (provenance "networks"), not modules=
        assert "lab.experiments.trained" in exp.modules, name
        assert sorted(exp.profiles) == sorted(experiments.PROFILE_NAMES), name
        for profile in experiments.PROFILE_NAMES:
            cfg = exp.config(profile)
            assert dataclasses.is_dataclass(cfg) and json.dumps(to_dict(cfg))
            assert exp.estimate_s[profile] > 0
            # tests never read CIFAR; the other profiles always do
            want = "synthetic" if profile == "quick" else "cifar10"
            assert cfg.recipe.data == want, (name, profile)


def test_experiments_share_one_recipe_per_profile():
    """Every experiment of a profile trains with the same recipe, so nets are trained once."""
    registry = experiments.load_all()
    for profile in experiments.PROFILE_NAMES:
        recipes = {json.dumps(to_dict(registry[n].config(profile).recipe), sort_keys=True) for n in NAMES}
        assert len(recipes) == 1, profile


def _targets(metrics: dict, key: str, declared: dict) -> list[dict]:
    """The dicts a declared path names; "<net>" is every network's entry at that level."""
    named = {k.split("/")[0] for k in declared}  # literal keys such as "summary" are not networks
    nodes = [metrics]
    for part in key.split("/") if key else []:
        if part == "<net>":
            nodes = [v for n in nodes for k, v in n.items() if isinstance(v, dict) and k not in named]
        else:
            nodes = [n[part] for n in nodes]
    return nodes


@pytest.mark.parametrize("name", NAMES)
def test_quick_run_returns_declared_metrics(quick_results, name):
    stored = quick_results[name]
    declared = sys.modules[experiments.get(name).run.__module__].METRICS
    for key, fields in declared.items():
        targets = _targets(stored.metrics, key, declared)
        assert targets, f"{name}: no metrics for {key!r}"
        for t in targets:
            missing = set(fields) - set(t)
            assert not missing, f"{name}/{key}: missing {sorted(missing)}"
    # strict JSON: what the prose and the charts read has no NaN or infinity
    json.dumps({"metrics": stored.metrics, "data": stored.data}, allow_nan=False)
    assert stored.provenance["data"].startswith("synthetic") and stored.provenance["networks"]
    assert "models" not in stored.provenance  # networks are recorded once, by their full keys


def test_trained_networks_are_shared_between_experiments(quick_results):
    def keys(name):
        return quick_results[name].provenance["networks"]

    lesion, landscape, sweep = keys("lesion"), keys("loss_landscape"), keys("depth_sweep")
    # the landscape is drawn on seed 0's networks only; the lesion on every seed's
    assert set(landscape) < set(lesion) and all(lesion[k] == v for k, v in landscape.items())
    assert set(lesion) <= set(sweep) and any("@seed" in k for k in lesion)
    assert all(sweep[k] == v for k, v in lesion.items())


def _numbers(obj) -> set[str]:
    """Every number in a result, written the ways captions and alt texts write them."""
    out: set[str] = set()
    if isinstance(obj, dict):
        for v in obj.values():
            out |= _numbers(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            out |= _numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        v = float(obj)
        out |= {f"{v:.3g}", f"{v:.2f}", f"{100 * v:.1f}", f"{100 * v:.2f}", f"{100 * v:.0f}",
                f"{v / 1e3:.0f}", f"{v:g}", str(obj)}
    return out


@pytest.mark.parametrize("figure", plots.names())
def test_plot_draws_svgs_chart_and_alt_from_the_data(quick_results, vega_schema, figure):
    import jsonschema

    from figures.plotstyle import THEMES, svg_bytes

    from figures.plotstyle import view

    module = plots.get(figure)
    result = view(quick_results[module.EXPERIMENT])  # means, spreads beside: as the build draws it
    svgs = {t: svg_bytes(module.draw(result, THEMES[t])) for t in ("light", "dark")}
    for svg in svgs.values():
        assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg and len(svg) > 2000
    assert svgs["light"] != svgs["dark"]
    spec = module.chart(result) if hasattr(module, "chart") else None  # optional, as the build treats it
    if spec is not None:
        text = json.dumps(spec, allow_nan=False)  # strict JSON: no NaN in a spec
        assert spec["width"] == "container" and spec["data"]["values"]
        assert "v5" in spec["$schema"]
        jsonschema.validate(json.loads(text), vega_schema)
    caption, alt = module.caption(result), module.alt(result)
    assert caption.strip() and alt.strip()
    quoted = set(re.findall(r"\d[\d,]*(?:\.\d+)?(?:e[+-]\d+)?", alt))
    found = {q for q in quoted if q.replace(",", "") in _numbers(result.metrics) | _numbers(result.data)}
    assert found, f"{figure}: alt text quotes no number from the result: {alt}"


def _ids_in_order(svg: bytes) -> bytes:
    """The SVG with its ids numbered in order of appearance (matplotlib hashes colours into some)."""
    text = svg.decode()
    for i, ident in enumerate(dict.fromkeys(re.findall(r'id="([^"]+)"', text))):
        text = re.sub(rf"(?<=[\"#]){re.escape(ident)}(?=[\")])", f"id{i}", text)
    return text.encode()


@pytest.mark.parametrize("figure", plots.names())
def test_the_build_draws_each_figure_as_the_plot_module_does(quick_results, figure):
    """Drawn once and recoloured, or drawn in each theme: the same pictures as drawing each theme."""
    from figures.plotstyle import THEMES, svg_bytes
    from sitegen.render.figures import draw_pair

    from figures.plotstyle import view

    module = plots.get(figure)
    result = view(quick_results[module.EXPERIMENT])
    light, dark = draw_pair(module, result)
    assert light == svg_bytes(module.draw(result, THEMES["light"]))
    assert _ids_in_order(dark) == _ids_in_order(svg_bytes(module.draw(result, THEMES["dark"])))


@pytest.mark.parametrize("figure", ["depth_sweep_curves", "gradient_flow_training", "lesion", "architectures",
                                    "feature_maps"])
def test_required_charts_are_interactive(quick_results, figure):
    from figures.plotstyle import view

    module = plots.get(figure)
    spec = module.chart(view(quick_results[module.EXPERIMENT]))
    params = spec.get("params", []) + [p for layer in spec.get("layer", []) for p in layer.get("params", [])]
    assert any("bind" in p or "select" in p for p in params), figure
    assert "tooltip" in json.dumps(spec)


CLAIMS_CHAPTER = """\
---
title: Lesions
claims:
  - result("lesion", "summary", "chance_error") {op} 0.5
---

Deleting a block of the plain net: {{{{ result("lesion", "plain14", "mean_error", fmt="{{:.1%}}") }}}}.
"""


@pytest.mark.parametrize("op, ok", [(">", True), ("<", False)])
def test_claim_over_experiment_results_is_checked_by_the_build(project_root, capsys, op, ok):
    chapter = project_root / "content" / "03-lesions.md"
    chapter.write_text(CLAIMS_CHAPTER.format(op=op))
    code = cli.main(["--root", str(project_root), "-q", "build"])
    err = capsys.readouterr().err.strip()
    if ok:
        assert code == 0, err
        html = (project_root / "site" / "index.html").read_text()
        # the number is marked with its source (sitegen.render.numbers): a span around the digits
        assert re.search(r"Deleting a block of the plain net: (?:<[^>]+>)*\d+\.\d%", html)
    else:
        assert code == 1 and len(err.splitlines()) == 1
        assert "03-lesions.md:4: claim does not hold" in err, err
