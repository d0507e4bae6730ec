"""Helpers shared by experiments: data by name, seeding, device choice."""
from __future__ import annotations

import functools
from pathlib import Path
import random
from typing import Any

import numpy as np
import torch

from lab.data import normalize, spread  # noqa: F401  (experiments import them from here)
from lab.experiments import Context


def fixed_images(x: torch.Tensor, y: torch.Tensor, n: int, seed: int = 0):
    """`n` images and labels spread over every class, never `x[:n]`: an image
    folder is sorted by class, so its first images are all airplanes."""
    pick = spread(y, n, seed)
    return x[pick], y[pick]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def synthetic_data(n_train: int, n_test: int, seed: int) -> Any:
    """Random class-coloured images: learnable, tiny, and needs no download."""
    from lab.data import CifarData

    g = torch.Generator().manual_seed(seed)

    def make(n: int):
        y = torch.randint(0, 10, (n,), generator=g)
        base = (torch.arange(10).float() * 25).view(10, 1, 1, 1)[y]
        noise = torch.randint(0, 60, (n, 3, 32, 32), generator=g).float()
        x = (base + noise).clamp(0, 255).to(torch.uint8)
        return x, y

    tx, ty = make(n_train)
    vx, vy = make(n_test)
    classes = tuple(f"class{i}" for i in range(10))
    return CifarData(train_x=tx, train_y=ty, test_x=vx, test_y=vy, classes=classes,
                     variant="synthetic", source=f"generated (seed {seed})")


@functools.lru_cache(maxsize=1)
def _cifar10() -> Any:
    """Decoded once per process: several experiments of one run share it (read-only)."""
    from lab.data import load_cifar10

    return load_cifar10()


def load_data(name: str, n_train: int, n_test: int, seed: int, ctx: Context) -> Any:
    """Data set by name, subset deterministically; records its variant in ctx."""
    if name == "synthetic":
        data = synthetic_data(n_train or 512, n_test or 256, seed)
    elif name == "cifar10":
        from lab.data import subset

        data = _cifar10()
        if n_train or n_test:
            data = subset(data, n_train, n_test, seed)
    else:
        raise ValueError(f"unknown data set {name!r}: use 'synthetic' or 'cifar10'")
    # the source's file name only: the build machine's folders are nobody's business
    ctx.facts["data"] = f"{data.variant}: {Path(str(data.source)).name}"
    ctx.facts["n_train"] = int(len(data.train_y))
    ctx.facts["n_test"] = int(len(data.test_y))
    return data


