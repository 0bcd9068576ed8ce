"""`StandardizedNet`: a model behind per-input standardisation and a channel order.

Every named input of the model (`EMGModel.inputs`: ``"emg"``, and e.g. ``"wpt"`` or
``"imu"``) is z-scored per channel (axis 1) with statistics of the training data, kept
as buffers so they travel with the weights. The EMG input also goes through a channel
``order`` (identity unless an alignment changed it, see `adaptation.align_ring`). A
single-input model receives a tensor, a multi-input model a dict of named tensors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from myoshift.errors import ShapeError
from myoshift.models import EMGModel

Inputs = torch.Tensor | dict[str, torch.Tensor]


def channel_stats(X: Any, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (axis 1) mean and std over every other axis of an array-like.

    A numpy array is reduced in one call; anything else (windows cut on demand) in two
    passes over chunks of ``chunk`` windows, never the whole array at once.
    """
    if isinstance(X, np.ndarray):
        axes = (0, *range(2, X.ndim))
        return X.mean(axis=axes, dtype=np.float64), X.std(axis=axes, dtype=np.float64)
    n, count = len(X), 0
    total = np.zeros(X.shape[1])
    for i in range(0, n, chunk):
        part = np.asarray(X[i : i + chunk], dtype=np.float64)
        axes = (0, *range(2, part.ndim))
        total += part.sum(axis=axes)
        count += part.size // part.shape[1]
    mean = total / max(count, 1)
    sq = np.zeros_like(mean)
    for i in range(0, n, chunk):
        part = np.asarray(X[i : i + chunk], dtype=np.float64)
        shape = (1, -1) + (1,) * (part.ndim - 2)
        sq += ((part - mean.reshape(shape)) ** 2).sum(axis=(0, *range(2, part.ndim)))
    return mean, np.sqrt(sq / max(count, 1))


class StandardizedNet(nn.Module):
    """``model(standardised named inputs)`` (see the module docstring).

    Buffers: ``mean``, ``std`` and ``order`` for the EMG input (the names of files
    written before multi-input models existed), ``mean_<name>`` and ``std_<name>`` for
    every other input.
    """

    mean: torch.Tensor
    std: torch.Tensor
    order: torch.Tensor

    def __init__(self, model: EMGModel, n_channels: int) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.zeros(1, n_channels, 1))
        self.register_buffer("std", torch.ones(1, n_channels, 1))
        self.register_buffer("order", torch.arange(n_channels))
        self.input_names = list(model.inputs())
        for name, shape in model.inputs().items():
            if name != "emg":
                ones = (1, shape[0]) + (1,) * (len(shape) - 1)
                self.register_buffer(f"mean_{name}", torch.zeros(ones))
                self.register_buffer(f"std_{name}", torch.ones(ones))

    def _stats(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        if name == "emg":
            return self.mean, self.std
        return getattr(self, f"mean_{name}"), getattr(self, f"std_{name}")

    def set_stats(self, X: Any) -> None:
        """Statistics of the training inputs: an array (the EMG) or a dict of named ones."""
        named = X if isinstance(X, Mapping) else {"emg": X}
        for name, values in named.items():
            mean, std = channel_stats(values)
            std = np.where(std > 1e-8, std, 1.0)
            m, s = self._stats(name)
            m.copy_(torch.as_tensor(mean, dtype=torch.float32).view(m.shape))
            s.copy_(torch.as_tensor(std, dtype=torch.float32).view(s.shape))

    @property
    def head(self) -> nn.Module:
        return self.model.head

    def _inputs(self, x: Inputs) -> Inputs:
        if not isinstance(x, dict):
            self.model.check_input(x)
            return (x.index_select(1, self.order) - self.mean) / self.std
        if set(x) != set(self.input_names):
            raise ShapeError(f"{self.model.name} takes inputs {self.input_names}, got {sorted(x)}")
        out = {}
        for name, value in x.items():
            if name == "emg":
                value = value.index_select(1, self.order)
            mean, std = self._stats(name)
            out[name] = (value - mean) / std
        return out if len(out) > 1 else out["emg"]

    def forward(self, x: Inputs) -> torch.Tensor:
        return self.model(self._inputs(x))  # type: ignore[no-any-return]

    def embed(self, x: Inputs) -> torch.Tensor:
        return self.model.embed(self._inputs(x))  # type: ignore[arg-type]
