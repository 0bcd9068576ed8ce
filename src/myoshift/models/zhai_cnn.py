"""The self-recalibrating CNN of Zhai et al. (2017): one convolution, two dense layers."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from myoshift.errors import ConfigError
from myoshift.models.base import EMGModel, register_model

#: largest flattened convolution output fed to the first dense layer (see `ZhaiCNN`)
MAX_FLAT = 16384


@register_model
class ZhaiCNN(EMGModel):
    """CNN of Zhai, Jelfs, Chan & Tin (2017) on dimension-reduced spectrograms.

    The input ``(C, K)`` is one single-channel image: the ``K`` principal components of
    each channel's normalised spectrogram (the ``spectrogram-pca`` represent step,
    `myoshift.signal.represent_spectral`), electrodes as rows. Layers:

    1. convolution of ``filters`` kernels ``kernel x kernel`` ('same' padding), ReLU;
    2. dense layer of ``hidden`` units, ReLU, dropout ``dropout`` (``embed`` returns it);
    3. dense output layer (the head; softmax in the loss).

    The paper's recipe is one convolutional layer and two fully connected layers with
    dropout; the filter count, kernel size, hidden units and dropout rate here are our
    reading. When ``filters * C * K`` exceeds `MAX_FLAT` (raw high-density windows, not
    the paper's input), the convolution output is max-pooled by the smallest integer
    factor that brings it under that size (ours), so the dense layer stays small.
    Any input of at least 1 x 1 works. Recalibration without labels is the method's
    policy ``zhai`` (`myoshift.learn.recalibration`): vote-corrected self-labels of
    recent data, then fine-tuning.
    """

    name = "zhai-cnn"
    citation = (
        "Zhai, Jelfs, Chan & Tin (2017), Self-recalibrating surface EMG pattern recognition "
        "for neuroprosthesis control based on convolutional neural network, Front. Neurosci. "
        "11:379"
    )
    recipe = {
        "window_ms": 200,
        "step_ms": 100,
        "optimizer": "adamw",
        "lr": 0.001,
        "epochs": 30,
        "batch_size": 128,
        "note": "200 ms windows every 100 ms from the paper; optimiser and schedule ours",
    }
    input_kind = "spectrogram-pca"
    default_input = {"n_channels": 8, "n_samples": 25}

    def __init__(
        self,
        n_channels: int,
        n_samples: int,
        n_outputs: int,
        *,
        filters: int = 32,
        kernel: int = 3,
        hidden: int = 100,
        dropout: float = 0.5,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigError(f"zhai-cnn: unknown hyper-parameter(s) {sorted(unknown)}")
        for key, value in (("filters", filters), ("kernel", kernel), ("hidden", hidden)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"zhai-cnn: {key} must be a positive int, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"zhai-cnn: dropout must be in [0, 1), got {dropout!r}")
        super().__init__(
            n_channels,
            n_samples,
            n_outputs,
            filters=filters,
            kernel=kernel,
            hidden=hidden,
            dropout=float(dropout),
        )
        pool = 1
        while filters * math.ceil(n_channels / pool) * math.ceil(n_samples / pool) > MAX_FLAT:
            pool += 1
        self.pool = pool
        layers: list[nn.Module] = [nn.Conv2d(1, filters, kernel, padding="same"), nn.ReLU()]
        if pool > 1:
            layers.append(nn.MaxPool2d(pool, ceil_mode=True))
        self.conv = nn.Sequential(*layers)
        flat = filters * math.ceil(n_channels / pool) * math.ceil(n_samples / pool)
        self.dense = nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.embed_dim = hidden
        self.head = nn.Linear(hidden, n_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.dense(self.conv(x.unsqueeze(1)).flatten(1))
