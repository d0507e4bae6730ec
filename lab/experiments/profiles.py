"""Every profile in one table: how each experiment is configured, named for what it is.

    quick         seconds: random coloured images, two epochs of two steps (tests only)
    cifar10-10ep  all 50,000 training and 10,000 test images, 10 epochs: two CPU cores
    paper         He et al. 2016's schedule: 64k iterations (164 epochs), /10 at 32k and 48k
    cifar10-Nep   cifar10-10ep's recipe and networks for N = 20, 30, 40 or 60 epochs: one GPU

A profile is a dict of overrides on each experiment's config dataclass; every
experiment of a profile shares one recipe, so each network is trained once.
This table lives apart from the experiments on purpose: a result's key holds
the values of its config, not this file's source, so adding a profile here
makes nothing stale.
"""
from __future__ import annotations

RECIPES: dict[str, dict] = {
    "quick": {"data": "synthetic", "n_train": 128, "n_test": 64, "epochs": 2, "batch_size": 64,
              "probe_batch": 16},
    # The whole data set on two cores: one epoch of warm-up (as He et al. warmed ResNet-110 up)
    # instead of clipping, then a linear anneal to zero, which suits a short budget better than
    # steps; weight decay 5e-4, the usual choice for schedules this short.
    "cifar10-10ep": {"data": "cifar10", "epochs": 10, "batch_size": 128, "lr": 0.1,
                     "warmup_epochs": 1.0, "weight_decay": 5e-4, "nesterov": True,
                     "schedule": "linear"},
    # He et al. 2016, section 4.2: batch 128, lr 0.1, /10 at 32k and 48k of 64k iterations,
    # weight decay 1e-4 (391 steps an epoch here: 164 epochs = 64,124 iterations; they held
    # 5k images out, we train on all 50k); one epoch of warm-up, which they used at 110 layers.
    "paper": {"data": "cifar10", "epochs": 164, "batch_size": 128, "lr": 0.1,
              "warmup_epochs": 1.0, "weight_decay": 1e-4, "schedule": "paper"},
}

PROFILES: dict[str, dict[str, dict]] = {
    "architectures": {
        "quick": {"models": ["plain8", "resnet8", "preact_resnet8", "highway8", "densenet7"],
                  "timed_steps": 2, "rounds": 1},
        # DenseNet-22 (k = 12) has 270,706 parameters, ResNet-20 269,722: comparable size
        "cifar10-10ep": {"models": ["plain20", "resnet20", "preact_resnet20", "highway20",
                                    "densenet22"]},
        "paper": {"models": ["plain56", "resnet56", "preact_resnet56", "highway56", "densenet40"]},
    },
    "depth_sweep": {
        "quick": {"depths": [8, 14]},
        "cifar10-10ep": {"depths": [20, 32, 44, 56]},
        "paper": {"depths": [20, 32, 44, 56, 110]},
    },
    # Every analysis runs on every seed of SEEDS, the loss landscape's too (minutes a network
    # and seed); pictures of one network show the first seed's, and their captions say so.
    "feature_maps": {
        "quick": {"depth": 14, "n_images": 3, "n_channels": 2, "seeds": [0]},
        "cifar10-10ep": {"depth": 56, "n_images": 6},
        "paper": {"depth": 56, "n_images": 6, "seeds": [0]},
    },
    "gradient_flow": {
        "quick": {"depths": [20, 56], "batch_size": 8, "repeats": 1, "data": "synthetic",
                  "train_depth": 14},
        "cifar10-10ep": {"depths": [20, 56, 110], "batch_size": 128, "repeats": 5},
        "paper": {"depths": [20, 56, 110], "batch_size": 128, "repeats": 10},
    },
    "highway_gates": {
        "quick": {"depth": 8, "n_images": 64, "batch_size": 64},
        "cifar10-10ep": {"depth": 20, "n_images": 10000, "batch_size": 500},
        "paper": {"depth": 56, "n_images": 10000, "batch_size": 1000},
    },
    "layer_responses": {
        "quick": {"depths": [8, 14], "n_images": 64, "batch_size": 64},
        "cifar10-10ep": {"depths": [20, 56], "n_images": 10000, "batch_size": 500},
        "paper": {"depths": [20, 56, 110], "n_images": 10000, "batch_size": 1000},
    },
    "shattered_gradients": {
        "quick": {"depths": [8, 14], "init_depths": [8, 14], "pairs": 2, "points": 9,
                  "lags": [1, 2, 4, 8], "far_lag": 4, "bn_images": 64, "repeats": 1},
        "cifar10-10ep": {"depths": [20, 32, 44, 56], "init_depths": [20, 32, 44, 56, 110]},
        "paper": {"depths": [20, 32, 44, 56, 110], "init_depths": [20, 32, 44, 56, 110]},
    },
    "lesion": {
        "quick": {"depth": 14, "n_images": 64},
        # a fifth of the test set (class-balanced): 27 deletions of each of two 56-layer nets
        # run beside a training campaign on two shared cores
        "cifar10-10ep": {"depth": 56, "n_images": 2000},
        "paper": {"depth": 56, "n_images": 10000},
    },
    "loss_landscape": {
        "quick": {"depth": 14, "points": 5, "n_images": 32, "batch_size": 32, "pairs": 2, "seeds": [0]},
        # three pairs of directions on a 7 x 7 grid: less than one pair on 13 x 13 cost
        "cifar10-10ep": {"depth": 56, "points": 7, "n_images": 256, "batch_size": 256, "pairs": 3},
        "paper": {"depth": 56, "points": 21, "n_images": 1024, "pairs": 3, "seeds": [0]},
    },
}

# The networks each profile's experiments analyse, in the order a campaign trains them: the
# ones most of the article rests on first, the most expensive last. A test checks that the
# experiments use exactly these.
NETWORKS: dict[str, list[str]] = {
    "quick": ["resnet8", "plain8", "resnet14", "plain14", "preact_resnet8", "highway8", "densenet7"],
    "cifar10-10ep": ["resnet20", "plain20", "resnet56", "plain56", "preact_resnet20", "highway20",
                     "densenet22", "resnet32", "plain32", "resnet44", "plain44"],
    "paper": ["resnet20", "plain20", "resnet56", "plain56", "preact_resnet56", "highway56",
              "resnet32", "plain32", "resnet44", "plain44", "resnet110", "plain110", "densenet40"],
}

# The seeds each network of a profile is trained from (Recipe.seed: initialization, batch order,
# augmentation): every measured number is reported over them, as mean, spread and n. Seed 0 is
# the recipe's default, so the networks trained before seeds were a dimension keep their keys.
SEEDS: dict[str, list[int]] = {
    "quick": [0, 1],
    "cifar10-10ep": [0, 1, 2],
    "paper": [0],
}
# The seeds a profile's experiments analyse, where not all of SEEDS: while a campaign trains
# new seeds, the article stays on those already trained, so that every build passes frozen
# (none now). An experiment may analyse fewer (its own `seeds` override in PROFILES).
ANALYSED_SEEDS: dict[str, list[int]] = {}

# Rough wall time of each experiment's analysis per profile (s), networks already trained;
# a stored result's own wall time replaces it once there is one.
ESTIMATE_S: dict[str, dict[str, float]] = {
    "architectures": {"quick": 6, "cifar10-10ep": 180, "paper": 120},  # timing included
    "depth_sweep": {"quick": 8, "cifar10-10ep": 10, "paper": 10},
    "feature_maps": {"quick": 2, "cifar10-10ep": 10, "paper": 10},
    "gradient_flow": {"quick": 4, "cifar10-10ep": 60, "paper": 60},
    "highway_gates": {"quick": 2, "cifar10-10ep": 60, "paper": 60},
    "layer_responses": {"quick": 3, "cifar10-10ep": 200, "paper": 200},
    "shattered_gradients": {"quick": 3, "cifar10-10ep": 240, "paper": 300},
    "lesion": {"quick": 3, "cifar10-10ep": 1800, "paper": 1800},
    "loss_landscape": {"quick": 3, "cifar10-10ep": 300, "paper": 2700},
}


def profiles(experiment: str) -> dict[str, dict]:
    """The experiment's profile overrides, each with its profile's shared recipe and the
    seeds it analyses (its own `seeds` override, else ANALYSED_SEEDS, else SEEDS)."""
    return {p: {"seeds": ANALYSED_SEEDS.get(p, SEEDS[p]), **over, "recipe": RECIPES[p]}
            for p, over in PROFILES[experiment].items()}


# One-GPU profiles: cifar10-10ep's recipe and networks for N epochs. Small CIFAR nets leave
# most of an H200 idle (launch-bound at batch 128), so several train at once on it;
# scripts/gpu_run.py times 50 steps of each network that way and trains the longest of
# these that fits its budget (about 8 minutes for the whole set on one H200).
GPU_EPOCHS = (20, 30, 40, 60)
for _n in GPU_EPOCHS:
    _name = f"cifar10-{_n}ep"
    RECIPES[_name] = {**RECIPES["cifar10-10ep"], "epochs": _n}
    NETWORKS[_name] = NETWORKS["cifar10-10ep"]
    SEEDS[_name] = [0]
    for _table in ESTIMATE_S.values():
        _table[_name] = _table["cifar10-10ep"]
    for _table in PROFILES.values():  # the networks and settings, not the seeds: SEEDS says those
        _table[_name] = {k: v for k, v in _table["cifar10-10ep"].items() if k != "seeds"}
