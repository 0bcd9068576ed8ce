"""Streaming = offline on real recordings: every held-out recording is streamed chunk by
chunk (random chunk sizes 1-200 samples, seeded) through a `Recognizer` (no vote, no
rejection) and compared window by window with the offline path (`chain.predict` on the
whole recording, every window kept). Prints one row per dataset and chain."""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import numpy as np
import torch

from myoshift.datasets import get_dataset
from myoshift.evaluation.recipes import resolve_method
from myoshift.realtime.recognizer import Recognizer

torch.set_num_threads(1)
CAUSAL = ["dc-remove", {"bandpass": {"low": 20, "high": 90}}]
CHAINS = {
    "lda-td": ("lda-td", {"preprocess": CAUSAL}),
    "tcn (2 epochs)": (
        "tcn",
        {"preprocess": CAUSAL, "epochs": 2, "threads": 1, "model_params": {"width": 16}},
    ),
}
SPLITS = {  # dataset: (subjects, is-training predicate on a recording's metadata)
    "libemg-onesubject": (None, lambda m: m["trial"] <= 4),
    "myoarmband": (["eval-Female0"], lambda m: m["session"] == "training0"),
    "uci-gestures": ([1], lambda m: m["series"] == 1),
}


def compare(chain, rec, rng) -> tuple[int, int, float]:
    every = replace(rec, labels=np.zeros(rec.n_samples, dtype=np.int64))
    labels, proba = chain.predict(every), chain.predict_proba(every).max(axis=1)
    r = Recognizer(chain, fs=rec.fs)
    out, i = [], 0
    while i < rec.n_samples:
        n = int(rng.integers(1, 201))
        out += r.push(rec.emg[i : i + n])
        i += n
    assert len(out) == len(labels), (len(out), len(labels))
    diff = int(np.sum(np.array([d.raw_label for d in out]) != labels))
    dp = float(np.max(np.abs(np.array([d.probability for d in out]) - proba)))
    return len(out), diff, dp


def main() -> None:
    rng = np.random.default_rng(0)
    columns = ["dataset", "chain", "held-out recordings", "windows compared"]
    columns += ["label mismatches", "max abs prob diff", "fit s"]
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|---|")
    for name, (subjects, is_train) in SPLITS.items():
        rs = get_dataset(name).load(subjects)
        train = [r for r in rs if is_train(r.meta)]
        test = [r for r in rs if not is_train(r.meta)]
        for label, (method, params) in CHAINS.items():
            t = time.perf_counter()
            chain = resolve_method(method, params).chain(rs[0].fs, 0).fit(train)
            fit_s = time.perf_counter() - t
            total = bad = 0
            worst = 0.0
            for rec in test:
                n, d, dp = compare(chain, rec, rng)
                total, bad, worst = total + n, bad + d, max(worst, dp)
            print(
                f"| {name} | {label} | {len(test)} | {total} | {bad} | {worst:.1e} | {fit_s:.0f} |"
            )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
