"""CIFAR-10 as uint8 tensors: found or fetched once, decoded once.

`load_cifar10()` looks for the data in this order: $RESNET_DATA (which `data:` in
content/site.yml sets, sitegen.project), the cache dir ($RESNET_DATA_CACHE or
<repo>/data), shared/data/cifar10-jpeg.tar.gz beside the repo (or inside it), then
downloads the official archive. A source is the official python archive (or its
extracted folder), an image folder train/<class>/*.jpg + test/<class>/*.jpg, or a
.tar.gz of one. Whatever the source, it is decoded once into a tensor file in the
cache dir keyed by the source's identity, so later loads are a single torch.load.

Nothing here is in a network's or a result's key: how the images are found and
decoded does not change them (the data's identity is in every provenance).
Batching them is lab.data's.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import multiprocessing
import os
import pickle
import re
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from lab.paths import REPO, replacing

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_MD5 = "c58f30108f718f92721af3b95e74349a"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")
REPO_ROOT = REPO  # lab.paths
# The shared data sits beside the checkout here, inside the tree on the GPU machine.
SHARED_ARCHIVES = (REPO_ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz",
                   REPO_ROOT / "shared" / "data" / "cifar10-jpeg.tar.gz")
CACHE_VERSION = 1  # bump when the decoded tensor file's layout changes
POOL_MIN = 4000  # images; fewer decode faster in-process than a pool starts
HOW_TO_GET = ("set `data:` in content/site.yml (or the environment variable RESNET_DATA) to "
              "cifar-10-python.tar.gz, an image folder with train/<class>/*.jpg and test/<class>/*.jpg, "
              "or a .tar.gz of one")

_OFFICIAL = re.compile(r"(?:^|/)(data_batch_[1-5]|test_batch|batches\.meta)$")
_IMAGE = re.compile(r"(?:^|/)(train|test)/([^/]+)/([^/]+\.(?:jpe?g|png))$", re.I)
# Annex K luminance table of the JPEG standard: its sum scales with quality.
_JPEG_LUMA_SUM = 3688


class DataError(RuntimeError):
    """The data set is missing or unreadable; the message says where we looked."""


@dataclasses.dataclass(frozen=True, eq=False)
class CifarData:
    train_x: torch.Tensor  # (N, 3, 32, 32) uint8
    train_y: torch.Tensor  # (N,) int64 class index
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    variant: str  # "official", or e.g. "jpeg-q75 image folder"
    source: str  # path or URL it came from

    def __repr__(self) -> str:
        return (f"CifarData({len(self.train_y)} train, {len(self.test_y)} test, "
                f"{self.variant}, from {self.source})")


def cache_root(cache_dir: str | Path | None = None) -> Path:
    return Path(cache_dir or os.environ.get("RESNET_DATA_CACHE") or REPO_ROOT / "data")


def load_cifar10(source: str | Path | None = None, cache_dir: str | Path | None = None,
                 *, download: bool = True, progress: bool = True) -> CifarData:
    """CIFAR-10 from `source`, or from the first place in the search order that has it."""
    cache = cache_root(cache_dir)
    if source is None:
        source = _find_source(cache, download, progress)
    path = Path(source)
    if not path.exists():
        raise DataError(f"CIFAR-10 source {path} does not exist; {HOW_TO_GET}")
    cached = cache / f"cifar10-{_identity(path)}.pt"
    if cached.exists():
        try:
            return _from_saved(torch.load(cached, weights_only=True))
        except Exception:  # a torn or stale cache file: decode again
            cached.unlink(missing_ok=True)
    try:
        data = _decode_source(path, progress)
    except DataError:
        raise
    except Exception as e:  # tar, gzip, pickle and PIL all raise their own types
        detail = f"{type(e).__name__}: {e}".replace("\n", " ")
        raise DataError(f"could not read CIFAR-10 from {path} ({detail}); {HOW_TO_GET}") from e
    fields = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}  # asdict would copy
    with replacing(cached) as tmp:  # a killed decode never leaves half a file
        torch.save({**fields, "version": CACHE_VERSION}, tmp)
    return data


def _find_source(cache: Path, download: bool, progress: bool) -> Path:
    env = os.environ.get("RESNET_DATA")
    if env:
        return Path(env)
    looked = ["RESNET_DATA (unset)"]
    for name in ("cifar-10-python.tar.gz", "cifar-10-batches-py", "cifar10-jpeg", "cifar10-jpeg.tar.gz"):
        if (cache / name).exists():
            return cache / name
    looked.append(f"{cache}/{{cifar-10-python.tar.gz,cifar10-jpeg[.tar.gz]}}")
    for shared in SHARED_ARCHIVES:
        if shared.exists():
            return shared
    looked += [str(p) for p in SHARED_ARCHIVES]
    if download:
        target = cache / "cifar-10-python.tar.gz"
        try:
            _download(CIFAR_URL, target, CIFAR_MD5, progress)
            return target
        except Exception as e:
            looked.append(f"{CIFAR_URL} ({type(e).__name__}: {e})".replace("\n", " "))
    raise DataError(f"CIFAR-10 not found: looked in {', '.join(looked)}; {HOW_TO_GET}")


def _download(url: str, target: Path, md5: str, progress: bool) -> None:
    digest = hashlib.md5()
    with replacing(target) as tmp, urllib.request.urlopen(url, timeout=30) as r, open(tmp, "wb") as f:
        total = int(r.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc="CIFAR-10",
                  disable=None if progress else True) as bar:
            while chunk := r.read(1 << 20):
                f.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
        if digest.hexdigest() != md5:  # the partial file goes, nothing lands at `target`
            raise DataError(f"{url} downloaded with md5 {digest.hexdigest()}, expected {md5}")


def _identity(path: Path) -> str:
    """A short key that changes when the source does (size/mtime, or folder listings)."""
    path = path.resolve()
    parts = [str(path)]
    if path.is_file():
        st = path.stat()
        parts += [str(st.st_size), str(st.st_mtime_ns)]
    else:
        for d in sorted(path.glob("**/")):  # every folder: its mtime and entry count
            parts += [str(d), str(d.stat().st_mtime_ns), str(len(os.listdir(d)))]
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:16]


def _from_saved(saved: dict) -> CifarData:
    if saved.pop("version", None) != CACHE_VERSION:
        raise ValueError("cache file from another version")
    saved["classes"] = tuple(saved["classes"])
    return CifarData(**saved)


def _decode_source(path: Path, progress: bool) -> CifarData:
    """Read every official batch or image file under `path` (a folder or an archive)."""
    batches: dict[str, bytes] = {}
    images: list[tuple[str, str, str, bytes | str]] = []  # split, class, file, bytes or path
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            rel = f.relative_to(path).as_posix()
            if m := _OFFICIAL.search(rel):
                batches[m.group(1)] = f.read_bytes()
            elif m := _IMAGE.search(rel):
                images.append((*m.groups(), str(f)))
    else:
        with tarfile.open(path, "r:*") as tf:
            for member in tf:
                if not member.isfile():
                    continue
                if m := _OFFICIAL.search(member.name):
                    batches[m.group(1)] = tf.extractfile(member).read()
                elif m := _IMAGE.search(member.name):
                    images.append((*m.groups(), tf.extractfile(member).read()))
    if batches:
        return _official(batches, str(path))
    if images:
        return _image_folder(images, str(path), progress)
    raise DataError(f"no CIFAR-10 batches or train/<class>/ images in {path}; {HOW_TO_GET}")


def _official(batches: dict[str, bytes], source: str) -> CifarData:
    missing = ({f"data_batch_{i}" for i in range(1, 6)} | {"test_batch"}) - set(batches)
    if missing:
        raise DataError(f"{source} lacks {', '.join(sorted(missing))}; {HOW_TO_GET}")

    def unpickle(name: str) -> dict:
        d = pickle.loads(batches[name], encoding="bytes")
        return {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}

    def split(names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        parts = [unpickle(n) for n in names]
        x = np.concatenate([np.asarray(p["data"], dtype=np.uint8) for p in parts])
        y = np.concatenate([np.asarray(p["labels"], dtype=np.int64) for p in parts])
        return torch.from_numpy(x.reshape(-1, 3, 32, 32).copy()), torch.from_numpy(y)

    train_x, train_y = split([f"data_batch_{i}" for i in range(1, 6)])
    test_x, test_y = split(["test_batch"])
    classes = CLASSES
    if "batches.meta" in batches:
        classes = tuple(n.decode() if isinstance(n, bytes) else n
                        for n in unpickle("batches.meta")["label_names"])
    return CifarData(train_x, train_y, test_x, test_y, classes, "official", source)


def _decode_chunk(items: list[bytes | str]) -> np.ndarray:
    out = np.empty((len(items), 32, 32, 3), np.uint8)
    for i, item in enumerate(items):
        with Image.open(io.BytesIO(item) if isinstance(item, bytes) else item) as im:
            a = np.asarray(im.convert("RGB"))
        if a.shape != (32, 32, 3):
            raise DataError(f"image {i} is {a.shape[1]}x{a.shape[0]}, not 32x32; {HOW_TO_GET}")
        out[i] = a
    return out


def _decode_all(items: list[bytes | str], progress: bool) -> np.ndarray:
    """(N, 32, 32, 3) uint8 pixels; many images go to a process pool (2 cores: ~2x)."""
    chunks = [items[i:i + 1000] for i in range(0, len(items), 1000)]
    workers = min(os.cpu_count() or 1, 8)
    pool = None
    if len(items) >= POOL_MIN and workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        # fork: workers need only PIL and numpy, and start in milliseconds
        pool = multiprocessing.get_context("fork").Pool(workers)
    try:
        parts = pool.imap(_decode_chunk, chunks) if pool else map(_decode_chunk, chunks)
        out = []
        with tqdm(total=len(items), unit="img", desc="decoding CIFAR-10",
                  disable=None if progress else True) as bar:
            for part in parts:
                out.append(part)
                bar.update(len(part))
        return np.concatenate(out)
    finally:
        if pool is not None:
            pool.terminate()


def _jpeg_quality(item: bytes | str) -> int | None:
    """Estimated IJG quality from the luminance quantisation table, if JPEG."""
    with Image.open(io.BytesIO(item) if isinstance(item, bytes) else item) as im:
        tables = getattr(im, "quantization", None)
    if not tables:
        return None
    scale = 100 * sum(tables[0]) / _JPEG_LUMA_SUM  # IJG: table = standard * scale / 100
    return round((200 - scale) / 2 if scale <= 100 else 5000 / scale)


def _image_folder(images: list[tuple[str, str, str, bytes | str]], source: str,
                  progress: bool) -> CifarData:
    # Archives list files in any order: sort so labels and order never depend on it.
    images.sort(key=_sort_key)
    classes = tuple(sorted({c for s, c, _, _ in images if s == "train"}))
    test_classes = tuple(sorted({c for s, c, _, _ in images if s == "test"}))
    if not classes or classes != test_classes:
        raise DataError(f"{source}: train classes {classes} differ from test classes "
                        f"{test_classes}; {HOW_TO_GET}")
    pixels = _decode_all([item for *_, item in images], progress)
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor([classes.index(c) for _, c, _, _ in images], dtype=torch.int64)
    is_train = torch.tensor([s == "train" for s, _, _, _ in images])
    quality = _jpeg_quality(images[0][3])
    variant = f"jpeg-q{quality} image folder" if quality else "image folder"
    return CifarData(x[is_train], y[is_train], x[~is_train], y[~is_train],
                     classes, variant, source)


def _sort_key(image: tuple) -> tuple:
    """split, class, then file names in natural order (2.jpg before 10.jpg)."""
    split, cls, name, _ = image
    return split, cls, tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


if __name__ == "__main__":  # python -m lab.cifar [source]: fetch and decode once
    import sys
    import time

    t0 = time.perf_counter()
    d = load_cifar10(sys.argv[1] if len(sys.argv) > 1 else None)
    print(f"{d} in {time.perf_counter() - t0:.1f} s")
