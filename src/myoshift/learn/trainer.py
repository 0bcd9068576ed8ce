"""A small, deterministic, resumable training loop for `myoshift.models` networks.

`Trainer.run` drives a `myoshift.learn.tasks.TrainingTask` (which draws the batches and
computes the loss) with AdamW, Adam or SGD (momentum), a cosine, step or constant
learning-rate schedule with linear warm-up and early stopping on the task's validation
loss; it restores the best weights at the end. `Trainer.fit` is the supervised shortcut:
windows and labels in, a `myoshift.learn.tasks.SupervisedTask` built from them (label
smoothing, class weights, augmentation; validation data the caller takes from the
training data by group, see `myoshift.learn.data.validation_split`).

Determinism
    Everything random in epoch ``e`` (shuffling, dropout, augmentation) is seeded from
    ``(seed, e)`` alone, inside ``torch.random.fork_rng`` so the caller's global RNG is
    left untouched. A run resumed from a checkpoint is therefore bit-identical to an
    uninterrupted run on the same machine and thread count.

Checkpoints
    With ``checkpoint_dir`` set, the trainer writes a checkpoint after every epoch (see
    `myoshift.learn.checkpoint` for the files); the next run whose configuration, task
    data and ``run_id`` give the same fingerprint resumes after the last finished epoch.

Distributed
    When a ``torch.distributed`` process group is running (see
    `myoshift.learn.distributed`), the network is wrapped in
    ``DistributedDataParallel`` and the task shards each epoch by rank (see
    `myoshift.learn.tasks.shuffled_batches`); only rank 0 writes checkpoints.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from myoshift.errors import ConfigError
from myoshift.learn import distributed
from myoshift.learn.checkpoint import (  # noqa: F401  (state helpers re-exported)
    apply_state,
    fingerprint,
    load_checkpoint,
    load_state,
    read_state,
    save_checkpoint,
    state_tensors,
)
from myoshift.learn.tasks import Augment, EpochPlan, Inputs, SupervisedTask, TrainingTask
from myoshift.learn.tasks import predict_batches as predict_batches  # re-exported
from myoshift.progress import progress

log = logging.getLogger(__name__)

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("cosine", "step", "constant")
#: settings that do not change the trained weights (left out of the fingerprint)
_NOT_FINGERPRINTED = ("checkpoint_dir", "verbose", "threads")


def physical_cores() -> int:
    """Number of physical CPU cores (hyper-threads not counted), at least 1."""
    try:
        pairs = set()
        phys = core = None
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("physical id"):
                    phys = line.split(":")[1].strip()
                elif line.startswith("core id"):
                    core = line.split(":")[1].strip()
                elif not line.strip():
                    if core is not None:
                        pairs.add((phys, core))
                    phys = core = None
        if core is not None:
            pairs.add((phys, core))
        if pairs:
            affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
            return max(1, min(len(pairs), affinity or len(pairs)))
    except OSError:
        pass
    return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[int]:
    """Set ``torch.set_num_threads`` for the block (default: physical cores / local ranks)."""
    if n is None:
        n = max(1, physical_cores() // distributed.info().local_world_size)
    if n < 1:
        raise ConfigError(f"threads must be a positive int or None, got {n}")
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(old)


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (see `Trainer`).

    ``task`` (classification or regression) and ``label_smoothing`` configure the
    `SupervisedTask` that `Trainer.fit` builds; `Trainer.run` leaves them to its task.
    """

    epochs: int = 30
    batch_size: int = 128
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-2
    momentum: float = 0.9
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    step_size: int | None = None
    gamma: float = 0.1
    label_smoothing: float = 0.0
    patience: int | None = 10
    min_delta: float = 0.0
    task: Literal["classification", "regression"] = "classification"
    seed: int = 0
    device: str = "cpu"
    threads: int | None = None
    checkpoint_dir: str | Path | None = None
    verbose: bool = False

    def check(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ConfigError(f"epochs must be a positive int, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be a positive int, got {self.batch_size!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}"
            )
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; valid: {', '.join(SCHEDULES)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be positive, got {self.lr}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.task not in ("classification", "regression"):
            raise ConfigError(f"task must be 'classification' or 'regression', got {self.task!r}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"patience must be a positive int or None, got {self.patience}")

    def lr_factor(self, t: float) -> float:
        """Learning-rate multiplier at fractional epoch ``t`` (0 .. epochs)."""
        warm = float(self.warmup_epochs)
        if warm > 0 and t < warm:
            return (t + 1e-8) / warm
        if self.schedule == "constant":
            return 1.0
        if self.schedule == "step":
            size = self.step_size or max(1, self.epochs // 3)
            return float(self.gamma ** int((t - warm) // size)) if t >= warm else 1.0
        span = max(self.epochs - warm, 1e-8)
        return 0.5 * (1.0 + math.cos(math.pi * min(max(t - warm, 0.0) / span, 1.0)))


@dataclass
class TrainResult:
    """What happened: per-epoch history, best epoch, whether training stopped early."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    resumed_from: int = 0


def _epoch_seed(seed: int, epoch: int, salt: int = 0) -> int:
    return int(np.random.SeedSequence([seed, epoch, salt]).generate_state(1)[0])


class Trainer:
    """The training loop: drives any `TrainingTask` (see module docstring).

    Parameters
    ----------
    config : TrainConfig
    callbacks : sequence of callables
        Called as ``cb(epoch, record)`` after each finished (and checkpointed) epoch;
        an exception raised there stops training (used to test resuming after a kill).
    """

    def __init__(
        self,
        config: TrainConfig,
        callbacks: Sequence[Callable[[int, dict[str, float]], None]] = (),
    ) -> None:
        config.check()
        self.config = config
        self.callbacks = list(callbacks)

    def _optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        c = self.config
        if not params:
            raise ConfigError("no trainable parameters")
        if c.optimizer == "sgd":
            return torch.optim.SGD(
                params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay
            )
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
        return torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)

    # ------------------------------------------------------------------ main
    def fit(
        self,
        net: nn.Module,
        X: Inputs,
        y: Any,
        X_val: Inputs | None = None,
        y_val: Any = None,
        *,
        class_weight: np.ndarray | None = None,
        params: Iterable[nn.Parameter] | None = None,
        train_mode: Callable[[nn.Module], None] | None = None,
        augment: Augment | None = None,
        run_id: Any = None,
    ) -> TrainResult:
        """Supervised training of ``net`` in place: a `SupervisedTask` run by `run`.

        Parameters
        ----------
        net : nn.Module
            Maps ``(batch, ...)`` float32 to logits (classification) or outputs.
        X, y : arrays
            Training windows (an array, lazy array or mapping of named inputs, see
            `SupervisedTask`) and encoded labels (int 0..k-1) or float targets.
        X_val, y_val : arrays or None
            Validation data for early stopping and best-epoch selection.
        class_weight : ndarray (k,) or None
        params, train_mode, run_id : see `run`.
        augment : callable ``(X, y, rng) -> (X, y)`` on numpy batches, or None.
        """
        c = self.config
        task = SupervisedTask(
            X,
            y,
            X_val,
            y_val,
            kind=c.task,
            class_weight=class_weight,
            label_smoothing=c.label_smoothing,
            augment=augment,
        )
        return self.run(net, task, params=params, train_mode=train_mode, run_id=run_id)

    def run(
        self,
        net: nn.Module,
        task: TrainingTask,
        *,
        params: Iterable[nn.Parameter] | None = None,
        train_mode: Callable[[nn.Module], None] | None = None,
        run_id: Any = None,
    ) -> TrainResult:
        """Train ``net`` in place on ``task`` and return the history.

        Parameters
        ----------
        net : nn.Module
        task : TrainingTask
            Draws the batches and computes their loss; its ``validate`` drives early
            stopping (on ``val_loss``) and best-epoch selection, else the train loss does.
        params : parameters to optimise (default: all with ``requires_grad``).
        train_mode : callable or None
            Puts ``net`` in its training mode each epoch (default ``net.train()``);
            e.g. head-only fine-tuning keeps batch-norm layers in eval mode.
        run_id : JSON-able
            Identifies the run in the checkpoint fingerprint (estimator parameters).
        """
        c = self.config
        device, dinfo = torch.device(c.device), distributed.info()
        net.to(device)
        trainable = [
            p for p in (params if params is not None else net.parameters()) if p.requires_grad
        ]
        opt = self._optimizer(trainable)
        ckpt = Path(c.checkpoint_dir) if c.checkpoint_dir is not None else None
        result, fp = TrainResult(), ""
        state: dict[str, Any] = {"epoch": 0, "best_loss": math.inf, "best_epoch": -1, "bad": 0}
        best: dict[str, torch.Tensor] | None = None
        if ckpt is not None:
            config = {k: v for k, v in asdict(c).items() if k not in _NOT_FINGERPRINTED}
            fp = fingerprint(run_id, config, *task.fingerprint(), dinfo.world_size)
            resumed = load_checkpoint(ckpt, fp, net, opt)
            if resumed is not None:
                state, best, result.history = resumed
                result.resumed_from = state["epoch"]
        if state.get("finished"):
            return _finish(net, best, state, result)
        model: nn.Module = net
        if distributed.is_distributed():
            from torch.nn.parallel import DistributedDataParallel

            ids = [device.index] if device.type == "cuda" else None
            model = DistributedDataParallel(net, device_ids=ids)
        steps = task.steps_per_epoch(c.batch_size, dinfo.world_size)
        cuda = [device.index or 0] if device.type == "cuda" else []
        with torch_threads(c.threads), torch.random.fork_rng(devices=cuda):
            epochs = range(state["epoch"], c.epochs)
            for epoch in progress(epochs, "training", enabled=c.verbose and dinfo.is_main):
                torch.manual_seed(_epoch_seed(c.seed, epoch, 1))
                plan = EpochPlan(
                    epoch=epoch,
                    batch_size=c.batch_size,
                    generator=torch.Generator().manual_seed(_epoch_seed(c.seed, epoch, 2)),
                    rng=np.random.default_rng(_epoch_seed(c.seed, epoch, 3)),
                    rank=dinfo.rank,
                    world_size=dinfo.world_size,
                    shard_seed=_epoch_seed(c.seed, 0, 4),
                )
                (train_mode or nn.Module.train)(net)
                total, count = self._epoch(model, task, opt, plan, steps, device)
                distributed.sync_buffers(net)
                total, count = distributed.all_sum(total, count)
                record = {"epoch": float(epoch), "train_loss": total / max(count, 1)}
                record.update(self._validate(net, task, device))
                result.history.append(record)
                monitor = record.get("val_loss", record["train_loss"])
                if monitor < state["best_loss"] - c.min_delta or best is None:
                    state.update(best_loss=monitor, best_epoch=epoch, bad=0)
                    best = state_tensors(net)
                else:
                    state["bad"] += 1
                stop = (
                    "val_loss" in record and c.patience is not None and state["bad"] >= c.patience
                )
                state.update(epoch=epoch + 1, finished=stop or epoch + 1 >= c.epochs)
                state["stopped_early"] = stop
                logf = log.info if c.verbose else log.debug
                logf("epoch %d: %s", epoch, {k: round(v, 4) for k, v in record.items()})
                if ckpt is not None and dinfo.is_main:
                    save_checkpoint(ckpt, fp, net, opt, best, state, result.history)
                distributed.barrier()
                for cb in self.callbacks:
                    cb(epoch, record)
                if stop:
                    break
        return _finish(net, best, state, result)

    def _validate(
        self, net: nn.Module, task: TrainingTask, device: torch.device
    ) -> dict[str, float]:
        """The task's validation metrics (``{}`` without validation data), mode restored."""
        was_training = net.training
        val = task.validate(net, batch_size=self.config.batch_size * 4, device=device)
        net.train(was_training)
        if val is not None and "val_loss" not in val:
            raise ConfigError(f"{type(task).__name__}.validate returned no 'val_loss': {val}")
        return {} if val is None else dict(val)

    def _epoch(
        self,
        model: nn.Module,
        task: TrainingTask,
        opt: torch.optim.Optimizer,
        plan: EpochPlan,
        steps: int,
        device: torch.device,
    ) -> tuple[float, float]:
        """One pass over the task's batches; the summed loss and the summed weights."""
        c = self.config
        total, count = 0.0, 0.0
        for b, batch in enumerate(task.batches(plan)):
            for g in opt.param_groups:
                g["lr"] = c.lr * c.lr_factor(plan.epoch + b / steps)
            batch = {k: v.to(device) for k, v in batch.items()}
            opt.zero_grad(set_to_none=True)
            loss = task.loss(model, batch)
            if not torch.isfinite(loss):
                raise ConfigError(
                    f"training diverged: loss is {loss.item()} at epoch {plan.epoch} batch "
                    f"{b}; lower lr (now {c.lr}) or check the inputs"
                )
            loss.backward()
            opt.step()
            weight = task.batch_weight(batch)
            total += float(loss.item()) * weight
            count += weight
        return total, count


def _finish(
    net: nn.Module,
    best: dict[str, torch.Tensor] | None,
    state: dict[str, Any],
    result: TrainResult,
) -> TrainResult:
    """Restore the best weights and complete ``result`` from the early-stopping state."""
    if best is not None:
        net.load_state_dict(best)
    result.best_epoch = state["best_epoch"]
    result.stopped_early = bool(state.get("stopped_early", False))
    return result
