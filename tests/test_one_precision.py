"""scripts/one_precision.py: which networks it retrains (those not trained in bf16 alone)
and what it hands back (the retrained ones only), taken by `gpu_run.py --take` so that
file and manifest entry are replaced together."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import one_precision  # noqa: E402

MANIFEST = {
    "resnet20-aa.pt": {"name": "resnet20", "sha256": "1", "precision": ["fp32"]},
    "resnet32-bb.pt": {"name": "resnet32", "sha256": "2", "precision": ["bf16"]},
    "plain56-cc.pt": {"name": "plain56", "sha256": "3", "precision": ["bf16", "fp32"]},  # resumed elsewhere
    "resnet8-dd.pt": {"name": "resnet8", "sha256": "4", "precision": ["fp32"]},  # another profile's
}


def test_it_retrains_every_network_not_trained_in_bf16_alone():
    names = ["resnet20", "resnet32", "plain56"]
    assert one_precision.to_retrain(MANIFEST, names) == ["plain56-cc.pt", "resnet20-aa.pt"]
    assert one_precision.to_retrain(MANIFEST, ["resnet32"]) == []


def test_it_hands_back_only_networks_retrained_in_bf16():
    theirs = {**MANIFEST, "resnet20-aa.pt": {"name": "resnet20", "sha256": "9", "precision": ["bf16"]},
              "plain56-cc.pt": {"name": "plain56", "sha256": "8", "precision": ["fp32"]},  # not bf16: kept out
              "new-ee.pt": {"name": "new", "sha256": "7", "precision": ["bf16"]}}  # not ours to replace
    assert one_precision.retrained(MANIFEST, theirs) == ["resnet20-aa.pt"]


def test_a_retrained_network_is_packed_and_taken_file_and_entry_together(tmp_path):
    root, clone, out = tmp_path / "checkout", tmp_path / "out" / "clone", tmp_path / "out"
    for checkout, sha in ((root, "1"), (clone, "9")):
        weights = checkout / one_precision.WEIGHTS
        weights.mkdir(parents=True)
        entries = {**MANIFEST, "resnet20-aa.pt": {**MANIFEST["resnet20-aa.pt"], "sha256": sha,
                                                  "precision": ["fp32" if sha == "1" else "bf16"]}}
        (weights / "MANIFEST.json").write_text(json.dumps(entries))
        for f in entries:
            (weights / f).write_bytes(f"{checkout.name} {f}".encode())
    assert one_precision.pack(root, clone, out) == ["resnet20-aa.pt"]
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "gpu_run.py"), "--root", str(root),
                          "--take", str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    weights = root / one_precision.WEIGHTS
    assert (weights / "resnet20-aa.pt").read_bytes() == b"clone resnet20-aa.pt"
    assert (weights / "resnet32-bb.pt").read_bytes() == b"checkout resnet32-bb.pt"
    taken = json.loads((weights / "MANIFEST.json").read_text())
    assert taken["resnet20-aa.pt"]["precision"] == ["bf16"] and taken["resnet20-aa.pt"]["sha256"] == "9"
    assert {f: e for f, e in taken.items() if f != "resnet20-aa.pt"} == \
        {f: e for f, e in MANIFEST.items() if f != "resnet20-aa.pt"}


def test_a_machine_without_native_bf16_is_refused_before_anything_is_cloned(tmp_path, monkeypatch, capsys):
    import lab.train

    monkeypatch.setattr(lab.train, "native_bf16", lambda device: False)
    assert one_precision.main(["--out", str(tmp_path / "out")]) == 1
    assert "does not compute bf16 natively" in capsys.readouterr().err and not (tmp_path / "out" / "clone").exists()


def test_the_readme_commands_parse():
    """The README's section runs this script, gpu_run.py's take and build.py: each as copied."""
    import re
    import shlex

    import build as cli
    import gpu_run

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### One precision for every network\n", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(python3 (?:scripts/\w+\.py|build\.py)[^\n#]*)", section, re.M)
    parsers = {"scripts/one_precision.py": one_precision.parser, "scripts/gpu_run.py": gpu_run.parser,
               "build.py": cli.make_parser}
    assert sorted({c.split()[1] for c in commands}) == sorted(parsers), commands
    for command in commands:
        words = shlex.split(command)
        parsers[words[1]]().parse_args(words[2:])


def test_compare_pairs_each_network_with_itself_in_the_other_precision():
    before = {"a.pt": {"name": "resnet20", "recipe": {"seed": 1}, "precision": ["fp32"],
                       "final": {"train_error": 0.150, "test_error": 0.163}},
              "b.pt": {"name": "plain20", "precision": ["fp32"], "final": {"train_error": 0.188, "test_error": 0.192}},
              "c.pt": {"name": "resnet32", "precision": ["bf16"], "final": {"train_error": 0.14, "test_error": 0.15}}}
    after = {**before, "a.pt": {**before["a.pt"], "precision": ["bf16"], "final": {"train_error": 0.152, "test_error": 0.160}},
             "b.pt": {**before["b.pt"], "precision": ["bf16"], "final": {"train_error": 0.190, "test_error": 0.198}}}
    rows = one_precision.compare(before, after)
    assert rows[2] == "| plain20 | 0 | fp32 | bf16 | 18.8 → 19.0 % | 19.2 → 19.8 % | +0.6 |"
    assert rows[3] == "| resnet20 | 1 | fp32 | bf16 | 15.0 → 15.2 % | 16.3 → 16.0 % | -0.3 |"
    # paired test-error differences +0.6 and -0.3: mean +0.15, sd 0.64
    assert rows[4] == "| **paired difference** | n = 2 | | | +0.20 ± 0.00 points | +0.15 ± 0.64 points | |"


def test_the_clone_is_told_where_the_data_is_found_from_here(tmp_path, monkeypatch):
    # The clone lies outside the project, so the ../shared beside the project is not
    # beside it: the archive this checkout finds is named for it, an explicit one kept.
    import lab.cifar

    archive = tmp_path / "shared" / "data" / "cifar10-jpeg.tar.gz"
    monkeypatch.setattr(lab.cifar, "SHARED_ARCHIVES", (tmp_path / "absent.tar.gz", archive))
    monkeypatch.delenv("RESNET_DATA", raising=False)
    assert one_precision.data_source() == {}
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"")
    assert one_precision.data_source() == {"RESNET_DATA": str(archive)}
    monkeypatch.setenv("RESNET_DATA", str(tmp_path / "mine"))
    assert one_precision.data_source() == {}
