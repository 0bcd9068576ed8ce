"""int8 post-training quantisation of an exported float graph (onnxruntime, static).

`quantize_int8` runs onnxruntime's static quantisation in QDQ format: the graph is
first pre-processed (shape inference and graph optimisation, ``quant_pre_process``),
then the activation ranges are calibrated on real windows (min / max over the
calibration set) and weights are quantised per output channel (``per_channel=True``).
Activations and weights are signed int8.

Only the compute-heavy operators are quantised (`QUANTIZED_OPS`: convolutions and
matrix products). Quantising every operator onnxruntime can (the input
standardisation, element-wise ops, the softmax) cost 10-14 points of accuracy on
libemg-onesubject for atzori-cnn and rcnn (95.4 -> 84.4 %, 99.6 -> 85.3 %), against
0.1-0.8 points with the heavy operators alone. Everything else (LSTM, the float64
features and LDA of a classical member) stays in float.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from myoshift.errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["QUANTIZED_OPS", "calibration_batches", "quantize_int8"]

#: operator types quantised to int8 (see the module docstring)
QUANTIZED_OPS = ("Conv", "MatMul", "Gemm")


def calibration_batches(
    inputs: Mapping[str, np.ndarray], size: int = 32
) -> Iterator[dict[str, np.ndarray]]:
    """Named input batches of ``size`` windows."""
    n = len(next(iter(inputs.values())))
    for i in range(0, n, size):
        yield {k: np.ascontiguousarray(v[i : i + size]) for k, v in inputs.items()}


class _Reader:
    """onnxruntime's ``CalibrationDataReader`` protocol over `calibration_batches`."""

    def __init__(self, inputs: Mapping[str, np.ndarray]) -> None:
        self._batches = calibration_batches(inputs)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def quantize_int8(
    float_path: str | Path,
    out_path: str | Path,
    calibration: Mapping[str, np.ndarray],
    *,
    per_channel: bool = True,
) -> Path:
    """Write the int8 (QDQ) version of the float ONNX graph at ``float_path``.

    Parameters
    ----------
    float_path, out_path : path
        The exported float graph and the file to write.
    calibration : mapping of input name to array
        Calibration windows for every graph input, ``(n, ...)`` each, float32; a few
        hundred windows covering every class are enough.
    per_channel : bool
        One scale per output channel of each weight (else one per tensor).

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    ConfigError
        No calibration windows, or windows with non-finite values.
    """
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    sizes = {k: len(v) for k, v in calibration.items()}
    if not sizes or min(sizes.values()) == 0 or len(set(sizes.values())) != 1:
        raise ConfigError(
            f"int8 quantisation needs the same number (> 0) of calibration windows for every "
            f"input, got {sizes or 'none'}"
        )
    if not all(np.isfinite(v).all() for v in calibration.values()):
        raise ConfigError("int8 calibration windows contain NaN or Inf")
    out = Path(out_path)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out),
            _Reader(calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            op_types_to_quantize=list(QUANTIZED_OPS),
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
        )
    log.info("int8 graph written to %s (%d calibration windows)", out, next(iter(sizes.values())))
    return out
