"""Recurrent convolutional network of Xia et al. (2018) on time-frequency frames."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from myoshift.errors import ConfigError
from myoshift.models.base import EMGModel, register_model


class FramedSpectrum(nn.Module):
    """Log-magnitude short-time Fourier transform as a fixed strided convolution.

    ``(batch, C, T) -> (batch, frames, C, n_fft // 2 + 1)``: Hamming-windowed frames of
    ``n_fft`` samples every ``hop`` samples, ``log1p(|DFT|)``. The DFT kernels are a
    non-persistent buffer (rebuilt from ``n_fft``, never saved), so the transform is part
    of the model, exports with it and keeps the raw ``(batch, C, T)`` input contract.
    """

    kernels: torch.Tensor

    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.n_freq = n_fft // 2 + 1
        n = torch.arange(n_fft, dtype=torch.float64)
        k = torch.arange(self.n_freq, dtype=torch.float64)[:, None]
        window = torch.hamming_window(n_fft, periodic=False, dtype=torch.float64)
        angle = 2 * torch.pi * k * n / n_fft
        kernels = torch.cat([torch.cos(angle) * window, -torch.sin(angle) * window])
        self.register_buffer("kernels", kernels.float().unsqueeze(1), persistent=False)

    def n_frames(self, n_samples: int) -> int:
        return 1 + (n_samples - self.n_fft) // self.hop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        spec = nn.functional.conv1d(x.reshape(b * c, 1, t), self.kernels, stride=self.hop)
        re, im = spec[:, : self.n_freq], spec[:, self.n_freq :]
        mag = torch.log1p(torch.sqrt(re * re + im * im + 1e-12))
        return mag.reshape(b, c, self.n_freq, -1).permute(0, 3, 1, 2)

    def extra_macs(self, inputs: tuple[Any, ...], output: torch.Tensor) -> int:
        """MACs of the DFT (counted by `myoshift.models.complexity.count_macs`)."""
        b, c, _ = inputs[0].shape
        return int(b * c * output.shape[1] * 2 * self.n_freq * self.n_fft)


@register_model
class RCNN(EMGModel):
    """CNN on each time-frequency frame, LSTM across frames (Xia, Hu & Peng 2018).

    The raw window ``(batch, C, T)`` is cut into Hamming-windowed frames of ``n_fft``
    samples every ``hop`` samples; each frame's log-magnitude spectrum is an electrode x
    frequency image (batch-normalised), passed through two 3 x 3 convolutions (16 and 32
    filters, batch norm, ReLU), max pooling 2 x 2 and adaptive average pooling to at most
    4 x 4, then a linear projection to ``frame_dim``. A two-layer LSTM (``hidden`` units)
    runs across the frames; its last output is the embedding (``embed_dim = hidden``).

    ``tasks = {"classification", "regression"}``: with a linear head and no output
    activation the model regresses continuous targets such as glove joint angles or limb
    positions (Xia et al. estimated 3-D limb movement from EMG), or classifies gestures.

    Recipe (myoshift defaults, not the paper's schedule): 200 ms windows, Adam lr 1e-3,
    40 epochs, batch 64.
    With the default ``n_fft=16, hop=8`` an 8 x 52 window gives 5 frames of 9 bins.
    """

    name = "rcnn"
    citation = (
        "Xia, Hu & Peng (2018), EMG-based estimation of limb movement using deep learning "
        "with recurrent convolutional neural networks, Artificial Organs 42(5):E67-E77"
    )
    recipe = {
        "window_ms": 200,
        "optimizer": "adam",
        "lr": 1e-3,
        "epochs": 40,
        "batch_size": 64,
        "note": "myoshift defaults for this architecture",
    }
    default_input = {"n_channels": 8, "n_samples": 52}
    tasks = frozenset({"classification", "regression"})

    def __init__(
        self,
        n_channels: int,
        n_samples: int,
        n_outputs: int,
        *,
        n_fft: int = 16,
        hop: int | None = None,
        frame_dim: int = 64,
        hidden: int = 64,
        lstm_layers: int = 2,
        dropout: float = 0.2,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigError(f"rcnn: unknown hyper-parameter(s) {sorted(unknown)}")
        if not isinstance(n_fft, int) or n_fft < 4:
            raise ConfigError(f"rcnn: n_fft must be an int >= 4, got {n_fft!r}")
        if isinstance(n_samples, int) and n_samples < 4:
            raise ConfigError(f"rcnn: needs at least 4 samples per window, got {n_samples}")
        if isinstance(n_samples, int):
            n_fft = min(n_fft, n_samples)
        if hop is None:
            hop = max(1, n_fft // 2)
        for k, v in (
            ("hop", hop),
            ("frame_dim", frame_dim),
            ("hidden", hidden),
            ("lstm_layers", lstm_layers),
        ):
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"rcnn: {k} must be a positive int, got {v!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"rcnn: dropout must be in [0, 1), got {dropout!r}")
        super().__init__(
            n_channels,
            n_samples,
            n_outputs,
            n_fft=n_fft,
            hop=hop,
            frame_dim=frame_dim,
            hidden=hidden,
            lstm_layers=lstm_layers,
            dropout=float(dropout),
        )
        self.spectrum = FramedSpectrum(n_fft, hop)
        self.n_frames = self.spectrum.n_frames(n_samples)
        n_freq = self.spectrum.n_freq
        ph, pw = min(2, n_channels), min(2, n_freq)
        oh, ow = min(4, n_channels // ph), min(4, n_freq // pw)
        self.frame_cnn = nn.Sequential(
            nn.BatchNorm2d(1),
            nn.Conv2d(1, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d((ph, pw)),
            nn.AdaptiveAvgPool2d((oh, ow)),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(32 * oh * ow, frame_dim),
            nn.ReLU(),
        )
        self.lstm = nn.LSTM(
            frame_dim,
            hidden,
            num_layers=lstm_layers,
            batch_first=True,
            dropout=dropout if lstm_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.embed_dim = hidden
        self.head = nn.Linear(self.embed_dim, n_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        frames = self.spectrum(x)  # (batch, frames, C, F)
        b, f, c, n_freq = frames.shape
        per_frame = self.frame_cnn(frames.reshape(b * f, 1, c, n_freq)).reshape(b, f, -1)
        out, _ = self.lstm(per_frame)
        return self.dropout(out[:, -1])
