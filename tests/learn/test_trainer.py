"""Trainer: schedules, determinism, NaN batches, checkpoints and resume after a kill."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn.trainer import TrainConfig, Trainer, physical_cores, torch_threads
from myoshift.models import build_model

from .conftest import separable


class Killed(Exception):
    pass


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("test-tiny", 4, 32, 3)


def _weights(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in net.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_lr_schedules() -> None:
    c = TrainConfig(epochs=10, lr=1.0, warmup_epochs=2)
    assert c.lr_factor(1.0) == pytest.approx(0.5)
    assert c.lr_factor(2.0) == pytest.approx(1.0)
    assert c.lr_factor(10.0) == pytest.approx(0.0, abs=1e-9)
    s = TrainConfig(epochs=9, schedule="step", gamma=0.5)
    assert [s.lr_factor(e) for e in (0, 3, 6)] == [1.0, 0.5, 0.25]
    assert TrainConfig(schedule="constant").lr_factor(5) == 1.0
    with pytest.raises(ConfigError, match="unknown schedule"):
        Trainer(TrainConfig(schedule="linear"))
    with pytest.raises(ConfigError, match="unknown optimizer"):
        Trainer(TrainConfig(optimizer="lion"))


def test_training_lowers_loss_and_is_deterministic() -> None:
    X, y, _ = separable()
    results = []
    for _ in range(2):
        net = _net()
        res = Trainer(TrainConfig(epochs=3, batch_size=16, lr=1e-2, threads=1)).fit(net, X, y)
        results.append((_weights(net), res.history))
    assert _same(results[0][0], results[1][0])
    hist = results[0][1]
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    # the caller's global RNG is left alone
    net = _net()
    torch.manual_seed(5)
    a = torch.rand(1)
    torch.manual_seed(5)
    Trainer(TrainConfig(epochs=1, threads=1)).fit(net, X, y)
    assert torch.equal(torch.rand(1), a)


def test_sgd_step_schedule_and_early_stopping() -> None:
    X, y, _ = separable()
    cfg = TrainConfig(epochs=30, optimizer="sgd", schedule="step", lr=1e-6, patience=2, threads=1)
    res = Trainer(cfg).fit(_net(), X[::2], y[::2], X[1::2], y[1::2])
    assert res.stopped_early and len(res.history) < 30
    assert "val_acc" in res.history[0]


def test_nan_batch_names_the_batch() -> None:
    X, y, _ = separable()
    X[7, 0, 3] = np.nan
    with pytest.raises(ShapeError, match=r"batch \d+ of epoch 0 .*\[7\]"):
        Trainer(TrainConfig(epochs=1, threads=1)).fit(_net(), X, y)


def test_resume_after_kill_gives_same_weights(tmp_path: Path) -> None:
    X, y, _ = separable()
    Xv, yv = X[::5], y[::5]
    cfg = dict(epochs=4, batch_size=16, lr=5e-3, threads=1, patience=None)
    full = _net()
    Trainer(TrainConfig(**cfg)).fit(full, X, y, Xv, yv)

    def kill(epoch: int, record: dict[str, float]) -> None:
        if epoch == 1:
            raise Killed

    ckpt = tmp_path / "ckpt"
    with pytest.raises(Killed):
        Trainer(TrainConfig(**cfg, checkpoint_dir=ckpt), callbacks=[kill]).fit(_net(), X, y, Xv, yv)
    state = json.loads((ckpt / "state.json").read_text())
    assert state["epoch"] == 2 and not state["finished"]
    assert sorted(p.name for p in ckpt.iterdir()) == [
        "best-2.safetensors",
        "last-2.safetensors",
        "optimizer-2.pt",
        "state.json",
    ]
    resumed = _net()
    res = Trainer(TrainConfig(**cfg, checkpoint_dir=ckpt)).fit(resumed, X, y, Xv, yv)
    assert res.resumed_from == 2 and len(res.history) == 4
    assert _same(_weights(resumed), _weights(full))
    # a finished run is not trained again; other data is refused
    again = _net()
    assert (
        Trainer(TrainConfig(**cfg, checkpoint_dir=ckpt)).fit(again, X, y, Xv, yv).resumed_from == 4
    )
    assert _same(_weights(again), _weights(full))
    with pytest.raises(ConfigError, match="another run"):
        Trainer(TrainConfig(**cfg, checkpoint_dir=ckpt)).fit(_net(), X[:-1], y[:-1], Xv, yv)


def test_threads_default_and_restore() -> None:
    assert physical_cores() >= 1
    before = torch.get_num_threads()
    with torch_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ConfigError):
        with torch_threads(0):
            pass


def test_last_batch_of_one_is_dropped() -> None:
    """BatchNorm on flat features cannot train on a batch of one window."""
    X, y, _ = separable(n_per_class=6)
    X, y = X[:17], y[:17]
    net = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 32, 8),
        torch.nn.BatchNorm1d(8),
        torch.nn.Linear(8, 3),
    )
    res = Trainer(TrainConfig(epochs=2, batch_size=16, threads=1)).fit(net, X, y)
    assert len(res.history) == 2
