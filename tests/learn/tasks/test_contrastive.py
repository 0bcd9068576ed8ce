"""Contrastive pre-training task: NT-Xent, VICReg, EMG views, and a loss that goes down."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn.tasks import ContrastiveTask, EpochPlan, get_task
from myoshift.learn.tasks.contrastive import (
    ProjectedEncoder,
    default_view_steps,
    make_views,
    nt_xent,
    vicreg,
    vicreg_terms,
)
from myoshift.learn.trainer import TrainConfig, Trainer
from myoshift.recording import Layout

from ..conftest import TinyNet, separable

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _plan(batch_size: int = 8, seed: int = 0) -> EpochPlan:
    return EpochPlan(
        0, batch_size, torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    )


def test_nt_xent_equals_a_hand_computation() -> None:
    z1 = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    z2 = torch.tensor([[1.0, 1.0], [-1.0, 1.0]])
    tau = 0.5
    z = np.concatenate([z1.numpy(), z2.numpy()])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    total = 0.0
    for i in range(4):
        partner = (i + 2) % 4
        others = [j for j in range(4) if j != i]
        logits = np.array([z[i] @ z[j] / tau for j in others])
        total += -(z[i] @ z[partner] / tau) + np.log(np.exp(logits).sum())
    assert nt_xent(z1, z2, tau).item() == pytest.approx(total / 4, rel=1e-6)
    # identical views that are far from the others give a small loss
    far = torch.eye(4) * 10
    assert nt_xent(far, far, 0.1).item() < 1e-3
    with pytest.raises(ShapeError):
        nt_xent(z1, z2[:1])
    with pytest.raises(ConfigError, match="temperature"):
        nt_xent(z1, z2, 0.0)


def test_vicreg_terms_by_hand() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    terms = vicreg_terms(torch.tensor(a), torch.tensor(b), eps=1e-4)
    assert terms["invariance"].item() == pytest.approx(((a - b) ** 2).mean())
    var = sum(np.maximum(0, 1 - np.sqrt(z.var(axis=0, ddof=1) + 1e-4)).mean() / 2 for z in (a, b))
    assert terms["variance"].item() == pytest.approx(var)
    cov = 0.0
    for z in (a, b):
        c = np.cov(z, rowvar=False)
        cov += ((c - np.diag(np.diag(c))) ** 2).sum() / 3
    assert terms["covariance"].item() == pytest.approx(cov)
    total = 25 * terms["invariance"] + 25 * terms["variance"] + terms["covariance"]
    assert vicreg(torch.tensor(a), torch.tensor(b)).item() == pytest.approx(total.item())
    # collapsed embeddings: full variance penalty; decorrelated unit-variance: none
    flat = torch.ones(5, 4)
    assert vicreg_terms(flat, flat)["variance"].item() == pytest.approx(1 - 1e-2, abs=1e-6)
    spread = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    t = vicreg_terms(spread, spread)
    assert t["variance"].item() == 0 and t["covariance"].item() == 0


def test_views_differ_and_keep_shapes() -> None:
    X, _, _ = separable(n_per_class=4, n_channels=8, n_samples=32)
    views = make_views(None, Layout.ring(8), 32)
    rng = np.random.default_rng(1)
    v1, _ = views(X, np.zeros(len(X)), rng)
    v2, _ = views(X, np.zeros(len(X)), rng)
    assert v1.shape == v2.shape == X.shape and v1.dtype == X.dtype
    assert not np.allclose(v1, v2) and not np.allclose(v1, X)
    names = [n for n, _ in default_view_steps(Layout.ring(8), 32)]
    assert names == ["noise", "scale", "shift", "dropout", "rotate"]
    grid = Layout.grid(2, 4)
    assert default_view_steps(grid, 32)[-1][0] == "translate"
    assert "rotate" not in dict(default_view_steps(Layout.plain(8), 32))
    # a given spec: a translate step gets the windows' grid
    custom = make_views([["translate", {"max_shift": 1}], "scale"], grid, 32)
    assert custom(X, np.zeros(len(X)), rng)[0].shape == X.shape
    with pytest.raises(ConfigError, match="grid layout"):
        make_views(["translate"], Layout.ring(8), 32)


def test_task_batches_hold_two_views() -> None:
    X, _, _ = separable(n_per_class=6)
    task = ContrastiveTask(X, make_views(None, Layout.ring(4), 32), loss="vicreg")
    assert get_task("contrastive") is ContrastiveTask and task.n_items == len(X)
    batches = list(task.batches(_plan()))
    assert sum(len(b["view1"]) for b in batches) == len(X)
    b = batches[0]
    assert set(b) == {"view1", "view2"} and b["view1"].shape == (8, 4, 32)
    assert not torch.equal(b["view1"], b["view2"])
    net = ProjectedEncoder(TinyNet(4, 32, 3), 8, dim=16)
    assert torch.isfinite(task.loss(net, b))
    head = {id(p) for p in net.encoder.head.parameters()}
    assert head and not head & {id(p) for p in net.trainable()}
    with pytest.raises(ConfigError, match="unknown contrastive loss"):
        ContrastiveTask(X, make_views(None, None, 32), loss="byol")
    with pytest.raises(ShapeError, match=">= 2 windows"):
        ContrastiveTask(X[:1], make_views(None, None, 32))


@pytest.mark.parametrize("loss", ["nt-xent", "vicreg"])
def test_pretraining_reduces_the_loss(loss: str) -> None:
    X, _, _ = separable(n_per_class=16)
    torch.manual_seed(0)
    net = ProjectedEncoder(TinyNet(4, 32, 3), 8, dim=16)
    task = ContrastiveTask(X, make_views(None, Layout.ring(4), 32), loss=loss)
    cfg = TrainConfig(epochs=6, batch_size=16, lr=0.01, patience=None, threads=1)
    history = Trainer(cfg).run(net, task, params=net.trainable()).history
    losses = [h["train_loss"] for h in history]
    assert losses[-1] < losses[0]
