"""The contract between the training loop (`myoshift.learn.trainer`) and a training task.

A training task says how the batches of one epoch are drawn and what the loss of a
batch is; the `Trainer` owns everything else (seeding, device, optimiser, schedule,
checkpoints, DDP, early stopping). Supervised learning, few-shot episodes, MAML,
contrastive views or multi-task heads are each one `TrainingTask` subclass.

Each epoch the loop hands the task an `EpochPlan`: the epoch number, the batch size, a
``torch.Generator`` and a ``numpy.random.Generator`` seeded from ``(seed, epoch)``, and
the rank and world size of a data-parallel run. Drawing every random choice from these
(and from the global torch RNG, which the loop seeds per epoch, for dropout) keeps a
resumed run bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import torch
from torch import nn

#: One batch: named tensors (inputs such as ``"emg"`` and ``"imu"``, targets ...).
Batch = dict[str, torch.Tensor]


class ArrayLike(Protocol):
    """Windows indexable by row: a NumPy array or a lazy array cut on demand.

    ``X[int_array]`` and ``X[i:j]`` return NumPy arrays; ``len(X)`` and ``X.shape``
    describe the whole without loading it.
    """

    @property
    def shape(self) -> tuple[int, ...]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index: Any) -> Any: ...


@dataclass(frozen=True)
class EpochPlan:
    """What the loop hands a task for one epoch.

    Attributes
    ----------
    epoch : int
    batch_size : int
        Items per batch (per process in a data-parallel run).
    generator : torch.Generator
        Shuffling, seeded from ``(seed, epoch)``.
    rng : numpy.random.Generator
        Augmentation and any other numpy draw, seeded from ``(seed, epoch)``.
    rank, world_size : int
        This process and the number of processes (1 when not distributed).
    shard_seed : int
        Seed shared by every rank to draw the same permutation before sharding.
    """

    epoch: int
    batch_size: int
    generator: torch.Generator
    rng: np.random.Generator
    rank: int = 0
    world_size: int = 1
    shard_seed: int = 0


class TrainingTask(ABC):
    """A training regime: the batches of one epoch and the loss of a batch.

    Subclasses set ``name`` (see `register_task`) and implement `n_items`, `batches`
    and `loss`; they may override `validate` (early stopping and best-epoch selection
    need it), `fingerprint` (checkpoint resume refuses a different one) and
    `steps_per_epoch`.
    """

    name: ClassVar[str] = ""

    @property
    @abstractmethod
    def n_items(self) -> int:
        """Training items per epoch over all processes (windows, episodes ...)."""

    @abstractmethod
    def batches(self, plan: EpochPlan) -> Iterator[Batch]:
        """Yield this process's batches of epoch ``plan.epoch`` as CPU tensors."""

    @abstractmethod
    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """Scalar training loss of ``batch`` (already on the model's device)."""

    def validate(
        self, net: nn.Module, *, batch_size: int, device: str | torch.device
    ) -> dict[str, float] | None:
        """Validation metrics with at least ``val_loss``, or None without validation data.

        ``batch_size`` is a batch size for inference; the caller restores the training
        mode afterwards.
        """
        return None

    def fingerprint(self) -> list[Any]:
        """JSON-able values and arrays that identify the task and its data."""
        return [self.name or type(self).__name__]

    def steps_per_epoch(self, batch_size: int, world_size: int) -> int:
        """Optimiser steps per epoch, which spreads the lr schedule over the batches."""
        return math.ceil(self.n_items / batch_size / world_size)

    def batch_weight(self, batch: Batch) -> int:
        """Weight of ``batch`` in the epoch's mean loss: its number of targets."""
        first = batch["target"] if "target" in batch else next(iter(batch.values()))
        return len(first)
