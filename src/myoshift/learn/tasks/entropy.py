"""Test-time entropy minimisation on unlabelled windows (TENT, Wang et al. 2021).

The loss of a batch is the mean Shannon entropy of the network's softmax outputs: no
labels are involved, so a fitted classifier can adapt to a new day or placement from
its own confident predictions. Which parameters move (in TENT: only the batch-norm
affine weights and biases) is the caller's choice (`Trainer.run(params=...)`); see
`myoshift.learn.recalibration`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from myoshift.errors import ShapeError
from myoshift.learn.tasks.base import Batch, EpochPlan, TrainingTask
from myoshift.learn.tasks.batching import (
    Inputs,
    as_float32,
    call_net,
    named_inputs,
    shuffled_batches,
)
from myoshift.learn.tasks.registry import register_task


def mean_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the entropy (nats) of ``softmax(logits)``."""
    logp = torch.log_softmax(logits, dim=1)
    return -(logp.exp() * logp).sum(dim=1).mean()


@register_task
class EntropyTask(TrainingTask):
    """Unlabelled windows, shuffled into batches; the loss is their mean entropy.

    Parameters
    ----------
    X : array ``(n, C, T)`` or mapping of named arrays
        Target windows (lazy arrays are cut batch by batch), as in `SupervisedTask`.
    """

    name = "entropy"

    def __init__(self, X: Inputs) -> None:
        self.inputs = named_inputs(X, "X")
        if self.n_items == 0:
            raise ShapeError("X has no windows to adapt on")

    @property
    def n_items(self) -> int:
        return len(next(iter(self.inputs.values())))

    def batches(self, plan: EpochPlan) -> Iterator[Batch]:
        for idx in shuffled_batches(self.n_items, plan):
            yield {k: as_float32(x[idx]) for k, x in self.inputs.items()}

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return mean_entropy(call_net(model, batch))

    def fingerprint(self) -> list[Any]:
        names = sorted(self.inputs)
        return [{"task": self.name, "inputs": names}, *(self.inputs[k] for k in names)]
