"""Ring alignment under a rotated armband: `adapt(align="ring")` vs plain fine-tuning.

Protocol: `tcn-transfer` is pre-trained on the myoarmband pre-training people (or loaded
from ``--model``). For each evaluation person, the calibration cycles of ``training0``
and the test sessions ``Test0`` + ``Test1`` are both rotated by ``r`` electrodes, as if
the armband had been put on ``r`` electrodes round from the usual place. A copy of the
model is then fine-tuned on the calibration windows with the method's recipe: once
plain, and once with ring alignment first (`DeepClassifier.adapt(..., align="ring")`).

Usage::

    python benchmarks/ring_alignment_myoarmband.py [--data-dir DIR] [--model DIR]
        [--rotations 0,1,2,4] [--cycles 1] [--threads 2]

Prints accuracy per person, then the mean per rotation and variant with a paired
Wilcoxon test, and the alignment each person got.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import wilcoxon

from myoshift.datasets import load_dataset
from myoshift.learn import DeepClassifier, build_estimator, get_method
from myoshift.signal import make_windows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--model", default=None, help="folder to load/save the pre-trained model")
    parser.add_argument("--rotations", default="0,1,2,4")
    parser.add_argument("--cycles", type=int, default=1, help="calibration cycles")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = get_method("tcn-transfer")
    win, step = spec.window_ms, spec.step_ms
    rs = load_dataset("myoarmband", data_dir=args.data_dir)
    if args.model and Path(args.model, "estimator.json").exists():
        est = DeepClassifier.load(args.model)
    else:
        pre = make_windows(rs.select(split="pretraining"), window_ms=win, step_ms=step)
        est = build_estimator(spec, fs=pre.fs, seed=0)
        t0 = time.perf_counter()
        est.fit(pre.X, pre.y)
        print(f"pre-trained in {time.perf_counter() - t0:.0f} s")
        if args.model:
            est.save(args.model)
    rotations = [int(r) for r in args.rotations.split(",")]
    acc: dict[tuple[int, str], list[float]] = {
        (r, v): [] for r in rotations for v in ("plain", "ring")
    }
    t0 = time.perf_counter()
    ev = rs.select(split="evaluation")
    for person in sorted(ev.unique("subject")):
        r_set = ev.select(subject=person)
        cal = make_windows(r_set.select(session="training0"), window_ms=win, step_ms=step)
        test = make_windows(r_set.select(session=["Test0", "Test1"]), window_ms=win, step_ms=step)
        cycles = np.sort(cal.meta["repetition"].unique())[: args.cycles]
        cal = cal.subset(cal.meta["repetition"].isin(cycles).to_numpy())
        line = [f"{person:14s}"]
        for r in rotations:
            xc, xt = np.roll(cal.X, r, axis=1), np.roll(test.X, r, axis=1)
            for variant in ("plain", "ring"):
                model = copy.deepcopy(est)
                model.adapt(xc, cal.y, align="ring" if variant == "ring" else None)
                a = float((model.predict(xt) == test.y).mean())
                acc[(r, variant)].append(a)
                found = model.alignment_["rotation"] if variant == "ring" else None
                tag = f" (rotation {found})" if found is not None else ""
                line.append(f"r={r} {variant} {100 * a:.1f}{tag}")
        print("  ".join(line), flush=True)
    print(f"\n{args.cycles} calibration cycle(s), {time.perf_counter() - t0:.0f} s")
    print(f"{'rotation':>8} {'plain %':>8} {'ring %':>8} {'diff':>6} {'p':>7} wins")
    for r in rotations:
        a, b = np.array(acc[(r, "ring")]), np.array(acc[(r, "plain")])
        p = wilcoxon(a, b).pvalue if np.any(a != b) else float("nan")
        diff = 100 * (a - b).mean()
        wins = f"{int((a > b).sum())}/{len(a)}"
        print(f"{r:>8} {100 * b.mean():8.2f} {100 * a.mean():8.2f} {diff:+6.2f} {p:7.3g} {wins}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
