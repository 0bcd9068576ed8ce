"""Gesture onset detection on continuous real recordings: three detectors and a baseline.

Detectors (`myoshift.realtime.onset`): TKEO double threshold (Solnik 2008, Bonato 1998),
CUSUM, the rest-vs-gesture decisions of a within-person lda-td classifier, and the
fixed-multiple RMS baseline. Each is calibrated on the first seconds of rest of each
stream only. Its parameters are chosen on tuning people (a small grid, lowest
``J = missed fraction + 0.1 * false activations per minute + 0.2 * median latency (s)``)
and reported on the others:

=================== ================================= ==================== ===============
dataset             streams                           tuning               reported
=================== ================================= ==================== ===============
ninapro-db1         one per subject (exercise 1)      subjects 1, 2, 3     the others
uci-gestures        one per series                    subjects 1, 2        the others
kanoga              subject 1, one per day (stitched) days 1-3             days 4-15
libemg-onesubject   one per trial (stitched)          trials 1-2           trials 3-6
=================== ================================= ==================== ===============

Kanoga and LibEMG store one file per trial, so a stream is stitched from the files:
rest, rest, then each gesture trial followed by two rest trials (the person's rest
files of that day / trial, reused in turn); the onset is the file boundary. LibEMG's
unlabelled ``stream/raw_emg.csv`` is reported separately (activations per minute and
time active only), calibrated on trial 1's first No_Motion file.

The classifier is trained on the same stream by two folds: the k-th occurrence of each
gesture (with the rest before it) goes to fold k % 2; fold A's events come from the
classifier trained on fold B's labels and vice versa. Ninapro DB1's EMG is already
RMS-rectified at 100 Hz, so its envelope detectors skip the high-pass. UCI marks only
the held phase of a gesture (in its signal the movement starts 1-1.5 s before the label
and the release ends up to 1.5 s after it), so its onsets may come up to 1.5 s before
the label, the guard zone ends 1.5 s after it, and unmarked time counts as rest.

Usage::

    python benchmarks/onset_detection.py [--data-dir DIR] [--datasets a,b] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from myoshift.datasets import get_dataset
from myoshift.datasets.libemg_onesubject import load_stream
from myoshift.learn import MethodChain, build_estimator
from myoshift.realtime.events import (
    EventScore,
    activity_mask,
    gesture_spans,
    rest_segment,
    score_events,
)
from myoshift.realtime.onset import (
    ClassifierDetector,
    CUSUMDetector,
    OnsetDetector,
    RMSThresholdDetector,
    TKEODetector,
)
from myoshift.recording import REST, UNLABELLED, Recording

DETECTORS = ("tkeo", "cusum", "classifier", "rms-baseline")
GRIDS: dict[str, list[dict[str, Any]]] = {
    "tkeo": [
        {"h": h, "hold_ms": hold, "off_ms": off}
        for h, hold, off in itertools.product((3, 10, 30, 100), (25, 50), (100, 250))
    ],
    "cusum": [{"drift": d, "h": h} for d, h in itertools.product((1, 4, 16, 64), (0.05, 0.2, 0.5))],
    "classifier": [
        {"k": k, "m": m, "off": off} for k, m, off in ((1, 1, 1), (2, 3, 3), (3, 4, 4), (3, 5, 8))
    ],
    "rms-baseline": [{"multiple": x} for x in (1.5, 2, 3, 5, 8, 12)],
}


@dataclass
class Stream:
    """A continuous labelled recording and how it is scored."""

    rec: Recording
    key: str
    tuning: bool
    calibration: slice
    folds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass(frozen=True)
class Setup:
    """Per-dataset facts: signal conditioning and how its labels relate to movement."""

    highpass_hz: float | None = 20.0
    before_s: float = 0.5
    after_s: float = 0.5
    rest_labels: tuple[int, ...] = (REST,)
    calibration_s: float = 3.0


SETUPS = {
    "ninapro-db1": Setup(highpass_hz=None),
    "uci-gestures": Setup(
        before_s=1.5, after_s=1.5, rest_labels=(REST, UNLABELLED), calibration_s=1.5
    ),
    "kanoga": Setup(),
    "libemg-onesubject": Setup(),
}


# ---------------------------------------------------------------------------- streams
def stitch(parts: list[Recording], key: str) -> Recording:
    """One recording from consecutive trial files."""
    return Recording(
        np.concatenate([r.emg for r in parts]),
        parts[0].fs,
        np.concatenate([r.labels for r in parts]),
        parts[0].layout,
        meta={"source": key},
        class_names=parts[0].class_names,
    )


def interleave(rests: list[Recording], gestures: list[Recording], key: str) -> Recording:
    """rest, rest, then every gesture followed by two rest trials (taken in turn)."""
    cycle = itertools.cycle(rests)
    parts = [next(cycle), next(cycle)]
    for g in gestures:
        parts += [g, next(cycle), next(cycle)]
    return stitch(parts, key)


def fold_of(labels: np.ndarray) -> np.ndarray:
    """Per-sample fold: the k-th occurrence of a gesture, with the rest before it, is k % 2."""
    folds = np.zeros(len(labels), dtype=np.int64)
    seen: dict[int, int] = {}
    prev = 0
    spans = gesture_spans(labels)
    for i, (_, end, code) in enumerate(spans):
        k = seen.get(int(code), 0)
        seen[int(code)] = k + 1
        stop = len(labels) if i == len(spans) - 1 else int(end)
        folds[prev:stop] = k % 2
        prev = stop
    return folds


def streams(name: str, data_dir: str | None) -> Iterator[Stream]:
    """The continuous streams of one dataset, with their tuning flag."""
    setup = SETUPS[name]
    ds = get_dataset(name, data_dir=data_dir)
    if name in ("ninapro-db1", "uci-gestures"):
        tuning = {1, 2, 3} if name == "ninapro-db1" else {1, 2}
        for rec in ds.load(show_progress=False):
            key = f"s{rec.meta['subject']}" + (
                f"-{rec.meta['series']}" if "series" in rec.meta else ""
            )
            yield _stream(rec, key, rec.meta["subject"] in tuning, setup)
    elif name == "kanoga":
        recs = ds.load(subjects=[1], show_progress=False)
        for day in sorted({int(r.meta["day"]) for r in recs}):
            day_recs = sorted(
                (r for r in recs if r.meta["day"] == day),
                key=lambda r: (r.meta["trial"], r.meta["motion"]),
            )
            rests = [r for r in day_recs if r.labels[0] == REST]
            gests = [r for r in day_recs if r.labels[0] != REST]
            yield _stream(interleave(rests, gests, f"day{day}"), f"day{day}", day <= 3, setup)
    elif name == "libemg-onesubject":
        recs = ds.load(show_progress=False)
        for trial in sorted({int(r.meta["trial"]) for r in recs}):
            tr = sorted(
                (r for r in recs if r.meta["trial"] == trial),
                key=lambda r: (r.meta["repetition"], r.meta["source_class"]),
            )
            rests = [r for r in tr if r.labels[0] == REST]
            gests = [r for r in tr if r.labels[0] != REST]
            key = f"trial{trial}"
            yield _stream(interleave(rests, gests, key), key, trial <= 2, setup)


def _stream(rec: Recording, key: str, tuning: bool, setup: Setup) -> Stream:
    cal = rest_segment(rec, setup.calibration_s)
    return Stream(rec, key, tuning, cal, fold_of(rec.labels))


# ---------------------------------------------------------------------------- detectors
def make(
    kind: str, fs: float, setup: Setup, params: dict[str, Any], chain: Any = None
) -> OnsetDetector:
    if kind == "tkeo":
        return TKEODetector(fs, highpass_hz=setup.highpass_hz, **params)
    if kind == "cusum":
        return CUSUMDetector(fs, highpass_hz=setup.highpass_hz, **params)
    if kind == "rms-baseline":
        return RMSThresholdDetector(fs, highpass_hz=setup.highpass_hz, **params)
    return ClassifierDetector(chain, fs, **params)


def fit_chain(rec: Recording, keep: np.ndarray) -> MethodChain:
    """lda-td on the samples of one fold (the others unlabelled, so never windowed)."""
    labels = np.where(keep, rec.labels, UNLABELLED)
    train = replace(rec, labels=labels)
    chain = MethodChain(
        build_estimator("lda-td", fs=rec.fs),
        window_ms=200,
        step_ms=25,
        preprocess=[],
        name="lda-td",
    )
    return chain.fit(train)


def score_stream(
    kind: str, s: Stream, setup: Setup, params: dict[str, Any], chains: list[Any]
) -> tuple[EventScore, float]:
    """Pooled score over both folds (after calibration), and the detection wall time."""
    fs = s.rec.fs
    after_cal = np.ones(len(s.rec.labels), dtype=bool)
    after_cal[: s.calibration.stop] = False
    kw = {"before_s": setup.before_s, "after_s": setup.after_s, "rest_labels": setup.rest_labels}
    scores, wall = [], 0.0
    events = None
    for fold in (0, 1):
        if kind == "classifier" or events is None:
            det = make(kind, fs, setup, params, chains[1 - fold] if chains else None)
            det.calibrate(s.rec.emg[s.calibration])
            t0 = time.perf_counter()
            events = det.detect(s.rec)
            wall += time.perf_counter() - t0
        within = after_cal & (s.folds == fold)
        scores.append(score_events(events, s.rec.labels, fs, within=within, **kw))
    return EventScore.combine(scores), wall


def objective(sc: EventScore) -> float:
    lat = sc.median_latency_s
    if not math.isfinite(lat):
        return math.inf
    fa = sc.false_per_min if math.isfinite(sc.false_per_min) else 0.0
    return sc.miss_rate + 0.1 * fa + 0.2 * lat


# ---------------------------------------------------------------------------- report
def row(
    dataset: str, kind: str, params: dict[str, Any], sc: EventScore, n: int, wall: float
) -> str:
    q25, q75 = sc.latency_iqr_s
    p = ", ".join(f"{k}={v}" for k, v in params.items())
    rest_act = 100 * sc.rest_active_s / sc.rest_s if sc.rest_s else math.nan
    ges_act = 100 * sc.gesture_active_s / sc.gesture_s if sc.gesture_s else math.nan
    return (
        f"| {dataset} | {kind} | {p} | {n} | {sc.n_gestures} | {sc.missed} | "
        f"{1000 * sc.median_latency_s:.0f} | {1000 * q25:.0f} .. {1000 * q75:.0f} | "
        f"{sc.false_per_min:.2f} | {sc.rest_s / 60:.1f} | {sc.extra_onsets} | "
        f"{rest_act:.1f} | {ges_act:.1f} | {wall:.1f} |"
    )


STREAM_HEADER = (
    "| libemg stream: detector | onsets | onsets/min | time active % |\n|---|---|---|---|"
)
HEADER = (
    "| dataset | detector | parameters (tuned) | streams | gestures | missed | "
    "median latency ms | IQR ms | false act./min rest | rest min | extra onsets | "
    "rest active % | gesture active % | detect s |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def run_dataset(
    name: str, data_dir: str | None, log: Callable[[str], None]
) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Table rows of one dataset, and the parameters chosen on its tuning streams."""
    setup = SETUPS[name]
    ss = list(streams(name, data_dir))
    log(f"{name}: {len(ss)} streams ({sum(s.tuning for s in ss)} tuning)")
    chains = {s.key: [fit_chain(s.rec, s.folds == f) for f in (0, 1)] for s in ss}
    rows, chosen = [], {}
    for kind in DETECTORS:
        best, best_j = GRIDS[kind][0], math.inf
        for params in GRIDS[kind]:
            sc = EventScore.combine(
                score_stream(kind, s, setup, params, chains[s.key])[0] for s in ss if s.tuning
            )
            j = objective(sc)
            if j < best_j:
                best, best_j = params, j
        chosen[kind] = best
        results = [score_stream(kind, s, setup, best, chains[s.key]) for s in ss if not s.tuning]
        sc = EventScore.combine(r[0] for r in results)
        line = row(name, kind, best, sc, len(results), sum(r[1] for r in results))
        log(line)
        rows.append(line)
    return rows, chosen


def stream_rows(
    data_dir: str | None, chosen: dict[str, dict[str, Any]], log: Callable[[str], None]
) -> list[str]:
    """LibEMG's unlabelled stream: activations per minute and time active per detector.

    Calibrated on trial 1's first No_Motion file; the classifier is lda-td trained on
    all six trials; parameters as chosen on trials 1-2.
    """
    live = load_stream(data_dir)
    trials = list(streams("libemg-onesubject", data_dir))
    first = trials[0]
    cal = first.rec.emg[first.calibration]
    everything = stitch([s.rec for s in trials], "all")
    chain = fit_chain(everything, np.ones(len(everything.labels), dtype=bool))
    setup = SETUPS["libemg-onesubject"]
    out = [STREAM_HEADER]
    minutes = len(live.labels) / live.fs / 60
    for kind in DETECTORS:
        params = chosen[kind]
        det = make(kind, live.fs, setup, params, chain).calibrate(cal)
        events = det.detect(live)
        n_on = sum(e.kind == "onset" for e in events)
        active = activity_mask(events, len(live.labels)).mean()
        line = f"| {kind} | {n_on} | {n_on / minutes:.1f} | {100 * active:.0f} |"
        log(line)
        out.append(line)
    return out


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--datasets", default=",".join(SETUPS))
    ap.add_argument("--out", default=None, help="write the markdown table here")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    lines = [HEADER]
    tail: list[str] = []
    for name in args.datasets.split(","):
        rows, chosen = run_dataset(name, args.data_dir, log)
        lines += rows
        if name == "libemg-onesubject":
            tail = ["", *stream_rows(args.data_dir, chosen, log)]
    lines += tail
    text = "\n".join(lines) + f"\n\nwall time {time.perf_counter() - t0:.0f} s\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
