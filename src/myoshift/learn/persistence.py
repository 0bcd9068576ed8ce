"""One save format for every estimator: a folder of safetensors + JSON, never pickle.

A saved estimator is a folder with

``estimator.json``
    format tag and version, the registered estimator name (`myoshift.learn.registry`:
    nothing is imported by a name read from a file), the constructor parameters, the
    fitted attributes, the names of nested estimators and the SHA-256 of the weights;
``weights.safetensors``
    the estimator's arrays (network weights and buffers, training features...);
``children/<key>/``
    each nested estimator (an ensemble's members, a method chain's estimator), saved in
    this same format.

Each estimator class writes and reads its own state through two methods:
``_get_state() -> EstimatorState`` and ``_from_state(params, state) -> estimator``
(a classmethod). Loading checks the format, the version and the hash, so a truncated or
tampered file raises `ModelFileError` naming the file.

Version 1 files (myoshift 0.1: single estimators) load unchanged; the 0.1 ensemble
folders (``ensemble.json``) are refused with a message saying how to re-create them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from myoshift.errors import ConfigError, ModelFileError
from myoshift.hashing import file_sha256
from myoshift.jsonable import from_plain, plain
from myoshift.learn.registry import get_estimator_class, name_of

log = logging.getLogger(__name__)

FORMAT = "myoshift-estimator"
VERSION = 2
READABLE_VERSIONS = (1, 2)
JSON_NAME = "estimator.json"
WEIGHTS_NAME = "weights.safetensors"
CHILDREN = "children"


@dataclass
class EstimatorState:
    """What an estimator saves beside its constructor parameters.

    Attributes
    ----------
    fitted : dict
        JSON-able fitted attributes (classes, input shapes, history...).
    arrays : dict of str to ndarray
        Arrays for the safetensors file.
    children : dict of str to estimator
        Nested fitted estimators, saved in sub-folders in this same format.
    """

    fitted: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    children: dict[str, Any] = field(default_factory=dict)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (mappings with non-string keys as ``__pairs__``);
    ``TypeError`` for anything else."""
    return plain(value, key_pairs=True)


from_json = from_plain  #: inverse of `jsonable`


def labels_json(values: np.ndarray) -> dict[str, Any]:
    """Class labels of any dtype (ints, strings) as JSON, with their dtype."""
    return {"values": values.tolist(), "dtype": values.dtype.str}


def labels_from(d: dict[str, Any]) -> np.ndarray:
    """Inverse of `labels_json`."""
    return np.asarray(d["values"], dtype=np.dtype(d["dtype"]))


def _params(est: Any, skip: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for k, v in est.get_params(deep=False).items():
        if k in skip:
            continue
        if k == "augment" and callable(v):
            log.warning("augment=%r is not saved; the loaded estimator has augment=None", v)
            v = None
        try:
            out[k] = jsonable(v)
        except TypeError:
            raise ConfigError(f"parameter {k}={v!r} cannot be saved as JSON") from None
    return out


def save_estimator(est: Any, path: str | Path) -> Path:
    """Write a fitted registered estimator to folder ``path``; returns the folder."""
    key = name_of(est)
    state: EstimatorState = est._get_state()
    d = Path(path)
    d.mkdir(parents=True, exist_ok=True)
    for child_key, child in state.children.items():
        save_estimator(child, d / CHILDREN / child_key)
    weights = d / WEIGHTS_NAME
    arrays = {k: np.ascontiguousarray(v) for k, v in state.arrays.items()}
    save_file(arrays, str(weights))
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "class": key,
        "params": _params(est, getattr(est, "_child_params", ())),
        "fitted": jsonable(state.fitted),
        "children": list(state.children),
        "weights_sha256": file_sha256(weights),
    }
    (d / JSON_NAME).write_text(json.dumps(doc, indent=1))
    return d


def _read(d: Path) -> dict[str, Any]:
    js, weights = d / JSON_NAME, d / WEIGHTS_NAME
    if not js.is_file() and (d / "ensemble.json").is_file():
        raise ModelFileError(
            f"{d}: a myoshift 0.1 ensemble folder (ensemble.json); this version saves "
            "ensembles as estimators: load each member{i}/ with load_estimator, build "
            "ProbabilityEnsemble(estimators=[...]) and save it again"
        )
    for p in (js, weights):
        if not p.is_file():
            raise ModelFileError(f"{p}: missing (expected a folder written by save())")
    try:
        doc = json.loads(js.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{js}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else None
        raise ModelFileError(f"{js}: not a myoshift estimator file (format field {got!r})")
    if doc.get("version") not in READABLE_VERSIONS:
        raise ModelFileError(
            f"{js}: unsupported version {doc.get('version')!r}; this myoshift reads "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
        )
    if file_sha256(weights) != doc.get("weights_sha256"):
        raise ModelFileError(
            f"{weights}: SHA-256 does not match {JSON_NAME}; the file is corrupt or was modified"
        )
    return doc


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file; `ModelFileError` when unreadable."""
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises several types for corrupt headers
        raise ModelFileError(f"{path}: cannot read weights ({exc})") from None


def load_estimator(path: str | Path) -> Any:
    """Load an estimator written by `save_estimator` (see the module docstring)."""
    d = Path(path)
    doc = _read(d)
    try:
        cls = get_estimator_class(str(doc.get("class", "")))
    except ConfigError:
        raise ModelFileError(
            f"{d / JSON_NAME}: unknown estimator class {doc.get('class')!r}"
        ) from None
    try:
        children = {str(k): load_estimator(d / CHILDREN / str(k)) for k in doc.get("children", [])}
        state = EstimatorState(doc["fitted"], read_arrays(d / WEIGHTS_NAME), children)
        return cls._from_state(from_json(doc["params"]), state, d)  # type: ignore[attr-defined]
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, ConfigError) as exc:  # e.g. an unknown step
        raise ModelFileError(
            f"{d / JSON_NAME}: invalid content ({type(exc).__name__}: {exc})"
        ) from None


class Persistent:
    """Mixin: ``est.save(folder)`` and ``Cls.load(folder)`` in the one save format.

    Subclasses implement ``_get_state()`` and the classmethod
    ``_from_state(params, state, folder)``; ``_child_params`` names constructor
    parameters holding estimators, which are saved as children rather than as JSON.
    Loading checks the class, so ``DeepClassifier.load`` refuses a saved regressor.
    """

    _child_params: tuple[str, ...] = ()

    def _get_state(self) -> EstimatorState:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _from_state(cls, params: dict[str, Any], state: EstimatorState, folder: Path) -> Any:
        raise NotImplementedError  # pragma: no cover - abstract

    def save(self, path: str | Path) -> Path:
        """Write ``path/estimator.json`` and ``path/weights.safetensors`` (no pickle)."""
        return save_estimator(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Any:
        """Load an estimator written by `save`; `ModelFileError` if corrupt or tampered."""
        est = load_estimator(path)
        if not isinstance(est, cls):
            raise ConfigError(f"{path} holds a {type(est).__name__}, not a {cls.__name__}")
        return est
