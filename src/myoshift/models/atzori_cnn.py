"""The simple CNN of Atzori et al. (2016) for Ninapro, channels x time as an image."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from myoshift.errors import ConfigError
from myoshift.models.base import EMGModel, register_model


def _pool_out(n: int, k: int) -> int:
    """Length after ``AvgPool`` with kernel = stride = ``k`` and ``ceil_mode=True``."""
    return math.ceil(n / k)


@register_model
class AtzoriCNN(EMGModel):
    """Five-block CNN of Atzori, Cognolato & Müller (2016) on an electrode x time image.

    The window ``(C, T)`` is one single-channel image with electrodes as rows and time as
    columns (the paper lays time along rows and electrodes along columns; its kernels
    are transposed accordingly here):

    1. conv 32 filters spanning ``min(10, C)`` electrodes x 1 sample, ReLU;
    2. conv 32 filters 3 x 3, ReLU, average pooling 3 x 3;
    3. conv 64 filters 5 x 5, ReLU, average pooling 3 x 3;
    4. conv 64 filters 1 electrode x 5 samples (the paper's 5 x 1 along time), ReLU;
    5. the paper's 1 x 1 convolution to the classes with softmax is the linear head on
       the flattened block-4 map, so ``embed`` returns that flattened map.

    Convolutions use 'same' padding and pooling kernels are clipped to the map, so any
    input of at least 1 x 1 works (8 x 52 Myo windows give a 64 x 1 x 6 map, 64 x 200
    HD-sEMG windows a 64 x 8 x 23 map). Dropout (``dropout``, ours) follows blocks 3 and 4.

    ``rectify=True`` (ours) feeds ``|x|``, the full-wave rectified (standardised) window.
    The paper's input, Ninapro DB1, is already rectified by the Otto Bock electrodes
    (an RMS envelope), so its average-pooling layers see amplitudes; raw bipolar EMG
    (Myo, 3DC) averages towards zero instead. On 8 myoarmband pre-training people
    (cycles 1-3 -> 4, 260 ms windows every 25 ms) rectifying raised the accuracy from
    97.2 to 97.5 % (docs/benchmarks.md).

    Recipe of the paper: 150 ms windows (Ninapro DB1 at 100 Hz), stochastic gradient
    descent with momentum, about 30 epochs; learning rate, momentum and batch size in
    `recipe` are our reading.
    """

    name = "atzori-cnn"
    citation = (
        "Atzori, Cognolato & Müller (2016), Deep learning with convolutional neural networks "
        "applied to electromyography data: a resource for the classification of movements "
        "for prosthetic hands, Frontiers in Neurorobotics 10:9"
    )
    recipe = {
        "window_ms": 150,
        "optimizer": "sgd",
        "lr": 1e-3,
        "momentum": 0.9,
        "epochs": 30,
        "batch_size": 256,
        "note": "window and SGD from the paper; lr, momentum, batch size ours",
    }
    default_input = {"n_channels": 8, "n_samples": 52}

    def __init__(
        self,
        n_channels: int,
        n_samples: int,
        n_outputs: int,
        *,
        filters: list[int] | tuple[int, int] = (32, 64),
        dropout: float = 0.15,
        rectify: bool = False,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigError(f"atzori-cnn: unknown hyper-parameter(s) {sorted(unknown)}")
        f = [int(v) for v in filters]
        if len(f) != 2 or min(f) < 1:
            raise ConfigError(f"atzori-cnn: filters must be two positive ints, got {filters!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"atzori-cnn: dropout must be in [0, 1), got {dropout!r}")
        super().__init__(
            n_channels,
            n_samples,
            n_outputs,
            filters=f,
            dropout=float(dropout),
            rectify=bool(rectify),
        )
        self.rectify = bool(rectify)
        c, t = n_channels, n_samples
        p1 = (min(3, c), min(3, t))
        c1, t1 = _pool_out(c, p1[0]), _pool_out(t, p1[1])
        p2 = (min(3, c1), min(3, t1))
        c2, t2 = _pool_out(c1, p2[0]), _pool_out(t1, p2[1])
        k1 = min(10, c)  # 'same' padding, asymmetric when the kernel is even
        self.features = nn.Sequential(
            nn.ZeroPad2d((0, 0, (k1 - 1) // 2, k1 // 2)),
            nn.Conv2d(1, f[0], (k1, 1)),
            nn.ReLU(),
            nn.Conv2d(f[0], f[0], 3, padding="same"),
            nn.ReLU(),
            nn.AvgPool2d(p1, ceil_mode=True),
            nn.Conv2d(f[0], f[1], 5, padding="same"),
            nn.ReLU(),
            nn.AvgPool2d(p2, ceil_mode=True),
            nn.Dropout(dropout),
            nn.Conv2d(f[1], f[1], (1, 5), padding="same"),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.embed_dim = f[1] * c2 * t2
        self.head = nn.Linear(self.embed_dim, n_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        if self.rectify:
            x = x.abs()
        return self.features(x.unsqueeze(1)).flatten(1)
