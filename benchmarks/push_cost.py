"""Per-decision cost of `Recognizer.push` (filters, ring buffer, windows, estimator, vote)
on the shipped LibEMG stream, 5-sample (25 ms) chunks, one decision per push; one thread."""

import sys
import time

import numpy as np
import torch

from myoshift.realtime.recognizer import Recognizer
from myoshift.realtime.sources import load_samples

torch.set_num_threads(1)
emg = load_samples("/work/shared/data/OneSubjectMyoDataset/stream/raw_emg.csv")
for folder, precision in [(a.split(":")[0], (a.split(":") + [None])[1]) for a in sys.argv[1:]]:
    rec = Recognizer.load(folder, precision=precision, vote=5)
    rec.warm_up(8)
    per = []
    for i in range(0, len(emg), 5):
        t = time.perf_counter()
        n = len(rec.push(emg[i : i + 5]))
        if n:
            per.append((time.perf_counter() - t) / n)
    p50, p99 = np.percentile(np.array(per) * 1e6, [50, 99])
    print(f"| {folder} {precision or ''} | {len(per)} | {p50:.0f} | {p99:.0f} |")
