"""Checkpoint files of a training run (written and read by `myoshift.learn.Trainer`).

A checkpoint folder holds, after epoch ``e``, the network weights
(``last-<e>.safetensors``, ``best-<e>.safetensors``), the optimiser state
(``optimizer-<e>.pt``) and ``state.json`` (epoch, history, early-stopping counters and a
`fingerprint` of the configuration and data). ``state.json`` is written last and
atomically, so a kill at any moment leaves a consistent checkpoint. The optimiser state
holds only tensors and numbers; it is written with ``torch.save`` and always read back
with ``torch.load(..., weights_only=True)``, which refuses anything but tensors and plain
containers (no code execution). Weights use safetensors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from myoshift.errors import ConfigError, ModelFileError

log = logging.getLogger(__name__)

#: bytes hashed at a time when fingerprinting an array (lazy arrays are never loaded whole)
_HASH_CHUNK = 1 << 26
_KINDS = ("last", "best", "optimizer")

#: what `load_checkpoint` returns: counters, best weights (or None), history
Resumed = tuple[dict[str, Any], dict[str, torch.Tensor] | None, list[dict[str, float]]]


def fingerprint(*parts: Any) -> str:
    """Short hash of JSON-able parts and arrays (identifies a run for resuming).

    Arrays, NumPy or lazy (anything with ``shape`` that slices into NumPy arrays), are
    hashed in chunks of rows, so a lazy array is read once and never held whole.
    """
    h = hashlib.sha256()
    for p in parts:
        if not (hasattr(p, "shape") and hasattr(p, "__getitem__")):
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
            continue
        first = np.asarray(p[0:1])
        dtype = np.dtype(getattr(p, "dtype", first.dtype))
        h.update(str((tuple(int(s) for s in p.shape), dtype.str)).encode())
        rows = max(1, _HASH_CHUNK // max(1, first.nbytes))
        for i in range(0, len(p), rows):
            h.update(np.ascontiguousarray(p[i : i + rows], dtype=dtype).tobytes())
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


def save_checkpoint(
    d: Path,
    fp: str,
    net: nn.Module,
    opt: torch.optim.Optimizer,
    best: dict[str, torch.Tensor] | None,
    state: dict[str, Any],
    history: list[dict[str, float]],
) -> None:
    """Write the checkpoint after epoch ``state["epoch"]`` and delete older ones."""
    d.mkdir(parents=True, exist_ok=True)
    e = state["epoch"]
    save_file(state_tensors(net), str(d / f"last-{e}.safetensors"))
    if best is not None:
        save_file(best, str(d / f"best-{e}.safetensors"))
    torch.save(opt.state_dict(), d / f"optimizer-{e}.pt")
    tmp = d / "state.json.tmp"
    tmp.write_text(
        json.dumps({"format": 1, "fingerprint": fp, **state, "history": history}, indent=1)
    )
    os.replace(tmp, d / "state.json")
    for old in d.glob("*-*.*"):
        stem = old.name.split(".")[0]
        if stem.split("-")[0] in _KINDS and stem not in {f"{k}-{e}" for k in _KINDS}:
            old.unlink(missing_ok=True)


def load_checkpoint(d: Path, fp: str, net: nn.Module, opt: torch.optim.Optimizer) -> Resumed | None:
    """Restore ``net`` and ``opt`` from the checkpoint in ``d``; None when there is none.

    Raises
    ------
    ConfigError
        The checkpoint's fingerprint is not ``fp`` (another run's data or settings).
    ModelFileError
        A file of the checkpoint is unreadable or does not match ``net``/``opt``.
    """
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
    best_file = d / f"best-{e}.safetensors"
    best = read_state(best_file) if best_file.exists() else None
    try:
        opt_state = torch.load(d / f"optimizer-{e}.pt", weights_only=True, map_location="cpu")
        opt.load_state_dict(opt_state)
    except Exception as exc:
        raise ModelFileError(f"{d}/optimizer-{e}.pt: cannot restore optimiser ({exc})") from None
    log.info("resuming from %s after epoch %d", d, e)
    state = {k: saved[k] for k in ("epoch", "best_loss", "best_epoch", "bad")}
    state["finished"] = saved.get("finished", False)
    state["stopped_early"] = saved.get("stopped_early", False)
    return state, best, list(saved.get("history", []))
