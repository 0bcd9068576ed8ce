"""Within-subject accuracy on the Myo Armband evaluation subjects, per method.

Protocol (Côté-Allard et al. 2019): for each of the 18 evaluation subjects, train on
session ``training0`` (4 cycles of 7 gestures) and test on ``Test0`` + ``Test1`` of the
same person. Each method windows the recordings with its own window/step
(`myoshift methods show NAME`); deep methods take their validation split from the
training cycles (one whole cycle), never from the test sessions.

Usage::

    python benchmarks/within_subject_myoarmband.py [--methods tcn,lda-td] [--subjects 4]
        [--data-dir DIR] [--epochs N] [--val-fraction F] [--threads T] [--seed S]
        [--csv results.csv]

Prints one row per subject and method, then mean ± std per method, and the wall time.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from myoshift.datasets import get_dataset
from myoshift.learn.methods import build_estimator, get_method
from myoshift.signal.windows import make_windows

log = logging.getLogger("within_subject_myoarmband")


def run(args: argparse.Namespace) -> pd.DataFrame:
    ds = get_dataset("myoarmband", data_dir=args.data_dir)
    subjects = [s for s in ds.subjects() if str(s).startswith("eval-")]
    if args.subjects:
        subjects = subjects[: args.subjects]
    methods = [get_method(m) for m in args.methods.split(",")]
    rows = []
    for subject in subjects:
        recs = ds.load([subject], show_progress=False)
        train = recs.select(session="training0")
        test = recs.select(session=["Test0", "Test1"])
        for spec in methods:
            w_train = make_windows(train, spec.window_ms, spec.step_ms)
            w_test = make_windows(test, spec.window_ms, spec.step_ms)
            overrides = {}
            if spec.kind == "deep":
                overrides["threads"] = args.threads
                if args.epochs:
                    overrides["epochs"] = args.epochs
                if args.val_fraction is not None:
                    overrides["val_fraction"] = args.val_fraction
            est = build_estimator(spec, fs=w_train.fs, seed=args.seed, **overrides)
            t0 = time.perf_counter()
            est.fit(w_train)
            fit_s = time.perf_counter() - t0
            acc = float(np.mean(est.predict(w_test) == w_test.y))
            rows.append(
                {
                    "subject": subject,
                    "method": spec.name,
                    "accuracy": acc,
                    "n_train": len(w_train),
                    "n_test": len(w_test),
                    "fit_s": fit_s,
                    "epochs_run": len(getattr(est, "history_", [])),
                }
            )
            print(
                f"{subject:<16} {spec.name:<12} acc {100 * acc:6.2f}%  "
                f"train {len(w_train):5d} test {len(w_test):5d}  fit {fit_s:7.1f} s",
                flush=True,
            )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--methods", default="tcn,lda-td")
    p.add_argument("--subjects", type=int, default=0, help="first N evaluation subjects (0: all)")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--epochs", type=int, default=0, help="override deep methods' epochs")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--val-fraction", type=float, default=None, help="override deep methods' val_fraction"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--csv", type=Path, default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    df = run(args)
    if args.csv:
        df.to_csv(args.csv, index=False)
    summary = df.groupby("method").agg(
        mean=("accuracy", "mean"),
        std=("accuracy", "std"),
        n=("accuracy", "size"),
        fit_s=("fit_s", "mean"),
    )
    print("\nmethod        mean acc ± std     subjects  mean fit s")
    for name, r in summary.iterrows():
        print(
            f"{name:<12} {100 * r['mean']:6.2f} ± {100 * r['std']:5.2f} %  "
            f"{int(r['n']):8d}  {r['fit_s']:10.1f}"
        )
    print(f"\ntotal wall time {time.perf_counter() - t0:.0f} s; command: {' '.join(sys.argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
