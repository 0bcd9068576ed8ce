"""Save and load architectures as safetensors weights plus a JSON config; never pickle.

A saved model is a directory::

    <path>/
      config.json          {"format": "myoshift-model", "format_version": 1,
                            "model": EMGModel.config(), "weights": "weights.safetensors",
                            "sha256": <hex digest of the weights file>,
                            "tensors": {name: [dtype, shape]}, "metadata": {...}}
      weights.safetensors  the state dict (safetensors: data only, no code)

A directory (rather than a ``.safetensors``/``.json`` pair) keeps the two files together
and lets estimators nest a model inside their own save folder. Loading rebuilds the
architecture with `myoshift.models.from_config`, checks the SHA-256 of the weights
against the config (so a truncated, corrupted or swapped weights file is refused) and
loads the tensors strictly. Nothing in either file is ever executed, so a model from an
untrusted source can at worst fail to load with a `ModelFileError`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from myoshift.errors import ConfigError, ModelFileError, MyoshiftError
from myoshift.hashing import file_sha256
from myoshift.models.base import EMGModel, from_config

FORMAT = "myoshift-model"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.safetensors"
_MAX_CONFIG_BYTES = 10_000_000


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_model(model: EMGModel, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to the directory ``path`` (created if needed); return that path.

    Parameters
    ----------
    model
        A registered `EMGModel` (its ``config()`` must rebuild it).
    path
        Target directory; existing ``config.json``/``weights.safetensors`` are replaced.
    metadata
        Optional JSON-able dict stored in the config (e.g. classes, training info);
        read back with `read_model_config`.
    """
    if not isinstance(model, EMGModel):
        raise ConfigError(f"save_model: expected an EMGModel, got {type(model).__name__}")
    config = model.config()
    try:
        json.dumps({"model": config, "metadata": metadata or {}}, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"save_model: config or metadata is not JSON-serialisable: {exc}"
        ) from None
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    weights = out / WEIGHTS_NAME
    tmp = weights.with_name(weights.name + ".tmp")
    save_file(state, str(tmp), metadata={"format": FORMAT})
    os.replace(tmp, weights)
    record = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": config,
        "weights": WEIGHTS_NAME,
        "sha256": file_sha256(weights),
        "tensors": {
            k: [str(v.dtype).removeprefix("torch."), list(v.shape)] for k, v in state.items()
        },
        "metadata": metadata or {},
    }
    _write_atomic(out / CONFIG_NAME, json.dumps(record, indent=2).encode())
    return out


def read_model_config(path: str | Path) -> dict[str, Any]:
    """Read and validate ``<path>/config.json`` (no weights are read).

    Raises
    ------
    ModelFileError
        If the directory or config is missing, not JSON, or not a myoshift model config.
    """
    cfg_path = Path(path) / CONFIG_NAME
    if not Path(path).is_dir():
        raise ModelFileError(
            f"{path}: no saved model here (expected a directory with {CONFIG_NAME})"
        )
    if not cfg_path.is_file():
        raise ModelFileError(f"{cfg_path}: missing model config")
    if cfg_path.stat().st_size > _MAX_CONFIG_BYTES:
        raise ModelFileError(f"{cfg_path}: config larger than {_MAX_CONFIG_BYTES} bytes")
    try:
        record = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{cfg_path}: not valid JSON ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ModelFileError(f"{cfg_path}: field 'format' is not {FORMAT!r}")
    if record.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{cfg_path}: format_version {record.get('format_version')!r} not supported "
            f"(expected {FORMAT_VERSION})"
        )
    for key, typ in (("model", dict), ("sha256", str), ("weights", str)):
        if not isinstance(record.get(key), typ):
            raise ModelFileError(f"{cfg_path}: field {key!r} missing or not a {typ.__name__}")
    if Path(record["weights"]).name != record["weights"]:
        raise ModelFileError(f"{cfg_path}: field 'weights' must be a file name in the folder")
    return record


def load_model(path: str | Path, device: str | torch.device = "cpu") -> EMGModel:
    """Rebuild a model saved by `save_model`, in eval mode on ``device``.

    Raises
    ------
    ModelFileError
        Missing folder or file; config not JSON, of another format, or naming an unknown
        model or impossible shapes; weights file whose SHA-256 differs from the config
        (tampered, truncated, replaced); weights that safetensors cannot parse; tensors
        that do not match the rebuilt architecture (missing, extra or mis-shaped keys).
    """
    record = read_model_config(path)
    cfg_path = Path(path) / CONFIG_NAME
    weights = Path(path) / record["weights"]
    if not weights.is_file():
        raise ModelFileError(f"{weights}: missing weights file")
    digest = file_sha256(weights)
    if digest != record["sha256"]:
        raise ModelFileError(
            f"{weights}: SHA-256 {digest[:12]}... does not match {record['sha256'][:12]}... "
            f"recorded in {cfg_path}; the file is corrupt or was modified"
        )
    try:
        model = from_config(record["model"])
    except (MyoshiftError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{cfg_path}: field 'model' cannot rebuild a model: {exc}") from None
    try:
        state = load_file(str(weights), device=str(device))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{weights}: not a readable safetensors file ({exc})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelFileError(
            f"{weights}: tensors do not match the {record['model'].get('name')!r} architecture "
            f"in {cfg_path}: {exc}"
        ) from None
    return model.to(device).eval()
