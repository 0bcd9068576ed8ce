"""The one contract every architecture follows, and the model registry.

An `EMGModel` is a plain ``torch.nn.Module`` built from shapes given as arguments:

* ``__init__(n_channels, n_samples, n_outputs, **hparams)``; image-style models also
  accept ``grid=(rows, cols)`` for high-density layouts;
* ``embed(x)`` returns ``(batch, embed_dim)`` features before the head;
* ``head`` is a replaceable module mapping ``embed_dim`` to ``n_outputs``;
* ``forward(x) = head(embed(x))``; ``x`` is ``(batch, n_channels, n_samples)`` float32
  unless ``input_kind`` says otherwise (see `EMGModel.input_kind`);
* ``config()`` returns the JSON-able kwargs that rebuild the same architecture;
* ``inputs()`` names the model's inputs and their per-window shapes: ``{"emg": (C, T)}``
  for single-input models, which take a plain tensor; a model with more inputs (e.g.
  ``{"emg": (C, T), "wpt": (C, nodes, segments)}``) takes a dict of named tensors.
  ``extra_inputs`` maps each optional extra input to the hyper-parameter that receives
  its per-window shape after the channel axis, so an estimator can size the model from
  the windows it is given (e.g. ``{"wpt": "wavelet_shape"}``); an extra input with
  channels of its own (``own_channel_inputs``, e.g. an IMU's 4 quaternion dimensions)
  gives its whole per-window shape (``{"imu": "imu_shape"}``: ``(C_aux, T_aux)``).

Models know nothing of datasets; `myoshift.learn` joins them to data.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from myoshift.errors import ConfigError, ShapeError


class EMGModel(nn.Module):
    """Base class: stores the shape arguments and implements the shared helpers."""

    name: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    #: training recipe of the source paper: window_ms, optimizer, lr, epochs, batch_size ...
    recipe: ClassVar[dict[str, Any]] = {}
    #: "raw" (batch, C, T); others documented by the model (e.g. "raw+wavelet").
    input_kind: ClassVar[str] = "raw"
    #: default input for `myoshift models list`: n_channels, n_samples (and grid).
    default_input: ClassVar[dict[str, Any]] = {"n_channels": 8, "n_samples": 52}
    #: what the model can do: {"classification"} and/or {"regression"}
    tasks: ClassVar[frozenset[str]] = frozenset({"classification"})
    #: optional extra inputs -> the hyper-parameter sized by their shape (see module doc)
    extra_inputs: ClassVar[dict[str, str]] = {}
    #: extra inputs whose first axis is not the EMG channels (sized with that axis too)
    own_channel_inputs: ClassVar[frozenset[str]] = frozenset()

    head: nn.Module
    embed_dim: int

    def __init__(self, n_channels: int, n_samples: int, n_outputs: int, **hparams: Any) -> None:
        super().__init__()
        for k, v in (
            ("n_channels", n_channels),
            ("n_samples", n_samples),
            ("n_outputs", n_outputs),
        ):
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"{type(self).__name__}: {k} must be a positive int, got {v!r}")
        self.n_channels = n_channels
        self.n_samples = n_samples
        self.n_outputs = n_outputs
        self.hparams = dict(hparams)

    def inputs(self) -> dict[str, tuple[int, ...]]:
        """Named inputs and their shapes without the batch axis (``{"emg": (C, T)}``)."""
        return {"emg": (self.n_channels, self.n_samples)}

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.head(self.embed(x))

    def check_input(self, x: torch.Tensor) -> None:
        """Raise `ShapeError` unless ``x`` is ``(batch, n_channels, n_samples)``."""
        expected = (self.n_channels, self.n_samples)
        if x.ndim != 3 or tuple(x.shape[1:]) != expected:
            raise ShapeError(
                f"{self.name or type(self).__name__} expects input (batch, {expected[0]}, "
                f"{expected[1]}), got {tuple(x.shape)}"
            )

    def reset_head(self, n_outputs: int) -> None:
        """Replace the head with a fresh linear layer for ``n_outputs`` outputs."""
        self.head = nn.Linear(self.embed_dim, n_outputs)
        self.n_outputs = n_outputs

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n_channels": self.n_channels,
            "n_samples": self.n_samples,
            "n_outputs": self.n_outputs,
            **self.hparams,
        }

    def n_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)


_REGISTRY: dict[str, type[EMGModel]] = {}


def register_model(cls: type[EMGModel]) -> type[EMGModel]:
    """Class decorator adding an architecture to the registry under ``cls.name``."""
    if not cls.name:
        raise ConfigError(f"{cls.__name__} has no name")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ConfigError(f"model name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def model_names() -> list[str]:
    return sorted(_REGISTRY)


def get_model_class(name: str) -> type[EMGModel]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; valid names: {', '.join(model_names())}"
        ) from None


def build_model(
    name: str, n_channels: int, n_samples: int, n_outputs: int, **hparams: Any
) -> EMGModel:
    """Instantiate a registered architecture."""
    return get_model_class(name)(n_channels, n_samples, n_outputs, **hparams)


def from_config(config: dict[str, Any]) -> EMGModel:
    """Rebuild an architecture from `EMGModel.config()`."""
    cfg = dict(config)
    name = cfg.pop("name")
    return build_model(
        name, cfg.pop("n_channels"), cfg.pop("n_samples"), cfg.pop("n_outputs"), **cfg
    )
