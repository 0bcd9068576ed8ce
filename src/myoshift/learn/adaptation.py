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

`DeepAdaptation` is the ``adapt`` of the deep estimators (`DeepClassifier`,
`DeepRegressor` and their subclasses), built on these functions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal, Self

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from myoshift.errors import ConfigError
from myoshift.learn.data import class_weights
from myoshift.learn.trainer import TrainConfig, Trainer

log = logging.getLogger(__name__)

MODES = ("head", "full", "adabn", "adabn+head")
ALIGNMENTS = ("ring",)
AdaptMode = Literal["head", "full", "adabn", "adabn+head"]


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


# ---------------------------------------------------------------------- estimator mixin
def adapt_deep(
    est: Any,
    X: Any,
    y: Any,
    mode: str,
    epochs: int | None,
    lr: float | None,
    batch_size: int | None,
    align: str | None,
) -> None:
    """`DeepAdaptation.adapt` of the fitted deep estimator ``est`` by base ``mode``."""
    epochs = est.adapt_epochs if epochs is None else epochs
    lr = est.adapt_lr if lr is None else lr
    align = est.adapt_align if align is None else align
    if mode not in MODES:
        raise ConfigError(f"unknown adapt mode {mode!r}; valid: {', '.join(MODES)}")
    if align is not None and align not in ALIGNMENTS:
        raise ConfigError(f"unknown alignment {align!r}; valid: {', '.join(ALIGNMENTS)}")
    est._check_fitted().to(est.device)
    X, Xa, y_from = est._check_X(X, y)
    net = est.net_
    inputs = est._named(X, Xa, net.input_names)
    if isinstance(inputs, dict) and (align is not None or mode.startswith("adabn")):
        raise ConfigError(
            f"adapt(mode={mode!r}, align={align!r}) supports single-input models; "
            f"{est.model!r} takes {net.input_names} (use mode 'head' or 'full')"
        )
    batch = batch_size or est.batch_size
    if mode == "adabn" and align is None:  # unlabelled: batch-norm statistics only
        adabn(net, Xa, batch, est.device)
        return
    if y_from is None:
        what = f"align={align!r}" if mode == "adabn" else f"mode={mode!r}"
        raise ConfigError(f"adapt({what}) needs labels y for the target windows")
    # encoded (and checked) once, before touching the network
    y_enc, _ = est._encode_adapt(y_from, len(Xa))
    if align is not None:
        k, scores = align_ring(net, Xa, y_enc, est._align_loss, batch, est.device)
        est.alignment_ = {"rotation": k, "loss": scores.tolist()}
        log.info(
            "ring alignment: rotation %d (mean loss %.3f vs %.3f unrotated)",
            k,
            scores[k],
            scores[0],
        )
    if mode in ("adabn", "adabn+head"):
        adabn(net, Xa, batch, est.device)
    if mode == "adabn" or int(epochs) == 0:
        return
    head = mode.endswith("head")
    lr_ = lr if lr is not None else (est.lr if head else est.lr / 10)
    cfg = est._train_config(
        epochs=int(epochs),
        lr=float(lr_),
        schedule="constant",
        warmup_epochs=0.0,
        patience=None,
        checkpoint_dir=None,
        batch_size=batch,
    )
    params, train_mode = trainable(net, "head" if head else "full")
    weights = None
    if est._task == "classification":
        weights = class_weights(y_enc, len(est.classes_), est.class_weight, est.classes_)
    try:
        est._fine_tune(cfg, inputs, y_enc, weights, params=params, train_mode=train_mode)
    finally:
        for p in net.parameters():
            p.requires_grad_(True)
        net.eval()


class DeepAdaptation:
    """``adapt`` of the deep estimators (parameters ``adapt_mode``, ``adapt_epochs``,
    ``adapt_lr``, ``adapt_align``); a subclass adds a mode of its own with `_adapt_own`."""

    adapt_mode: Any
    _task: str
    net_: Any

    def adapt(
        self,
        X: Any,
        y: Any = None,
        mode: AdaptMode | None = None,
        epochs: int | None = None,
        lr: float | None = None,
        batch_size: int | None = None,
        align: str | None = None,
    ) -> Self:
        """Calibrate the fitted estimator to a new domain, in place.

        Parameters
        ----------
        X : array (n, C, T) or Windows
            Target-domain windows (labels taken from a Windows object if ``y`` is None).
        y : array or None
            Target labels; required for every mode except ``"adabn"``.
        mode : {"head", "full", "adabn", "adabn+head"} or None
            None uses the estimator's ``adapt_mode``. ``head``: fine-tune the head
            only (batch-norm statistics frozen); ``full``: fine-tune the whole
            network; ``adabn``: re-estimate batch-norm statistics on (unlabelled)
            target windows, nothing else changes;
            ``adabn+head``: both, in that order.
        epochs : int or None
            Fine-tuning epochs (all data, no validation split, constant learning rate);
            None uses ``adapt_epochs``; 0 fine-tunes nothing (alignment / AdaBN only).
        lr : float or None
            Fine-tuning learning rate; None uses ``adapt_lr``, else ``lr / 10`` for
            full and ``lr`` for head fine-tuning.
        batch_size : int or None
            Default: the estimator's.
        align : {"ring"} or None
            None uses ``adapt_align``. ``"ring"``: first rotate the network's input
            channel order to the electrode-ring rotation that explains the labelled
            target windows best (`align_ring`; for armbands put on rotated), then
            calibrate as ``mode`` says. The chosen rotation is kept in the weights and
            reported in ``alignment_``.

        Raises
        ------
        ConfigError
            Unknown mode, labels missing, or labels/outputs that do not match the
            fitted classes or targets.
        """
        mode_ = self.adapt_mode if mode is None else mode
        if not self._adapt_own(mode_, X, y):
            adapt_deep(self, X, y, mode_, epochs, lr, batch_size, align)
        return self

    def _adapt_own(self, mode: str, X: Any, y: Any) -> bool:
        """A subclass's calibration, asked first: True when it calibrated by ``mode``
        itself (a mode of its own), False to go on with the modes above (it may refuse
        the call instead)."""
        return False

    def _encode_adapt(self, y: Any, n: int) -> tuple[np.ndarray, int]:
        """Labels or targets of the calibration windows, encoded as in training."""
        raise NotImplementedError

    def _fine_tune(self, cfg: TrainConfig, inputs: Any, y_enc: Any, weights: Any, **kw: Any) -> Any:
        """`adapt`'s training on the calibration windows (subclasses may run another task)."""
        return Trainer(cfg).fit(self.net_, inputs, y_enc, class_weight=weights, **kw)

    def _align_loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss that scores a candidate alignment (cross-entropy or squared error)."""
        if self._task == "classification":
            return nn.functional.cross_entropy(out, target.long())
        return nn.functional.mse_loss(out, target.to(out.dtype).view_as(out))
