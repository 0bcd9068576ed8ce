"""Kanoga, day 1 -> each later day, unsupervised recalibration on the test day's first
minute (trials 1-2: 44 recordings x 1.5 s = 66 s, labels hidden), tested on trials 3-4.

Each method is fitted once on day 1 (all 4 trials); for every later day a copy of the
fitted chain is recalibrated with `MethodChain.recalibrate` (no labels) and scored on the
remaining trials of that day; "none" scores the day-1 chain on the same trials.
Usage: python 15c_kanoga_recalibration.py [SEED ...] [METHOD ...]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

from myoshift.datasets import load_dataset
from myoshift.evaluation.recipes import resolve_method
from myoshift.recording import UNLABELLED, RecordingSet

torch.set_num_threads(1)
RUNS = [  # (method, policies applied to the one fitted chain)
    ("lda-td-means", [None, "lda-means"]),
    ("tcn-transfer", [None, "adabn", "self-training", "tent"]),
    ("tcn", [None, "adabn", "self-training", "tent"]),
    ("zhai-cnn", [None, "zhai"]),
]


def hide_labels(rs: RecordingSet) -> RecordingSet:
    """The same recordings with every label unlabelled (-1): nothing to peek at."""
    return RecordingSet([r.with_emg(r.emg, labels=np.full(r.n_samples, UNLABELLED)) for r in rs])


def main(seeds: list[int], only: list[str]) -> None:
    rs = load_dataset("kanoga")
    meta = rs.meta
    pick = lambda mask: RecordingSet([rs[i] for i in np.flatnonzero(mask)])  # noqa: E731
    train = pick(meta["day"] == 1)
    days = sorted(d for d in meta["day"].unique() if d > 1)
    rows = []
    for seed in seeds:
        for name, policies in [r for r in RUNS if not only or r[0] in only]:
            t0 = time.time()
            chain = resolve_method(name, {"threads": 1} if name != "lda-td-means" else {})
            chain = chain.chain(float(train[0].fs), seed).fit(train)
            fit_s = time.time() - t0
            for policy in policies:
                t1, accs = time.time(), []
                for d in days:
                    day = meta["day"] == d
                    recal = hide_labels(pick(day & meta["trial"].isin([1, 2])))
                    test = pick(day & meta["trial"].isin([3, 4]))
                    c = chain.copy()
                    if policy is not None:
                        c.estimator_.set_params(recalibrate_policy=policy)
                        c.recalibrate(recal)
                    accs.append(c.score(test))
                label = "lda-td" if name == "lda-td-means" and policy is None else name
                rows.append(
                    {
                        "seed": seed,
                        "method": label,
                        "policy": policy or "none",
                        "mean": float(np.mean(accs)),
                        "per_day": [round(a, 4) for a in accs],
                        "fit_s": round(fit_s, 1),
                        "recal_s": round(time.time() - t1, 1),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    main([int(a) for a in args if a.isdigit()] or [0], [a for a in args if not a.isdigit()])
