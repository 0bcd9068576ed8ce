"""Peak memory of one 3DC leave-one-subject-out fold of ``lda-td``: lazy vs materialised windows.

Usage::

    python benchmarks/windows_memory.py [--data-dir DIR] [--steps 25 50 100]
        [--copies 1] [--holdout LAST] [--json OUT]

For every step and for both window modes, a fresh Python process loads
``load_dataset("3dc")``, holds out one person (the last by default) and fits
``ClassicalClassifier("lda", features="hudgins-td")`` on ``make_windows(source, 200,
step)`` of every other person, then scores it on the held-out person's windows. ``lazy``
is today's path (windows cut on demand, features chunk by chunk); ``materialised`` wraps
``np.asarray(w.X)`` in the same `Windows`, as every window was stored before. Reported:
peak RSS of the process (``ru_maxrss``), RSS after loading the data, the size of the
recordings' EMG, the number of windows, the size the windows would have as one array,
the accuracy and the wall time. ``--copies K`` repeats every source recording K times
(fresh copies, as K times more people) to measure how memory grows with the recordings.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np

WINDOW_MS = 200.0
MODES = ("lazy", "materialised")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def run_fold(step_ms: float, mode: str, copies: int, holdout: str, data_dir: str | None) -> dict:
    """One fold in this process; returns the measurements (see the module docstring)."""
    from myoshift.datasets import load_dataset
    from myoshift.learn.classical import ClassicalClassifier
    from myoshift.recording import Recording, RecordingSet
    from myoshift.signal.windows import make_windows

    t0 = time.perf_counter()
    rs = load_dataset("3dc", **({"data_dir": data_dir} if data_dir else {}))
    people = sorted({r.meta["subject"] for r in rs})
    held = people[-1] if holdout == "last" else type(people[0])(holdout)
    source = [r for r in rs if r.meta["subject"] != held]
    for k in range(1, copies):  # K times the people: fresh arrays, as new recordings
        source += [
            Recording(
                r.emg.copy(),
                r.fs,
                r.labels,
                r.layout,
                r.repetition,
                {},
                {**r.meta, "subject": f"{r.meta['subject']}-copy{k}"},
                r.class_names,
            )
            for r in rs
            if r.meta["subject"] != held
        ]
    target = RecordingSet([r for r in rs if r.meta["subject"] == held])
    rec_mb = sum(r.emg.nbytes for r in source) / 2**20 + sum(r.emg.nbytes for r in target) / 2**20
    for r in [*source, *target]:
        float(r.emg.sum())  # page the recordings in: RSS after load counts them
    loaded_mb = _rss_mb()
    w = make_windows(RecordingSet(source), WINDOW_MS, step_ms)
    windows_mb = w.X.nbytes / 2**20
    if mode == "materialised":
        w = replace(w, X=np.asarray(w.X))
    est = ClassicalClassifier("lda", features="hudgins-td").fit(w)
    wt = make_windows(target, WINDOW_MS, step_ms)
    if mode == "materialised":
        wt = replace(wt, X=np.asarray(wt.X))
    acc = est.score(wt)
    return {
        "step_ms": step_ms,
        "mode": mode,
        "people": len(people),
        "source_people": (len(people) - 1) * copies,
        "held_out": str(held),
        "recordings_mb": round(rec_mb, 1),
        "windows": len(w) + len(wt),
        "windows_mb": round(windows_mb + wt.X.nbytes / 2**20, 1),
        "rss_after_load_mb": round(loaded_mb, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
        "accuracy": round(float(acc), 4),
        "wall_s": round(time.perf_counter() - t0, 2),
    }


def _child(args: argparse.Namespace, step: float, mode: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", str(step), mode, "--copies", str(args.copies)]
    cmd += ["--holdout", args.holdout] + (["--data-dir", args.data_dir] if args.data_dir else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of the measurements."""
    head = (
        "| step ms | windows | mode | windows as one array MB | recordings MB "
        "| RSS after load MB | peak RSS MB | wall s | accuracy |\n"
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|"
    )
    lines = [
        f"| {r['step_ms']:g} | {r['windows']:,} | {r['mode']} | {r['windows_mb']:,.0f} "
        f"| {r['recordings_mb']:,.0f} | {r['rss_after_load_mb']:,.0f} "
        f"| {r['peak_rss_mb']:,.0f} | {r['wall_s']:.1f} | {100 * r['accuracy']:.2f} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=None, help="folder holding 3DCDataset/")
    p.add_argument("--steps", type=float, nargs="+", default=[25.0, 50.0, 100.0])
    p.add_argument("--copies", type=int, default=1, help="repeat the source people K times")
    p.add_argument("--holdout", default="last", help="subject held out (default: the last)")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    p.add_argument("--one", nargs=2, metavar=("STEP", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        step, mode = float(args.one[0]), args.one[1]
        print(json.dumps(run_fold(step, mode, args.copies, args.holdout, args.data_dir)))
        return 0
    rows = []
    for step in args.steps:
        for mode in args.modes:
            rows.append(_child(args, step, mode))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    first = rows[0]
    print(
        f"3DC: {first['people']} people loaded, held out {first['held_out']}, "
        f"{first['source_people']} source people (copies={args.copies})"
    )
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
