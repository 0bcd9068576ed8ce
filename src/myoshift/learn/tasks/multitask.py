"""Classification + regression together: cross-entropy plus a weighted squared error.

The network (e.g. `myoshift.models.multitask.MultiTaskNet`) outputs ``n_classes`` logits
followed by ``n_targets`` regression outputs; the loss of a batch is
``CE(logits, labels) + target_weight * MSE(outputs, targets)`` with the targets
standardised by the caller (so the weight does not depend on the targets' units).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn.tasks.base import Batch
from myoshift.learn.tasks.batching import Inputs, call_net, predict_batches
from myoshift.learn.tasks.registry import register_task
from myoshift.learn.tasks.supervised import Augment, SupervisedTask
from myoshift.signal.augment import LABEL_STEPS


def _joined(labels: Any, targets: Any, what: str) -> np.ndarray:
    """``(n, 1 + k)`` float32: the label code, then the ``k`` targets of each window."""
    lab = np.asarray(labels)
    if lab.ndim != 1 or not np.issubdtype(lab.dtype, np.integer):
        raise ConfigError(
            f"{what}labels must be 1-D integer class codes, got {lab.dtype} {lab.shape}"
        )
    tar = np.asarray(targets, dtype=np.float32)
    tar = tar[:, None] if tar.ndim == 1 else tar
    if tar.ndim != 2 or len(tar) != len(lab):
        raise ShapeError(
            f"{what}targets must be (n,) or (n, k) with n = {len(lab)} labels, got {tar.shape}"
        )
    if not np.isfinite(tar).all():
        raise ShapeError(f"{what}targets contain NaN or Inf")
    return np.column_stack([lab.astype(np.float32), tar])


@register_task
class MultiTaskTask(SupervisedTask):
    """Windows with a class label and regression targets each; one loss for both.

    Parameters
    ----------
    X : array ``(n, C, T)`` or mapping of named arrays
        As `SupervisedTask`.
    labels : int array ``(n,)``
        Class codes ``0..n_classes-1``.
    targets : array ``(n,)`` or ``(n, k)``
        Regression targets, standardised (``k`` may be 0: classification alone).
    X_val, labels_val, targets_val
        Validation data for early stopping, or None.
    target_weight : float
        Weight ``w >= 0`` of the mean squared error: loss = CE + w * MSE.
    class_weight, label_smoothing
        Of the cross-entropy (as `SupervisedTask`).
    augment : callable or None
        ``(X, y, rng) -> (X, y)`` on the EMG windows of each batch; it must keep the
        windows and their labels (no mixup: the targets would not follow).

    The network's output is ``(batch, n_classes + k)``: logits, then the ``k`` outputs.
    """

    name = "multitask"

    def __init__(
        self,
        X: Inputs,
        labels: Any,
        targets: Any,
        X_val: Inputs | None = None,
        labels_val: Any = None,
        targets_val: Any = None,
        *,
        target_weight: float = 1.0,
        class_weight: Any = None,
        label_smoothing: float = 0.0,
        augment: Augment | None = None,
    ) -> None:
        if not (isinstance(target_weight, int | float) and target_weight >= 0):
            raise ConfigError(f"target_weight must be a number >= 0, got {target_weight!r}")
        steps = [s[0] if isinstance(s, tuple) else s for s in getattr(augment, "steps", [])]
        if any(s in LABEL_STEPS for s in steps):
            raise ConfigError(
                f"multi-task training cannot use label-changing augmentation {sorted(LABEL_STEPS)}"
            )
        joined = _joined(labels, targets, "")
        val = None if labels_val is None else _joined(labels_val, targets_val, "validation ")
        super().__init__(
            X,
            joined,
            X_val,
            val,
            kind="classification",
            class_weight=class_weight,
            label_smoothing=label_smoothing,
            augment=augment,
        )
        self.n_targets = joined.shape[1] - 1
        self.target_weight = float(target_weight)

    def _parts(
        self, out: torch.Tensor, target: torch.Tensor, *, train: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(cross-entropy, mean squared error, logits)`` of one batch of outputs."""
        k = self.n_targets
        if target.ndim != 2 or target.shape[1] != k + 1:
            raise ShapeError(
                f"multi-task targets must be (batch, {k + 1}), got {tuple(target.shape)} "
                "(an augmentation changed the labels?)"
            )
        logits = out[:, : out.shape[1] - k]
        ce = F.cross_entropy(
            logits,
            target[:, 0].long(),
            weight=self._weight(out.device),
            label_smoothing=self.label_smoothing if train else 0.0,
        )
        mse = F.mse_loss(out[:, logits.shape[1] :], target[:, 1:]) if k else ce.new_zeros(())
        return ce, mse, logits

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        inputs = {k: v for k, v in batch.items() if k != "target"}
        ce, mse, _ = self._parts(call_net(model, inputs), batch["target"], train=True)
        return ce + self.target_weight * mse

    @torch.no_grad()
    def validate(
        self, net: nn.Module, *, batch_size: int, device: str | torch.device
    ) -> dict[str, float] | None:
        """``val_loss`` (CE + w MSE), ``val_ce``, ``val_mse`` and ``val_acc``."""
        if self.val_inputs is None or self.y_val is None:
            return None
        net.eval()
        outs = predict_batches(net, self.val_inputs, batch_size, device)
        target = torch.from_numpy(self._targets(self.y_val))
        ce, mse, logits = self._parts(outs, target, train=False)
        acc = (logits.argmax(1) == target[:, 0].long()).float().mean()
        return {
            "val_loss": float(ce + self.target_weight * mse),
            "val_ce": float(ce),
            "val_mse": float(mse),
            "val_acc": float(acc),
        }

    def fingerprint(self) -> list[Any]:
        return [*super().fingerprint(), {"task": self.name, "target_weight": self.target_weight}]
