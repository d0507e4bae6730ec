"""Where CIFAR-10 is: `data:` in site.yml or $RESNET_DATA, wherever the checkout lies, and
an error that says so in full (a job's one-line reason keeps the hint at its end)."""
from __future__ import annotations

import os

import pytest

from lab import cifar
from lab.executors import clip
from sitegen.project import DATA_FROM, load_project

from conftest import make_project


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("RESNET_DATA", DATA_FROM):
        monkeypatch.setenv(name, "x")  # recorded, so the test's own settings are undone
        monkeypatch.delenv(name)


def test_site_yml_data_is_where_cifar_is_looked_for(tmp_path, clean_env, monkeypatch):
    with_data = make_project(tmp_path / "a")
    with (with_data / "content" / "site.yml").open("a") as f:
        f.write("data: ../cifar-10-python.tar.gz\n")
    load_project(with_data)
    assert os.environ["RESNET_DATA"] == str(tmp_path / "cifar-10-python.tar.gz")
    with pytest.raises(cifar.DataError, match=r"cifar-10-python.tar.gz does not exist; set `data:` in content/site.yml"):
        cifar.load_cifar10(cache_dir=tmp_path / "cache", download=False)
    load_project(make_project(tmp_path / "b"))  # a project without the setting: none left over
    assert "RESNET_DATA" not in os.environ
    monkeypatch.setenv("RESNET_DATA", "/chosen/by/the/user")
    load_project(with_data)
    assert os.environ["RESNET_DATA"] == "/chosen/by/the/user"


def test_a_long_reason_keeps_its_hint_and_cuts_no_word():
    detail = "URLError: <urlopen error [Errno -3] Temporary failure in name resolution> " * 12
    text = f"DataError: CIFAR-10 not found: looked in {detail}; {cifar.HOW_TO_GET}"
    short = clip(text)
    assert short.endswith(cifar.HOW_TO_GET) and " [...] " in short and len(short) < len(text)
    words = set(text.split())
    assert all(w in words for w in short.replace(" [...] ", " ").split())
    assert clip("short enough") == "short enough"
