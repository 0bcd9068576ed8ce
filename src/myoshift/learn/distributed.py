"""Distributed data-parallel training through ``torchrun`` (gloo on CPU, nccl on GPU).

Usage in a script launched with ``torchrun --nproc_per_node 2 train.py``::

    from myoshift.learn import DeepClassifier, distributed

    info = distributed.init_from_env()            # reads RANK, WORLD_SIZE, MASTER_ADDR...
    clf = DeepClassifier(model="tcn", device=info.device).fit(X, y, groups=reps)
    if info.is_main:
        clf.save("model")
    distributed.cleanup()

Once a process group is initialised, `myoshift.learn.Trainer` wraps the network in
``DistributedDataParallel`` and shards every epoch with a seeded ``DistributedSampler``;
validation runs on the full validation set on every rank (identical weights give
identical early-stopping decisions) and only rank 0 writes checkpoints.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from myoshift.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the process group."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    backend: str = ""
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def is_distributed() -> bool:
    """True when a process group with more than one process is running."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def info() -> DistInfo:
    """Rank and world size of the current process (``DistInfo()`` when not distributed)."""
    if not (dist.is_available() and dist.is_initialized()):
        return DistInfo()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    local_ws = int(os.environ.get("LOCAL_WORLD_SIZE", dist.get_world_size()))
    backend = str(dist.get_backend())
    device = f"cuda:{local_rank}" if backend == "nccl" else "cpu"
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, local_ws, backend, device)


def init_from_env(backend: str | None = None, timeout_s: float = 600.0) -> DistInfo:
    """Initialise the default process group from torchrun's environment variables.

    Parameters
    ----------
    backend : {"gloo", "nccl"} or None
        None picks nccl when CUDA is available, else gloo.
    timeout_s : float
        Collective timeout.

    Raises
    ------
    ConfigError
        ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT`` missing (not launched by
        torchrun) or nccl asked for without CUDA.
    """
    if dist.is_available() and dist.is_initialized():
        return info()
    missing = [
        k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ
    ]
    if missing:
        raise ConfigError(
            f"distributed training needs the environment variables {', '.join(missing)}; "
            "launch the script with `torchrun --nproc_per_node N script.py`"
        )
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl" and not torch.cuda.is_available():
        raise ConfigError("backend 'nccl' needs CUDA; use 'gloo' on CPU")
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    from datetime import timedelta

    dist.init_process_group(backend=backend, timeout=timedelta(seconds=timeout_s))
    out = info()
    log.info("process group ready: rank %d of %d (%s)", out.rank, out.world_size, backend)
    return out


def sync_buffers(module: torch.nn.Module) -> None:
    """Make buffers identical on every rank: floating ones averaged, others from rank 0.

    DistributedDataParallel keeps parameters in sync but each rank updates its own
    batch-norm running statistics during the epoch; averaging them after each epoch
    gives every rank the same network (and the same validation loss).
    """
    if not is_distributed():
        return
    world = dist.get_world_size()
    for buf in module.buffers():
        if buf.is_floating_point():
            dist.all_reduce(buf, op=dist.ReduceOp.SUM)
            buf.div_(world)
        else:
            dist.broadcast(buf, src=0)


def all_sum(*values: float) -> tuple[float, ...]:
    """Sum numbers over ranks (unchanged when not distributed)."""
    if not is_distributed():
        return tuple(values)
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return tuple(float(v) for v in t)


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if is_distributed():
        dist.barrier()


def cleanup() -> None:
    """Destroy the process group if one is running."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
