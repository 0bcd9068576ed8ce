"""Calibration of a fitted network to a new domain.

* head fine-tuning: only the parameters of ``net.head`` are trained; every other
  module stays in eval mode, so batch-norm statistics and dropout are frozen;
* full fine-tuning: every parameter is trained (usually with a smaller learning rate);
* AdaBN (Li et al. 2018, "Adaptive batch normalization for practical domain
  adaptation", Pattern Recognition 80): the running mean and variance of every
  batch-norm layer are re-estimated on target windows, without labels; no weight changes;
* ring alignment: for an armband put on rotated, the rotation of the electrode ring
  under which the fitted network explains the labelled target windows best (lowest
  mean loss) is chosen and kept as the network's input channel order, before any
  fine-tuning. It needs no training, only one forward pass per candidate rotation.

`DeepClassifier.adapt` and `DeepRegressor.adapt` use these functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from myoshift.errors import ConfigError

MODES = ("head", "full", "adabn", "adabn+head")
ALIGNMENTS = ("ring",)


def batchnorm_layers(net: nn.Module) -> list[_BatchNorm]:
    """Every batch-norm layer of ``net`` that tracks running statistics."""
    return [m for m in net.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


def _batches(n: int, batch_size: int) -> list[slice]:
    """Contiguous batches, none of size 1 (batch norm cannot train on one window)."""
    bounds = list(range(0, n, batch_size)) + [n]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        del bounds[-2]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


@torch.no_grad()
def adabn(net: nn.Module, X: Any, batch_size: int = 256, device: str = "cpu") -> int:
    """Re-estimate batch-norm statistics of ``net`` on target windows ``X`` (AdaBN).

    The running statistics are reset and replaced by the cumulative average over
    batches of ``X`` (momentum ``None``); weights, biases and every other buffer are
    untouched. Returns the number of batch-norm layers updated.

    Raises
    ------
    ConfigError
        ``net`` has no batch-norm layer, or fewer than 2 windows are given.
    """
    layers = batchnorm_layers(net)
    if not layers:
        raise ConfigError(
            f"AdaBN needs batch-norm layers; {type(net).__name__} has none "
            "(use mode='head' or 'full')"
        )
    if len(X) < 2:
        raise ConfigError(f"AdaBN needs at least 2 target windows, got {len(X)}")
    was_training = net.training
    momenta = [m.momentum for m in layers]
    net.eval()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    try:
        for sl in _batches(len(X), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(X[sl], dtype=np.float32)).to(device)
            net(xb)
    finally:
        for m, mom in zip(layers, momenta):
            m.momentum = mom
        net.train(was_training)
    return len(layers)


def trainable(net: nn.Module, which: str) -> tuple[list[nn.Parameter], Callable[[nn.Module], None]]:
    """Parameters to fine-tune and the train-mode function for ``which``.

    ``"head"``: freezes everything but ``net.head`` (``requires_grad=False``; the caller
    re-enables it afterwards) and keeps the backbone in eval mode. ``"full"``: all
    parameters, ordinary train mode.
    """
    if which == "full":

        def train_mode(m: nn.Module) -> None:
            m.train()

        return list(net.parameters()), train_mode
    if which != "head":
        raise ConfigError(f"unknown fine-tuning scope {which!r}; valid: head, full")
    head = getattr(net, "head", None)
    if not isinstance(head, nn.Module):
        raise ConfigError(f"{type(net).__name__} has no replaceable head")
    head_ids = {id(p) for p in head.parameters()}
    for p in net.parameters():
        p.requires_grad_(id(p) in head_ids)

    def head_mode(m: nn.Module) -> None:
        m.eval()
        head.train()

    return list(head.parameters()), head_mode


@torch.no_grad()
def align_ring(
    net: nn.Module,
    X: Any,
    y: np.ndarray,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    batch_size: int = 256,
    device: str = "cpu",
) -> tuple[int, np.ndarray]:
    """Rotate ``net``'s input channel order to the ring rotation that fits ``(X, y)`` best.

    ``net`` must have an ``order`` buffer (``StandardizedNet``): network channel ``c``
    reads data channel ``order[c]``. Each of the ``C`` rotations ``k`` (``order`` rolled
    by ``k`` electrodes) is scored by the mean ``loss`` of ``net`` on the target windows;
    the best is kept (ties go to the smaller ``k``, so ``k = 0`` when nothing is gained).
    Returns ``k`` and the mean loss of every rotation.

    Raises
    ------
    ConfigError
        ``net`` has no ``order`` buffer, or no windows are given.
    """
    order = getattr(net, "order", None)
    if not isinstance(order, torch.Tensor):
        raise ConfigError(f"{type(net).__name__} has no channel order to align")
    if len(X) == 0:
        raise ConfigError("ring alignment needs labelled target windows, got none")
    was_training = net.training
    net.eval()
    base = order.clone()
    n_ch = base.numel()
    scores = np.zeros(n_ch)
    targets = torch.as_tensor(y).to(device)
    try:
        for k in range(n_ch):
            order.copy_(torch.roll(base, -k))
            total = 0.0
            for sl in _batches(len(X), batch_size):
                xb = torch.from_numpy(np.ascontiguousarray(X[sl], dtype=np.float32)).to(device)
                total += float(loss(net(xb), targets[sl])) * (sl.stop - sl.start)
            scores[k] = total / len(X)
    finally:
        net.train(was_training)
    best = int(np.argmin(scores))
    order.copy_(torch.roll(base, -best))
    return best, scores
