"""Entropy task (TENT): the loss, the batches, and a loss that goes down without labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from myoshift.errors import ShapeError
from myoshift.learn.tasks import EntropyTask, EpochPlan, get_task
from myoshift.learn.tasks.entropy import mean_entropy
from myoshift.learn.trainer import TrainConfig, Trainer

from ..conftest import TinyNet, separable

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_mean_entropy_of_uniform_and_certain_outputs() -> None:
    assert float(mean_entropy(torch.zeros(3, 4))) == pytest.approx(math.log(4))
    assert float(mean_entropy(torch.tensor([[50.0, 0.0, 0.0]]))) == pytest.approx(0, abs=1e-6)


def test_batches_cover_every_window_without_targets() -> None:
    X = np.random.default_rng(0).standard_normal((10, 4, 16)).astype(np.float32)
    task = get_task("entropy")(X)
    plan = EpochPlan(0, 4, torch.Generator().manual_seed(0), np.random.default_rng(0))
    batches = list(task.batches(plan))
    assert all(list(b) == ["emg"] for b in batches)
    assert sum(len(b["emg"]) for b in batches) == task.n_items == 10
    with pytest.raises(ShapeError, match="no windows"):
        EntropyTask(np.zeros((0, 4, 16), np.float32))


def test_training_lowers_the_entropy() -> None:
    X, _, _ = separable(n_per_class=16)
    torch.manual_seed(0)
    net = TinyNet(4, 32, 3)
    with torch.no_grad():
        before = float(mean_entropy(net.eval()(torch.from_numpy(X))))
    Trainer(TrainConfig(epochs=5, batch_size=16, lr=0.01, schedule="constant")).run(
        net, EntropyTask(X)
    )
    with torch.no_grad():
        assert float(mean_entropy(net.eval()(torch.from_numpy(X)))) < before - 0.05
