"""Train a CIFAR network the way He et al. 2015 did, fast and resumable.

One loop, top to bottom: SGD with momentum and weight decay, a warm-up and an
annealing schedule, data resident on the device and augmented per batch
(lab.data.Loader), channels_last everywhere, and bf16 autocast wherever
the device computes bf16 natively (CUDA; CPUs with AMX or AVX512-BF16) and fp32
elsewhere. The same code runs on CPU and CUDA; on one machine with the same
seed it is bit-exact, also across a checkpoint and resume. Each epoch records
the precision and the processor it ran on, so a run resumed elsewhere says so.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .config import to_dict
from .data import CifarData, Loader, subset

SCHEDULES = ("paper", "compressed", "linear", "constant")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10  # passes over the training set
    batch_size: int = 128  # images per SGD step
    lr: float = 0.1  # peak learning rate
    momentum: float = 0.9  # SGD momentum (dimensionless)
    weight_decay: float = 1e-4  # L2 coefficient, on every parameter
    nesterov: bool = False  # Nesterov momentum
    schedule: str = "paper"  # paper|compressed: /10 at 50% and 75% of steps; linear: to 0; constant
    warmup_epochs: float = 0.0  # epochs of linear warmup from 0 to lr
    label_smoothing: float = 0.0  # probability mass spread over all classes
    seed: int = 0  # seeds batch order, augmentation and the subset
    compile: bool = False  # torch.compile the model
    amp: bool = True  # bf16 autocast where the device has native bf16 (see `precision`), else fp32
    n_train: int = 0  # training images, class-balanced subset (0 = all)
    n_test: int = 0  # test images, class-balanced subset (0 = all)
    max_grad_norm: float = 0.0  # clip gradients to this L2 norm (0 = off)
    diverge_loss: float = 1e3  # nats; a batch loss above this (or NaN/inf) is divergence
    eval_every: int = 1  # epochs between test evaluations (the last is always evaluated)
    augment: bool = True  # random crop from 4-pixel padding + horizontal flip
    check_every: int = 25  # steps between loss read-backs (each one syncs the GPU)

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")


class Divergence(RuntimeError):
    """The loss became NaN/inf or exceeded `TrainConfig.diverge_loss`."""


@dataclasses.dataclass
class EpochRecord:
    epoch: int  # 1-based
    train_loss: float  # mean cross-entropy over the epoch's batches, nats
    train_error: float  # fraction misclassified during training (augmented images)
    test_loss: float | None  # None when this epoch was not evaluated
    test_error: float | None
    seconds: float  # wall time of the training pass (evaluation excluded)
    eval_seconds: float  # wall time of the evaluation
    lr: float  # learning rate at the epoch's last step
    images_per_second: float  # training throughput
    steps: int = 0  # SGD steps in this epoch
    precision: str = "fp32"  # "bf16" (autocast) or "fp32"
    host: str = ""  # the processor that ran this epoch (CPU model or GPU name)
    threads: int = 0  # CPU threads torch used


@dataclasses.dataclass
class History:
    model: str
    config: dict
    device: str
    epochs: list[EpochRecord] = dataclasses.field(default_factory=list)
    diverged: bool = False
    diverged_epoch: int | None = None
    diverged_step: int | None = None  # global step at which divergence was seen

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(**{**d, "epochs": [EpochRecord(**e) for e in d["epochs"]]})

    @property
    def final(self) -> EpochRecord | None:
        return self.epochs[-1] if self.epochs else None


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def native_bf16(device: torch.device | str) -> bool:
    """Does `device` compute bf16 natively? CUDA: ask torch. CPU: AMX or AVX512-BF16,
    read from the CPU flags (oneDNN emulates bf16 elsewhere, slower than fp32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
        return "amx_bf16" in flags or "avx512_bf16" in flags
    except OSError:
        cpu = getattr(torch._C, "_cpu", None)
        return bool(cpu and (cpu._is_amx_tile_supported() or cpu._is_avx512_bf16_supported()))


def precision(device: torch.device | str, amp: bool = True) -> str:
    """The precision a run with `amp` gets on `device`: "bf16" or "fp32"."""
    return "bf16" if amp and native_bf16(device) else "fp32"


def host_name(device: torch.device | str) -> str:
    """The processor behind `device`, for provenance."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return ""


def lr_at(cfg: TrainConfig, step: int, total_steps: int) -> float:
    """Learning rate for 0-based `step` of `total_steps`."""
    steps_per_epoch = total_steps / max(cfg.epochs, 1)
    warmup = cfg.warmup_epochs * steps_per_epoch
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    frac = step / total_steps
    if cfg.schedule in ("paper", "compressed"):
        # He et al.: /10 at 32k and 48k of 64k iterations, i.e. at 50% and 75%.
        return cfg.lr * (0.1 ** ((frac >= 0.5) + (frac >= 0.75)))
    if cfg.schedule == "linear":
        return cfg.lr * (1 - (step - warmup) / max(total_steps - warmup, 1))
    return cfg.lr


def _autocast(device: torch.device, amp: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16,
                          enabled=precision(device, amp) == "bf16")


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000,
             device: torch.device | str | None = None, amp: bool = True) -> tuple[float, float]:
    """(mean cross-entropy, error rate) of `model` on uint8 images `x`, labels `y`."""
    device = torch.device(device) if device else next(model.parameters()).device
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=device)
    wrong = torch.zeros((), device=device, dtype=torch.int64)
    for xb, yb in Loader(x, y, batch_size, device, train=False):
        with _autocast(device, amp):
            out = model(xb)
        loss_sum += F.cross_entropy(out.float(), yb, reduction="sum")
        wrong += (out.argmax(1) != yb).sum()
    model.train(was_training)
    n = max(len(y), 1)
    return loss_sum.item() / n, wrong.item() / n


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_atomic(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)  # a kill mid-save leaves the previous checkpoint intact


def train(model: nn.Module, data: CifarData, cfg: TrainConfig = TrainConfig(),
          device: torch.device | str | None = None, checkpoint: str | Path | None = None,
          progress: bool = True, on_epoch: Callable[[EpochRecord], None] | None = None,
          expect_divergence: bool = False, keep_checkpoint: bool = True) -> History:
    """Train `model` in place on `data`; returns the per-epoch History.

    With `checkpoint`, state is saved there after every epoch and a run finding
    it resumes where it stopped, ending with the same metrics as an unbroken run.
    """
    device = torch.device(device) if device else default_device()
    name = getattr(model, "arch", type(model).__name__)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick kernels
    data = subset(data, cfg.n_train, cfg.n_test, cfg.seed)
    # channels_last: oneDNN and cuDNN both run these convs faster in NHWC (CPU fp32: 1.2-1.3x)
    model.to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay, nesterov=cfg.nesterov)
    # Full batches only: a last batch of a few images is a step of noisy BN statistics at
    # full learning rate. The order is reshuffled every epoch, so no image is left out for long.
    loader = Loader(data.train_x, data.train_y, cfg.batch_size, device, train=True,
                    seed=cfg.seed, augment=cfg.augment, drop_last=True)
    total_steps = cfg.epochs * len(loader)
    history = History(name, to_dict(cfg), str(device))
    where = {"precision": precision(device, cfg.amp), "host": host_name(device),
             "threads": torch.get_num_threads() if device.type == "cpu" else 0}

    checkpoint = Path(checkpoint) if checkpoint else None
    if checkpoint is not None and checkpoint.exists():
        # CPU first: generator states must stay CPU tensors; load_state_dict moves the rest.
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        if state["config"] != history.config:
            raise ValueError(f"checkpoint {checkpoint} was made with another config; "
                             "delete it or train with the same TrainConfig")
        history = History.from_dict(state["history"])
        if history.diverged:  # a rerun would only diverge again
            return history
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        loader.load_state_dict(state["loader"])
        _set_rng_state(state["rng"])
    step = len(history.epochs) * len(loader)

    net = torch.compile(model) if cfg.compile else model  # state lives in `model`
    for epoch in range(len(history.epochs) + 1, cfg.epochs + 1):
        model.train()
        loss_sum = torch.zeros((), device=device)
        wrong = torch.zeros((), device=device, dtype=torch.int64)
        seen, checked, lr = 0, 0, cfg.lr
        start = time.perf_counter()
        bar = tqdm(total=loader.images_per_epoch, unit="img", unit_scale=True, leave=False,
                   desc=f"{name} epoch {epoch}/{cfg.epochs}", disable=None if progress else True)
        for xb, yb in loader:
            lr = lr_at(cfg, step, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with _autocast(device, cfg.amp):
                out = net(xb)
                loss = F.cross_entropy(out.float(), yb, label_smoothing=cfg.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.max_grad_norm > 0:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            step += 1
            loss_sum += loss.detach() * len(yb)
            wrong += (out.detach().argmax(1) != yb).sum()
            seen += len(yb)
            bar.update(len(yb))
            # Reading the loss back syncs the GPU, so do it every few steps only.
            if step % cfg.check_every == 0 or seen == loader.images_per_epoch:
                mean = loss_sum.item() / seen  # NaN here if any batch since the start was
                bad = _check(loss.item() if math.isfinite(mean) else mean,
                             cfg, name, epoch, checked, step)
                checked = step
                bar.set_postfix(loss=f"{mean:.3f}", lr=f"{lr:.3g}")
                if bad:
                    if not expect_divergence:
                        bar.close()
                        raise Divergence(bad)
                    history.diverged, history.diverged_epoch, history.diverged_step = True, epoch, step
                    break
        bar.close()
        seconds = time.perf_counter() - start
        if history.diverged:
            break

        start = time.perf_counter()
        test_loss = test_error = None
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
            test_loss, test_error = evaluate(model, data.test_x, data.test_y, device=device, amp=cfg.amp)
        record = EpochRecord(epoch, loss_sum.item() / seen, wrong.item() / seen, test_loss,
                             test_error, seconds, time.perf_counter() - start, lr, seen / seconds,
                             steps=len(loader), **where)
        history.epochs.append(record)
        if checkpoint is not None:
            _save_atomic(_state(model, optimizer, loader, history), checkpoint)
        if on_epoch is not None:
            on_epoch(record)
    if checkpoint is not None:
        if history.diverged:  # record it, so a rerun returns at once
            _save_atomic(_state(model, optimizer, loader, history), checkpoint)
        if not keep_checkpoint:
            checkpoint.unlink(missing_ok=True)
    return history


def _state(model: nn.Module, optimizer: torch.optim.Optimizer, loader: Loader,
           history: History) -> dict:
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "loader": loader.state_dict(), "rng": _rng_state(),
            "history": history.to_dict(), "config": history.config}


def _check(loss: float, cfg: TrainConfig, name: str, epoch: int, since: int, step: int) -> str:
    """'' if the loss is fine, else the one-line Divergence message."""
    if math.isfinite(loss) and loss <= cfg.diverge_loss:
        return ""
    what = "non-finite" if not math.isfinite(loss) else f"above {cfg.diverge_loss:g}"
    return (f"{name} diverged in epoch {epoch}: loss {loss:.4g} ({what}) at step {step} "
            f"(last checked fine at step {since}; lr {cfg.lr:g}, batch {cfg.batch_size})")
