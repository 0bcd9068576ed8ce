"""Parameters, MACs and CPU training time per epoch of every deep method on myoarmband.

For each registered deep method (``myoshift methods``), the Myo Armband PRE-TRAINING
set (22 people, one session each) is windowed with the method's own window and step
(`myoshift.signal.windows.make_windows`), the method's estimator is built with
`myoshift.learn.methods.build_estimator` (its own recipe: optimiser, batch size, ...)
and trained for ONE epoch with a fixed number of torch threads, after a short warm-up
fit on a few batches. Reported per method: parameters and MACs of the network at the
method's input size (`myoshift.models.complexity`), number of windows, wall-clock and
CPU seconds per epoch.

On a slow machine ``--max-windows N`` times the epoch on a random subset of N windows
and scales the time by ``n_windows / N`` (the table says so in its ``timed`` column);
the default (0) times the whole epoch.

Usage::

    python benchmarks/train_time_myoarmband.py [--methods tcn,rcnn] [--threads 1]
        [--max-windows 0] [--data-dir DIR] [--seed 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from myoshift.datasets import get_dataset
from myoshift.learn.methods import build_estimator, get_method, methods
from myoshift.models.complexity import count_macs
from myoshift.signal.windows import make_windows

log = logging.getLogger("train_time_myoarmband")

#: windows in the warm-up fit (a few batches: allocator, kernels and caches warmed)
WARMUP_WINDOWS = 512


def deep_methods() -> list[str]:
    """Names of every deep method (one per registered raw-input architecture)."""
    return sorted(name for name, spec in methods().items() if spec.kind == "deep")


def time_method(
    name: str,
    recordings: Any,
    threads: int,
    max_windows: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Window ``recordings`` for method ``name`` and time one training epoch.

    Parameters
    ----------
    name : str
        A deep method name.
    recordings : RecordingSet
    threads : int
        ``torch.set_num_threads`` value used for the fit.
    max_windows : int
        0: time the full epoch; N > 0: time an epoch over N random windows and scale.
    seed : int

    Returns
    -------
    dict
        method, window_ms, step_ms, params, macs, windows, timed_windows, threads,
        s_per_epoch (wall clock), cpu_s_per_epoch (CPU time of this process: less
        sensitive to other jobs on a shared machine), extrapolated.
    """
    spec = get_method(name)
    w = make_windows(recordings, spec.window_ms, spec.step_ms)
    X, y = np.asarray(w.X, dtype=np.float32), w.y
    n = len(y)
    rng = np.random.default_rng(seed)
    common = {"epochs": 1, "val_fraction": 0.0, "patience": None, "threads": threads}
    # warm-up: same estimator recipe on a few batches
    warm = rng.choice(n, size=min(WARMUP_WINDOWS, n), replace=False)
    build_estimator(spec, fs=w.fs, seed=seed, **common).fit(X[warm], y[warm])
    if max_windows and max_windows < n:
        idx = np.sort(rng.choice(n, size=max_windows, replace=False))
        Xt, yt = X[idx], y[idx]
    else:
        Xt, yt = X, y
    est = build_estimator(spec, fs=w.fs, seed=seed, **common)
    torch.set_num_threads(threads)
    t0, c0 = time.perf_counter(), time.process_time()
    est.fit(Xt, yt)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    net = est.network_
    return {
        "method": name,
        "window_ms": spec.window_ms,
        "step_ms": spec.step_ms,
        "params": int(net.n_parameters()),
        "macs": int(count_macs(net, (X.shape[1], X.shape[2]))),
        "windows": int(n),
        "timed_windows": int(len(yt)),
        "threads": int(threads),
        "s_per_epoch": seconds * n / len(yt),
        "cpu_s_per_epoch": cpu_seconds * n / len(yt),
        "extrapolated": len(yt) < n,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--methods", default="", help="comma-separated deep methods (default: all)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument(
        "--max-windows", type=int, default=0, help="time a random subset and scale (0: all)"
    )
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object per method")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    names = [m for m in args.methods.split(",") if m] or deep_methods()
    ds = get_dataset("myoarmband", data_dir=args.data_dir)
    pre = [s for s in ds.subjects() if str(s).startswith("pre-")]
    recs = ds.load(pre, show_progress=False)
    print(f"myoarmband pre-training set: {len(pre)} people, {len(recs)} recordings", flush=True)
    if not args.json:
        print(
            f"{'method':<20} {'win/step ms':>11} {'params':>8} {'MACs':>10} "
            f"{'windows':>8} {'timed':>8} {'threads':>7} {'s/epoch':>8} {'cpu s/epoch':>11}",
            flush=True,
        )
    for name in names:
        r = time_method(name, recs, args.threads, args.max_windows, args.seed)
        if args.json:
            print(json.dumps(r), flush=True)
        else:
            print(
                f"{r['method']:<20} {r['window_ms']:>5.0f}/{r['step_ms']:<5.0f} "
                f"{r['params']:>8d} {r['macs']:>10d} {r['windows']:>8d} "
                f"{r['timed_windows']:>8d} {r['threads']:>7d} {r['s_per_epoch']:>8.1f} "
                f"{r['cpu_s_per_epoch']:>11.1f}",
                flush=True,
            )
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"load average after: {load}; command: {' '.join(sys.argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
