"""The swap that publishes a build (sitegen.publish) on the real filesystem: one
renameat2 call where Linux has it, else two renames, and a build killed between
those two leaves site.old, which the next build's recover() puts back."""
from __future__ import annotations

import os

import pytest

from sitegen import publish


def folder(path, **files):
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def contents(path) -> dict:
    return {p.name: p.read_text() for p in path.iterdir()}


def no_exchange(monkeypatch):
    """As where renameat2 is missing (not Linux): the two-rename swap."""
    monkeypatch.setattr(publish, "_exchange", lambda a, b: False)


@pytest.fixture(params=["exchange", "two renames"])
def swap(request, monkeypatch):
    """swap_in as it runs on Linux, and as it runs elsewhere."""
    if request.param == "two renames":
        no_exchange(monkeypatch)
    return publish.swap_in


def test_swap_replaces_the_site_and_leaves_nothing_behind(tmp_path, swap):
    site = folder(tmp_path / "site", **{"index.html": "old", "gone.svg": "old figure"})
    staged = folder(tmp_path / ".site.staging-1", **{"index.html": "new"})
    swap(staged, site)
    assert contents(site) == {"index.html": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no staging folder, no site.old


def test_exchange_swaps_both_folders_in_one_call(tmp_path):
    a = folder(tmp_path / "a", x="a")
    b = folder(tmp_path / "b", x="b")
    if not publish._exchange(a, b):
        pytest.skip("no renameat2(RENAME_EXCHANGE) here: the two-rename swap runs instead")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_first_swap_makes_the_site(tmp_path, swap):
    staged = folder(tmp_path / ".site.staging-1", **{"index.html": "new"})
    swap(staged, tmp_path / "site")
    assert contents(tmp_path / "site") == {"index.html": "new"} and not staged.exists()


def test_a_kill_between_the_two_renames_is_recovered(tmp_path, monkeypatch):
    """The build dies after site -> site.old and before staging -> site: no site/ at all
    for a moment, and the next build puts the old one back before anything else."""
    no_exchange(monkeypatch)
    site = folder(tmp_path / "site", **{"index.html": "old"})
    staged = folder(tmp_path / ".site.staging-1", **{"index.html": "new"})
    real = os.replace

    def killed_at_the_second(src, dst):
        if os.fspath(src) == os.fspath(staged):
            raise KeyboardInterrupt  # what a kill leaves: the first rename done, the second not
        real(src, dst)

    monkeypatch.setattr(publish.os, "replace", killed_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        publish.swap_in(staged, site)
    monkeypatch.setattr(publish.os, "replace", real)
    assert not site.exists() and contents(tmp_path / "site.old") == {"index.html": "old"}
    publish.recover(site)
    assert contents(site) == {"index.html": "old"} and not (tmp_path / "site.old").exists()


def test_recover_drops_a_leftover_old_site_when_the_new_one_is_in_place(tmp_path):
    """Killed after both renames, before site.old was removed: the new site stays."""
    site = folder(tmp_path / "site", **{"index.html": "new"})
    folder(tmp_path / "site.old", **{"index.html": "old"})
    publish.recover(site)
    assert contents(site) == {"index.html": "new"} and not (tmp_path / "site.old").exists()


def test_recover_leaves_a_clean_folder_alone(tmp_path):
    site = folder(tmp_path / "site", **{"index.html": "new"})
    publish.recover(site)
    publish.recover(tmp_path / "never-built")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"] and contents(site) == {"index.html": "new"}


def test_a_stale_old_site_from_an_earlier_kill_does_not_block_the_two_renames(tmp_path, monkeypatch):
    no_exchange(monkeypatch)
    site = folder(tmp_path / "site", **{"index.html": "current"})
    folder(tmp_path / "site.old", **{"index.html": "older"})
    publish.swap_in(folder(tmp_path / ".site.staging-1", **{"index.html": "new"}), site)
    assert contents(site) == {"index.html": "new"} and sorted(p.name for p in tmp_path.iterdir()) == ["site"]
