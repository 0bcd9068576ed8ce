"""``myoshift predict``: a saved model's decision for every window of a file.

FILE holds samples x channels (CSV/TXT/NPY, `myoshift.realtime.sources.load_samples`)
at the model's rate. MODEL_DIR is a saved chain or an export folder (ONNX; ``--int8``
runs its quantised graph). The file is processed offline, as one recording (the chain's
causal filters start from their steady state at the first sample, as on a stream);
``myoshift stream --raw`` on the same file gives the same labels window by window.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from myoshift.errors import ConfigError, ShapeError


def load_input(model: Any, path: str) -> Any:
    """The samples of ``path``, checked against the model's channel count."""
    from myoshift.realtime.sources import load_samples

    emg = load_samples(path)
    if model.n_channels is not None and emg.shape[1] != model.n_channels:
        raise ShapeError(
            f"{path}: has {emg.shape[1]} columns; the model {model.source} takes "
            f"{model.n_channels} channels"
        )
    return emg


def cmd_predict(args: argparse.Namespace) -> int:
    from myoshift.realtime.model import load_stream_model

    precision = "int8" if args.int8 else None
    model = load_stream_model(args.model_dir, args.fs, streaming=False, precision=precision)
    emg = load_input(model, args.file)
    try:
        starts, labels, proba = model.predict_offline(emg)
    except (ConfigError, ShapeError) as exc:  # e.g. NaN samples, shorter than a window
        raise type(exc)(f"{args.file}: {exc}") from None
    rows = []
    for k, (start, label, p) in enumerate(zip(starts, labels, proba.max(axis=1))):
        end = int(start) + model.window - 1
        rows.append(
            {
                "window": k,
                "start_s": round(int(start) / model.fs, 6),
                "t": round(end / model.fs, 6),
                "label": int(label),
                "name": model.label_name(int(label)),
                "probability": round(float(p), 6),
            }
        )
    if args.json:
        doc = {
            "model": str(args.model_dir),
            "file": str(args.file),
            "fs": model.fs,
            "window_ms": float(model.chain.window_ms),
            "step_ms": float(model.chain.step_ms),
            "decisions": rows,
        }
        json.dump(doc, sys.stdout)
        print()
        return 0
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return 0


def register(subparsers: Any) -> None:
    """Add ``myoshift predict`` to the top-level parser."""
    p = subparsers.add_parser(
        "predict",
        help="a saved model's decision for every window of a file",
        description=(
            "Decide every window of FILE (samples x channels, CSV/TXT/NPY, at the model's "
            "rate) with the model saved in MODEL_DIR; prints CSV (window, start and end "
            "time in s, label, class name, probability) or, with --json, one JSON document."
        ),
    )
    p.add_argument(
        "model_dir",
        metavar="MODEL_DIR",
        help="folder written by `myoshift train`, or by `myoshift export` (ONNX)",
    )
    p.add_argument("file", metavar="FILE", help="samples x channels: .csv, .txt or .npy")
    p.add_argument("--json", action="store_true", help="print JSON instead of CSV")
    p.add_argument("--int8", action="store_true", help="export folders: run the int8 graph")
    p.add_argument(
        "--fs", type=float, default=None, help="input rate in Hz, for models that do not record it"
    )
    p.set_defaults(func=cmd_predict)
