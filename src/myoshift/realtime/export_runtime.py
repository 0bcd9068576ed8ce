"""Run exported ONNX graphs with onnxruntime: `OnnxModel` and the session helpers.

`OnnxModel` reads the JSON sidecar written by `myoshift.realtime.export.export_onnx`,
opens the float or the int8 graph with a fixed number of threads, and maps outputs back
to labels (classes) or targets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from myoshift.errors import ConfigError, ModelFileError, ShapeError
from myoshift.learn.persistence import labels_from

__all__ = ["OnnxModel", "session"]

PRECISIONS = ("float32", "int8")


def session(path: str | Path, threads: int = 1) -> Any:
    """An onnxruntime CPU session on ``threads`` intra-op threads (one inter-op thread)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own error types (missing, corrupt file)
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"{path}: cannot load the ONNX graph ({first})") from None


class OnnxModel:
    """An exported model: ``predict`` / ``predict_proba`` on windows, via onnxruntime.

    Parameters
    ----------
    sidecar : path
        The ``<name>.json`` written by `export_onnx`, or the folder holding exactly one.
    precision : {"float32", "int8"}
    threads : int
        onnxruntime intra-op threads.
    """

    def __init__(self, sidecar: str | Path, precision: str = "float32", threads: int = 1) -> None:
        path = Path(sidecar)
        if path.is_dir():
            found = sorted(path.glob("*.json"))
            if len(found) != 1:
                raise ModelFileError(
                    f"{path}: expected one ONNX sidecar (*.json), found {len(found)}"
                )
            path = found[0]
        try:
            self.info: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"{path}: cannot read the ONNX sidecar ({exc})") from None
        if self.info.get("format") != "myoshift-onnx":
            raise ModelFileError(f"{path}: not a myoshift ONNX sidecar (format 'myoshift-onnx')")
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        files = self.info["files"]
        if precision not in files:
            raise ConfigError(f"{path}: no {precision} graph (exported: {', '.join(files)})")
        self.path = path.parent / files[precision]
        self.precision = precision
        self.session = session(self.path, threads)
        self.input_names = [i["name"] for i in self.info["inputs"]]
        self.shapes = {i["name"]: tuple(i["shape"][1:]) for i in self.info["inputs"]}
        classes = self.info.get("classes")
        self.classes_ = None if classes is None else labels_from(classes)

    def _feeds(self, X: Any) -> dict[str, np.ndarray]:
        feeds = dict(X) if isinstance(X, Mapping) else {"emg": X}
        if set(feeds) != set(self.input_names):
            raise ShapeError(
                f"{self.path.name} takes inputs {self.input_names}, got {sorted(feeds)}"
            )
        out = {}
        for k, v in feeds.items():
            arr = np.ascontiguousarray(v, dtype=np.float32)
            if tuple(arr.shape[1:]) != self.shapes[k]:
                dims = ", ".join(map(str, self.shapes[k]))
                raise ShapeError(
                    f"{self.path.name}: input {k!r} must be (n, {dims}), got {arr.shape}"
                )
            out[k] = arr
        return out

    def run(self, X: Any) -> np.ndarray:
        """The graph output (probabilities or regression outputs) for windows ``X``.

        ``X``: an array ``(n, C, T)`` for single-input graphs, else a dict of named arrays.
        """
        return np.asarray(self.session.run(None, self._feeds(X))[0])

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.classes_ is None:
            raise ConfigError(f"{self.path.name} is a regressor; use predict")
        return self.run(X)

    def predict(self, X: Any) -> np.ndarray:
        """Labels (classifier) or targets (regressor, ``(n,)`` when fitted on ``(n,)``)."""
        out = self.run(X)
        if self.classes_ is not None:
            return np.asarray(self.classes_[out.argmax(axis=1)])
        return out[:, 0] if self.info.get("y_ndim") == 1 else out
