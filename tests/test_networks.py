"""Reference networks: committed weights that load without training, the campaign that
trains the missing ones, and the bf16 path against fp32 (their keys: test_network_keys.py)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from conftest_data import random_data
from lab import campaign, models, names, paths, weights
from lab.experiments import Context
from lab.experiments.profiles import NETWORKS, PROFILES, RECIPES, SEEDS
from lab.networks import Recipe, make_model
from lab.train import TrainConfig, train

QUICK = Recipe(**RECIPES["quick"])
REPO = Path(__file__).resolve().parent.parent


def test_weight_store_round_trip_is_half_precision_and_verified(tmp_path):
    store = weights.WeightStore(tmp_path)
    model = make_model("resnet8")
    got = store.save("resnet8", "k" * 64, model.state_dict(), {"h": 1}, [{"epoch": 0}],
                     {"data": "synthetic"}, {"epochs": 1})
    loaded = store.load("resnet8", "k" * 64)
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point():
            assert torch.equal(loaded["model"][name], tensor.half().float()), name
            assert torch.equal(got["model"][name], loaded["model"][name])
    assert loaded["probes"] == [{"epoch": 0}] and loaded["data"] == {"data": "synthetic"}
    entry = store.manifest()["resnet8-kkkkkkkkkkkkkkkk.pt"]
    assert entry["key"] == "k" * 64 and entry["bytes"] == (tmp_path / "resnet8-kkkkkkkkkkkkkkkk.pt").stat().st_size
    # a file that does not match its manifest entry is not loaded
    path = tmp_path / "resnet8-kkkkkkkkkkkkkkkk.pt"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert store.load("resnet8", "k" * 64) is None
    assert store.load("resnet8", "j" * 64) is None


def test_committed_network_is_loaded_never_trained(tmp_path, monkeypatch):
    from lab.experiments import trained

    ctx = Context(progress=False, weights=tmp_path / "w", models=tmp_path / "cache")
    recipe = dataclasses.replace(QUICK, data="synthetic")
    trained._MEMO.clear()
    first = trained.get_trained("resnet8", recipe, ctx)
    assert not first.from_cache
    assert (tmp_path / "cache" / weights.MANIFEST).exists()  # synthetic data: the local cache
    trained._MEMO.clear()
    monkeypatch.setattr(trained, "train_network", lambda *a, **k: pytest.fail("trained again"))
    again = trained.get_trained("resnet8", recipe, Context(progress=False, models=tmp_path / "cache"))
    assert again.from_cache
    # analyses see the same (rounded) weights whether just trained or loaded
    for (n, a), (_, b) in zip(first.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), n
    assert ctx.facts["networks"]["resnet8"] == weights.model_key("resnet8", recipe)
    from lab.train import default_device, precision
    assert "2 epochs" in ctx.facts["trained"]["resnet8"]
    assert precision(default_device()) in ctx.facts["trained"]["resnet8"]  # bf16 where native
    trained._MEMO.clear()


def test_committed_results_use_exactly_their_profiles_networks():
    """The campaign's list of each profile's networks is what its stored results analysed
    (the quick profile is checked on a real run in test_experiments)."""
    from lab.store import ResultStore

    results = ResultStore(REPO / "lab" / "results")
    checked = 0
    for profile in set(NETWORKS) - {"quick"}:
        stored = [results.load(name, profile) for name in PROFILES]
        if None in stored or any("networks" not in s.provenance for s in stored):
            continue  # this profile's campaign has not finished yet
        used = {names.unseeded(n)[0] for s in stored for n in s.provenance["networks"]}  # plain56@seed1
        assert sorted(used) == sorted(NETWORKS[profile]), profile
        checked += 1
    assert checked  # the article's profile at least


def test_campaign_plan_tells_trained_missing_and_partial(tmp_path, monkeypatch):
    store = weights.WeightStore(tmp_path)
    recipe = Recipe(**RECIPES["cifar10-10ep"])
    key = weights.model_key("resnet20", recipe)
    store.save("resnet20", key, make_model("resnet20").state_dict(), {}, [], {},
               {"recipe": dataclasses.asdict(recipe), "epochs": 10, "train_seconds": 600.0,
                "images_per_second": 900.0, "precision": ["fp32"], "hosts": ["Test CPU"],
                "final": {"test_error": 0.1}})
    (tmp_path / "partial").mkdir(exist_ok=True)  # the manifest lock lives there too
    (tmp_path / "partial" / weights.file_name("plain20", weights.model_key("plain20", recipe))
     .replace(".pt", ".ckpt")).write_bytes(b"x")
    plan = campaign.network_states("cifar10-10ep", store)
    states = {s.name: s for s in plan if s.seed == 0}  # the seed-0 networks saved above
    assert {s.state for s in plan if s.name == "resnet20" and s.seed} == {"missing"}  # other seeds: own keys
    assert states["resnet20"].state == "trained" and "fp32 on Test CPU" in states["resnet20"].detail
    assert "test error 10.0%" in states["resnet20"].detail
    assert states["plain20"].state == "partial"
    assert states["resnet56"].state == "missing"
    # speed measured on resnet20 estimates the deeper nets: ~56/20 slower per image
    assert states["resnet56"].seconds == pytest.approx(10 * 50_000 / (900 * 20 / 56) * 1.08)
    # a network trained under another key (its code changed) is stale
    monkeypatch.setattr(campaign, "model_key", lambda n, r: "z" * 64)
    assert campaign.network_states("cifar10-10ep", store)[0].state == "stale"


def test_campaign_commits_a_network_whose_checkpoint_was_committed_even_after_a_retry(tmp_path, monkeypatch):
    """A network's in-progress checkpoint was committed (a session stopped mid-network);
    when it finishes, its weights, the manifest and the checkpoint's removal are one
    commit, also when the first commit fails (another git command held the index) and
    the retry finds the removal already staged; nothing else that is staged goes in."""
    import subprocess

    def git(*args):
        return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=tmp_path,
                              check=True, capture_output=True, text=True).stdout

    weights_dir = tmp_path / "lab" / "weights"
    ckpt = weights_dir / "partial" / "resnet20-abcd.ckpt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"epoch 2")
    ckpt.with_suffix(".probes.json").write_text("{}")
    (weights_dir / "MANIFEST.json").write_text("{}\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "a checkpoint")
    (weights_dir / "resnet20-abcd.pt").write_bytes(b"weights")
    (weights_dir / "MANIFEST.json").write_text('{"resnet20-abcd.pt": {"name": "resnet20", "epochs": 10}}\n')
    ckpt.unlink()
    ckpt.with_suffix(".probes.json").unlink()
    (tmp_path / "other.txt").write_text("someone else's")
    git("add", "other.txt")
    hook = tmp_path / ".git" / "hooks" / "pre-commit"  # fails once, as a held lock would
    hook.write_text(f"#!/bin/sh\n[ -e {tmp_path}/.git/tried ] && exit 0\ntouch {tmp_path}/.git/tried\nexit 1\n")
    hook.chmod(0o755)
    monkeypatch.setattr(campaign, "REPO", tmp_path)
    monkeypatch.setattr(paths, "WEIGHTS", weights_dir)
    monkeypatch.setattr(campaign, "file_name", lambda name, key: f"{name}-{key}.pt")
    monkeypatch.setattr(campaign.time, "sleep", lambda s: None)
    lines = []
    campaign._commit("resnet20", "abcd", "cifar10-10ep", lines.append)
    assert lines == ["committed resnet20-abcd.pt"], lines
    assert (tmp_path / ".git" / "tried").exists()  # the first attempt did fail
    changed = git("show", "--name-status", "--format=", "HEAD").split("\n")
    assert sorted(filter(None, changed)) == ["A\tlab/weights/resnet20-abcd.pt", "D\tlab/weights/partial/resnet20-abcd.ckpt",
                                             "D\tlab/weights/partial/resnet20-abcd.probes.json",
                                             "M\tlab/weights/MANIFEST.json"]
    assert git("status", "--short").strip() == "A  other.txt"  # still staged, not committed


def test_campaign_estimates_at_this_machines_precision():
    """Speeds measured in bf16 (native on some CPUs, ~5x fp32) do not estimate an fp32
    machine as they are: they are scaled by what the families trained at both show."""
    def entry(name, ips, prec):
        return {"name": name, "images_per_second": ips, "precision": [prec]}

    manifest = {"a": entry("resnet20", 200.0, "fp32"), "b": entry("resnet32", 700.0, "bf16"),
                "c": entry("plain32", 800.0, "bf16"), "d": entry("resnet56", 90.0, "fp32")}
    fp32 = campaign._images_per_second(manifest, "fp32")
    scale = ((200 * 20 + 90 * 56) / 2) / (700 * 32)  # the resnet family's fp32 over its bf16
    assert fp32["resnet20"] == 200.0 and fp32["resnet32"] == pytest.approx(700 * scale)
    assert fp32["plain32"] == pytest.approx(800 * scale)  # seen only in bf16: scaled
    bf16 = campaign._images_per_second(manifest, "bf16")
    assert bf16["plain32"] == 800.0 and bf16["plain20"] == pytest.approx(800 * 32 / 20)
    assert bf16["resnet20"] == pytest.approx(700 * 32 / 20)  # its family at this precision first
    assert campaign._images_per_second(manifest)["resnet32"] == 700.0  # no precision: as measured


def test_bf16_cpu_path_follows_fp32(monkeypatch):
    """bf16 autocast (as on an AMX or AVX512-BF16 CPU) against fp32, same seed and batches.

    Tolerance: bf16 keeps 8 mantissa bits, a relative rounding of 2^-9 ~ 0.2% per operation;
    through a 20-layer net and 3 epochs of SGD the per-epoch mean loss drifts further, and on
    random labels of 64 images the loss moves by ~0.3 nats over the run. We ask that every
    epoch's loss agree within 0.05 nats (a sixth of that movement) and that both curves fall."""
    import lab.train as train_mod

    data = random_data()
    cfg = TrainConfig(epochs=3, batch_size=16, lr=0.05, seed=0)
    curves = {}
    for prec in ("fp32", "bf16"):
        monkeypatch.setattr(train_mod, "native_bf16", lambda device, p=prec: p == "bf16")
        torch.manual_seed(0)
        h = train(models.build("resnet20", width=8), data, cfg, progress=False)
        assert {e.precision for e in h.epochs} == {prec}
        curves[prec] = [e.train_loss for e in h.epochs]
    assert curves["bf16"] != curves["fp32"]  # the bf16 path really ran in bf16
    for a, b in zip(curves["fp32"], curves["bf16"]):
        assert abs(a - b) < 0.05, curves
    assert curves["bf16"][-1] < curves["bf16"][0] and curves["fp32"][-1] < curves["fp32"][0]


def test_training_uses_full_batches_only():
    from lab.data import Loader

    data = random_data()
    n = len(data.train_y)
    loader = Loader(data.train_x, data.train_y, 24, train=True, drop_last=True)
    sizes = [len(y) for _, y in loader]
    assert sizes == [24] * (n // 24) and loader.images_per_epoch == 24 * (n // 24)
    h = train(models.build("resnet20", width=8), data,
              TrainConfig(epochs=1, batch_size=24, seed=0), progress=False)
    assert h.epochs[0].steps == n // 24


def test_prune_deletes_exactly_the_networks_no_profile_keys(tmp_path):
    store = weights.WeightStore(tmp_path)
    recipe = Recipe(**RECIPES["cifar10-10ep"])
    fresh = weights.model_key("resnet20", recipe)
    for key in (fresh, "0" * 64):  # the second: trained before a code edit
        store.save("resnet20", key, make_model("resnet20").state_dict(), {}, [], {}, {})
    (tmp_path / "partial").mkdir(exist_ok=True)  # the manifest lock lives there too
    for key in (weights.model_key("plain20", recipe), "1" * 64):
        ckpt = tmp_path / "partial" / weights.file_name("plain20", key).replace(".pt", ".ckpt")
        ckpt.write_bytes(b"x")
        ckpt.with_suffix(".probes.json").write_text("[]")
    gone = campaign.prune(store)
    assert gone == [weights.file_name("resnet20", "0" * 64),
                    weights.file_name("plain20", "1" * 64).replace(".pt", ".ckpt")]
    assert set(store.manifest()) == {weights.file_name("resnet20", fresh)}
    assert sorted(p.name for p in (tmp_path / "partial").iterdir() if p.suffix != ".lock") == sorted(
        [weights.file_name("plain20", weights.model_key("plain20", recipe)).replace(".pt", s)
         for s in (".ckpt", ".probes.json")])
    assert campaign.prune(store) == []  # nothing left to prune


def test_manifest_of_committed_weights_matches_the_files():
    """Every committed network file is in the manifest with its sha256, and the reverse."""
    manifest = weights.WeightStore().manifest()
    files = {p.name for p in paths.WEIGHTS.glob("*.pt")}
    assert set(manifest) == files
    for fname, entry in manifest.items():
        assert weights.file_sha256(paths.WEIGHTS / fname) == entry["sha256"], fname
        assert fname == weights.file_name(entry["name"], entry["key"])
    # the whole set: about 1 MB a network, 11 networks x 3 seeds for cifar10-10ep
    assert sum(e["bytes"] for e in manifest.values()) <= 40 * 2**20
    json.dumps(manifest)


def test_train_list_names_every_network_of_the_profile(capsys):
    import build as cli

    assert cli.main(["train", "--list", "--profile", "cifar10-10ep"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("network ")]
    assert [(line.split()[1], int(line.split()[3])) for line in lines] == [
        (n, seed) for n in NETWORKS["cifar10-10ep"] for seed in SEEDS["cifar10-10ep"]]
    assert SEEDS["cifar10-10ep"] == [0, 1, 2]
    assert all(line.split()[5].rstrip(":") in ("trained", "missing", "stale", "partial") for line in lines)


def test_train_report_has_a_row_per_network_and_seed(capsys):
    """The campaign's table: every network and seed, trained or not, and He et al.'s number."""
    import build as cli

    assert cli.main(["train", "--report", "--profile", "cifar10-10ep"]) == 0
    rows = [r.split("|")[1:-1] for r in capsys.readouterr().out.splitlines()[2:]]
    seeded = [(r[0].strip(), r[1].strip()) for r in rows if r[1].strip().isdigit()]
    assert seeded == [(n, str(s)) for n in NETWORKS["cifar10-10ep"] for s in SEEDS["cifar10-10ep"]]
    from lab.experiments.depth_sweep import PAPER_TEST_ERROR  # He et al. 2015, Table 6

    resnet56 = [r for r in rows if r[0].strip() == "resnet56"]
    assert all(r[-1].strip() == f"{100 * PAPER_TEST_ERROR['resnet56']:.2f} %" for r in resnet56)
    assert all("mean ± sd (n = " in r[1] for r in rows if r[0].startswith(" **"))
