"""Stream an exported model (``myoshift export``): the ONNX graph as the chain's estimator.

The export folder's JSON sidecar (`myoshift.realtime.export`) names what runs outside
the graph: the chain's preprocess steps (rebuilt here from their saved parameters) and
represent steps that make extra inputs (not supported on a stream: such folders are
refused). Everything else (features or normalisation, the network, softmax) is in the
graph, which takes the preprocessed EMG windows. `ExportedChain` offers what
`myoshift.realtime.model.StreamModel` reads of a `MethodChain`, so the same recogniser
and offline path run the float or the int8 graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from myoshift.errors import ConfigError, ModelFileError
from myoshift.recording import Recording, RecordingSet
from myoshift.signal.steps import apply_steps, steps_from_json
from myoshift.signal.windows import Windows, make_windows, ms_to_samples

__all__ = ["ExportedChain", "is_export_folder", "load_exported"]

_FORMAT = "myoshift-onnx"


def is_export_folder(folder: Path) -> bool:
    """Whether ``folder`` holds an export sidecar rather than a saved estimator."""
    return not (folder / "estimator.json").is_file() and any(folder.glob("*.json"))


class _WindowInput:
    """An ONNX model taking `Windows` (their EMG) or plain window arrays."""

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.classes_ = onnx.classes_

    @staticmethod
    def _x(X: Any) -> Any:
        return np.asarray(X.X) if isinstance(X, Windows) else X

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.onnx.predict(self._x(X)))

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.onnx.predict_proba(self._x(X)), dtype=np.float64)


class ExportedChain:
    """What a stream needs of a chain, from an export sidecar and its graph.

    Attributes
    ----------
    preprocess_ : list of Step
        The chain's preprocess steps, rebuilt from the sidecar.
    represent_ : list
        Empty: the graph holds the represent steps.
    estimator_ : object
        The graph (``predict`` / ``predict_proba`` on windows, ``classes_``).
    window_ms, step_ms : float
    target, aux, name
        As `MethodChain` (classification of EMG alone).
    """

    target = None
    aux: tuple[str, ...] = ()

    def __init__(self, info: dict[str, Any], onnx: Any, where: str) -> None:
        outside = info.get("outside_graph") or {}
        if outside.get("represent"):
            names = [d.get("name") for d in outside["represent"]]
            raise ConfigError(
                f"{where}: represent steps {names} run outside the graph; stream the saved "
                "model folder instead of its export"
            )
        if info.get("task") != "classification" or onnx.classes_ is None:
            raise ConfigError(f"{where}: a regression export cannot be streamed")
        if info.get("window_ms") is None or info.get("step_ms") is None:
            raise ConfigError(f"{where}: exported without its chain (no window and step)")
        self.preprocess_ = steps_from_json("preprocess", outside.get("preprocess", []), {})
        self.represent_: list[Any] = []
        self.estimator_ = _WindowInput(onnx)
        self.window_ms, self.step_ms = float(info["window_ms"]), float(info["step_ms"])
        self.name = str(info.get("name", ""))

    def windows(self, recordings: Recording | RecordingSet) -> Windows:
        """Every window of ``recordings``, preprocessed (the graph's input)."""
        rset = RecordingSet([recordings]) if isinstance(recordings, Recording) else recordings
        return make_windows(
            apply_steps(self.preprocess_, rset), self.window_ms, self.step_ms, "majority", False
        )


def load_exported(
    folder: Path, precision: str = "float32"
) -> tuple[ExportedChain, float | None, int, list[str]]:
    """The exported model in ``folder``: chain, rate, channel count and class names.

    Raises
    ------
    ModelFileError
        A missing, unreadable or inconsistent sidecar or graph.
    ConfigError
        A precision that was not exported, or an export that cannot stream.
    """
    from myoshift.realtime.export_runtime import OnnxModel

    onnx = OnnxModel(folder, precision)
    info, where = onnx.info, str(folder)
    if info.get("format") != _FORMAT:
        raise ModelFileError(f"{where}: not a myoshift ONNX export")
    chain = ExportedChain(info, onnx, where)
    emg = next((i for i in info.get("inputs", []) if i.get("name") == "emg"), None)
    if emg is None or len(emg.get("shape", [])) != 3:
        raise ModelFileError(f"{where}: the sidecar describes no EMG input (batch, C, T)")
    fs = info.get("fs")
    if fs is not None and ms_to_samples(chain.window_ms, float(fs)) != int(emg["shape"][2]):
        raise ModelFileError(
            f"{where}: window {chain.window_ms:g} ms at {fs:g} Hz does not match the graph's "
            f"{emg['shape'][2]} samples"
        )
    names = [str(n) for n in info.get("class_names") or []]
    return chain, None if fs is None else float(fs), int(emg["shape"][1]), names
