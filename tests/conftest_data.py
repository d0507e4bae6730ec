"""Tiny CIFAR-10 look-alikes for tests: no test needs the real archive.

Helpers, not fixtures (tests/conftest.py belongs to the site generator): each
writes a small data set into a folder the test gives it.
"""
from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lab.cifar import CLASSES, CifarData


def write_image_folder(root: Path, n_train: int = 3, n_test: int = 2, seed: int = 0) -> Path:
    """root/train/<class>/NNNN.jpg and root/test/<class>/NNNN.jpg, random 32x32 JPEGs.

    Each image is a flat colour chosen by its class and index, so a decoded
    image can be matched to its file despite JPEG loss.
    """
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        for c, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                noise = rng.integers(0, 8, (32, 32, 3))
                pixels = np.clip(flat_colour(c, i) + noise, 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i:04d}.jpg", quality=95)
    return root


def flat_colour(label: int, index: int) -> np.ndarray:
    return np.array([20 * label + 10, 40 * index + 20, 128], dtype=np.int64)


def tar_gz(folder: Path, archive: Path, arcname: str = "cifar10-jpeg") -> Path:
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(folder, arcname=arcname)
    return archive


def write_official_archive(path: Path, per_batch: int = 4, seed: int = 0) -> Path:
    """A cifar-10-python.tar.gz look-alike: pickled dicts of uint8 rows and labels."""
    rng = np.random.default_rng(seed)

    def member(tf: tarfile.TarFile, name: str, obj: dict) -> None:
        blob = pickle.dumps(obj)
        info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
        info.size = len(blob)
        tf.addfile(info, io.BytesIO(blob))

    with tarfile.open(path, "w:gz") as tf:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
            labels = [int(v) for v in rng.integers(0, 10, per_batch)]
            member(tf, name, {b"batch_label": name.encode(), b"data": data, b"labels": labels})
        member(tf, "batches.meta", {b"label_names": [c.encode() for c in CLASSES]})
    return path


def random_data(n_train: int = 32, n_test: int = 16, seed: int = 0) -> CifarData:
    """In-memory CifarData with random pixels and balanced labels."""
    g = torch.Generator().manual_seed(seed)
    return CifarData(
        train_x=torch.randint(0, 256, (n_train, 3, 32, 32), dtype=torch.uint8, generator=g),
        train_y=torch.arange(n_train) % 10,
        test_x=torch.randint(0, 256, (n_test, 3, 32, 32), dtype=torch.uint8, generator=g),
        test_y=torch.arange(n_test) % 10,
        classes=CLASSES, variant="random", source="tests")
