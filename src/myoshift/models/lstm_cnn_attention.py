"""LSTM + CNN with attention over time steps, optionally fused with a wavelet-packet stream."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from myoshift.errors import ConfigError, ShapeError
from myoshift.models.base import EMGModel, register_model

ModelInput = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | dict[str, torch.Tensor]


class TemporalAttention(nn.Module):
    """Additive attention pooling: ``sum_t softmax(v . tanh(W h_t)) h_t``."""

    def __init__(self, dim: int, attn_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, attn_dim)
        self.score = nn.Linear(attn_dim, 1, bias=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``h`` is ``(batch, time, dim)``; returns ``(batch, dim)``."""
        weights = torch.softmax(self.score(torch.tanh(self.proj(h))).squeeze(-1), dim=1)
        return torch.einsum("bt,btd->bd", weights, h)


@register_model
class LSTMCNNAttention(EMGModel):
    """Chen & Luo style hybrid: CNN front-end, LSTM, attention over time steps.

    Raw stream (``input_kind="raw"``): two 1-D convolutions (kernel 5, batch norm,
    ReLU) over the ``(C, T)`` window, max pooling by 2 in time, an LSTM over the pooled
    time steps and additive attention pooling over its outputs (``hidden`` features).

    Wavelet stream (``input_kind="raw+wavelet"``, when built with
    ``wavelet_shape=(nodes, segments)``): the model then takes ``x = (raw, wpd)`` with
    ``raw`` of shape ``(batch, C, T)`` and ``wpd`` the wavelet-packet feature image of
    shape ``(batch, C, nodes, segments)`` (per electrode, the energy or coefficients of
    each terminal node over time segments, as produced by
    ``myoshift.signal.wavelet.wavelet_packet_image``). It goes through a small 2-D CNN with
    global average pooling and is concatenated to the attention output (two-input
    fusion): ``embed_dim = hidden + wavelet_filters``. A plain tensor is refused by a
    two-stream model, and a tuple by a raw-only one, with a `ShapeError`.

    Chen & Luo combine an LSTM and a CNN with attention over time steps and a second
    stream of wavelet-packet feature images; layer sizes here are myoshift's, sized for
    8-64 channels. Recipe (myoshift defaults): 200 ms windows, Adam lr 1e-3, 40 epochs,
    batch 128.
    """

    name = "lstm-cnn-attention"
    citation = (
        "Chen & Luo, hybrid LSTM-CNN with temporal attention and wavelet-packet feature "
        "images for sEMG gesture recognition (architecture as described in myoshift "
        "issue 4; layer sizes are myoshift's)"
    )
    recipe = {
        "window_ms": 200,
        "optimizer": "adam",
        "lr": 1e-3,
        "epochs": 40,
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
        conv_filters: int = 64,
        hidden: int = 64,
        attn_dim: int = 32,
        wavelet_shape: list[int] | tuple[int, int] | None = None,
        wavelet_filters: int = 32,
        dropout: float = 0.2,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigError(f"lstm-cnn-attention: unknown hyper-parameter(s) {sorted(unknown)}")
        for k, v in (
            ("conv_filters", conv_filters),
            ("hidden", hidden),
            ("attn_dim", attn_dim),
            ("wavelet_filters", wavelet_filters),
        ):
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"lstm-cnn-attention: {k} must be a positive int, got {v!r}")
        wshape: list[int] | None = None
        if wavelet_shape is not None:
            wshape = [int(v) for v in wavelet_shape]
            if len(wshape) != 2 or min(wshape) < 1:
                raise ConfigError(
                    "lstm-cnn-attention: wavelet_shape must be (nodes, segments) positive "
                    f"ints, got {wavelet_shape!r}"
                )
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"lstm-cnn-attention: dropout must be in [0, 1), got {dropout!r}")
        super().__init__(
            n_channels,
            n_samples,
            n_outputs,
            conv_filters=conv_filters,
            hidden=hidden,
            attn_dim=attn_dim,
            wavelet_shape=wshape,
            wavelet_filters=wavelet_filters,
            dropout=float(dropout),
        )
        ksize = min(5, n_samples if n_samples % 2 else max(1, n_samples - 1))
        self.cnn = nn.Sequential(
            nn.Conv1d(n_channels, conv_filters, ksize, padding=ksize // 2),
            nn.BatchNorm1d(conv_filters),
            nn.ReLU(),
            nn.Conv1d(conv_filters, conv_filters, ksize, padding=ksize // 2),
            nn.BatchNorm1d(conv_filters),
            nn.ReLU(),
            nn.MaxPool1d(2) if n_samples >= 4 else nn.Identity(),
            nn.Dropout(dropout),
        )
        self.lstm = nn.LSTM(conv_filters, hidden, batch_first=True)
        self.attention = TemporalAttention(hidden, attn_dim)
        self.wavelet_shape = None if wshape is None else (wshape[0], wshape[1])
        self.wavelet_cnn: nn.Module | None = None
        dim = hidden
        if wshape is not None:
            self.wavelet_cnn = nn.Sequential(
                nn.Conv2d(n_channels, wavelet_filters, 3, padding=1),
                nn.BatchNorm2d(wavelet_filters),
                nn.ReLU(),
                nn.Conv2d(wavelet_filters, wavelet_filters, 3, padding=1),
                nn.BatchNorm2d(wavelet_filters),
                nn.ReLU(),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
            )
            dim += wavelet_filters
        self.dropout = nn.Dropout(dropout)
        self.embed_dim = dim
        self.head = nn.Linear(self.embed_dim, n_outputs)

    extra_inputs = {"wpt": "wavelet_shape"}

    def inputs(self) -> dict[str, tuple[int, ...]]:
        """``{"emg": (C, T)}``, plus ``"wpt": (C, nodes, segments)`` with a wavelet stream."""
        named = super().inputs()
        if self.wavelet_shape is not None:
            named["wpt"] = (self.n_channels, *self.wavelet_shape)
        return named

    @property
    def input_kind(self) -> str:  # type: ignore[override]
        """``"raw"``, or ``"raw+wavelet"`` when built with ``wavelet_shape``."""
        return "raw" if self.wavelet_shape is None else "raw+wavelet"

    def check_input(self, x: ModelInput) -> None:  # type: ignore[override]
        """Check ``x`` (raw tensor), ``(raw, wpd)`` or ``{"emg": raw, "wpt": wpd}``."""
        if isinstance(x, dict):
            x = _pair(x)
        if self.wavelet_shape is None:
            if not isinstance(x, torch.Tensor):
                raise ShapeError(
                    "lstm-cnn-attention was built without wavelet_shape and takes one "
                    f"tensor (batch, {self.n_channels}, {self.n_samples}), got {type(x).__name__}"
                )
            super().check_input(x)
            return
        if not (isinstance(x, tuple | list) and len(x) == 2):
            raise ShapeError(
                "lstm-cnn-attention was built with wavelet_shape and takes x = (raw, wpd) "
                f"with raw (batch, {self.n_channels}, {self.n_samples}) and wpd (batch, "
                f"{self.n_channels}, {self.wavelet_shape[0]}, {self.wavelet_shape[1]})"
            )
        raw, wpd = x
        super().check_input(raw)
        expected = (raw.shape[0], self.n_channels, *self.wavelet_shape)
        if wpd.ndim != 4 or tuple(wpd.shape) != expected:
            raise ShapeError(
                f"lstm-cnn-attention expects the wavelet image (batch, {self.n_channels}, "
                f"{self.wavelet_shape[0]}, {self.wavelet_shape[1]}) with the raw batch size "
                f"{raw.shape[0]}, got {tuple(wpd.shape)}"
            )

    def forward(self, x: ModelInput) -> torch.Tensor:  # type: ignore[override]
        return self.head(self.embed(x))

    def embed(self, x: ModelInput) -> torch.Tensor:  # type: ignore[override]
        pair = _pair(x) if isinstance(x, dict) else x
        self.check_input(pair)
        raw = pair if isinstance(pair, torch.Tensor) else pair[0]
        h, _ = self.lstm(self.cnn(raw).transpose(1, 2))
        z = self.attention(h)
        if self.wavelet_cnn is not None and not isinstance(pair, torch.Tensor):
            z = torch.cat([z, self.wavelet_cnn(pair[1])], dim=1)
        return self.dropout(z)


def _pair(x: dict[str, torch.Tensor]) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Named inputs as the model's ``(raw, wpd)`` pair (or the raw tensor alone)."""
    if set(x) - {"emg", "wpt"} or "emg" not in x:
        raise ShapeError(
            f"lstm-cnn-attention takes inputs 'emg' and optionally 'wpt', got {sorted(x)}"
        )
    return (x["emg"], x["wpt"]) if "wpt" in x else x["emg"]
