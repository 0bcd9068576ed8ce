"""Residual temporal convolutional network (TCN) for raw multichannel EMG windows.

The default deep model of myoshift for cross-subject and cross-session transfer.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from myoshift.errors import ConfigError
from myoshift.models.base import EMGModel, register_model

_NORMS = ("batch", "group")
_ACTS = {"relu": nn.ReLU, "gelu": nn.GELU}


def _norm(kind: str, n: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(n)
    return nn.GroupNorm(min(8, n), n)


class _TemporalConv(nn.Module):
    """Dilated 'same'-padded convolution, depthwise-separable or full, then norm."""

    def __init__(self, width: int, kernel: int, dilation: int, separable: bool, norm: str) -> None:
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        if separable:
            self.conv: nn.Module = nn.Sequential(
                nn.Conv1d(width, width, kernel, padding=pad, dilation=dilation, groups=width),
                nn.Conv1d(width, width, 1, bias=False),
            )
        else:
            self.conv = nn.Conv1d(width, width, kernel, padding=pad, dilation=dilation, bias=False)
        self.norm = _norm(norm, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


class _ResidualBlock(nn.Module):
    """``act(x + conv-norm-act-dropout-conv-norm(x))`` with one dilation."""

    def __init__(
        self,
        width: int,
        kernel: int,
        dilation: int,
        separable: bool,
        norm: str,
        dropout: float,
        act: type[nn.Module],
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _TemporalConv(width, kernel, dilation, separable, norm),
            act(),
            nn.Dropout(dropout),
            _TemporalConv(width, kernel, dilation, separable, norm),
        )
        self.act = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


@register_model
class TCN(EMGModel):
    """Residual temporal convolutional network on raw ``(batch, C, T)`` EMG.

    Architecture: an input normalisation over channels (``BatchNorm1d``, which AdaBN
    re-estimates on target data; ``GroupNorm(1, C)`` over the whole window when
    ``norm="group"``), a stem convolution mixing the electrodes, optional average pooling
    in time for long windows, ``len(dilations)`` residual blocks of two dilated
    convolutions (kernel ``kernel``, dilation 1, 2, 4, 8 by default) with normalisation,
    ReLU and dropout, then global average and max pooling over time, concatenated:
    ``embed_dim = 2 * width``. The head is a linear layer.

    Defaults are sized for an armband MCU: at 8 channels x 52 samples (Myo, 260 ms at
    200 Hz) the model has about 60 k parameters and 3.0 M MACs per window (see
    ``myoshift models list``) and a receptive field of 181 samples, so it sees the whole
    window from every position. ``separable=True`` with ``width=64`` gives a 41 k
    parameter, 2.0 M MAC variant of equal accuracy in our within-subject check, but
    depthwise convolutions train about 3x slower on CPU in PyTorch, hence the default.

    Following Bai, Kolter & Koltun (2018) for the generic residual TCN, and the
    temporal-convolution sEMG models of Zanghieri et al. (2020, TEMPONet) and
    Tsinganos et al. (2019). Recipe (ours, used by the ``tcn`` method): 260 ms windows,
    AdamW lr 3e-3, weight decay 1e-2, cosine schedule, label smoothing 0.1, 30 epochs,
    batch 128.

    Parameters
    ----------
    width
        Feature maps in the residual blocks.
    kernel
        Temporal kernel size (odd).
    dilations
        One residual block per dilation.
    separable
        Depthwise-separable convolutions instead of full ones (fewer MACs, slower to
        train on CPU).
    norm
        ``"batch"`` (AdaBN-compatible) or ``"group"`` (batch-size independent).
    dropout
        Dropout inside blocks and on the pooled embedding.
    pool
        Average-pooling factor in time after the stem; ``None`` picks 2 when
        ``n_samples >= 128`` (cost of long windows) else 1.
    activation
        ``"relu"`` (MCU friendly) or ``"gelu"``.
    amplitude_features
        Also append, per channel, the log mean square and log mean absolute first
        difference of the normalised input (RMS- and waveform-length-like amplitude
        cues) to the embedding: ``embed_dim = 2 * width + 2 * C``. Off by default: on
        myoarmband it did not help, within subject (3 people) or across subjects
        (trained on the 22 pre-training people, tested on the 18 evaluation people).
    """

    name = "tcn"
    citation = (
        "Bai, Kolter & Koltun (2018), An empirical evaluation of generic convolutional and "
        "recurrent networks for sequence modeling, arXiv:1803.01271; for sEMG: Zanghieri et "
        "al. (2020), Robust real-time embedded EMG recognition framework using temporal "
        "convolutional networks on a multicore IoT processor, IEEE TBioCAS 14(2)"
    )
    recipe = {
        "window_ms": 260,
        "optimizer": "adamw",
        "lr": 3e-3,
        "weight_decay": 1e-2,
        "schedule": "cosine",
        "label_smoothing": 0.1,
        "epochs": 30,
        "batch_size": 128,
        "note": "myoshift recipe (not from one paper)",
    }
    default_input = {"n_channels": 8, "n_samples": 52}

    def __init__(
        self,
        n_channels: int,
        n_samples: int,
        n_outputs: int,
        *,
        width: int = 32,
        kernel: int = 7,
        dilations: list[int] | tuple[int, ...] = (1, 2, 4, 8),
        separable: bool = False,
        norm: str = "batch",
        dropout: float = 0.2,
        pool: int | None = None,
        activation: str = "relu",
        amplitude_features: bool = False,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigError(f"tcn: unknown hyper-parameter(s) {sorted(unknown)}")
        if norm not in _NORMS:
            raise ConfigError(f"tcn: norm must be one of {_NORMS}, got {norm!r}")
        if activation not in _ACTS:
            raise ConfigError(f"tcn: activation must be one of {sorted(_ACTS)}, got {activation!r}")
        if not isinstance(width, int) or width < 1:
            raise ConfigError(f"tcn: width must be a positive int, got {width!r}")
        if not isinstance(kernel, int) or kernel < 1 or kernel % 2 == 0:
            raise ConfigError(f"tcn: kernel must be a positive odd int, got {kernel!r}")
        dil = [int(d) for d in dilations]
        if not dil or any(d < 1 for d in dil):
            raise ConfigError(f"tcn: dilations must be positive ints, got {dilations!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"tcn: dropout must be in [0, 1), got {dropout!r}")
        if amplitude_features and isinstance(n_samples, int) and n_samples < 2:
            raise ConfigError("tcn: amplitude_features needs windows of at least 2 samples")
        if pool is None:
            pool = 2 if n_samples >= 128 else 1
        if (
            not isinstance(pool, int)
            or pool < 1
            or (isinstance(n_samples, int) and pool > n_samples)
        ):
            raise ConfigError(f"tcn: pool must be an int in [1, n_samples], got {pool!r}")
        super().__init__(
            n_channels,
            n_samples,
            n_outputs,
            width=width,
            kernel=kernel,
            dilations=dil,
            separable=bool(separable),
            norm=norm,
            dropout=float(dropout),
            pool=pool,
            activation=activation,
            amplitude_features=bool(amplitude_features),
        )
        act = _ACTS[activation]
        in_norm = nn.BatchNorm1d(n_channels) if norm == "batch" else nn.GroupNorm(1, n_channels)
        stem_k = min(5, n_samples if n_samples % 2 else n_samples - 1) if n_samples > 1 else 1
        self.input_norm = in_norm
        self.stem = nn.Sequential(
            nn.Conv1d(n_channels, width, stem_k, padding=stem_k // 2, bias=False),
            _norm(norm, width),
            act(),
            nn.AvgPool1d(pool) if pool > 1 else nn.Identity(),
        )
        self.blocks = nn.Sequential(
            *(_ResidualBlock(width, kernel, d, bool(separable), norm, dropout, act) for d in dil)
        )
        self.dropout = nn.Dropout(dropout)
        self.amplitude_features = bool(amplitude_features)
        self.embed_dim = 2 * width + (2 * n_channels if amplitude_features else 0)
        self.head = nn.Linear(self.embed_dim, n_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        xn = self.input_norm(x)
        h = self.blocks(self.stem(xn))
        parts = [h.mean(dim=-1), h.amax(dim=-1)]
        if self.amplitude_features:
            parts.append(torch.log(xn.pow(2).mean(dim=-1) + 1e-4))
            parts.append(torch.log(xn.diff(dim=-1).abs().mean(dim=-1) + 1e-4))
        return self.dropout(torch.cat(parts, dim=1))
