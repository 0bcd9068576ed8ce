"""MultiTaskTask: cross-entropy on the logits plus a weighted squared error on the targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn.tasks import EpochPlan, MultiTaskTask, get_task
from myoshift.learn.trainer import TrainConfig, Trainer
from myoshift.signal.augment import Augmenter

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _data(n: int = 48) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 4, 16)).astype(np.float32)
    labels = np.arange(n) % 3
    X[np.arange(n), labels] += 1.0  # a class offsets one channel
    targets = np.stack([X[:, 3].mean(1), X[:, 1].mean(1) - X[:, 2].mean(1)], 1).astype(np.float32)
    return X, labels, (targets - targets.mean(0)) / targets.std(0)


def _net(n_out: int = 5) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, n_out))


def _plan() -> EpochPlan:
    return EpochPlan(0, 16, torch.Generator().manual_seed(0), np.random.default_rng(0))


@pytest.mark.parametrize("weight", [0.0, 0.5, 2.0])
def test_loss_is_cross_entropy_plus_weighted_mse(weight: float) -> None:
    X, labels, targets = _data()
    task = MultiTaskTask(X, labels, targets, target_weight=weight)
    net = _net()
    batch = next(iter(task.batches(_plan())))
    out = net(batch["emg"])
    lab = batch["target"][:, 0].long()
    expected = F.cross_entropy(out[:, :3], lab) + weight * F.mse_loss(
        out[:, 3:], batch["target"][:, 1:]
    )
    torch.testing.assert_close(task.loss(net, batch), expected)
    assert get_task("multitask") is MultiTaskTask


def test_training_lowers_both_losses_and_validates_each() -> None:
    X, labels, targets = _data(96)
    task = MultiTaskTask(X[:64], labels[:64], targets[:64], X[64:], labels[64:], targets[64:])
    net = _net()
    before = task.validate(net, batch_size=64, device="cpu")
    Trainer(TrainConfig(epochs=10, batch_size=16, lr=0.01, patience=None)).run(net, task)
    after = task.validate(net, batch_size=64, device="cpu")
    assert before is not None and after is not None
    assert set(after) == {"val_loss", "val_ce", "val_mse", "val_acc"}
    assert after["val_ce"] < before["val_ce"] and after["val_mse"] < before["val_mse"]
    assert after["val_loss"] == pytest.approx(after["val_ce"] + after["val_mse"], rel=1e-5)


def test_fingerprint_includes_the_targets_and_weight() -> None:
    X, labels, targets = _data()
    a = MultiTaskTask(X, labels, targets).fingerprint()
    b = MultiTaskTask(X, labels, targets + 1).fingerprint()
    c = MultiTaskTask(X, labels, targets, target_weight=2.0).fingerprint()
    assert not np.array_equal(a[1], b[1]) and a[-1] != c[-1]


def test_bad_input() -> None:
    X, labels, targets = _data()
    with pytest.raises(ShapeError, match="targets must be"):
        MultiTaskTask(X, labels, targets[:10])
    with pytest.raises(ShapeError, match="NaN or Inf"):
        MultiTaskTask(X, labels, np.full_like(targets, np.nan))
    with pytest.raises(ConfigError, match="integer class codes"):
        MultiTaskTask(X, labels.astype(float), targets)
    with pytest.raises(ConfigError, match="target_weight"):
        MultiTaskTask(X, labels, targets, target_weight=-1.0)
    with pytest.raises(ConfigError, match="label-changing"):
        MultiTaskTask(X, labels, targets, augment=Augmenter(["mixup"]))
    noisy = MultiTaskTask(X, labels, targets, augment=Augmenter([("noise", {"snr_db": 20})]))
    batch = next(iter(noisy.batches(_plan())))
    assert batch["target"].shape == (16, 3)  # the labels and targets ride along unchanged
