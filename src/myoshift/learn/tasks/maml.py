"""MAML: model-agnostic meta-learning of an encoder, second- or first-order.

Finn, Abbeel & Levine (2017), "Model-agnostic meta-learning for fast adaptation of deep
networks", ICML. For each episode (`EpisodeSampler`: one person, support from one
repetition, queries from the others) an inner loop takes ``inner_steps`` plain gradient
steps of size ``inner_lr`` on the support's cross-entropy, from the meta-learned
weights; the outer loss is the adapted network's cross-entropy on the queries, and its
gradient, through the inner loop (second order) or at the adapted weights only (first
order, ``first_order=True``), updates the meta-learned weights.

The network runs functionally (``torch.func.functional_call`` with the fast weights as
a dict): no copy of the model per episode. Every parameter of the network except its
own head is meta-learned and adapted. The N-way classification layer is not
meta-learned: every inner loop starts it at zero (the "zeroing trick" of Kao, Chiu &
Chen (2022), "MAML is a noisy contrastive learner in classification", ICLR) or at the
prototypical-network layer of the support (Proto-MAML: Triantafillou et al. (2020),
"Meta-Dataset", ICLR), so the label order of an episode does not matter and N may
differ between meta-training and test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from myoshift.errors import ConfigError
from myoshift.learn.tasks.base import Batch
from myoshift.learn.tasks.episodic import EpisodicTask, class_means
from myoshift.learn.tasks.registry import register_task

#: fast weights: parameter name -> tensor
Params = dict[str, torch.Tensor]
#: the N-way layer of an adapted episode: weight (N, D) and bias (N,)
Head = tuple[torch.Tensor, torch.Tensor]
#: how the N-way layer of an inner loop starts (see `inner_loop`)
HEAD_INITS = ("zero", "prototypes")


class _Embedding(nn.Module):
    """``net.embed`` as a forward, so ``functional_call`` can run it (no copy of ``net``)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Any) -> torch.Tensor:
        return self.net.embed(x)  # type: ignore[operator, no-any-return]


def meta_parameters(net: nn.Module) -> Params:
    """Every named parameter of ``net`` except those of its ``head`` (if it has one)."""
    head = getattr(net, "head", None)
    skip = {id(p) for p in head.parameters()} if isinstance(head, nn.Module) else set()
    return {k: p for k, p in net.named_parameters() if id(p) not in skip}


def functional_embed(net: nn.Module, params: Mapping[str, torch.Tensor], x: Any) -> torch.Tensor:
    """``net.embed(x)`` with ``params`` in place of those parameters of ``net``."""
    wrapper = _Embedding(net)
    return functional_call(wrapper, {f"net.{k}": v for k, v in params.items()}, (x,))  # type: ignore[no-any-return]


def inner_loop(
    net: nn.Module,
    params: Params,
    x: Any,
    target: torch.Tensor,
    n_way: int,
    *,
    steps: int,
    lr: float,
    create_graph: bool,
    chunk: int | None = None,
    head_init: str = "zero",
) -> tuple[Params, Head]:
    """``steps`` gradient steps on the cross-entropy of ``(x, target)`` from ``params``.

    The N-way layer starts at zero, or (``head_init="prototypes"``, Proto-MAML) at the
    prototypical-network layer of the support (`prototype_head`). With ``create_graph``
    the result stays differentiable with respect to ``params`` through every step and
    the initial layer (second order); without, each step's gradient and the initial
    layer are constants (first order). ``x`` is a tensor or a
    dict of named inputs; ``target`` holds labels ``0..n_way-1``. ``chunk`` sums each
    step's gradient over chunks of that many windows (the same full-batch gradient in
    eval mode, with less memory; first order only).
    """
    if steps < 1:
        raise ConfigError(f"inner_steps must be >= 1, got {steps}")
    if head_init not in HEAD_INITS:
        raise ConfigError(f"head_init must be one of {HEAD_INITS}, got {head_init!r}")
    n = len(target)
    if chunk is not None and create_graph:
        raise ConfigError("inner_loop: chunk needs create_graph=False")
    size = n if chunk is None else max(1, chunk)
    fast = dict(params)
    head: Head | None = None
    if head_init == "prototypes" and size < n:  # the support's embedding first, in chunks
        with torch.no_grad():
            z = torch.cat(
                [functional_embed(net, fast, _rows(x, a, a + size)) for a in range(0, n, size)]
            )
        head = _initial_head(z, target, n_way, head_init, create_graph)
    for _ in range(steps):
        total: list[torch.Tensor | None] = [None] * (len(fast) + 2)
        for a in range(0, n, size):
            z = functional_embed(net, fast, _rows(x, a, a + size))
            if head is None:
                head = _initial_head(z, target, n_way, head_init, create_graph)
            part = F.cross_entropy(F.linear(z, *head), target[a : a + size], reduction="sum")
            grads = torch.autograd.grad(
                part / n, [*fast.values(), *head], create_graph=create_graph, allow_unused=True
            )
            total = [g if t is None else (t if g is None else t + g) for t, g in zip(total, grads)]
        assert head is not None
        names = list(fast)
        updated = [v if g is None else v - lr * g for v, g in zip([*fast.values(), *head], total)]
        fast = dict(zip(names, updated[: len(names)]))
        head = (updated[-2], updated[-1])
    assert head is not None
    return fast, head


def prototype_head(z: torch.Tensor, target: torch.Tensor, n_way: int) -> Head:
    """The linear layer of a prototypical network: ``(2 c, -|c|^2)`` for class means ``c``.

    Its logits ``2 c.z - |c|^2`` are ``-|z - c|^2`` up to a per-window constant.
    """
    c = class_means(z, target, n_way)
    return 2 * c, -c.pow(2).sum(1)


def _initial_head(
    z: torch.Tensor, target: torch.Tensor, n_way: int, init: str, create_graph: bool
) -> Head:
    """The N-way layer an inner loop starts from (a leaf unless differentiated through)."""
    if init == "zero":
        w, b = z.new_zeros(n_way, z.shape[1]), z.new_zeros(n_way)
    else:
        w, b = prototype_head(z, target, n_way)
        if create_graph:
            return w, b
    return w.detach().requires_grad_(True), b.detach().requires_grad_(True)


def _rows(x: Any, a: int, b: int) -> Any:
    """Rows ``a:b`` of a tensor or of every tensor of a dict."""
    return {k: v[a:b] for k, v in x.items()} if isinstance(x, dict) else x[a:b]


def adapted_logits(
    net: nn.Module, fast: Mapping[str, torch.Tensor], head: Head, x: Any
) -> torch.Tensor:
    """Logits ``(n, N)`` of the network with fast weights and an episode's head."""
    return F.linear(functional_embed(net, fast, x), *head)


def adapt_detached(
    net: nn.Module,
    params: Mapping[str, torch.Tensor],
    x: Any,
    target: torch.Tensor,
    n_way: int,
    *,
    steps: int,
    lr: float,
    chunk: int | None = None,
    head_init: str = "zero",
) -> tuple[Params, Head]:
    """Test-time adaptation: the inner loop from ``params`` (untouched), results detached.

    First order (nothing is differentiated through it); ``chunk`` and ``head_init`` as
    `inner_loop`.
    """
    with torch.enable_grad():
        start = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        fast, head = inner_loop(
            net,
            start,
            x,
            target,
            n_way,
            steps=steps,
            lr=lr,
            create_graph=False,
            chunk=chunk,
            head_init=head_init,
        )
    return {k: v.detach() for k, v in fast.items()}, (head[0].detach(), head[1].detach())


def _net_input(inputs: dict[str, torch.Tensor]) -> Any:
    return inputs["emg"] if list(inputs) == ["emg"] else inputs


@register_task
class MAMLTask(EpisodicTask):
    """MAML episodes (see the module docstring); the model needs ``embed``.

    Parameters
    ----------
    X, y, groups, subjects, n_way, k_shot, n_query, episodes
        As `EpisodicTask`.
    inner_steps : int
        Gradient steps of the inner loop.
    inner_lr : float
        Step size of the inner loop.
    first_order : bool
        First-order MAML (no gradient through the inner loop's gradients).
    head_init : {"zero", "prototypes"}
        How each inner loop's N-way layer starts (see `inner_loop`).
    """

    name = "maml"

    def __init__(
        self,
        X: Any,
        y: Any,
        groups: Any,
        subjects: Any = None,
        *,
        n_way: int | None = 5,
        k_shot: int = 5,
        n_query: int = 5,
        episodes: int = 100,
        inner_steps: int = 1,
        inner_lr: float = 0.1,
        first_order: bool = False,
        head_init: str = "zero",
    ) -> None:
        super().__init__(
            X, y, groups, subjects, n_way=n_way, k_shot=k_shot, n_query=n_query, episodes=episodes
        )
        if not isinstance(inner_steps, int | np.integer) or inner_steps < 1:
            raise ConfigError(f"inner_steps must be a positive int, got {inner_steps!r}")
        if not (isinstance(inner_lr, int | float) and inner_lr > 0 and np.isfinite(inner_lr)):
            raise ConfigError(f"inner_lr must be a positive number, got {inner_lr!r}")
        self.inner_steps, self.inner_lr = int(inner_steps), float(inner_lr)
        self.first_order = bool(first_order)
        if head_init not in HEAD_INITS:
            raise ConfigError(f"head_init must be one of {HEAD_INITS}, got {head_init!r}")
        self.head_init = head_init

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        N, K, _ = self.shape
        params = meta_parameters(model)
        size, support = self.episode_size, N * K
        losses = []
        for e in range(len(batch["target"]) // size):
            part = {k: v[e * size : (e + 1) * size] for k, v in batch.items()}
            target = part.pop("target")
            fast, head = inner_loop(
                model,
                params,
                _net_input({k: v[:support] for k, v in part.items()}),
                target[:support],
                N,
                steps=self.inner_steps,
                lr=self.inner_lr,
                create_graph=not self.first_order,
                head_init=self.head_init,
            )
            query = _net_input({k: v[support:] for k, v in part.items()})
            losses.append(
                F.cross_entropy(adapted_logits(model, fast, head, query), target[support:])
            )
        return torch.stack(losses).mean()

    def fingerprint(self) -> list[Any]:
        inner = {
            "steps": self.inner_steps,
            "lr": self.inner_lr,
            "first_order": self.first_order,
            "head_init": self.head_init,
        }
        return [*super().fingerprint(), inner]
