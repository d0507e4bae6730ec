"""Loading CIFAR-10 from every kind of source and the tensor cache (lab.cifar),
subsets and batches (lab.data)."""
from __future__ import annotations

import os
import pickle
import tarfile

import numpy as np
import pytest
import torch

import lab.cifar as cifar
from conftest_data import (flat_colour, random_data, tar_gz, write_image_folder,
                           write_official_archive)
from lab.cifar import CLASSES, DataError, load_cifar10
from lab.data import Loader, augment, spread, subset


@pytest.fixture
def no_default_sources(monkeypatch, tmp_path):
    """Point every default search place at empty spots, so only the test's data counts."""
    monkeypatch.delenv("RESNET_DATA", raising=False)
    monkeypatch.delenv("RESNET_DATA_CACHE", raising=False)
    monkeypatch.setattr(cifar, "SHARED_ARCHIVES", (tmp_path / "no-shared" / "missing.tar.gz",))


def test_image_folder_loads_with_right_shapes_and_labels(tmp_path, no_default_sources):
    folder = write_image_folder(tmp_path / "cifar", n_train=3, n_test=2)
    d = load_cifar10(folder, cache_dir=tmp_path / "cache", progress=False)
    assert d.train_x.shape == (30, 3, 32, 32) and d.train_x.dtype == torch.uint8
    assert d.test_x.shape == (20, 3, 32, 32)
    assert d.train_y.dtype == torch.int64 and d.classes == CLASSES
    assert torch.equal(torch.bincount(d.train_y), torch.full((10,), 3))
    # Each fixture image is a flat colour set by its label and index: check both survived.
    for k in (0, 7, 29):
        label, index = int(d.train_y[k]), k % 3
        mean = d.train_x[k].float().mean((1, 2)).numpy()
        assert np.abs(mean - flat_colour(label, index) - 3.5).max() < 4
    assert d.variant == "jpeg-q95 image folder" and d.source == str(folder)


def test_tar_gz_of_a_folder_loads_the_same(tmp_path, no_default_sources):
    folder = write_image_folder(tmp_path / "cifar", n_train=2, n_test=1)
    archive = tar_gz(folder, tmp_path / "cifar10-jpeg.tar.gz")
    a = load_cifar10(folder, cache_dir=tmp_path / "cache", progress=False)
    b = load_cifar10(archive, cache_dir=tmp_path / "cache", progress=False)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)


def test_process_pool_decodes_the_same(tmp_path, no_default_sources, monkeypatch):
    folder = write_image_folder(tmp_path / "cifar", n_train=2, n_test=1)
    serial = load_cifar10(folder, cache_dir=tmp_path / "a", progress=False)
    monkeypatch.setattr(cifar, "POOL_MIN", 0)
    monkeypatch.setattr(cifar.os, "cpu_count", lambda: 2)
    pooled = load_cifar10(folder, cache_dir=tmp_path / "b", progress=False)
    assert torch.equal(serial.train_x, pooled.train_x) and torch.equal(serial.test_y, pooled.test_y)


def test_second_load_uses_the_tensor_cache(tmp_path, no_default_sources, monkeypatch):
    archive = tar_gz(write_image_folder(tmp_path / "cifar"), tmp_path / "c.tar.gz")
    decodes = []
    original = cifar._decode_source

    def counting(*args, **kw):
        decodes.append(args[0])
        return original(*args, **kw)

    monkeypatch.setattr(cifar, "_decode_source", counting)
    first = load_cifar10(archive, cache_dir=tmp_path / "cache", progress=False)
    second = load_cifar10(archive, cache_dir=tmp_path / "cache", progress=False)
    assert len(decodes) == 1 and len(list((tmp_path / "cache").glob("cifar10-*.pt"))) == 1
    assert torch.equal(first.train_x, second.train_x) and second.variant == first.variant
    os.utime(archive, ns=(1, 1))  # a changed source has another identity: decode again
    load_cifar10(archive, cache_dir=tmp_path / "cache", progress=False)
    assert len(decodes) == 2


def test_search_order_env_then_cache_then_shared(tmp_path, no_default_sources, monkeypatch):
    shared = tar_gz(write_image_folder(tmp_path / "s", n_train=1, n_test=1), tmp_path / "s.tgz")
    monkeypatch.setattr(cifar, "SHARED_ARCHIVES", (tmp_path / "nothing.tgz", shared))
    monkeypatch.setenv("RESNET_DATA_CACHE", str(tmp_path / "cache"))
    assert load_cifar10(download=False, progress=False).source == str(shared)
    official = write_official_archive(tmp_path / "cache" / "cifar-10-python.tar.gz")
    assert load_cifar10(download=False, progress=False).source == str(official)
    monkeypatch.setenv("RESNET_DATA", str(tmp_path / "s"))
    assert load_cifar10(download=False, progress=False).source == str(tmp_path / "s")


def test_official_pickle_archive_loads(tmp_path, no_default_sources):
    archive = write_official_archive(tmp_path / "cifar-10-python.tar.gz", per_batch=4)
    d = load_cifar10(archive, cache_dir=tmp_path / "cache", progress=False)
    assert d.variant == "official" and d.classes == CLASSES
    assert d.train_x.shape == (20, 3, 32, 32) and d.test_x.shape == (4, 3, 32, 32)
    # Rows are 1024 red, 1024 green, 1024 blue values: check the reshape keeps that.
    with tarfile.open(archive) as tf:
        raw = pickle.load(tf.extractfile("cifar-10-batches-py/test_batch"), encoding="bytes")
    assert torch.equal(d.test_x[1, 2].flatten(), torch.from_numpy(raw[b"data"][1, 2048:]))
    assert d.test_y.tolist() == raw[b"labels"]


def test_corrupt_archive_raises_one_line_data_error(tmp_path, no_default_sources):
    archive = write_official_archive(tmp_path / "cifar-10-python.tar.gz")
    blob = archive.read_bytes()
    archive.write_bytes(blob[: len(blob) // 2])  # truncated download
    with pytest.raises(DataError) as err:
        load_cifar10(archive, cache_dir=tmp_path / "cache", progress=False)
    message = str(err.value)
    assert "\n" not in message and str(archive) in message and "RESNET_DATA" in message
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tar file at all")
    with pytest.raises(DataError):
        load_cifar10(tmp_path / "junk.tar.gz", cache_dir=tmp_path / "cache", progress=False)


def test_folder_without_images_raises_data_error(tmp_path, no_default_sources):
    (tmp_path / "empty" / "train").mkdir(parents=True)
    with pytest.raises(DataError, match="no CIFAR-10"):
        load_cifar10(tmp_path / "empty", cache_dir=tmp_path / "cache", progress=False)


def test_missing_data_says_where_it_looked(tmp_path, no_default_sources):
    with pytest.raises(DataError) as err:
        load_cifar10(cache_dir=tmp_path / "cache", download=False, progress=False)
    message = str(err.value)
    assert "\n" not in message
    assert "RESNET_DATA" in message and str(tmp_path / "cache") in message
    assert "missing.tar.gz" in message
    with pytest.raises(DataError, match="does not exist"):
        load_cifar10(tmp_path / "nowhere", cache_dir=tmp_path / "cache", progress=False)


def test_subset_is_class_balanced_and_deterministic():
    d = random_data(n_train=200, n_test=100)
    a, b = subset(d, 50, 20, seed=1), subset(d, 50, 20, seed=1)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)
    assert torch.bincount(a.train_y).tolist() == [5] * 10
    assert len(a.test_y) == 20 and "subset 50/20" in a.variant
    assert not torch.equal(subset(d, 50, 20, seed=2).train_x, a.train_x)
    assert len(subset(d, 0, 0).train_y) == 200


def test_augment_keeps_shapes_and_repeats_with_a_seed():
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    out1 = augment(x, torch.Generator().manual_seed(3))
    out2 = augment(x, torch.Generator().manual_seed(3))
    out3 = augment(x, torch.Generator().manual_seed(4))
    assert out1.shape == (16, 3, 32, 32) and out1.dtype == torch.float32
    assert torch.equal(out1, out2) and not torch.equal(out1, out3)
    assert out1.max() <= 255 and out1.min() >= 0


def test_augment_is_a_crop_of_the_padded_image_maybe_flipped():
    x = torch.randint(1, 256, (64, 3, 32, 32), dtype=torch.uint8)
    out = augment(x, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x.float(), (4, 4, 4, 4))
    flips = 0
    for i in range(len(x)):
        crops = [padded[i, :, dy:dy + 32, dx:dx + 32] for dy in range(9) for dx in range(9)]
        plain = any(torch.equal(out[i], c) for c in crops)
        flipped = any(torch.equal(out[i], c.flip(2)) for c in crops)
        assert plain or flipped, f"image {i} is not a crop of its padded original"
        flips += flipped
    assert 10 < flips < 54  # about half flipped


def test_loader_batches_normalised_and_repeatable():
    d = random_data(n_train=50, n_test=20)
    a = list(Loader(d.train_x, d.train_y, 16, train=True, seed=5))
    b = list(Loader(d.train_x, d.train_y, 16, train=True, seed=5))
    assert [len(y) for _, y in a] == [16, 16, 16, 2]
    assert all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in zip(a, b))
    assert sorted(torch.cat([y for _, y in a]).tolist()) == sorted(d.train_y.tolist())
    xs = torch.cat([x for x, _ in a])
    assert xs.shape == (50, 3, 32, 32) and abs(xs.mean().item()) < 0.5
    test = list(Loader(d.test_x, d.test_y, 8, train=False))
    assert torch.equal(torch.cat([y for _, y in test]), d.test_y)  # eval keeps order
    loader = Loader(d.train_x, d.train_y, 16, seed=5)
    state = loader.state_dict()
    first = [y for _, y in loader]
    loader.load_state_dict(state)
    assert all(torch.equal(p, q) for p, q in zip(first, [y for _, y in loader]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_loader_on_cuda_matches_cpu():
    d = random_data(n_train=40)
    cpu = list(Loader(d.train_x, d.train_y, 16, device="cpu", seed=1))
    gpu = list(Loader(d.train_x, d.train_y, 16, device="cuda", seed=1))
    for (xc, yc), (xg, yg) in zip(cpu, gpu):
        assert xg.is_contiguous(memory_format=torch.channels_last)
        assert torch.allclose(xc, xg.cpu(), atol=1e-5) and torch.equal(yc, yg.cpu())


def test_spread_draws_every_class_from_a_class_sorted_folder():
    # An image folder is sorted by class: a fixed batch of x[:n] would be all airplanes.
    y = torch.arange(10).repeat_interleave(30)
    pick = spread(y, 100, seed=0)
    assert torch.bincount(y[pick], minlength=10).tolist() == [10] * 10
    assert len(set(pick.tolist())) == 100
    assert torch.equal(pick, spread(y, 100, seed=0))
    assert not torch.equal(pick, spread(y, 100, seed=1))
    assert sorted(spread(y, 1000).tolist()) == list(range(300))  # more than there are: all
