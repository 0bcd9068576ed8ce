"""Model-level fusion: EMG + auxiliary-stream networks and networks of two EMG encoders.

* ``imu-fusion``: any registered EMG encoder (by name) as the EMG branch and a small
  1-D CNN over an auxiliary window ``(C_aux, T_aux)`` (the 3DC IMU quaternions, a
  glove, force sensors) as the second branch, their embeddings joined before one head.
* ``encoder-fusion``: two registered EMG encoders of different families (e.g.
  ``mobilenetv2`` and ``tcn``) on the same window, their embeddings joined before one
  head.

Joins (`Join`): ``concat`` (the embeddings side by side), ``gated`` (each embedding
projected to ``fusion_dim``; a learned gate from all of them weighs the projections
feature by feature, softmax over the streams, and sums them) and ``attention`` (the
projections as tokens, pooled by additive attention: one learned weight per stream and
window).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from myoshift.errors import ConfigError, ShapeError
from myoshift.models.base import EMGModel, build_model, get_model_class, register_model
from myoshift.models.lstm_cnn_attention import TemporalAttention
from myoshift.models.tcn import TCN

__all__ = ["JOINS", "AuxEncoder", "EncoderFusion", "ImuFusion", "Join"]

JOINS = ("concat", "gated", "attention")
_RECIPE = {**TCN.recipe, "note": "myoshift recipe (the tcn method's)"}
_GIJSBERTS = (
    "Gijsberts, Atzori, Castellini, Müller & Caputo (2014), Movement error rate for "
    "evaluation of machine learning methods for sEMG-based hand movement classification, "
    "IEEE TNSRE 22(4):735-744 (EMG + accelerometer beat either alone)"
)


class Join(nn.Module):
    """Fuse the embeddings ``(batch, d_k)`` of K streams into ``(batch, out_dim)``."""

    def __init__(self, dims: Sequence[int], mode: str, dim: int) -> None:
        super().__init__()
        if mode not in JOINS:
            raise ConfigError(f"fusion must be one of {', '.join(JOINS)}, got {mode!r}")
        if not isinstance(dim, int) or dim < 1:
            raise ConfigError(f"fusion_dim must be a positive int, got {dim!r}")
        self.mode, self.k = mode, len(dims)
        self.out_dim = sum(dims) if mode == "concat" else dim
        self.proj = nn.ModuleList(
            [] if mode == "concat" else [nn.Sequential(nn.Linear(d, dim), nn.ReLU()) for d in dims]
        )
        self.gate = nn.Linear(sum(dims), self.k * dim) if mode == "gated" else None
        self.attention = TemporalAttention(dim, max(1, dim // 2)) if mode == "attention" else None

    def forward(self, parts: list[torch.Tensor]) -> torch.Tensor:
        if self.mode == "concat":
            return torch.cat(parts, dim=1)
        tokens = torch.stack([p(z) for p, z in zip(self.proj, parts, strict=True)], dim=1)
        if self.gate is not None:
            logits = self.gate(torch.cat(parts, dim=1)).view(len(tokens), self.k, -1)
            return (torch.softmax(logits, dim=1) * tokens).sum(dim=1)
        assert self.attention is not None
        return self.attention(tokens)  # type: ignore[no-any-return]


class AuxEncoder(nn.Module):
    """Two 1-D convolutions (batch norm, ReLU) over an auxiliary window ``(C_aux, T_aux)``,
    mean and max pooled over time, beside the window's last point (the current
    orientation of an IMU): ``out_dim = 2 * width + C_aux``."""

    def __init__(self, n_dims: int, n_points: int, width: int) -> None:
        super().__init__()
        k = min(3, n_points if n_points % 2 else n_points - 1)
        self.net = nn.Sequential(
            nn.Conv1d(n_dims, width, k, padding=k // 2, bias=False),
            nn.BatchNorm1d(width),
            nn.ReLU(),
            nn.Conv1d(width, width, k, padding=k // 2, bias=False),
            nn.BatchNorm1d(width),
            nn.ReLU(),
        )
        self.out_dim = 2 * width + n_dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.net(x)
        return torch.cat([h.mean(dim=-1), h.amax(dim=-1), x[:, :, -1]], dim=1)


def _encoder(name: Any, n_channels: int, n_samples: int, params: Any, owner: str) -> EMGModel:
    """A registered single-stream EMG encoder with its head removed (embeddings only)."""
    if not isinstance(name, str) or get_model_class(name) in (ImuFusion, EncoderFusion):
        raise ConfigError(f"{owner}: encoder must be a registered EMG model, got {name!r}")
    if params is not None and not isinstance(params, Mapping):
        raise ConfigError(f"{owner}: encoder parameters must be a mapping, got {params!r}")
    model = build_model(name, n_channels, n_samples, 1, **dict(params or {}))
    model.head = nn.Identity()
    return model


def _positive(owner: str, **values: Any) -> None:
    for k, v in values.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ConfigError(f"{owner}: {k} must be a positive int, got {v!r}")


def _dropout(owner: str, p: Any) -> float:
    if not isinstance(p, int | float) or not 0.0 <= p < 1.0:
        raise ConfigError(f"{owner}: dropout must be in [0, 1), got {p!r}")
    return float(p)


@register_model
class ImuFusion(EMGModel):
    """Two-stream EMG + IMU network: an EMG encoder and an IMU encoder, one head.

    The EMG branch is any registered single-stream model, by name (``encoder``, with
    ``encoder_params``; its embedding, without its head). The auxiliary branch
    (`AuxEncoder`) reads the ``"imu"`` input ``(batch, C_aux, T_aux)``: the auxiliary
    stream over the same window at its own rate (3DC: 4 quaternion dimensions at about
    50 Hz, 13 points in 260 ms). The two embeddings are joined by ``fusion``
    (``concat``, ``gated`` or ``attention``; see `Join`) and a linear head decides.

    Built with ``imu_shape=(C_aux, T_aux)`` the model takes ``{"emg": (batch, C, T),
    "imu": (batch, C_aux, T_aux)}`` (or the pair ``(emg, imu)``); a deep estimator sets
    ``imu_shape`` from the ``imu`` windows it is given (a method's ``aux: [imu]``). The
    auxiliary encoder pools over time, so other numbers of points are accepted: windows
    cut the stream at the recordings' median rate, and 3DC's IMU runs at 41-59 Hz, so
    260 ms hold 13 points for some people and 11 for others.
    Without ``imu_shape`` it is the EMG encoder alone on a plain tensor, so the same
    method runs, EMG-only, on data without the stream.

    Feature-level EMG + accelerometer fusion beat either signal alone on Ninapro DB2
    (Gijsberts et al. 2014); this is its model-level counterpart. Recipe: the ``tcn``
    method's (260 ms windows, AdamW lr 3e-3, cosine schedule, 30 epochs, batch 128).

    Parameters
    ----------
    encoder, encoder_params
        The EMG branch: a registered model name and its hyper-parameters.
    imu_shape
        ``(C_aux, T_aux)`` of the auxiliary input; None: EMG only.
    imu_width
        Feature maps of the auxiliary encoder.
    fusion, fusion_dim
        The join and the size of the projected embeddings (``gated``, ``attention``).
    dropout
        On the joined embedding.
    """

    name = "imu-fusion"
    citation = _GIJSBERTS
    recipe = _RECIPE
    extra_inputs = {"imu": "imu_shape"}
    own_channel_inputs = frozenset({"imu"})

    def __init__(
        self,
        n_channels: int,
        n_samples: int,
        n_outputs: int,
        *,
        encoder: str = "tcn",
        encoder_params: dict[str, Any] | None = None,
        imu_shape: list[int] | tuple[int, int] | None = None,
        imu_width: int = 16,
        fusion: str = "concat",
        fusion_dim: int = 64,
        dropout: float = 0.2,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigError(f"imu-fusion: unknown hyper-parameter(s) {sorted(unknown)}")
        shape: list[int] | None = None
        if imu_shape is not None:
            shape = [int(v) for v in imu_shape]
            if len(shape) != 2 or min(shape) < 1:
                raise ConfigError(
                    f"imu-fusion: imu_shape must be (dims, points) positive ints, got {imu_shape!r}"
                )
        _positive("imu-fusion", imu_width=imu_width)
        super().__init__(
            n_channels,
            n_samples,
            n_outputs,
            encoder=encoder,
            encoder_params=None if encoder_params is None else dict(encoder_params),
            imu_shape=shape,
            imu_width=imu_width,
            fusion=fusion,
            fusion_dim=fusion_dim,
            dropout=_dropout("imu-fusion", dropout),
        )
        self.emg = _encoder(encoder, n_channels, n_samples, encoder_params, "imu-fusion")
        self.imu_shape = None if shape is None else (shape[0], shape[1])
        self.imu: AuxEncoder | None = None
        self.join: Join | None = None
        dim = self.emg.embed_dim
        if self.imu_shape is not None:
            self.imu = AuxEncoder(self.imu_shape[0], self.imu_shape[1], imu_width)
            self.join = Join([dim, self.imu.out_dim], fusion, fusion_dim)
            dim = self.join.out_dim
        elif fusion not in JOINS:
            raise ConfigError(f"fusion must be one of {', '.join(JOINS)}, got {fusion!r}")
        self.dropout = nn.Dropout(dropout)
        self.embed_dim = dim
        self.head = nn.Linear(dim, n_outputs)

    def inputs(self) -> dict[str, tuple[int, ...]]:
        """``{"emg": (C, T)}``, plus ``"imu": (C_aux, T_aux)`` when built with ``imu_shape``."""
        named = super().inputs()
        if self.imu_shape is not None:
            named["imu"] = self.imu_shape
        return named

    def _split(self, x: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(emg, imu)`` from a tensor, a pair or named inputs, shapes checked."""
        if isinstance(x, Mapping):
            if set(x) != set(self.inputs()):
                raise ShapeError(f"imu-fusion takes inputs {list(self.inputs())}, got {sorted(x)}")
            x = (x["emg"], x["imu"]) if "imu" in x else x["emg"]
        if self.imu_shape is None:
            if not isinstance(x, torch.Tensor):
                raise ShapeError(
                    "imu-fusion was built without imu_shape and takes one tensor (batch, "
                    f"{self.n_channels}, {self.n_samples}), got {type(x).__name__}"
                )
            super().check_input(x)
            return x, None
        if not (isinstance(x, tuple | list) and len(x) == 2):
            raise ShapeError(
                f"imu-fusion was built with imu_shape and takes {{'emg': (batch, "
                f"{self.n_channels}, {self.n_samples}), 'imu': (batch, {self.imu_shape[0]}, "
                f"{self.imu_shape[1]})}}"
            )
        emg, imu = x
        super().check_input(emg)
        if imu.ndim != 3 or tuple(imu.shape[:2]) != (emg.shape[0], self.imu_shape[0]):
            raise ShapeError(
                f"imu-fusion expects the imu input (batch, {self.imu_shape[0]}, points) with "
                f"the EMG batch size {emg.shape[0]}, got {tuple(imu.shape)}"
            )
        return emg, imu

    def check_input(self, x: Any) -> None:
        self._split(x)

    def embed(self, x: Any) -> torch.Tensor:
        emg, imu = self._split(x)
        z = self.emg.embed(emg)
        if imu is not None and self.imu is not None and self.join is not None:
            z = self.join([z, self.imu(imu)])
        return self.dropout(z)  # type: ignore[no-any-return]

    def forward(self, x: Any) -> torch.Tensor:
        return self.head(self.embed(x))  # type: ignore[no-any-return]


@register_model
class EncoderFusion(EMGModel):
    """Two EMG encoders of different families on one window, joined before one head.

    Each of ``encoders`` is a registered single-stream model (default ``mobilenetv2`` on
    the electrode image of log-RMS frames and ``tcn`` on the raw window: a 2-D
    spatial network beside a temporal one), with its ``encoder_params`` (one mapping
    per encoder, or None). Their embeddings (without their heads) are joined by
    ``fusion`` (``concat``, ``gated`` or ``attention``; see `Join`) and one linear head
    decides, so both are trained together end to end. The research plan's fusion of
    networks of different families (a MobileNet with a residual network) at the model
    level. Recipe: the ``tcn`` method's.

    Parameters
    ----------
    encoders
        Two (or more) registered model names.
    encoder_params
        Their hyper-parameters, one mapping (or None) per encoder.
    fusion, fusion_dim
        The join and the size of the projected embeddings (``gated``, ``attention``).
    dropout
        On the joined embedding.
    """

    name = "encoder-fusion"
    citation = (
        "Sandler et al. (2018), MobileNetV2, CVPR, and Bai, Kolter & Koltun (2018), "
        "temporal convolutional networks, arXiv:1803.01271, joined at the embedding "
        "(model-level fusion, myoshift issue 16)"
    )
    recipe = _RECIPE

    def __init__(
        self,
        n_channels: int,
        n_samples: int,
        n_outputs: int,
        *,
        encoders: list[str] | tuple[str, ...] = ("mobilenetv2", "tcn"),
        encoder_params: list[dict[str, Any] | None] | None = None,
        fusion: str = "concat",
        fusion_dim: int = 64,
        dropout: float = 0.2,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigError(f"encoder-fusion: unknown hyper-parameter(s) {sorted(unknown)}")
        names = [encoders] if isinstance(encoders, str) else list(encoders)
        params = list(encoder_params) if encoder_params is not None else [None] * len(names)
        if len(names) < 2 or len(params) != len(names):
            raise ConfigError(
                "encoder-fusion: encoders must name at least two models and encoder_params "
                f"give one mapping (or None) per encoder; got {encoders!r} and {encoder_params!r}"
            )
        super().__init__(
            n_channels,
            n_samples,
            n_outputs,
            encoders=names,
            encoder_params=None
            if encoder_params is None
            else [None if p is None else dict(p) for p in params],
            fusion=fusion,
            fusion_dim=fusion_dim,
            dropout=_dropout("encoder-fusion", dropout),
        )
        branches = [
            _encoder(n, n_channels, n_samples, p, "encoder-fusion")
            for n, p in zip(names, params, strict=True)
        ]
        self.encoders = nn.ModuleList(branches)
        self.join = Join([b.embed_dim for b in branches], fusion, fusion_dim)
        self.dropout = nn.Dropout(dropout)
        self.embed_dim = self.join.out_dim
        self.head = nn.Linear(self.embed_dim, n_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        parts = [e.embed(x) for e in self.encoders]  # type: ignore[operator]
        return self.dropout(self.join(parts))  # type: ignore[no-any-return]
