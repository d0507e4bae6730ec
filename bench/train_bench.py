"""Epoch time of our trainer against a tutorial-style baseline, same model, data and machine.

The baseline is how most CIFAR tutorials train: a torch.utils.data.DataLoader
over a Dataset that crops, flips and converts each image on the CPU, fp32,
batch 128, default memory layout. Ours keeps the data on the device as uint8,
augments whole batches there, runs channels_last, and is timed twice: fp32,
and bf16 autocast (where the device has native bf16: CUDA, AMX or AVX512-BF16).
Each of our runs alternates epoch by epoch with its own baseline run.

    python bench/train_bench.py                  # CPU: 512 images, 2 epochs each
    python bench/train_bench.py --epochs 3 --n-train 0 --model resnet110
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from lab.cifar import CifarData, DataError, load_cifar10  # noqa: E402
from lab.data import MEAN, STD, subset  # noqa: E402
from lab.models import build, count_parameters  # noqa: E402
from lab.train import TrainConfig, default_device, train  # noqa: E402

# Dense bf16 tensor-core peaks, TFLOP/s, from the vendors' data sheets.
PEAK_BF16 = {"H100 PCIe": 756, "H100": 989, "H200": 989, "A100": 312, "L4": 121, "A10": 125}


class TutorialCifar(Dataset):
    """Per-image CPU transforms as in torchvision's RandomCrop(32, 4), RandomHorizontalFlip,
    ToTensor and Normalize, written in numpy/torch (torchvision is not installed here)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.images = x.permute(0, 2, 3, 1).numpy()  # HWC uint8, as torchvision stores CIFAR
        self.labels = y.numpy()
        self.mean = torch.tensor(MEAN).view(3, 1, 1)
        self.std = torch.tensor(STD).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img = np.pad(self.images[i], ((4, 4), (4, 4), (0, 0)))
        dy, dx = np.random.randint(0, 9, 2)
        img = img[dy:dy + 32, dx:dx + 32]
        if np.random.rand() < 0.5:
            img = img[:, ::-1]
        t = torch.from_numpy(img.transpose(2, 0, 1).copy()).float().div(255)
        return (t - self.mean) / self.std, int(self.labels[i])


class Baseline:
    """The tutorial training loop, one epoch per call, so it can alternate with ours."""

    def __init__(self, model: torch.nn.Module, data: CifarData, epochs: int, workers: int,
                 device: torch.device):
        self.model, self.device = model.to(device).train(), device
        self.loader = DataLoader(TutorialCifar(data.train_x, data.train_y), batch_size=128,
                                 shuffle=True, num_workers=workers,
                                 pin_memory=device.type == "cuda", persistent_workers=workers > 0)
        self.opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
        self.sched = torch.optim.lr_scheduler.MultiStepLR(self.opt, [epochs // 2, 3 * epochs // 4])
        self.seconds: list[float] = []

    def epoch(self, *_) -> None:
        start, running = time.perf_counter(), 0.0
        for x, y in self.loader:
            x, y = x.to(self.device), y.to(self.device)
            loss = F.cross_entropy(self.model(x), y)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            running += loss.item()  # the usual running-loss print: one sync per step
        self.sched.step()
        self.seconds.append(time.perf_counter() - start)


def forward_flops(name: str) -> int:
    """FLOPs (2 per multiply-add) of one image's forward pass."""
    model = build(name).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    return counter.get_total_flops()


def device_info(device: torch.device) -> tuple[str, float | None]:
    if device.type != "cuda":
        return f"cpu ({torch.get_num_threads()} threads)", None
    name = torch.cuda.get_device_name(device)
    peak = next((v for k, v in PEAK_BF16.items() if all(w in name for w in k.split())), None)
    return name, peak


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cuda = torch.cuda.is_available()
    p.add_argument("--model", default="resnet56")
    p.add_argument("--epochs", type=int, default=3 if cuda else 2)
    p.add_argument("--n-train", type=int, default=0 if cuda else 512, help="0 = all 50,000")
    p.add_argument("--workers", type=int, default=2 if cuda else 0,
                   help="baseline DataLoader workers (tutorials use 2; CPU default 0 leaves the cores to compute)")
    p.add_argument("--compile", action="store_true", help="torch.compile our model")
    p.add_argument("--force-bf16", action="store_true",
                   help="also time bf16 where the device has no native bf16 (emulated: slow)")
    p.add_argument("--synthetic", action="store_true", help="random images even if CIFAR-10 is found")
    args = p.parse_args()

    device = default_device()
    name, peak = device_info(device)
    from sitegen.project import load_project

    load_project(Path(__file__).resolve().parents[1])  # `data:` in content/site.yml, as the build reads it
    warning = ""
    try:
        data = None if args.synthetic else load_cifar10(download=False)
        what = f"CIFAR-10, {data.variant}" if data else "synthetic random images (--synthetic)"
    except DataError as e:
        data, what = None, "SYNTHETIC random images, not CIFAR-10 (see the warning)"
        warning = ("WARNING: CIFAR-10 was not found, so this benchmark times SYNTHETIC random images, "
                   f"not the data the article trains on: {e}")
        print(warning, file=sys.stderr, flush=True)
    if data is None:
        g = torch.Generator().manual_seed(0)
        n = args.n_train or 50_000
        data = CifarData(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                         torch.randint(0, 10, (n,), generator=g), torch.zeros(10, 3, 32, 32, dtype=torch.uint8),
                         torch.arange(10), tuple(map(str, range(10))), "synthetic", "random")
    data = subset(data, args.n_train, min(len(data.test_y), 1000), seed=0)
    flops = forward_flops(args.model)
    print(f"device: {name} | torch {torch.__version__} | python {sys.version.split()[0]}")
    print(f"data:   {what}; {len(data.train_y)} training images per epoch")
    print(f"model:  {args.model}, {count_parameters(build(args.model)) / 1e6:.2f}M params, "
          f"{flops / 1e9:.3f} GFLOP forward per image (FlopCounterMode); training ~3x forward")

    import lab.train as train_mod

    native = train_mod.native_bf16(device)
    precisions = ["fp32"] + (["bf16"] if native or args.force_bf16 else [])
    n = len(data.train_y)
    peak_txt = f"{peak:g}" if peak else "unknown"
    print(f"\nours: data on device, batch augmentation, channels_last; bf16 autocast in the bf16 run"
          f"{'' if native else ' (no native bf16 here: oneDNN emulates it)'}"
          f"{', torch.compile' if args.compile else ''}; baseline: DataLoader({args.workers} workers), "
          "per-image CPU transforms, fp32 (TF32 convs on CUDA), default memory layout")
    if not native and not args.force_bf16:
        print("no native bf16 on this device (AMX or AVX512-BF16 on CPUs): the bf16 run is skipped; "
              "--force-bf16 times oneDNN's emulation")
    summary = []
    for prec in precisions:
        # Each run of ours is paired with a fresh baseline, epochs alternating (the baseline's
        # runs from on_epoch), so both see the same machine load.
        real = train_mod.native_bf16
        train_mod.native_bf16 = lambda d, p=prec: p == "bf16"
        try:
            torch.manual_seed(0)
            np.random.seed(0)
            base = Baseline(build(args.model), data, args.epochs, args.workers, device)
            torch.manual_seed(0)
            cfg = TrainConfig(epochs=args.epochs, batch_size=128, compile=args.compile,
                              eval_every=args.epochs)
            history = train(build(args.model), data, cfg, device=device, progress=False,
                            on_epoch=base.epoch)
        finally:
            train_mod.native_bf16 = real
        ours, theirs = [e.seconds for e in history.epochs], base.seconds
        steps = history.epochs[0].steps
        m = steps * 128  # ours trains full batches only; the baseline all n images
        print(f"\n{prec}: {'epoch':>5} | {'ours s':>8} | {'base s':>8} | {'ours img/s':>10} | "
              f"{'base img/s':>10} | {'speed-up':>8} | {'ours TFLOP/s':>12} | bf16 peak TFLOP/s")
        for i, (a, b) in enumerate(zip(ours, theirs), 1):
            ta = 3 * flops * m / a / 1e12
            share = f"{peak_txt} ({100 * ta / peak:.1f}%)" if peak else peak_txt
            print(f"{prec}: {i:>5} | {a:>8.2f} | {b:>8.2f} | {m / a:>10.0f} | {n / b:>10.0f} | "
                  f"{(m / a) / (n / b):>7.2f}x | {ta:>12.4f} | {share}")
        if len(ours) > 1:
            a, b = sum(ours[1:]) / len(ours[1:]), sum(theirs[1:]) / len(theirs[1:])
            summary.append((prec, m / a, n / b))
    for prec, a, b in summary:
        print(f"after the first epoch (warm-up excluded), {prec}: ours {a:.0f} img/s, "
              f"tutorial loop {b:.0f} img/s, speed-up {a / b:.2f}x")
    if warning:
        print(warning, file=sys.stderr)

if __name__ == "__main__":
    main()
