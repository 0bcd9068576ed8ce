"""``myoshift export``: a saved model folder -> ONNX (float, optionally int8) + sidecar.

``myoshift export MODEL_DIR --out DIR`` writes ``DIR/<name>.onnx`` and ``DIR/<name>.json``
(`myoshift.realtime.export.export_onnx`); ``--int8`` also writes ``<name>.int8.onnx``,
calibrated on ``--calibration-windows`` windows of the data given with ``--calibration
FILE`` (samples x channels, CSV/TXT/NPY at the model's rate) or ``--dataset NAME``
(with ``--data-dir`` and ``--subjects``). Prints each file with its size.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from myoshift.cli._args import subject_list
from myoshift.errors import ConfigError


def _calibration(args: argparse.Namespace, prep: Any) -> Any:
    """Recordings to calibrate int8 on, from ``--calibration`` files or ``--dataset``."""
    import numpy as np

    from myoshift.recording import Layout, Recording, RecordingSet

    if args.dataset:
        from myoshift.datasets import get_dataset

        subjects = subject_list(args.subjects)
        return get_dataset(args.dataset, data_dir=args.data_dir).load(subjects)
    if not args.calibration:
        raise ConfigError(
            f"--int8: model {prep.name!r} needs calibration data: --calibration FILE or "
            "--dataset NAME"
        )
    if prep.fs is None:
        raise ConfigError("--calibration: the model's rate is unknown; pass --fs")
    from myoshift.realtime.sources import load_samples

    recs = []
    for path in args.calibration:
        emg = load_samples(path)
        labels = np.zeros(len(emg), dtype=np.int64)
        recs.append(Recording(emg, prep.fs, labels, Layout.plain(emg.shape[1]), meta={}))
    return RecordingSet(recs)


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.2f} MiB"


def cmd_export(args: argparse.Namespace) -> int:
    from myoshift.realtime.export import export_onnx, prepare

    if args.calibration and args.dataset:
        raise ConfigError("give --calibration FILE or --dataset NAME, not both")
    if args.calibration_windows < 1:
        raise ConfigError(f"--calibration-windows must be >= 1, got {args.calibration_windows}")
    model_dir = Path(args.model_dir)
    if not (model_dir / "estimator.json").is_file():
        raise ConfigError(f"{model_dir}: not a saved model folder (no estimator.json)")
    prep = prepare(model_dir, args.fs)
    calibration = _calibration(args, prep) if args.int8 and prep.quantizable else None
    result = export_onnx(
        prep,
        args.out,
        name=args.name or prep.name,
        int8=args.int8,
        calibration=calibration,
        n_calibration=args.calibration_windows,
    )
    files = {"float32": result.onnx, "int8": result.int8, "sidecar": result.sidecar}
    if args.json:
        doc = {
            "model": str(model_dir),
            "files": {k: str(v) for k, v in files.items() if v is not None},
            "sizes": result.sizes,
            "parity_max_abs": result.parity,
        }
        json.dump(doc, sys.stdout)
        print()
        return 0
    for kind, path in files.items():
        if path is not None:
            print(f"{kind:<8} {path}  {_size(path.stat().st_size)}")
    if "int8" in result.sizes:
        ratio = result.sizes["int8"] / result.sizes["float32"]
        print(f"int8 / float32 size: {ratio:.2f}")
    print(f"float32 graph vs torch: max abs difference {result.parity:.1e}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``myoshift export`` to the top-level parser."""
    p = subparsers.add_parser(
        "export",
        help="a saved model as ONNX (float, optionally int8) with a JSON sidecar",
        description=(
            "Export the model saved in MODEL_DIR (myoshift train, or benchmark "
            "--save-models) to ONNX: normalisation, channel order, features and the "
            "decision inside the graph; a JSON sidecar gives inputs, classes, rate, window "
            "and step, and what runs outside the graph."
        ),
    )
    p.add_argument("model_dir", metavar="MODEL_DIR", help="saved model folder")
    p.add_argument("--out", required=True, help="folder for the .onnx files and the sidecar")
    p.add_argument("--name", default=None, help="file name stem (default: the method name)")
    p.add_argument("--int8", action="store_true", help="also write the int8 quantised graph")
    p.add_argument(
        "--calibration-windows",
        type=int,
        default=256,
        help="windows used to calibrate int8 (default 256, spread over the data)",
    )
    p.add_argument(
        "--calibration",
        nargs="+",
        default=None,
        metavar="FILE",
        help="int8 calibration data: samples x channels (CSV/TXT/NPY) at the model's rate",
    )
    p.add_argument("--dataset", default=None, help="int8 calibration data: a dataset name")
    p.add_argument("--data-dir", default=None, help="folder holding the dataset folders")
    p.add_argument("--subjects", nargs="+", default=None, help="subjects of --dataset")
    p.add_argument("--fs", type=float, default=None, help="input rate when the model lacks it")
    p.add_argument("--json", action="store_true", help="print the files and sizes as JSON")
    p.set_defaults(func=cmd_export)
