"""Issue 23, battery finding 2: the committed networks are hours of training. A build
verifies each against its sha256 in MANIFEST.json (a damaged, edited or deleted file is
reported, never taken for absent and retrained), and a plain build that would train
committed networks refuses with the command to run instead of training unasked.
Every test works on a copy of lab/weights, never on the real files."""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import cli_build, make_project, refused, site_files


@pytest.fixture
def weights_copy(tmp_path, monkeypatch):
    from lab import paths

    copy = tmp_path / "weights"
    shutil.copytree(paths.WEIGHTS, copy, ignore=shutil.ignore_patterns("partial"))
    monkeypatch.setattr(paths, "WEIGHTS", copy)  # the one place every store reads it from
    return copy


def listed(copy):
    """A network the manifest lists, and its file."""
    name = sorted(json.loads((copy / "MANIFEST.json").read_text()))[0]
    return name, copy / name


@pytest.mark.parametrize("damage, what", [
    ("edit", "does not match its sha256"),
    ("truncate", "does not match its sha256"),
    ("delete", "is missing"),
])
def test_frozen_build_verifies_every_committed_network(built_copy, capsys, weights_copy, damage, what):
    name, path = listed(weights_copy)
    data = path.read_bytes()
    if damage == "edit":
        path.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    elif damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:
        path.unlink()
    refused(built_copy, capsys, site_files(built_copy), r"weights/MANIFEST\.json:\d+", ": committed network ",
            name, what, "git checkout -- ", command=("build", "--frozen"))


def test_frozen_build_passes_intact_weights(built_copy, capsys, weights_copy):
    code, err = cli_build(built_copy, capsys, "--frozen")
    assert code == 0, err


@pytest.fixture
def committed_project(tmp_path, weights_copy):
    """A project on the committed-weights profile with no results: every experiment is stale."""
    root = make_project(tmp_path / "proj")
    yml = root / "content" / "site.yml"
    yml.write_text(yml.read_text().replace("profile: quick", "profile: cifar10-10ep"))
    return root


def test_plain_build_refuses_to_train_committed_networks(committed_project, weights_copy, capsys):
    for f in weights_copy.glob("*.pt"):  # none trained: the build would train them all
        f.unlink()
    (weights_copy / "MANIFEST.json").write_text("{}\n")
    refused(committed_project, capsys, {}, None, "not without asking", "python build.py train --profile cifar10-10ep")
    assert sorted(p.name for p in weights_copy.iterdir()) == ["MANIFEST.json"]  # nothing trained
    assert not (committed_project / "lab" / "results").exists()  # nothing run
    assert not (committed_project / "site").exists()


def test_plain_build_reports_a_damaged_network_as_damage(committed_project, weights_copy, capsys):
    name, path = listed(weights_copy)
    path.write_bytes(path.read_bytes()[:-10])
    before = path.read_bytes()
    refused(committed_project, capsys, {}, r"weights/MANIFEST\.json:\d+", ": committed network ", name,
            "does not match its sha256")
    assert path.read_bytes() == before  # not retrained over


def test_plain_build_asks_for_the_seeds_an_experiment_analyses(committed_project, weights_copy, capsys):
    """An experiment asks for every seed it analyses, not only seed 0 (every cifar10-10ep
    experiment analyses seeds 0-2): a network of such a seed that lab/weights does not
    hold is asked for too, not trained unasked."""
    from lab.experiments import load_all

    extra = sorted({s for e in load_all().values() if "cifar10-10ep" in e.profiles
                    for s in e.seeds("cifar10-10ep") if s})
    assert extra, "no experiment of cifar10-10ep analyses a seed beyond 0"
    manifest = json.loads((weights_copy / "MANIFEST.json").read_text())
    gone = {f: e for f, e in manifest.items() if e["recipe"].get("seed", 0) == extra[0]}
    for f in gone:
        (weights_copy / f).unlink()
        del manifest[f]
    (weights_copy / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    # the first in the campaign's order: the message lists six and counts the rest
    from lab.experiments.profiles import NETWORKS
    name = min((e["name"] for e in gone.values()), key=NETWORKS["cifar10-10ep"].index)
    refused(committed_project, capsys, {}, None, "not without asking", f"{name} seed {extra[0]} (missing)")
    assert not (committed_project / "lab" / "results").exists()  # nothing run
