"""Supervised training: cross-entropy on labels or mean squared error on targets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn.tasks.base import Batch, EpochPlan, TrainingTask
from myoshift.learn.tasks.batching import (
    Inputs,
    as_float32,
    call_net,
    named_inputs,
    predict_batches,
    shuffled_batches,
)
from myoshift.learn.tasks.registry import register_task

#: ``(X, y, rng) -> (X, y)`` on the numpy EMG windows and targets of one batch.
Augment = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]

KINDS = ("classification", "regression")


@register_task
class SupervisedTask(TrainingTask):
    """Windows and their labels (or regression targets), shuffled into batches.

    Parameters
    ----------
    X : array ``(n, C, T)`` or mapping of named arrays
        One array is the input ``"emg"``; a mapping such as ``{"emg": X, "imu": X_imu}``
        gives several inputs with the same first dimension. Arrays may be lazy (see
        `ArrayLike`): each batch is cut with ``X[idx]``, nothing is loaded whole.
    y : array ``(n,)`` or ``(n, k)``
        Encoded labels ``0..k-1`` (classification) or float targets.
    X_val, y_val : like ``X`` and ``y``, or None
        Validation data (same input names) for early stopping.
    kind : {"classification", "regression"}
        Cross-entropy or mean squared error.
    class_weight : array ``(k,)`` or None
        Cross-entropy weight of each class.
    label_smoothing : float in [0, 1)
        Applied to the training loss only.
    augment : callable or None
        ``(X, y, rng) -> (X, y)`` on the numpy EMG windows of each training batch.

    Batches are ``{"emg": tensor, ...other inputs..., "target": tensor}``; the network
    gets the ``"emg"`` tensor alone when it is the only input, else the dict of inputs.
    """

    name = "supervised"

    def __init__(
        self,
        X: Inputs,
        y: Any,
        X_val: Inputs | None = None,
        y_val: Any = None,
        *,
        kind: Literal["classification", "regression"] = "classification",
        class_weight: Any = None,
        label_smoothing: float = 0.0,
        augment: Augment | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ConfigError(f"kind must be 'classification' or 'regression', got {kind!r}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.kind = kind
        self.label_smoothing = float(label_smoothing)
        self.augment = augment
        self.inputs = named_inputs(X, "X")
        self.y = np.asarray(y)
        n = len(next(iter(self.inputs.values())))
        if len(self.y) != n:
            raise ShapeError(f"y has {len(self.y)} entries but X has {n} windows")
        if n == 0:
            raise ShapeError("X has no training windows")
        if augment is not None and "emg" not in self.inputs:
            raise ConfigError("augment needs an input named 'emg'")
        self.class_weight = None
        if class_weight is not None:
            self.class_weight = np.asarray(class_weight, dtype=np.float32)
            if self.class_weight.ndim != 1 or not np.isfinite(self.class_weight).all():
                raise ConfigError(f"class_weight must be a finite 1-D array, got {class_weight}")
        self._target = self._targets(self.y)
        self.val_inputs: dict[str, Any] | None = None
        self.y_val: np.ndarray | None = None
        if X_val is not None and y_val is not None and len(y_val) > 0:
            self.val_inputs = named_inputs(X_val, "X_val")
            if sorted(self.val_inputs) != sorted(self.inputs):
                raise ConfigError(
                    f"X_val has inputs {sorted(self.val_inputs)} but X has {sorted(self.inputs)}"
                )
            self.y_val = np.asarray(y_val)
            n_val = len(next(iter(self.val_inputs.values())))
            if len(self.y_val) != n_val:
                raise ShapeError(f"y_val has {len(self.y_val)} entries but X_val has {n_val}")
        self._weights: dict[torch.device, torch.Tensor] = {}

    # ------------------------------------------------------------------ contract
    @property
    def n_items(self) -> int:
        return len(self.y)

    def batches(self, plan: EpochPlan) -> Iterator[Batch]:
        for b, idx in enumerate(shuffled_batches(self.n_items, plan)):
            batch = {k: as_float32(x[idx]) for k, x in self.inputs.items()}
            for k, t in batch.items():
                _check_finite(t, idx, b, plan.epoch, k)
            target = self._target[idx]
            if self.augment is not None:
                xa, ya = self.augment(batch["emg"].numpy(), target, plan.rng)
                if len(xa) != len(ya) or (len(batch) > 1 and len(xa) != len(idx)):
                    raise ShapeError(
                        f"augment returned {len(xa)} windows and {len(ya)} targets for a "
                        f"batch of {len(idx)}" + (" with other inputs" if len(batch) > 1 else "")
                    )
                batch["emg"] = as_float32(xa)
                target = self._targets(np.asarray(ya))
            batch["target"] = torch.from_numpy(target)
            yield batch

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        inputs = {k: v for k, v in batch.items() if k != "target"}
        return self._loss(call_net(model, inputs), batch["target"], train=True)

    @torch.no_grad()
    def validate(
        self, net: nn.Module, *, batch_size: int, device: str | torch.device
    ) -> dict[str, float] | None:
        if self.val_inputs is None or self.y_val is None:
            return None
        net.eval()
        outs = predict_batches(net, self.val_inputs, batch_size, device)
        target = torch.from_numpy(self._targets(self.y_val))
        out = {"val_loss": float(self._loss(outs, target, train=False).item())}
        if self.kind == "classification" and target.ndim == 1:
            out["val_acc"] = float((outs.argmax(1) == target).float().mean().item())
        return out

    def fingerprint(self) -> list[Any]:
        """``[X, y]`` for one input (as before tasks existed), else names, arrays and y."""
        if list(self.inputs) == ["emg"]:
            return [self.inputs["emg"], self.y]
        names = sorted(self.inputs)
        return [{"inputs": names}, *(self.inputs[k] for k in names), self.y]

    # ------------------------------------------------------------------ helpers
    def _targets(self, y: np.ndarray) -> np.ndarray:
        """float32 for regression or float labels (soft labels), else int64."""
        if self.kind == "regression" or np.issubdtype(y.dtype, np.floating):
            return y.astype(np.float32, copy=False)
        return y.astype(np.int64, copy=False)

    def _loss(self, out: torch.Tensor, target: torch.Tensor, *, train: bool) -> torch.Tensor:
        if self.kind == "regression":
            return F.mse_loss(out, target)
        return F.cross_entropy(
            out,
            target,
            weight=self._weight(out.device),
            label_smoothing=self.label_smoothing if train else 0.0,
        )

    def _weight(self, device: torch.device) -> torch.Tensor | None:
        if self.class_weight is None:
            return None
        if device not in self._weights:
            self._weights[device] = torch.from_numpy(self.class_weight).to(device)
        return self._weights[device]


def _check_finite(t: torch.Tensor, idx: np.ndarray, b: int, epoch: int, name: str) -> None:
    if torch.isfinite(t).all():
        return
    bad = idx[~torch.isfinite(t).reshape(len(t), -1).all(dim=1).numpy()]
    where = "" if name == "emg" else f" in input {name!r}"
    raise ShapeError(
        f"batch {b} of epoch {epoch} contains NaN or Inf{where} "
        f"(training windows {bad[:5].tolist()})"
    )
