"""MAML: the functional forward, first- and second-order meta-gradients, test-time
adaptation and the task trained through `Trainer.run`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from myoshift.errors import ConfigError
from myoshift.learn.tasks import MAMLTask, get_task
from myoshift.learn.tasks.episodic import squared_distances
from myoshift.learn.tasks.maml import (
    adapt_detached,
    adapted_logits,
    functional_embed,
    inner_loop,
    meta_parameters,
    prototype_head,
)
from myoshift.learn.trainer import TrainConfig, Trainer

from ..conftest import TinyNet, separable

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _net(seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet(4, 32, 3, width=8).eval()  # eval: no dropout, fixed batch-norm statistics


def _episode() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Support (3 classes x 4 windows of repetition 0) and queries (the other repetitions)."""
    X, y, g = separable(n_per_class=16, n_classes=3)
    x, t = torch.from_numpy(X), torch.from_numpy(y)
    s = torch.from_numpy(g == 0)
    return x[s], t[s], x[~s], t[~s]


def test_meta_parameters_leave_out_the_head() -> None:
    net = _net()
    names = set(meta_parameters(net))
    assert names == {k for k, _ in net.named_parameters()} - {"head.weight", "head.bias"}


def test_functional_embed_runs_the_module_with_other_weights() -> None:
    net, (xs, _, _, _) = _net(), _episode()
    params = meta_parameters(net)
    torch.testing.assert_close(functional_embed(net, params, xs), net.embed(xs))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    doubled = {k: 2 * v for k, v in params.items()}
    assert not torch.allclose(functional_embed(net, doubled, xs), net.embed(xs))
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())  # no copy, no change


def _meta_grads(first_order: bool) -> list[torch.Tensor]:
    net, (xs, ys, xq, yq) = _net(), _episode()
    params = meta_parameters(net)
    fast, head = inner_loop(net, params, xs, ys, 3, steps=2, lr=0.5, create_graph=not first_order)
    loss = F.cross_entropy(adapted_logits(net, fast, head, xq), yq)
    return list(torch.autograd.grad(loss, list(params.values())))


def test_first_and_second_order_gradients_differ_from_each_other_and_plain_training() -> None:
    second, first = _meta_grads(False), _meta_grads(True)
    net, (_, _, xq, yq) = _net(), _episode()
    params = meta_parameters(net)
    plain = torch.autograd.grad(F.cross_entropy(net(xq), yq), list(params.values()))

    def differ(a: list[torch.Tensor], b: list[torch.Tensor] | tuple[torch.Tensor, ...]) -> bool:
        return any(not torch.allclose(u, v, atol=1e-6) for u, v in zip(a, b))

    assert all(torch.isfinite(g).all() for g in [*second, *first])
    assert any(g.abs().sum() > 0 for g in second) and any(g.abs().sum() > 0 for g in first)
    assert differ(second, first) and differ(second, plain) and differ(first, plain)


def test_first_order_gradient_is_the_query_gradient_at_the_adapted_weights() -> None:
    net, (xs, ys, xq, yq) = _net(), _episode()
    fast, head = adapt_detached(net, meta_parameters(net), xs, ys, 3, steps=2, lr=0.5)
    leaves = {k: v.clone().requires_grad_(True) for k, v in fast.items()}
    loss = F.cross_entropy(adapted_logits(net, leaves, head, xq), yq)
    expected = torch.autograd.grad(loss, list(leaves.values()))
    for g, e in zip(_meta_grads(True), expected):
        torch.testing.assert_close(g, e)


def test_inner_loop_adaptation_improves_support_accuracy() -> None:
    net, (xs, ys, _, _) = _net(), _episode()
    params = meta_parameters(net)
    before = {k: v.clone() for k, v in params.items()}
    fast, head = adapt_detached(net, params, xs, ys, 3, steps=10, lr=0.5)
    # the N-way layer starts at zero: every class ties (argmax 0) before adaptation
    assert head[0].shape == (3, net.embed_dim)
    untrained = (torch.zeros(len(ys), dtype=torch.long) == ys).float().mean()
    with torch.no_grad():
        adapted = (adapted_logits(net, fast, head, xs).argmax(1) == ys).float().mean()
    assert untrained < 0.4 and adapted > 0.9
    assert all(torch.equal(before[k], v) for k, v in params.items())  # meta weights untouched
    assert all(not v.requires_grad for v in fast.values())


def test_chunked_adaptation_gives_the_full_batch_result() -> None:
    net, (xs, ys, _, _) = _net(), _episode()
    params = meta_parameters(net)
    full = adapt_detached(net, params, xs, ys, 3, steps=3, lr=0.5)
    chunked = adapt_detached(net, params, xs, ys, 3, steps=3, lr=0.5, chunk=5)
    for k in full[0]:
        torch.testing.assert_close(full[0][k], chunked[0][k], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(full[1][0], chunked[1][0], atol=1e-5, rtol=1e-4)
    with pytest.raises(ConfigError, match="chunk needs create_graph=False"):
        inner_loop(net, params, xs, ys, 3, steps=1, lr=0.1, create_graph=True, chunk=4)
    with pytest.raises(ConfigError, match="inner_steps must be >= 1"):
        inner_loop(net, params, xs, ys, 3, steps=0, lr=0.1, create_graph=False)


def test_proto_maml_starts_at_the_prototypical_network() -> None:
    net, (xs, ys, xq, _) = _net(), _episode()
    with torch.no_grad():
        zs, zq = net.embed(xs), net.embed(xq)
    w, b = prototype_head(zs, ys, 3)
    nearest = (-squared_distances(zq, w / 2)).argmax(1)
    assert torch.equal(F.linear(zq, w, b).argmax(1), nearest)
    # a negligible step: the adapted network decides as the nearest prototype
    params = meta_parameters(net)
    fast, head = adapt_detached(net, params, xs, ys, 3, steps=1, lr=1e-9, head_init="prototypes")
    with torch.no_grad():
        assert torch.equal(adapted_logits(net, fast, head, xq).argmax(1), nearest)
    # second order: the initial layer is differentiated through, first order: it is not
    for create_graph in (True, False):
        _, (w0, _) = inner_loop(
            net, params, xs, ys, 3, steps=1, lr=0.1, create_graph=create_graph,
            head_init="prototypes",
        )  # fmt: skip
        assert w0.requires_grad
        grads = torch.autograd.grad(w0.sum(), list(params.values()), allow_unused=True)
        assert any(g is not None for g in grads) == create_graph
    with pytest.raises(ConfigError, match="head_init must be one of"):
        inner_loop(net, params, xs, ys, 3, steps=1, lr=0.1, create_graph=False, head_init="x")


@pytest.mark.parametrize("first_order", [True, False])
def test_maml_task_meta_trains(first_order: bool) -> None:
    parts = [separable(n_per_class=16, n_classes=4, seed=p) for p in range(2)]
    X, y, g = (np.concatenate([p[i] for p in parts]) for i in range(3))
    subjects = np.repeat([1, 2], len(parts[0][1]))
    task = get_task("maml")(  # type: ignore[call-arg]
        X, y, g, subjects, n_way=3, k_shot=2, n_query=4, episodes=8,
        inner_steps=2, inner_lr=3.0, first_order=first_order,
    )  # fmt: skip
    torch.manual_seed(0)
    net = TinyNet(4, 32, 4, width=8)
    cfg = TrainConfig(epochs=8, batch_size=2, lr=0.03, threads=1, patience=None)
    loss = [h["train_loss"] for h in Trainer(cfg).run(net, task).history]
    assert loss[-1] < 0.6 * loss[0]
    other = MAMLTask(X, y, g, subjects, n_way=3, k_shot=2, n_query=4, episodes=8,
                     inner_steps=2, inner_lr=3.0, first_order=not first_order)  # fmt: skip
    assert task.fingerprint()[-1] != other.fingerprint()[-1]


def test_bad_inner_loop_settings() -> None:
    X, y, g = separable(n_per_class=8, n_classes=3)
    with pytest.raises(ConfigError, match="inner_steps must be a positive int"):
        MAMLTask(X, y, g, n_way=3, k_shot=1, n_query=1, inner_steps=0)
    with pytest.raises(ConfigError, match="inner_lr must be a positive number"):
        MAMLTask(X, y, g, n_way=3, k_shot=1, n_query=1, inner_lr=-1.0)
