"""ONNX export of fitted estimators and saved method chains, float and int8.

`export_onnx` writes ``<name>.onnx`` (float), optionally ``<name>.int8.onnx`` (static
int8 quantisation, `myoshift.realtime.quantize`) and a JSON sidecar ``<name>.json``:
input names and shapes, output, classes, sampling rate, window and step, channel order,
and what runs outside the graph. `OnnxModel` (`myoshift.realtime.export_runtime`)
runs the files with onnxruntime.

What the graph holds (`myoshift.realtime.export_graph`): the network with its input
standardisation and channel order (deep), or the time-domain features, scaler and LDA
(classical), the linear represent steps (``standardize``, ``pca``), and softmax /
de-standardisation. What runs outside, in the caller, as the sidecar says:

* the chain's ``preprocess`` steps (Recording -> Recording filters on the continuous
  signal, before windowing; a stream applies the causal ones with state);
* represent steps that make a second input (``wavelet-packet`` -> ``wpt``), computed from
  the raw windows, and auxiliary streams of the recording (e.g. ``imu``).

Everything else (an SVM, spectrogram, AR features...) is refused with a one-line
`ConfigError` naming the model and what ONNX cannot express.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from myoshift.errors import ConfigError
from myoshift.learn.classical import ClassicalRegressor
from myoshift.learn.deep import DeepRegressor
from myoshift.learn.persistence import jsonable, labels_json
from myoshift.learn.registry import name_of
from myoshift.realtime.export_graph import ExportGraph
from myoshift.realtime.export_prepare import (
    Prepared,
    example_inputs,
    graph_inputs,
    networks,
    prepare,
)
from myoshift.signal.steps import steps_to_json

log = logging.getLogger(__name__)

__all__ = [
    "FORMAT",
    "OPSET",
    "ExportResult",
    "Prepared",
    "export_module",
    "export_onnx",
    "graph_inputs",
    "prepare",
]

FORMAT = "myoshift-onnx"
VERSION = 1
OPSET = 17
#: float ONNX vs torch on the export's own probe windows
PARITY_TOL = 1e-4


def require_onnx() -> None:
    """`ConfigError` unless onnx and onnxruntime (the ``export`` extra) are installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"ONNX export needs the 'export' extra ({exc.name} is missing): "
            "pip install 'myoshift[export]'"
        ) from None


@dataclass
class ExportResult:
    """Files written by `export_onnx` and their sizes in bytes."""

    onnx: Path
    sidecar: Path
    int8: Path | None
    sizes: dict[str, int]
    parity: float


def _op_of(exc: BaseException) -> str:
    m = re.search(r"operator '?([\w:.]+)'?", str(exc))
    return m.group(1).removeprefix("aten::") if m else type(exc).__name__


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's own prints (it dumps its whole IR graph on a failure)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (null, *saved):
            os.close(fd)


def output_name(graph: ExportGraph) -> str:
    """``"proba"`` for classifiers, ``"output"`` for regressors."""
    return "output" if graph.regression else "proba"


def export_module(
    graph: ExportGraph, example: dict[str, torch.Tensor], path: Path, name: str
) -> None:
    """``torch.onnx.export`` of ``graph`` with a dynamic batch axis; a one-line
    `ConfigError` naming the model and the operator ONNX cannot express."""
    names = graph.input_names
    out_name = output_name(graph)
    axes = {k: {0: "batch"} for k in [*names, out_name]}
    args = tuple(example[k] for k in names)
    try:
        with _quiet(), torch.no_grad():
            torch.onnx.export(
                graph,
                args,
                str(path),
                dynamo=False,
                input_names=names,
                output_names=[out_name],
                dynamic_axes=axes,
                opset_version=OPSET,
            )
    except Exception as exc:  # torch raises several types; all mean "cannot express"
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise ConfigError(
            f"model {name!r}: ONNX (opset {OPSET}) cannot express operator {_op_of(exc)!r}: {first}"
        ) from None


def _sidecar(prep: Prepared, files: dict[str, str]) -> dict[str, Any]:
    est, chain = prep.estimator, prep.chain
    regression = isinstance(est, DeepRegressor | ClassicalRegressor)
    outside_names = {s.key: s.name for s in prep.outside if hasattr(s, "key")}
    inputs = []
    for k in prep.graph.input_names:
        source = (
            "EMG windows (channels x samples), after the chain's preprocess steps"
            if k == "emg"
            else f"represent step {outside_names[k]!r} on the EMG windows (outside the graph)"
            if k in outside_names
            else f"auxiliary stream {k!r} cut into windows (outside the graph)"
        )
        inputs.append({"name": k, "shape": ["batch", *prep.shapes[k]], "source": source})
    pre_docs, _ = steps_to_json(chain.preprocess_ if chain else [])
    for item, pre in zip(pre_docs, chain.preprocess_ if chain else []):
        item["causal"] = bool(getattr(pre, "is_causal", True))
    rep_docs, _ = steps_to_json(prep.outside)
    deep = networks(est)
    win = None if chain is None else float(chain.window_ms)
    step_ms = None if chain is None else float(chain.step_ms)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "name": prep.name,
        "estimator": name_of(est),
        "task": "regression" if regression else "classification",
        "inputs": inputs,
        "output": {"name": output_name(prep.graph)},
        "classes": None if regression else labels_json(np.asarray(est.classes_)),
        "class_names": prep.class_names,
        "fs": prep.fs,
        "fs_source": prep.fs_source,
        "window_ms": win,
        "step_ms": step_ms,
        "window_samples": prep.shapes["emg"][1],
        "step_samples": None
        if step_ms is None or prep.fs is None
        else max(1, int(round(step_ms * prep.fs / 1000))),
        "channel_order": deep[0].net_.order.tolist() if deep else None,
        "outside_graph": {"preprocess": pre_docs, "represent": rep_docs},
        "opset": OPSET,
        "files": files,
    }
    if regression:
        doc["y_ndim"] = int(getattr(est, "y_ndim_", 0) or np.ndim(est.y_train_))
    return jsonable(doc)  # type: ignore[no-any-return]


def _parity(path: Path, graph: ExportGraph, example: dict[str, torch.Tensor]) -> float:
    from myoshift.realtime.export_runtime import session

    got = session(path).run(None, {k: v.numpy() for k, v in example.items()})[0]
    with torch.no_grad():
        ref = graph(*[example[k] for k in graph.input_names]).numpy()
    return float(np.abs(got - ref).max())


def export_onnx(
    model: Any,
    out_dir: str | Path,
    *,
    name: str = "model",
    fs: float | None = None,
    int8: bool = False,
    calibration: Any = None,
    n_calibration: int = 256,
    per_channel: bool = True,
) -> ExportResult:
    """Export a fitted model (estimator, `MethodChain` or saved folder) to ONNX.

    Parameters
    ----------
    model : estimator, MethodChain, path of a saved one, or `Prepared`
    out_dir : path
        Folder for ``<name>.onnx``, ``<name>.int8.onnx`` and ``<name>.json``.
    fs : float or None
        Sampling rate, when the model does not say (deep chains infer it from the window).
    int8 : bool
        Also write the statically quantised int8 graph (QDQ). Graphs without a network
        (classical TD + LDA) are left in float: a warning says so and no file is written.
    calibration : recordings, Windows, array or dict of arrays, or None
        Calibration data for ``int8`` (see `graph_inputs`); ``n_calibration`` windows
        spread evenly over it are used.
    per_channel : bool
        Per-output-channel weight scales for int8.

    Raises
    ------
    ConfigError
        onnx / onnxruntime missing, a model the graph cannot express, ``int8`` without
        calibration data, or a float graph that does not reproduce torch to 1e-4.
    """
    require_onnx()
    prep = model if isinstance(model, Prepared) else prepare(model, fs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.onnx"
    example = example_inputs(prep, 4)
    export_module(prep.graph, example, path, prep.name)
    parity = _parity(path, prep.graph, example)
    if not parity <= PARITY_TOL:
        raise ConfigError(
            f"model {prep.name!r}: the ONNX graph differs from torch by {parity:.2e} (> "
            f"{PARITY_TOL:g}) on the export's probe windows"
        )
    files = {"float32": path.name}
    int8_path = None
    if int8:
        target = out / f"{name}.int8.onnx"
        int8_path = _int8(prep, path, target, calibration, n_calibration, per_channel)
        if int8_path is not None:
            files["int8"] = int8_path.name
    sidecar = out / f"{name}.json"
    sidecar.write_text(json.dumps(_sidecar(prep, files), indent=1))
    sizes = {k: (out / v).stat().st_size for k, v in files.items()}
    return ExportResult(path, sidecar, int8_path, sizes, parity)


def _int8(
    prep: Prepared,
    path: Path,
    target: Path,
    calibration: Any,
    n: int,
    per_channel: bool,
) -> Path | None:
    from myoshift.realtime.quantize import quantize_int8

    if not prep.quantizable:
        log.warning(
            "model %r: int8 not applied (no network: the features and the linear decision "
            "stay in float64, a few hundred weights)",
            prep.name,
        )
        return None
    if calibration is None:
        raise ConfigError(
            f"model {prep.name!r}: int8 quantisation needs calibration data (recordings or "
            "windows the model will see)"
        )
    inputs = graph_inputs(prep, calibration)
    total = len(inputs["emg"])
    idx = np.unique(np.linspace(0, total - 1, min(n, total)).round().astype(int))
    chosen = {k: v[idx] for k, v in inputs.items()}
    return quantize_int8(path, target, chosen, per_channel=per_channel)
