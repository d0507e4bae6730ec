"""CIFAR-10 batched on the device: the part of the data path that decides a network.

`Loader` keeps the images on the device as uint8 and augments whole batches
there (random crop from 4-pixel padding, horizontal flip), drawing every random
number from its own CPU torch.Generator so a run repeats exactly with its seed.
`subset`, `spread`, `augment`, `normalize`, `MEAN` and `STD` are, with `Loader`,
the definitions every network's key hashes (lab.keys.DATA_BATCHING): editing
them retrains every network. Finding and decoding the images is lab.cifar's.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

# Re-exported for the keyed modules that import them from here (lab.networks,
# lab.experiments.common): their import lines are in every key, so they move to
# lab.cifar with the next full retrain. Other code imports lab.cifar.
from lab.cifar import CLASSES, CifarData, DataError, load_cifar10  # noqa: F401

MEAN = (0.4914, 0.4822, 0.4465)  # per-channel, of the official training set, in [0, 1]
STD = (0.2470, 0.2435, 0.2616)


def subset(data: CifarData, n_train: int = 0, n_test: int = 0, seed: int = 0) -> CifarData:
    """A class-balanced random subset (0 keeps a split whole), the same for the same seed."""
    g = torch.Generator().manual_seed(seed)

    def pick(y: torch.Tensor, n: int) -> torch.Tensor:
        if n <= 0 or n >= len(y):
            return torch.arange(len(y))
        k = len(data.classes)
        chosen = []
        for c in range(k):
            members = (y == c).nonzero().flatten()
            want = n // k + (1 if c < n % k else 0)
            if want > len(members):
                raise ValueError(f"class {data.classes[c]} has {len(members)} images, need {want}")
            chosen.append(members[torch.randperm(len(members), generator=g)[:want]])
        return torch.cat(chosen).sort().values  # keep the source order

    tr, te = pick(data.train_y, n_train), pick(data.test_y, n_test)
    if len(tr) == len(data.train_y) and len(te) == len(data.test_y):
        return data  # nothing to drop: no 180 MB copy
    return dataclasses.replace(data, train_x=data.train_x[tr], train_y=data.train_y[tr],
                               test_x=data.test_x[te], test_y=data.test_y[te],
                               variant=f"{data.variant}, subset {len(tr)}/{len(te)} seed {seed}")


def spread(y: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of `n` images taken in turn from every class, the same for the same seed.

    A fixed batch must not be `x[:n]`: an image folder is sorted by class, so the
    first images are all one class, and a batch of them shifts BatchNorm's batch
    statistics and every loss and gradient measured on it."""
    g = torch.Generator().manual_seed(seed)
    classes = torch.unique(y)
    members = [(y == c).nonzero().flatten() for c in classes]
    members = [m[torch.randperm(len(m), generator=g)] for m in members]
    order = [m[i] for i in range(max(map(len, members))) for m in members if i < len(m)]
    return torch.stack(order[:n]) if order and n > 0 else torch.zeros(0, dtype=torch.int64)


def augment(x: torch.Tensor, generator: torch.Generator, pad: int = 4,
            pad_mode: str = "zeros") -> torch.Tensor:
    """Random crop from a `pad`-pixel padded image and a random horizontal flip, per image.

    `x` is a uint8 batch (B, C, H, W) on any device; returns float32 in 0..255.
    Random numbers come from the CPU `generator`, so CPU and CUDA runs agree.
    The crop and flip are one gather; the result is channels_last in memory.
    """
    b, _, h, w = x.shape
    shifts = torch.randint(0, 2 * pad + 1, (2, b), generator=generator).to(x.device)
    flips = (torch.rand(b, generator=generator) < 0.5).to(x.device)
    mode = {"zeros": "constant", "reflect": "reflect"}[pad_mode]
    padded = F.pad(x.float(), (pad, pad, pad, pad), mode=mode)
    rows = shifts[0, :, None] + torch.arange(h, device=x.device)  # (B, H)
    cols = shifts[1, :, None] + torch.arange(w, device=x.device)  # (B, W)
    cols = torch.where(flips[:, None], cols.flip(1), cols)  # flipping reverses the columns
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2)


class Loader:
    """Batches of (normalised float images, labels) from uint8 tensors kept on `device`.

    A training loader reshuffles and augments every epoch; an eval loader keeps
    order. All randomness comes from `self.generator`; `state_dict()` captures
    it so a resumed run draws the same batches.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                 device: str | torch.device | None = None, train: bool = True,
                 seed: int = 0, augment: bool = True, pad: int = 4, pad_mode: str = "zeros",
                 drop_last: bool = False):
        self.device = torch.device(device or "cpu")
        self.x, self.y = x.to(self.device), y.to(self.device)
        self.batch_size, self.train, self.augment = batch_size, train, augment
        self.pad, self.pad_mode, self.drop_last = pad, pad_mode, drop_last
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.y)
        return max(n // self.batch_size, 1) if self.drop_last else -(-n // self.batch_size)

    @property
    def images_per_epoch(self) -> int:
        return min(len(self) * self.batch_size, len(self.y))

    def __iter__(self):
        n = len(self.y)
        order = (torch.randperm(n, generator=self.generator).to(self.device)
                 if self.train else torch.arange(n, device=self.device))
        for start in range(0, self.images_per_epoch, self.batch_size):
            idx = order[start:start + self.batch_size]
            xb = self.x[idx]
            if self.train and self.augment:
                xb = augment(xb, self.generator, self.pad, self.pad_mode)
            yield normalize(xb), self.y[idx]

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])


def normalize(x: torch.Tensor) -> torch.Tensor:
    """uint8 (or 0..255 float) images to the network's input: per-channel standardised,
    float32, channels_last in memory (oneDNN and cuDNN both run NHWC convs faster)."""
    mean = 255 * torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = 255 * torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return ((x.float() - mean) / std).contiguous(memory_format=torch.channels_last)
