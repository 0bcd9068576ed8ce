"""Wear checks and placement on real recordings: injected faults, clean originals, rotations.

``faults``: each unit (myoarmband: one cycle of the 7 gestures of one person and session,
35 s at 200 Hz; 3dc: one repetition of the 11 gestures, about 55 s at 1 kHz) is checked
as recorded (flags on the originals) and with faults injected, one at a time, on a
random channel (``--repeats`` times per fault and unit):

* ``flat``: the channel held at its median (a disconnected electrode);
* ``clipping``: the channel cut at the level exceeded by 1 % or 5 % of its samples;
* ``mains``: 50 Hz hum (with 2nd and 3rd harmonics at 1/3 and 1/5 of its amplitude,
  where below Nyquist) at 20, 10 and 0 dB SNR against the channel's power;
* ``noise``: white noise at 10 and 0 dB SNR (a noisy channel; `noisy` should fire);
* ``loose contact``: events at 0.5 or 2 per second, each a drop-out to the median
  (50-300 ms) or a spike (20-60 ms half-sine of 2-5 x the channel's peak);
* ``baseline``: wander (Gaussian noise band-limited to 0.1-2 Hz) at 10 and 0 dB SNR.

Recall: the injected channel flagged by the check of that fault. ``placement``: each
evaluation person's ``training0`` session is the labelled reference; every cycle of
``Test0`` and ``Test1`` (rest plus all 6 gestures, or rest plus 2 or 1 gestures drawn at
random) is rotated by 0..7 electrodes (`rotate_ring`; also by r + 0.3, interpolated
between electrodes, where r is the right answer) and its rotation estimated from its
labels and from the samples alone.

Thresholds are chosen on ``--split tune`` (myoarmband pre-training people, 3dc
participant 1) and reported on ``--split report`` (myoarmband evaluation people, 3dc
participants 2 and 3).

Usage::

    python benchmarks/quality_faults.py faults --split report [--data-dir DIR]
    python benchmarks/quality_faults.py placement [--data-dir DIR]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Callable, Iterator

import numpy as np

from myoshift.datasets import load_dataset
from myoshift.recording import Layout
from myoshift.signal.layouts import rotate_ring
from myoshift.signal.placement import as_session, estimate_rotation, make_reference
from myoshift.signal.quality import CHECKS, FAULT_NAMES, channel_scores, find_faults

Unit = tuple[str, np.ndarray, np.ndarray, float, Layout]
Inject = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]
SPLITS = {
    "tune": {"myoarmband": {"split": "pretraining"}, "3dc": {"subject": [1]}},
    "report": {"myoarmband": {"split": "evaluation"}, "3dc": {"subject": [2, 3]}},
}
CYCLE = {"myoarmband": "cycle", "3dc": "repetition"}
MYO_RAILS = (-128.0, 127.0)  # the Myo's int8 samples


def units(name: str, data_dir: str | None, **where: object) -> Iterator[Unit]:
    """One unit per person, session and cycle: the raw samples, labels, rate, layout."""
    rs = load_dataset(name, data_dir=data_dir).select(**where)
    key = CYCLE[name]
    for (subject, session, cycle), _ in rs.meta.groupby(["subject", "session", key]):
        part = rs.select(subject=subject, session=session, **{key: cycle})
        x = np.concatenate([r.emg for r in part]).astype(np.float64)
        y = np.concatenate([r.labels for r in part])
        yield f"{name}/{subject}/{session}/{cycle}", x, y, part[0].fs, part[0].layout


def _at_snr(v: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    power = float(np.mean((v - np.median(v)) ** 2))
    return v + noise * np.sqrt(power / 10 ** (snr_db / 10) / np.mean(noise**2))


def flat(v: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
    return np.full_like(v, np.median(v))


def clipping(p: float) -> Inject:
    def inject(v: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
        m = np.median(v)
        level = np.quantile(np.abs(v - m), 1 - p)
        return m + np.clip(v - m, -level, level)

    return inject


def mains(snr: float) -> Inject:
    def inject(v: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
        t = np.arange(len(v)) / fs
        f0 = 50.0 + rng.uniform(-0.05, 0.05)
        hum = sum(
            np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 2 * np.pi)) / a
            for h, a in ((1, 1), (2, 3), (3, 5))
            if h * f0 < fs / 2 - 1
        )
        return _at_snr(v, np.asarray(hum), snr)

    return inject


def noise(snr: float) -> Inject:
    def inject(v: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
        return _at_snr(v, rng.standard_normal(len(v)), snr)

    return inject


def baseline(snr: float) -> Inject:
    def inject(v: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
        spec = np.fft.rfft(rng.standard_normal(len(v)))
        f = np.fft.rfftfreq(len(v), 1 / fs)
        spec[(f > 2.0) | (f < 0.1)] = 0
        return _at_snr(v, np.fft.irfft(spec, len(v)), snr)

    return inject


def contact(rate: float) -> Inject:
    def inject(v: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
        out, m = v.copy(), np.median(v)
        peak = np.max(np.abs(v - m))
        for start in np.flatnonzero(rng.random(len(v)) < rate / fs):
            if rng.random() < 0.5:
                out[start : start + int(rng.uniform(0.05, 0.3) * fs)] = m
            else:
                n = max(2, int(rng.uniform(0.02, 0.06) * fs))
                pulse = np.sin(np.pi * np.arange(n) / n) * rng.uniform(2, 5) * peak
                seg = out[start : start + n]
                seg += rng.choice([-1, 1]) * pulse[: len(seg)]
        return out

    return inject


INJECTIONS: dict[str, tuple[str, Inject]] = {
    "flat": ("flat", flat),
    "clipping 1 %": ("clipping", clipping(0.01)),
    "clipping 5 %": ("clipping", clipping(0.05)),
    "mains 20 dB": ("mains", mains(20)),
    "mains 10 dB": ("mains", mains(10)),
    "mains 0 dB": ("mains", mains(0)),
    "noise 10 dB": ("noisy", noise(10)),
    "noise 0 dB": ("noisy", noise(0)),
    "loose contact 0.5/s": ("contact", contact(0.5)),
    "loose contact 2/s": ("contact", contact(2.0)),
    "baseline 10 dB": ("baseline", baseline(10)),
    "baseline 0 dB": ("baseline", baseline(0)),
}


def _table(head: list[str], rows: list[list[str]]) -> None:
    print("\n| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def run_faults(split: str, data_dir: str | None, seed: int, repeats: int) -> None:
    flagged_units: dict[tuple[str, str], list[bool]] = defaultdict(list)
    hits: dict[tuple[str, str], list[bool]] = defaultdict(list)
    at_rails: list[bool] = []  # myoarmband clipping flags on samples at the int8 rails
    rng = np.random.default_rng(seed)
    for dataset, where in SPLITS[split].items():
        for key, x, y, fs, layout in units(dataset, data_dir, **where):
            scores, details = channel_scores(as_session(x, fs, layout, y, key))
            found = find_faults(scores, details=details)
            for name in FAULT_NAMES:
                flagged = sorted({f.channel for f in found if f.fault == name})
                flagged_units[(dataset, name)].append(bool(flagged))
                if flagged:
                    print(f"clean {key}: {name} on channels {flagged}")
                if name == "clipping" and dataset == "myoarmband":
                    rail = np.isin(x[:, flagged], MYO_RAILS).mean(axis=0)
                    at_rails += (rail >= CHECKS["clipping"].threshold).tolist()
            for label, (check, inject) in [*INJECTIONS.items()] * repeats:
                c = int(rng.integers(x.shape[1]))
                xi = x.copy()
                xi[:, c] = inject(x[:, c], fs, rng)
                sc, det = channel_scores(as_session(xi, fs, layout, y, key))
                got = find_faults(sc, details=det)
                hits[(dataset, label)].append(any(f.channel == c and f.fault == check for f in got))
    names = list(SPLITS[split])
    counts = ", ".join(f"{d} {len(flagged_units[(d, 'flat')])}" for d in names)
    print(f"\nsplit {split}: units {counts}")
    rows = []
    for name, check in CHECKS.items():
        way = ">" if check.above else "<"
        cells = [f"{100 * np.mean(flagged_units[(d, name)]):.1f} %" for d in names]
        rows.append([name, f"{way} {check.threshold:g} {check.unit}", *cells])
    _table(["check", "threshold", *(f"units flagged, {d}" for d in names)], rows)
    print(
        f"\nmyoarmband clipping flags on the originals: {sum(at_rails)} of {len(at_rails)} "
        "channels have that many samples exactly at the int8 rails -128/127"
    )
    rows = [
        [label, check]
        + [f"{100 * np.mean(hits[(d, label)]):.1f} % ({len(hits[(d, label)])})" for d in names]
        for label, (check, _) in INJECTIONS.items()
    ]
    _table(["injected fault", "check", *(f"recall, {d}" for d in names)], rows)


def run_placement(data_dir: str | None, seed: int) -> None:
    rs = load_dataset("myoarmband", data_dir=data_dir).select(split="evaluation")
    rng = np.random.default_rng(seed)
    exact: dict[tuple[str, str], list[bool]] = defaultdict(list)
    conditions = {  # name: (gestures besides rest, fractional part of the rotation)
        "rest + 6 gestures": (6, 0.0),
        "rest + 2 gestures": (2, 0.0),
        "rest + 1 gesture": (1, 0.0),
        "rest + 6 gestures, rotation r + 0.3": (6, 0.3),
    }
    methods = ("labelled", "unlabelled")
    for person in rs.unique("subject"):
        mine = rs.select(subject=person)
        ref = make_reference(list(mine.select(session="training0")))
        for session in ("Test0", "Test1"):
            for cycle in mine.select(session=session).unique("cycle"):
                cyc = mine.select(session=session, cycle=cycle)
                for cond, (k, frac) in conditions.items():
                    keep = [0, *rng.choice(np.arange(1, 7), k, replace=False).tolist()]
                    part = list(cyc.select(gesture=keep))
                    x = np.concatenate([r.emg for r in part])
                    y = np.concatenate([r.labels for r in part])
                    for r in range(8):
                        xr = rotate_ring(x.T[None], r + frac)[0].T
                        for method, labels in zip(methods, (y, None)):
                            est = estimate_rotation(xr, ref, part[0].fs, labels, part[0].layout)
                            exact[(method, cond)].append(est.rotation == r)
    rows = [
        [cond, str(len(exact[("labelled", cond)]))]
        + [f"{100 * np.mean(exact[(m, cond)]):.1f} %" for m in methods]
        for cond in conditions
    ]
    _table(["new recording (rotated 0..7)", "cases", *(f"exact, {m}" for m in methods)], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("part", choices=("faults", "placement"))
    parser.add_argument("--split", choices=tuple(SPLITS), default="report")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2, help="injections per fault and unit")
    args = parser.parse_args(argv)
    if args.part == "faults":
        run_faults(args.split, args.data_dir, args.seed, args.repeats)
    else:
        run_placement(args.data_dir, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
