"""``myoshift stream``: run a saved model on a replayed file or an LSL stream, live.

Each decision is printed as soon as it is made (with ``--json`` one JSON object per
line: window, time, label, class name, probability, latency, dropped windows, fault).
Input faults (NaN or saturated samples) are logged on stderr, their windows get no
decision (``fault`` in the output) and the stream goes on;
a summary line (decisions, dropped windows, faults, latency percentiles) ends the run.
With ``--raw`` there is no vote and no rejection, and the labels equal
``myoshift predict``'s on the same file, window by window. MODEL_DIR is a saved chain or
an export folder (``myoshift export``: the ONNX graph runs; ``--int8`` the quantised one).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import deque
from typing import Any

from myoshift.errors import ConfigError

#: latencies kept for the closing percentiles
_LATENCIES = 100_000


def _printer(model: Any, as_json: bool) -> Any:
    def show(d: Any) -> None:
        row = {
            "window": d.window,
            "t": round(d.t_end, 6),
            "label": d.label,
            "name": model.label_name(d.label),
            "probability": None if math.isnan(d.probability) else round(d.probability, 6),
            "latency_ms": round(d.latency_s * 1000, 3),
            "raw_label": d.raw_label,
            "dropped": d.dropped,
            "fault": d.fault,
        }
        if as_json:
            print(json.dumps(row), flush=True)
        else:
            label = "-" if d.label is None else f"{d.label} {row['name']}".strip()
            extra = f"  dropped {d.dropped}" if d.dropped else ""
            extra += f"  fault {d.fault}" if d.fault else ""
            prob = "  n/a" if row["probability"] is None else f"{d.probability:5.2f}"
            print(
                f"{d.t_end:9.3f} s  {label:<24} p {prob}  latency "
                f"{row['latency_ms']:7.2f} ms{extra}",
                flush=True,
            )

    return show


def _source(args: argparse.Namespace, model: Any) -> tuple[Any, int]:
    """The input, checked against the model, and its channel count."""
    from myoshift.realtime.sources import replay

    if args.lsl is not None:
        from myoshift.realtime.lsl import LSLSource

        src = LSLSource(args.lsl or None, resolve_timeout=args.timeout, stall_timeout=args.timeout)
        src.check(model.n_channels, model.fs)
        return src, src.n_channels
    from myoshift.cli.predict import load_input

    emg = load_input(model, args.replay)
    return replay(emg, model.fs, speed=args.speed, chunk_ms=args.chunk_ms), emg.shape[1]


def cmd_stream(args: argparse.Namespace) -> int:
    import numpy as np

    from myoshift.realtime.recognizer import Recognizer
    from myoshift.realtime.sources import run

    if (args.replay is None) == (args.lsl is None):
        raise ConfigError("give one input: --replay FILE or --lsl NAME")
    if args.speed < 0:
        raise ConfigError(f"--speed must be >= 0 (0: as fast as possible), got {args.speed}")
    from myoshift.realtime.model import load_stream_model

    precision = "int8" if args.int8 else None
    rec = Recognizer(
        load_stream_model(args.model_dir, args.fs, precision=precision),
        vote=1 if args.raw else args.vote,
        reject_below=0.0 if args.raw else args.reject,
        realtime=args.lsl is not None or args.speed > 0,
        max_latency_s=args.max_latency_ms / 1000.0,
        saturation=args.saturation,
    )
    source, n_channels = _source(args, rec.model)
    rec.warm_up(n_channels)  # first calls are slow: keep them out of the latencies
    sink = None
    if args.lsl_out:
        from myoshift.realtime.lsl import LSLSink

        sink = LSLSink(args.lsl_out)
    latencies: deque[float] = deque(maxlen=_LATENCIES)
    show = _printer(rec.model, args.json)

    def on_decision(d: Any) -> None:
        latencies.append(d.latency_s)
        show(d)
        if sink is not None:
            sink.push(d)

    try:
        run(rec, source, on_decision)  # faults are logged as warnings, and counted
    finally:  # also when the source fails (an LSL stream gone): say what was done
        stats = rec.stats
        lat = np.asarray(latencies) * 1000
        p50, p99 = np.percentile(lat, [50, 99]) if len(lat) else (float("nan"),) * 2
        print(
            f"stream: {stats.decisions} decisions, {stats.dropped} dropped, {stats.rejected} "
            f"rejected, {stats.faulty_windows} faulty windows ({stats.faults} fault reports); "
            f"latency p50 {p50:.2f} ms, p99 {p99:.2f} ms",
            file=sys.stderr,
        )
    return 0


def register(subparsers: Any) -> None:
    """Add ``myoshift stream`` to the top-level parser."""
    p = subparsers.add_parser(
        "stream",
        help="run a saved model on a replayed file or an LSL stream",
        description=(
            "Stream a file (samples x channels at the model's rate) or a Lab Streaming "
            "Layer stream through the model saved in MODEL_DIR, printing each decision "
            "with its time and latency as it is made."
        ),
    )
    p.add_argument(
        "model_dir",
        metavar="MODEL_DIR",
        help="folder written by `myoshift train`, or by `myoshift export` (ONNX)",
    )
    p.add_argument("--replay", metavar="FILE", help="replay a .csv, .txt or .npy file")
    p.add_argument("--int8", action="store_true", help="export folders: run the int8 graph")
    p.add_argument(
        "--lsl",
        metavar="NAME",
        help="read the LSL stream of this name ('' for the first of type EMG); needs myoshift[lsl]",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="replay speed: 1 real time (default), 2 twice as fast, 0 as fast as possible",
    )
    p.add_argument("--chunk-ms", type=float, default=25.0, help="replay chunk length (25 ms)")
    p.add_argument("--raw", action="store_true", help="no vote and no rejection")
    p.add_argument("--vote", type=int, default=5, help="majority vote over N decisions (5)")
    p.add_argument(
        "--reject",
        type=float,
        default=0.0,
        help="no decision below this probability (default 0: off)",
    )
    p.add_argument(
        "--max-latency-ms",
        type=float,
        default=100.0,
        help="live input: drop (and count) windows that would be decided later (100)",
    )
    p.add_argument(
        "--saturation", type=float, default=None, help="raw |value| counted as saturated"
    )
    p.add_argument("--timeout", type=float, default=5.0, help="LSL: seconds before giving up")
    p.add_argument("--lsl-out", metavar="NAME", default=None, help="publish decisions on LSL")
    p.add_argument("--fs", type=float, default=None, help="input rate, if the model lacks it")
    p.add_argument("--json", action="store_true", help="one JSON object per decision")
    p.set_defaults(func=cmd_stream)
