"""The trainer: learns, schedules, resumes bit-exactly, and stops loudly on divergence."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from conftest_data import random_data
from lab.config import ConfigError, from_dict
from lab.models import build
from lab.train import Divergence, History, TrainConfig, evaluate, lr_at, train

TINY = TrainConfig(epochs=3, batch_size=16, lr=0.05, seed=0)


def metrics(history: History) -> list[dict]:
    """Everything in the history except wall-clock timings."""
    timing = {"seconds", "eval_seconds", "images_per_second"}
    return [{k: v for k, v in dataclasses.asdict(e).items() if k not in timing}
            for e in history.epochs]


def fresh(name: str = "resnet20", seed: int = 0) -> torch.nn.Module:
    """A real CIFAR architecture, at width 8 instead of 16 to keep the tests quick."""
    torch.manual_seed(seed)
    return build(name, width=8)


def test_config_from_dict_refuses_unknown_keys():
    cfg = from_dict(TrainConfig, {"epochs": 2, "lr": 0.2})
    assert cfg.epochs == 2 and cfg.lr == 0.2
    with pytest.raises(ConfigError, match="epoch"):
        from_dict(TrainConfig, {"epoch": 2})
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="cosine-ish")


def test_paper_schedule_divides_by_ten_at_half_and_three_quarters():
    cfg = TrainConfig(epochs=164, lr=0.1)
    total = 64_000
    assert lr_at(cfg, 0, total) == pytest.approx(0.1)
    assert lr_at(cfg, 31_999, total) == pytest.approx(0.1)
    assert lr_at(cfg, 32_000, total) == pytest.approx(0.01)
    assert lr_at(cfg, 48_000, total) == pytest.approx(0.001)
    short = TrainConfig(epochs=4, lr=0.1, schedule="compressed")
    assert [lr_at(short, s, 40) for s in (0, 19, 20, 30)] == pytest.approx([0.1, 0.1, 0.01, 0.001])
    warm = TrainConfig(epochs=10, lr=0.1, warmup_epochs=1, schedule="linear")
    assert lr_at(warm, 0, 100) == pytest.approx(0.01) and lr_at(warm, 9, 100) == pytest.approx(0.1)
    assert lr_at(warm, 99, 100) < 0.01


def test_history_records_every_epoch_and_serialises():
    h = train(fresh(), random_data(), TINY, progress=False)
    assert [e.epoch for e in h.epochs] == [1, 2, 3]
    assert h.model == "resnet20" and h.device == "cpu" and not h.diverged
    assert all(0 <= e.train_error <= 1 and e.test_error is not None for e in h.epochs)
    assert h.epochs[-1].lr == pytest.approx(0.05 * 0.01)
    d = json.loads(json.dumps(h.to_dict()))
    assert History.from_dict(d) == h


def test_learns_a_separable_toy_problem():
    d = random_data(n_train=100, n_test=100)
    # Each class gets its own brightness band, so a tiny net can separate them.
    d = dataclasses.replace(d, train_x=(d.train_x // 32 + 25 * d.train_y.view(-1, 1, 1, 1)).byte(),
                            test_x=(d.test_x // 32 + 25 * d.test_y.view(-1, 1, 1, 1)).byte())
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 10))
    before, _ = evaluate(model, d.test_x, d.test_y)
    cfg = TrainConfig(epochs=10, batch_size=10, lr=0.1, augment=False, schedule="linear")
    h = train(model, d, cfg, progress=False)
    assert h.model == "Sequential"
    assert h.epochs[-1].train_loss < h.epochs[0].train_loss
    assert h.epochs[-1].test_loss < before and h.epochs[-1].test_error < 0.5


def test_eval_every_skips_evaluations_but_not_the_last():
    cfg = dataclasses.replace(TINY, eval_every=2)
    h = train(fresh(), random_data(), cfg, progress=False)
    assert [e.test_error is None for e in h.epochs] == [True, False, False]


def test_interrupted_and_resumed_run_ends_exactly_like_an_unbroken_one(tmp_path):
    data = random_data()
    straight = train(fresh(), data, TINY, progress=False)

    def kill_after_two(record):
        if record.epoch == 2:
            raise KeyboardInterrupt

    ckpt = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        train(fresh(), data, TINY, checkpoint=ckpt, progress=False, on_epoch=kill_after_two)
    assert ckpt.exists()
    # A different initialisation proves the weights come from the checkpoint.
    model = fresh(seed=123)
    resumed = train(model, data, TINY, checkpoint=ckpt, progress=False, keep_checkpoint=False)
    assert metrics(resumed) == metrics(straight)
    assert not ckpt.exists()


def test_checkpoint_with_another_config_is_refused(tmp_path):
    ckpt = tmp_path / "run.pt"
    cfg = dataclasses.replace(TINY, epochs=1)
    train(fresh(), random_data(), cfg, checkpoint=ckpt, progress=False)
    with pytest.raises(ValueError, match="another config"):
        train(fresh(), random_data(), dataclasses.replace(cfg, lr=0.2), checkpoint=ckpt, progress=False)


def test_divergence_raises_with_a_one_line_message():
    cfg = dataclasses.replace(TINY, lr=1e6, check_every=1)
    with pytest.raises(Divergence) as err:
        train(fresh(), random_data(), cfg, progress=False)
    message = str(err.value)
    assert "\n" not in message and "resnet20" in message and "epoch 1" in message


def test_expected_divergence_is_recorded(tmp_path):
    cfg = dataclasses.replace(TINY, lr=1e6)
    ckpt = tmp_path / "run.pt"
    h = train(fresh(), random_data(), cfg, progress=False, expect_divergence=True, checkpoint=ckpt)
    assert h.diverged and h.diverged_epoch == 1 and h.diverged_step >= 1
    assert h.epochs == []
    again = train(fresh(), random_data(), cfg, progress=False, expect_divergence=True, checkpoint=ckpt)
    assert again == h  # a rerun reads the recorded divergence instead of training


def test_gradient_clipping_and_subsets_run():
    cfg = dataclasses.replace(TINY, epochs=1, max_grad_norm=1.0, n_train=20, n_test=10,
                              label_smoothing=0.1, nesterov=True)
    h = train(fresh("highway20"), random_data(), cfg, progress=False)
    assert h.epochs[0].images_per_second > 0 and h.config["n_train"] == 20


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_channels_last_run():
    h = train(fresh(), random_data(), dataclasses.replace(TINY, epochs=1), device="cuda", progress=False)
    assert h.device.startswith("cuda") and h.epochs[0].test_loss < 10
