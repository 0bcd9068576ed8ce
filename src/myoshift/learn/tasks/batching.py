"""Helpers every task shares: seeded shuffled batches, named inputs and their rows,
batched prediction."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn.tasks.base import ArrayLike, EpochPlan
from myoshift.signal.window_array import WindowArray

#: Inputs of a network: one array (the input ``"emg"``) or named arrays.
Inputs = ArrayLike | Mapping[str, ArrayLike]

RESERVED = ("target",)


def shuffled_batches(n: int, plan: EpochPlan) -> Iterator[np.ndarray]:
    """Index arrays (int64) of this process's shuffled batches of ``n`` items.

    The batches are those of ``torch.utils.data.DataLoader(shuffle=True,
    generator=plan.generator)`` on one process, and of a ``DistributedSampler`` with
    seed ``plan.shard_seed + plan.epoch`` (padded to a multiple of the world size, rank
    ``r`` taking every ``world_size``-th item from ``r``) on several; the global torch
    RNG is advanced as those loaders did before the first batch, so seeds give the same
    runs as the DataLoader-based trainer. A last batch of a single item is dropped:
    batch normalisation cannot train on it.
    """
    if n < 0 or plan.batch_size < 1 or not 0 <= plan.rank < plan.world_size:
        raise ConfigError(
            f"cannot batch {n} items with batch_size={plan.batch_size}, "
            f"rank={plan.rank}, world_size={plan.world_size}"
        )
    if plan.world_size == 1:
        # the DataLoader draws a base seed from its generator before the permutation
        torch.empty((), dtype=torch.int64).random_(generator=plan.generator)
        order = torch.randperm(n, generator=plan.generator).numpy()
    else:
        # ... and from the global RNG when a sampler does the shuffling
        torch.empty((), dtype=torch.int64).random_()
        g = torch.Generator().manual_seed(plan.shard_seed + plan.epoch)
        perm = torch.randperm(n, generator=g).numpy()
        per_rank = math.ceil(n / plan.world_size)
        padded = np.resize(perm, per_rank * plan.world_size) if n else perm
        order = padded[plan.rank :: plan.world_size]
    per_rank = len(order)
    drop_last = per_rank > 1 and per_rank % plan.batch_size == 1
    stop = per_rank - 1 if drop_last else per_rank
    for start in range(0, stop, plan.batch_size):
        yield order[start : start + plan.batch_size].astype(np.int64, copy=False)


def named_inputs(X: Inputs, what: str = "X") -> dict[str, ArrayLike]:
    """``{"emg": X}`` for one array, else the mapping's arrays; all the same length."""
    if isinstance(X, Mapping):
        if not X:
            raise ConfigError(f"{what} is an empty mapping; expected named input arrays")
        inputs = dict(X)
    else:
        inputs = {"emg": X}
    lengths: dict[str, int] = {}
    for name, arr in inputs.items():
        if not isinstance(name, str) or name in RESERVED:
            raise ConfigError(
                f"{what}: input name {name!r} is not allowed (a str other than "
                f"{', '.join(map(repr, RESERVED))} expected)"
            )
        if not (hasattr(arr, "shape") and hasattr(arr, "__getitem__")):
            raise ShapeError(f"{what}[{name!r}] must be an array, got {type(arr).__name__}")
        lengths[name] = len(arr)
    if len(set(lengths.values())) > 1:
        raise ShapeError(f"{what}: inputs differ in length (first dimension): {lengths}")
    return inputs


def take_rows(inputs: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of an input array or dict of arrays (lazy windows stay lazy)."""
    if isinstance(inputs, dict):
        return {k: take_rows(v, idx) for k, v in inputs.items()}
    return inputs.take(idx) if isinstance(inputs, WindowArray) else inputs[idx]


def call_net(net: Callable[..., torch.Tensor], inputs: Mapping[str, torch.Tensor]) -> Any:
    """Call ``net`` with the tensor itself when the only input is ``"emg"``, else the dict."""
    if list(inputs) == ["emg"]:
        return net(inputs["emg"])
    return net(dict(inputs))


def as_float32(arr: Any) -> torch.Tensor:
    """A contiguous float32 CPU tensor of a NumPy batch (copied only when needed)."""
    a = np.ascontiguousarray(arr, dtype=np.float32)
    return torch.from_numpy(a if a.flags.writeable else a.copy())


@torch.no_grad()
def predict_batches(
    net: Callable[..., torch.Tensor],
    X: Inputs,
    batch_size: int,
    device: str | torch.device,
) -> torch.Tensor:
    """Concatenated outputs of ``net`` over ``X`` in batches, on CPU.

    ``X`` is an array or lazy array cut with ``X[i:i + batch_size]``, or a mapping of
    named inputs (see `call_net`).
    """
    inputs = named_inputs(X)
    n = len(next(iter(inputs.values())))
    outs = []
    for i in range(0, n, batch_size):
        batch = {k: as_float32(v[i : i + batch_size]).to(device) for k, v in inputs.items()}
        outs.append(call_net(net, batch).float().cpu())
    return torch.cat(outs)
