"""Parallel multiple-scale CNN of Ding et al. (2018)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from myoshift.errors import ConfigError
from myoshift.models.base import EMGModel, register_model


def effective_kernel(kernel: int, n_samples: int) -> int:
    """Temporal kernel actually used: ``kernel``, shrunk for short windows.

    A kernel longer than half the window mostly sees zero padding, so it is reduced to
    the largest odd number not above ``n_samples // 2`` (at least 1). With the paper's
    13 and 57 and a 52-sample Myo window the branches use 13 and 25.
    """
    limit = max(1, n_samples // 2)
    if limit % 2 == 0:
        limit -= 1
    return max(1, min(kernel, limit))


@register_model
class MultiscaleCNN(EMGModel):
    """Two parallel temporal scales, channel mixing, then FC 260 and FC 130.

    The window is an electrode x time image. Two parallel branches convolve along time
    with 1 x 13 and 1 x 57 kernels (``kernels``; shrunk for short windows, see
    `effective_kernel`), each with batch normalisation, ReLU and max pooling 1 x 2. Their
    maps are concatenated, then mixed across neighbouring electrodes (3 x 1 conv) and
    across all electrodes (C x 1 conv), averaged in time to at most ``time_bins`` bins,
    flattened and passed through fully connected layers of 260 and 130 units with ReLU
    and dropout: ``embed_dim = 130``.

    Ding et al. (2018) evaluated on Ninapro windows; the training values in `recipe`
    (200 ms windows, Adam, 30 epochs) are myoshift's defaults for this architecture, not
    a verbatim copy of the paper's schedule.
    """

    name = "multiscale-cnn"
    citation = (
        "Ding, Z., Yang, C., Tian, Z., Yi, C., Fu, Y., Jiang, F. (2018), sEMG-based gesture "
        "recognition with convolution neural networks, Sustainability 10(6):1865"
    )
    recipe = {
        "window_ms": 200,
        "optimizer": "adam",
        "lr": 1e-3,
        "epochs": 30,
        "batch_size": 128,
        "note": "myoshift defaults for this architecture",
    }
    default_input = {"n_channels": 8, "n_samples": 52}

    def __init__(
        self,
        n_channels: int,
        n_samples: int,
        n_outputs: int,
        *,
        kernels: list[int] | tuple[int, int] = (13, 57),
        filters: int = 32,
        mix_filters: int = 64,
        time_bins: int = 8,
        fc: list[int] | tuple[int, int] = (260, 130),
        dropout: float = 0.3,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigError(f"multiscale-cnn: unknown hyper-parameter(s) {sorted(unknown)}")
        ks = [int(k) for k in kernels]
        fcs = [int(v) for v in fc]
        if not ks or min(ks) < 1:
            raise ConfigError(f"multiscale-cnn: kernels must be positive ints, got {kernels!r}")
        if len(fcs) != 2 or min(fcs) < 1:
            raise ConfigError(f"multiscale-cnn: fc must be two positive ints, got {fc!r}")
        for k, v in (("filters", filters), ("mix_filters", mix_filters), ("time_bins", time_bins)):
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"multiscale-cnn: {k} must be a positive int, got {v!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"multiscale-cnn: dropout must be in [0, 1), got {dropout!r}")
        super().__init__(
            n_channels,
            n_samples,
            n_outputs,
            kernels=ks,
            filters=filters,
            mix_filters=mix_filters,
            time_bins=time_bins,
            fc=fcs,
            dropout=float(dropout),
        )
        pool_t = 2 if n_samples >= 2 else 1
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(1, filters, (1, effective_kernel(k, n_samples)), padding="same"),
                nn.BatchNorm2d(filters),
                nn.ReLU(),
                nn.MaxPool2d((1, pool_t)),
            )
            for k in ks
        )
        bins = min(time_bins, n_samples // pool_t)
        self.mix = nn.Sequential(
            nn.Conv2d(filters * len(ks), mix_filters, (3, 1), padding=(1, 0)),
            nn.BatchNorm2d(mix_filters),
            nn.ReLU(),
            nn.Conv2d(mix_filters, mix_filters, (n_channels, 1)),
            nn.BatchNorm2d(mix_filters),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d((1, bins)),
        )
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(mix_filters * bins, fcs[0]),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(fcs[0], fcs[1]),
            nn.ReLU(),
        )
        self.embed_dim = fcs[1]
        self.head = nn.Linear(self.embed_dim, n_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        img = x.unsqueeze(1)
        h = torch.cat([branch(img) for branch in self.branches], dim=1)
        return self.fc(self.mix(h))
