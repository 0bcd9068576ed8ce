"""Classification + regression on one encoder: a gesture head and a joint-angle head.

`MultiTaskNet` (registered as ``multitask``) wraps any registered EMG model's ``embed``
(the shared encoder, by name) with `TwoHeads`: a linear gesture head (class logits) and a
linear joint-angle head (e.g. the 22 CyberGlove sensors of Ninapro DB1), trained together
by `myoshift.learn.tasks.multitask.MultiTaskTask`. The model keeps the `EMGModel`
contract: ``forward`` gives ``(batch, n_outputs)`` with ``n_outputs = n_classes +
n_targets``, the class logits first and the regression outputs last, so training loops,
saving, export and head-only fine-tuning need nothing special.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from myoshift.errors import ConfigError
from myoshift.models.base import EMGModel, build_model, get_model_class, register_model

__all__ = ["MultiTaskNet", "TwoHeads"]


class TwoHeads(nn.Module):
    """A class head and a regression head on one embedding.

    ``(batch, embed_dim) -> (batch, n_classes + n_targets)``: class logits, then the
    regression outputs (no regression head when ``n_targets`` is 0).
    """

    def __init__(self, embed_dim: int, n_classes: int, n_targets: int) -> None:
        super().__init__()
        self.n_classes, self.n_targets = n_classes, n_targets
        self.classes = nn.Linear(embed_dim, n_classes)
        self.targets = nn.Linear(embed_dim, n_targets) if n_targets else None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        logits = self.classes(z)
        if self.targets is None:
            return logits  # type: ignore[no-any-return]
        return torch.cat([logits, self.targets(z)], dim=1)


@register_model
class MultiTaskNet(EMGModel):
    """A shared EMG encoder with a gesture head and a joint-angle head (multi-task).

    The encoder is any registered single-network EMG model, by name (``encoder``, with
    ``encoder_params``; its embedding, without its own head). Two linear heads read the
    embedding (`TwoHeads`): ``n_outputs - n_targets`` class logits and ``n_targets``
    regression outputs (standardised joint angles), in that order in the output. Trained
    with cross-entropy plus a weighted mean squared error (Caruana 1997: a task learnt
    beside a related one shares what the encoder learns), e.g. Ninapro DB1's 12 finger
    movements (+ rest) and 22 glove sensors on the CNN + RNN of Xia et al. (2018).
    With ``n_targets=0`` it is the encoder with a class head alone.

    Recipe (myoshift defaults, those of ``rcnn-glove``): 200 ms windows, AdamW lr 3e-3,
    cosine schedule, 12 epochs, batch 64.

    Parameters
    ----------
    encoder, encoder_params
        The shared encoder: a registered model name and its hyper-parameters.
    n_targets
        Regression outputs (0: none).
    """

    name = "multitask"
    citation = (
        "Caruana (1997), Multitask learning, Machine Learning 28(1):41-75; shared "
        "encoder default: the CNN + RNN of Xia, Hu & Peng (2018), Artificial Organs "
        "42(5):E67-E77"
    )
    recipe = {
        "window_ms": 200,
        "optimizer": "adamw",
        "lr": 3e-3,
        "weight_decay": 1e-2,
        "schedule": "cosine",
        "epochs": 12,
        "batch_size": 64,
        "note": "myoshift defaults (the rcnn-glove recipe)",
    }
    tasks = frozenset({"classification", "regression"})

    def __init__(
        self,
        n_channels: int,
        n_samples: int,
        n_outputs: int,
        *,
        encoder: str = "rcnn",
        encoder_params: dict[str, Any] | None = None,
        n_targets: int = 0,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigError(f"multitask: unknown hyper-parameter(s) {sorted(unknown)}")
        if encoder_params is not None and not isinstance(encoder_params, Mapping):
            raise ConfigError(
                f"multitask: encoder_params must be a mapping, got {encoder_params!r}"
            )
        super().__init__(
            n_channels,
            n_samples,
            n_outputs,
            encoder=encoder,
            encoder_params=None if encoder_params is None else dict(encoder_params),
            n_targets=n_targets,
        )
        if not isinstance(n_targets, int) or isinstance(n_targets, bool) or n_targets < 0:
            raise ConfigError(f"multitask: n_targets must be an int >= 0, got {n_targets!r}")
        if n_outputs - n_targets < 1:
            raise ConfigError(
                f"multitask: n_outputs ({n_outputs}) must exceed n_targets ({n_targets}) by "
                "at least one class"
            )
        if not isinstance(encoder, str) or get_model_class(encoder) is MultiTaskNet:
            raise ConfigError(f"multitask: encoder must be a registered EMG model, got {encoder!r}")
        self.encoder = build_model(encoder, n_channels, n_samples, 1, **dict(encoder_params or {}))
        self.encoder.head = nn.Identity()
        self.embed_dim = self.encoder.embed_dim
        self.head = TwoHeads(self.embed_dim, n_outputs - n_targets, n_targets)

    @property
    def n_targets(self) -> int:
        return int(self.hparams["n_targets"])

    @property
    def n_classes(self) -> int:
        return self.n_outputs - self.n_targets

    def inputs(self) -> dict[str, tuple[int, ...]]:
        """The encoder's inputs."""
        return self.encoder.inputs()

    def check_input(self, x: Any) -> None:
        self.encoder.check_input(x)

    def embed(self, x: Any) -> torch.Tensor:
        return self.encoder.embed(x)

    def forward(self, x: Any) -> torch.Tensor:
        return self.head(self.embed(x))  # type: ignore[no-any-return]

    def reset_head(self, n_outputs: int) -> None:
        """Fresh heads for ``n_outputs - n_targets`` classes and the same targets."""
        if n_outputs - self.n_targets < 1:
            raise ConfigError(
                f"multitask: n_outputs ({n_outputs}) must exceed n_targets ({self.n_targets})"
            )
        self.head = TwoHeads(self.embed_dim, n_outputs - self.n_targets, self.n_targets)
        self.n_outputs = n_outputs
