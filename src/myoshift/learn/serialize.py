"""Saving and loading fitted estimators as safetensors + JSON (never pickle).

A saved estimator is a folder with two files:

``estimator.json``
    format tag, estimator class (one of a fixed list: nothing is imported by name),
    constructor parameters, fitted attributes (classes, input shape, architecture
    config, training history) and the SHA-256 of the weights file;
``weights.safetensors``
    the arrays: network weights and buffers for deep estimators; for classical
    estimators the training feature matrix and labels (or targets) plus the predicted
    probabilities (or predictions) on a probe of them.

Loading reads only JSON and safetensors (neither can execute code), checks the hash,
so a truncated or tampered weights file raises `ModelFileError`, and rebuilds the
estimator. Deep networks are rebuilt from their registry config and receive the
weights with a strict key/shape check. Classical pipelines (LDA, SVM, random forest,
kNN; ridge and random-forest regressors) are refitted on the stored training features,
which is exact and deterministic with the stored seed; the probe predictions are
compared after refitting, so a scikit-learn version that would change the model is
detected (`ModelFileError`) instead of silently giving other predictions. An
``augment`` given as plain data (steps) is saved; an ``augment`` callable is not (the
loaded estimator has ``augment=None``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import load_file as np_load_file
from safetensors.numpy import save_file as np_save_file
from safetensors.torch import save_file

from myoshift.errors import ConfigError, ModelFileError

log = logging.getLogger(__name__)

FORMAT = "myoshift-estimator"
VERSION = 1
JSON_NAME = "estimator.json"
WEIGHTS_NAME = "weights.safetensors"
_PROBE = 256


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _jsonable(v) for k, v in value.items()}
        return {"__pairs__": [[_jsonable(k), _jsonable(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(type(value).__name__)


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__pairs__"}:
            return {_from_json(k): _from_json(v) for k, v in value["__pairs__"]}
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _params(est: Any) -> dict[str, Any]:
    out = {}
    for k, v in est.get_params(deep=False).items():
        if k == "augment" and callable(v):
            log.warning("augment=%r is not saved; the loaded estimator has augment=None", v)
            v = None
        try:
            out[k] = _jsonable(v)
        except TypeError:
            raise ConfigError(f"parameter {k}={v!r} cannot be saved as JSON") from None
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _classes_json(classes: np.ndarray) -> dict[str, Any]:
    return {"values": classes.tolist(), "dtype": classes.dtype.str}


def _classes_from(d: dict[str, Any]) -> np.ndarray:
    return np.asarray(d["values"], dtype=np.dtype(d["dtype"]))


def _probe(est: Any, F: np.ndarray) -> np.ndarray:
    """Outputs of a classical pipeline on a few training rows, to check a refit on load."""
    pipe = est.pipeline_
    out = pipe.predict_proba(F) if hasattr(pipe, "predict_proba") else pipe.predict(F)
    return np.asarray(out, dtype=np.float64)


def save_estimator(est: Any, path: str | Path) -> Path:
    """Write a fitted estimator to folder ``path``; returns the folder."""
    from myoshift.learn.classical import ClassicalClassifier, ClassicalRegressor
    from myoshift.learn.deep import DeepClassifier, DeepRegressor

    d = Path(path)
    d.mkdir(parents=True, exist_ok=True)
    weights = d / WEIGHTS_NAME
    fitted: dict[str, Any]
    if isinstance(est, DeepClassifier | DeepRegressor):
        net = est._check_fitted()
        tensors = {k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}
        fitted = {
            "model_config": _jsonable(net.model.config()),
            "n_channels_in": est.n_channels_in_,
            "n_samples_in": est.n_samples_in_,
            "history": est.history_,
            "best_epoch": est.best_epoch_,
        }
        if isinstance(est, DeepClassifier):
            fitted["classes"] = _classes_json(est.classes_)
        else:
            tensors["__y_mean"] = torch.from_numpy(est.y_mean_)
            tensors["__y_std"] = torch.from_numpy(est.y_std_)
            fitted["y_ndim"] = est.y_ndim_
            fitted["n_outputs"] = est.n_outputs_
        save_file(tensors, str(weights))
    elif isinstance(est, ClassicalClassifier | ClassicalRegressor):
        est._check_fitted()
        F = np.ascontiguousarray(est.features_train_, dtype=np.float64)
        probe = _probe(est, F[:_PROBE])
        arrays: dict[str, np.ndarray] = {"features_train": F, "probe": probe}
        fitted = {
            "n_channels_in": est.n_channels_in_,
            "n_features_in": est.n_features_in_,
            "fs": est.fs_,
        }
        if isinstance(est, ClassicalRegressor):  # float targets: an array
            arrays["y_train"] = np.ascontiguousarray(est.y_train_, dtype=np.float64)
        else:  # class labels of any dtype (ints or strings): JSON
            fitted["y_train"] = _classes_json(np.asarray(est.y_train_))
        np_save_file(arrays, str(weights))
    else:
        raise ConfigError(
            f"cannot save {type(est).__name__}; supported: DeepClassifier, "
            "DeepRegressor, ClassicalClassifier, ClassicalRegressor"
        )
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "class": type(est).__name__,
        "params": _params(est),
        "fitted": fitted,
        "weights_sha256": _sha256(weights),
    }
    (d / JSON_NAME).write_text(json.dumps(doc, indent=1))
    return d


def _read(d: Path) -> tuple[dict[str, Any], Path]:
    js, weights = d / JSON_NAME, d / WEIGHTS_NAME
    for p in (js, weights):
        if not p.is_file():
            raise ModelFileError(f"{p}: missing (expected a folder written by save())")
    try:
        doc = json.loads(js.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{js}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(
            f"{js}: not a myoshift estimator file (format field {doc.get('format')!r})"
            if isinstance(doc, dict)
            else f"{js}: not a myoshift estimator file"
        )
    if doc.get("version") != VERSION:
        raise ModelFileError(
            f"{js}: unsupported version {doc.get('version')!r}; expected {VERSION}"
        )
    if _sha256(weights) != doc.get("weights_sha256"):
        raise ModelFileError(
            f"{weights}: SHA-256 does not match {JSON_NAME}; the file is corrupt or was modified"
        )
    return doc, weights


def load_estimator(path: str | Path) -> Any:
    """Load an estimator written by `save_estimator` (see module docstring)."""
    from myoshift.learn.classical import ClassicalClassifier, ClassicalRegressor
    from myoshift.learn.deep import DeepClassifier, DeepRegressor, StandardizedNet
    from myoshift.learn.trainer import apply_state, read_state
    from myoshift.models import from_config

    d = Path(path)
    doc, weights = _read(d)
    known = (DeepClassifier, DeepRegressor, ClassicalClassifier, ClassicalRegressor)
    classes = {c.__name__: c for c in known}
    cls = classes.get(doc.get("class", ""))
    if cls is None:
        raise ModelFileError(f"{d / JSON_NAME}: unknown estimator class {doc.get('class')!r}")
    try:
        est = cls(**_from_json(doc["params"]))
        fitted = doc["fitted"]
        if cls is ClassicalClassifier or cls is ClassicalRegressor:
            arrays = np_load_file(str(weights))
            F = arrays["features_train"]
            y = arrays["y_train"] if cls is ClassicalRegressor else _classes_from(fitted["y_train"])
            est.n_channels_in_ = int(fitted["n_channels_in"])
            est.n_features_in_ = int(fitted["n_features_in"])
            est.fs_ = fitted["fs"]
            est._refit(F, y)
            probe = _probe(est, F[:_PROBE])
            saved = arrays["probe"] if "probe" in arrays else arrays["probe_proba"]  # <= 0.1
            if probe.shape != saved.shape or not np.allclose(probe, saved, atol=1e-6):
                raise ModelFileError(
                    f"{d}: the refitted pipeline does not reproduce the saved predictions "
                    "(different scikit-learn version?)"
                )
            return est
        model = from_config(fitted["model_config"])
        n_channels = int(fitted["n_channels_in"])
        net = StandardizedNet(model, n_channels)
        tensors = read_state(weights)
        if cls is DeepRegressor:
            est.y_mean_ = tensors.pop("__y_mean").numpy()
            est.y_std_ = tensors.pop("__y_std").numpy()
            est.y_ndim_, est.n_outputs_ = int(fitted["y_ndim"]), int(fitted["n_outputs"])
        else:
            est.classes_ = _classes_from(fitted["classes"])
        # files written before the channel-order buffer existed keep the identity order
        tensors.setdefault("order", torch.arange(n_channels))
        apply_state(net, tensors, weights)
        order = net.order.numpy()
        if sorted(order.tolist()) != list(range(len(order))):
            raise ModelFileError(f"{weights}: channel order {order.tolist()} is not a permutation")
        if str(est.device).startswith("cuda") and not torch.cuda.is_available():
            log.warning("%s was saved with device=%r; no CUDA here, using cpu", d, est.device)
            est.device = "cpu"
        net.eval()
        est.net_ = net.to(est.device)
        est.n_channels_in_ = int(fitted["n_channels_in"])
        est.n_samples_in_ = int(fitted["n_samples_in"])
        est.history_ = fitted.get("history", [])
        est.best_epoch_ = fitted.get("best_epoch", -1)
        return est
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(
            f"{d / JSON_NAME}: invalid content ({type(exc).__name__}: {exc})"
        ) from None
