"""A small, deterministic, resumable training loop for `myoshift.models` networks.

`Trainer` runs mini-batch training with AdamW, Adam or SGD (momentum), a cosine, step
or constant learning-rate schedule with linear warm-up, label smoothing, class weights
and early stopping on a validation set (which the caller takes from the training data by
group, see `myoshift.learn.data.validation_split`). It restores the best weights at the
end.

Determinism
    Everything random in epoch ``e`` (shuffling, dropout, augmentation) is seeded from
    ``(seed, e)`` alone, inside ``torch.random.fork_rng`` so the caller's global RNG is
    left untouched. A run resumed from a checkpoint is therefore bit-identical to an
    uninterrupted run on the same machine and thread count.

Checkpoints
    With ``checkpoint_dir`` set, after every epoch the trainer writes the network weights
    (``last-<epoch>.safetensors``, ``best-<epoch>.safetensors``), the optimiser state
    (``optimizer-<epoch>.pt``) and finally ``state.json`` (epoch, history, early-stopping
    counters, a fingerprint of the configuration and data). ``state.json`` is written
    last and atomically, so a kill at any moment leaves a consistent checkpoint; the
    next `Trainer.fit` with the same fingerprint resumes after the last finished epoch.
    The optimiser state holds only tensors and numbers; it is written with
    ``torch.save`` and always read back with ``torch.load(..., weights_only=True)``,
    which refuses anything but tensors and plain containers (no code execution).
    Weights use safetensors.

Distributed
    When a ``torch.distributed`` process group is running (see
    `myoshift.learn.distributed`), the network is wrapped in
    ``DistributedDataParallel`` and each epoch is sharded with a seeded
    ``DistributedSampler``; only rank 0 writes checkpoints.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from myoshift.errors import ConfigError, ModelFileError, ShapeError
from myoshift.learn import distributed
from myoshift.progress import progress

log = logging.getLogger(__name__)

Augment = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("cosine", "step", "constant")


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
    """Hyper-parameters of one training run (see `Trainer`)."""

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


def fingerprint(*parts: Any) -> str:
    """Short hash of JSON-able parts and arrays (identifies a run for resuming)."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(str((p.shape, p.dtype.str)).encode())
            h.update(np.ascontiguousarray(p).tobytes())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


def state_tensors(net: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of ``net.state_dict()`` suitable for safetensors."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in net.state_dict().items()}


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; `ModelFileError` when unreadable."""
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises several types for corrupt headers
        raise ModelFileError(f"{path}: cannot read weights ({exc})") from None


def apply_state(net: nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Load ``tensors`` (read from ``path``) into ``net``, strictly; `ModelFileError` if not."""
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise ModelFileError(f"{path}: weights do not match the network: {exc}") from None


def load_state(net: nn.Module, path: Path) -> None:
    """Load safetensors weights into ``net``; `ModelFileError` when unreadable/mismatched."""
    apply_state(net, read_state(path), path)


def _atomic_write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


class Trainer:
    """Train a network on in-memory tensors (see module docstring).

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

    # ------------------------------------------------------------------ helpers
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

    def _criterion(self, weight: np.ndarray | None, train: bool) -> nn.Module:
        c = self.config
        if c.task == "regression":
            return nn.MSELoss()
        w = (
            None
            if weight is None
            else torch.as_tensor(weight, dtype=torch.float32, device=c.device)
        )
        return nn.CrossEntropyLoss(weight=w, label_smoothing=c.label_smoothing if train else 0.0)

    def _targets(self, y: np.ndarray | torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(y)
        if self.config.task == "regression" or t.is_floating_point():
            return t.float()
        return t.long()

    # ------------------------------------------------------------------ main
    def fit(
        self,
        net: nn.Module,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        *,
        class_weight: np.ndarray | None = None,
        params: Iterable[nn.Parameter] | None = None,
        train_mode: Callable[[nn.Module], None] | None = None,
        augment: Augment | None = None,
        run_id: Any = None,
    ) -> TrainResult:
        """Train ``net`` in place and return the history.

        Parameters
        ----------
        net : nn.Module
            Maps ``(batch, ...)`` float32 to logits (classification) or outputs.
        X, y : arrays
            Training windows and encoded labels (int 0..k-1) or float targets.
        X_val, y_val : arrays or None
            Validation data for early stopping and best-epoch selection.
        class_weight : ndarray (k,) or None
        params : parameters to optimise (default: all with ``requires_grad``).
        train_mode : callable or None
            Puts ``net`` in its training mode each epoch (default ``net.train()``);
            e.g. head-only fine-tuning keeps batch-norm layers in eval mode.
        augment : callable ``(X, y, rng) -> (X, y)`` on numpy batches, or None.
        run_id : JSON-able
            Identifies the run in the checkpoint fingerprint (estimator parameters).
        """
        c = self.config
        device = torch.device(c.device)
        dinfo = distributed.info()
        has_val = X_val is not None and y_val is not None and len(X_val) > 0
        net.to(device)
        trainable = [
            p for p in (params if params is not None else net.parameters()) if p.requires_grad
        ]
        opt = self._optimizer(trainable)
        ckpt = Path(c.checkpoint_dir) if c.checkpoint_dir is not None else None
        fp = fingerprint(
            run_id,
            {
                k: v
                for k, v in asdict(c).items()
                if k not in ("checkpoint_dir", "verbose", "threads")
            },
            X,
            np.asarray(y),
            dinfo.world_size,
        )
        result = TrainResult()
        state: dict[str, Any] = {"epoch": 0, "best_loss": math.inf, "best_epoch": -1, "bad": 0}
        best: dict[str, torch.Tensor] | None = None
        if ckpt is not None:
            resumed = self._resume(ckpt, fp, net, opt)
            if resumed is not None:
                state, best, result.history = resumed
                result.resumed_from = state["epoch"]
        if state.get("finished"):
            if best is not None:
                net.load_state_dict(best)
            result.best_epoch = state["best_epoch"]
            result.stopped_early = state.get("stopped_early", False)
            return result

        ds = TensorDataset(
            torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)),
            self._targets(y),
            torch.arange(len(X)),
        )
        criterion = self._criterion(class_weight, train=True)
        val_criterion = self._criterion(class_weight, train=False)
        model: nn.Module = net
        if distributed.is_distributed():
            from torch.nn.parallel import DistributedDataParallel

            model = DistributedDataParallel(
                net, device_ids=[device.index] if device.type == "cuda" else None
            )
        steps = math.ceil(len(ds) / c.batch_size / dinfo.world_size)
        cuda = [device.index or 0] if device.type == "cuda" else []
        with torch_threads(c.threads), torch.random.fork_rng(devices=cuda):
            epochs = range(state["epoch"], c.epochs)
            for epoch in progress(epochs, "training", enabled=c.verbose and dinfo.is_main):
                torch.manual_seed(_epoch_seed(c.seed, epoch, 1))
                gen = torch.Generator().manual_seed(_epoch_seed(c.seed, epoch, 2))
                rng = np.random.default_rng(_epoch_seed(c.seed, epoch, 3))
                # a last batch of one window would break batch norm on flat features
                per_rank = math.ceil(len(ds) / dinfo.world_size)
                drop_last = per_rank > 1 and per_rank % c.batch_size == 1
                if distributed.is_distributed():
                    sampler: DistributedSampler[Any] = DistributedSampler(
                        ds, shuffle=True, seed=_epoch_seed(c.seed, 0, 4)
                    )
                    sampler.set_epoch(epoch)
                    loader = DataLoader(
                        ds, batch_size=c.batch_size, sampler=sampler, drop_last=drop_last
                    )
                else:
                    loader = DataLoader(
                        ds,
                        batch_size=c.batch_size,
                        shuffle=True,
                        generator=gen,
                        drop_last=drop_last,
                    )
                (train_mode or nn.Module.train)(net)
                total, count = 0.0, 0.0
                for b, (xb, yb, idx) in enumerate(loader):
                    if not torch.isfinite(xb).all():
                        bad = idx[~torch.isfinite(xb).reshape(len(xb), -1).all(dim=1)]
                        raise ShapeError(
                            f"batch {b} of epoch {epoch} contains NaN or Inf "
                            f"(training windows {bad[:5].tolist()})"
                        )
                    if augment is not None:
                        xa, ya = augment(xb.numpy(), yb.numpy(), rng)
                        xb = torch.from_numpy(np.ascontiguousarray(xa, dtype=np.float32))
                        yb = self._targets(np.asarray(ya))
                    for g in opt.param_groups:
                        g["lr"] = c.lr * c.lr_factor(epoch + b / steps)
                    xb, yb = xb.to(device), yb.to(device)
                    opt.zero_grad(set_to_none=True)
                    loss = criterion(model(xb), yb)
                    if not torch.isfinite(loss):
                        raise ConfigError(
                            f"training diverged: loss is {loss.item()} at epoch {epoch} batch "
                            f"{b}; lower lr (now {c.lr}) or check the inputs"
                        )
                    loss.backward()
                    opt.step()
                    total += float(loss.item()) * len(xb)
                    count += len(xb)
                distributed.sync_buffers(net)
                total, count = distributed.all_sum(total, count)
                record = {"epoch": float(epoch), "train_loss": total / max(count, 1)}
                if has_val:
                    assert X_val is not None and y_val is not None
                    record.update(self.evaluate(net, X_val, y_val, val_criterion))
                result.history.append(record)
                monitor = record["val_loss"] if has_val else record["train_loss"]
                if monitor < state["best_loss"] - c.min_delta or best is None:
                    state.update(best_loss=monitor, best_epoch=epoch, bad=0)
                    best = state_tensors(net)
                else:
                    state["bad"] += 1
                state["epoch"] = epoch + 1
                stop = has_val and c.patience is not None and state["bad"] >= c.patience
                state["finished"] = stop or epoch + 1 >= c.epochs
                state["stopped_early"] = stop
                logf = log.info if c.verbose else log.debug
                logf("epoch %d: %s", epoch, {k: round(v, 4) for k, v in record.items()})
                if ckpt is not None and dinfo.is_main:
                    self._checkpoint(ckpt, fp, net, opt, best, state, result.history)
                distributed.barrier()
                for cb in self.callbacks:
                    cb(epoch, record)
                if stop:
                    result.stopped_early = True
                    break
        if best is not None:
            net.load_state_dict(best)
        result.best_epoch = state["best_epoch"]
        return result

    @torch.no_grad()
    def evaluate(
        self, net: nn.Module, X: np.ndarray, y: np.ndarray, criterion: nn.Module | None = None
    ) -> dict[str, float]:
        """Validation loss (and accuracy for classification) of ``net`` on ``(X, y)``."""
        c = self.config
        criterion = criterion or self._criterion(None, train=False)
        was_training = net.training
        net.eval()
        outs = predict_batches(net, X, c.batch_size * 4, c.device)
        net.train(was_training)
        target = self._targets(y)
        out = {"val_loss": float(criterion(outs, target).item())}
        if c.task == "classification" and target.ndim == 1:
            out["val_acc"] = float((outs.argmax(1) == target).float().mean().item())
        return out

    # ------------------------------------------------------------------ checkpoints
    def _checkpoint(
        self,
        d: Path,
        fp: str,
        net: nn.Module,
        opt: torch.optim.Optimizer,
        best: dict[str, torch.Tensor] | None,
        state: dict[str, Any],
        history: list[dict[str, float]],
    ) -> None:
        d.mkdir(parents=True, exist_ok=True)
        e = state["epoch"]
        save_file(state_tensors(net), str(d / f"last-{e}.safetensors"))
        if best is not None:
            save_file(best, str(d / f"best-{e}.safetensors"))
        torch.save(opt.state_dict(), d / f"optimizer-{e}.pt")
        _atomic_write_json(
            d / "state.json",
            {"format": 1, "fingerprint": fp, **state, "history": history},
        )
        for old in d.glob("*-*.*"):
            stem = old.name.split(".")[0]
            if stem.rsplit("-", 1)[-1] != str(e) and stem.split("-")[0] in (
                "last",
                "best",
                "optimizer",
            ):
                old.unlink(missing_ok=True)

    def _resume(
        self, d: Path, fp: str, net: nn.Module, opt: torch.optim.Optimizer
    ) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None, list[dict[str, float]]] | None:
        path = d / "state.json"
        if not path.exists():
            return None
        try:
            saved = json.loads(path.read_text())
            e = int(saved["epoch"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelFileError(f"{path}: unreadable checkpoint state ({exc})") from None
        if saved.get("fingerprint") != fp:
            raise ConfigError(
                f"checkpoint in {d} belongs to another run (different data or settings); "
                "use another checkpoint_dir or delete it"
            )
        load_state(net, d / f"last-{e}.safetensors")
        best = None
        if (d / f"best-{e}.safetensors").exists():
            try:
                best = load_file(str(d / f"best-{e}.safetensors"))
            except Exception as exc:
                raise ModelFileError(f"{d}/best-{e}.safetensors: cannot read ({exc})") from None
        try:
            opt_state = torch.load(d / f"optimizer-{e}.pt", weights_only=True, map_location="cpu")
            opt.load_state_dict(opt_state)
        except Exception as exc:
            raise ModelFileError(
                f"{d}/optimizer-{e}.pt: cannot restore optimiser ({exc})"
            ) from None
        log.info("resuming from %s after epoch %d", d, e)
        state = {k: saved[k] for k in ("epoch", "best_loss", "best_epoch", "bad")}
        state["finished"] = saved.get("finished", False)
        state["stopped_early"] = saved.get("stopped_early", False)
        return state, best, list(saved.get("history", []))


@torch.no_grad()
def predict_batches(
    net: Callable[[torch.Tensor], torch.Tensor], X: np.ndarray, batch_size: int, device: str
) -> torch.Tensor:
    """Concatenated outputs of ``net`` over ``X`` in batches, on CPU."""
    outs = []
    for i in range(0, len(X), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(X[i : i + batch_size], dtype=np.float32))
        outs.append(net(xb.to(device)).float().cpu())
    return torch.cat(outs)
