"""Small separable data and a tiny registered network for the learn tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

from myoshift.models import EMGModel, base


class TinyNet(EMGModel):
    """Conv -> BatchNorm -> ReLU -> global average; a linear head. For tests only."""

    name = "test-tiny"
    citation = "myoshift test network"
    recipe = {"window_ms": 160, "epochs": 2}
    tasks = frozenset({"classification", "regression"})

    def __init__(self, n_channels: int, n_samples: int, n_outputs: int, width: int = 8) -> None:
        super().__init__(n_channels, n_samples, n_outputs, width=width)
        self.conv = nn.Conv1d(n_channels, width, 5, padding=2)
        self.bn = nn.BatchNorm1d(width)
        self.drop = nn.Dropout(0.1)
        self.embed_dim = width
        self.head = nn.Linear(width, n_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(torch.relu(self.bn(self.conv(x))).mean(dim=2))


def register_tiny() -> None:
    """Put `TinyNet` in the model registry (also called in spawned worker processes)."""
    base._REGISTRY[TinyNet.name] = TinyNet


@pytest.fixture(autouse=True, scope="package")
def _tiny_registered() -> Iterator[None]:
    """Registered for the learn tests only: other packages' tests see the real registry."""
    register_tiny()
    yield
    base._REGISTRY.pop(TinyNet.name, None)


def separable(
    n_per_class: int = 40,
    n_classes: int = 3,
    n_channels: int = 4,
    n_samples: int = 32,
    n_groups: int = 4,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows whose class sets which channel has a large amplitude; groups = repetition."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    scale = np.ones((len(y), n_channels, 1), dtype=np.float32)
    scale[np.arange(len(y)), y % n_channels, 0] = 4.0
    X = (rng.standard_normal((len(y), n_channels, n_samples)) * scale).astype(np.float32)
    groups = np.tile(np.repeat(np.arange(n_groups), n_per_class // n_groups), n_classes)
    return X, y, groups
