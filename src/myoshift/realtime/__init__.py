"""Real time and edge: streaming recognition, onset detection, sources, ONNX / int8 export.

* `Recognizer`: a fitted `myoshift.learn.MethodChain` (or an exported ONNX model) on a
  live stream — chunks of any size in, decisions out, causal filters carrying state, a
  ring buffer, one inference per push, majority vote, confidence rejection, bounded
  latency under overload (dropped windows counted);
* sources: `replay` of a recording or file, `CallbackSource`, Lab Streaming Layer
  (`LSLSource`, `LSLSink`; optional extra ``myoshift[lsl]``);
* onset detection (`TKEODetector`, `CUSUMDetector`, `ClassifierDetector`,
  `RMSThresholdDetector`) and event metrics (`score_events`);
* export: `export_onnx` (every deep model with its normalisation and channel order in
  the graph, the Hudgins-TD + LDA path), `quantize_int8`, `OnnxModel`.

Imports are lazy: ``import myoshift.realtime`` loads neither torch nor onnxruntime.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Recognizer": "recognizer",
    "Decision": "decision",
    "Fault": "decision",
    "RecognizerStats": "decision",
    "StreamModel": "model",
    "stream_model": "model",
    "load_stream_model": "model",
    "write_input_info": "model",
    "replay": "sources",
    "load_samples": "sources",
    "run": "sources",
    "CallbackSource": "sources",
    "Chunk": "sources",
    "StreamError": "sources",
    "LSLSource": "lsl",
    "LSLSink": "lsl",
    "lsl_unavailable": "lsl",
    "TKEODetector": "onset",
    "CUSUMDetector": "onset",
    "ClassifierDetector": "onset",
    "RMSThresholdDetector": "onset",
    "OnsetDetector": "onset",
    "Event": "events",
    "EventScore": "events",
    "score_events": "events",
    "rest_segment": "events",
    "export_onnx": "export",
    "ExportResult": "export",
    "prepare": "export_prepare",
    "graph_inputs": "export_prepare",
    "OnnxModel": "export_runtime",
    "quantize_int8": "quantize",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'myoshift.realtime' has no attribute {name!r}")
    return getattr(importlib.import_module(f"myoshift.realtime.{module}"), name)
