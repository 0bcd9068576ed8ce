"""Speed of myoshift's features against LibEMG's on the same windows of a real dataset.

LibEMG 2.0.3 pins numpy<2 while myoshift runs on numpy 2, so LibEMG lives in its own
environment: the script runs in the project's environment and times LibEMG in a child
process of ``--libemg-python`` on the very same window array (saved to a temporary .npy);
LibEMG's Hudgins TD values come back and are checked against ours. One command::

    python -m venv /tmp/libemg-venv
    /tmp/libemg-venv/bin/pip install libemg "numpy<2" pandas scipy
    .venv/bin/python benchmarks/features_vs_libemg.py --data /work/shared/data \
        --libemg-python /tmp/libemg-venv/bin/python

Windows: every EMG file of the 3DC dataset in ``--data`` (participants present there),
read with pandas, cut into 200-sample windows every 100 samples (200 ms / 100 ms at
1000 Hz) within each file, as float64 ``(n_windows, 10, 200)``. Printed: windows/second
of (a) Hudgins TD on the materialised array, (b) the same features straight from the
recordings (running sums, `features_from_signal`; the recordings are time-first
C-contiguous arrays as ``Recording.emg``, in float64 and in float32, the dtype
``Recording.emg`` holds), (c) every feature both libraries share, next to one read pass
``W.sum(axis=2)`` (the physical limit on a materialised array). When numba is installed
(optional, see ``myoshift.signal.features._accel``), (a) is also timed with NumPy only.
Times are the best of ``--repeats`` runs. LibEMG's per-window-loop features (SAMPEN, LS,
MDF) are timed on ``--subset`` windows and reported as rates; the full-set LibEMG time is
the sum of per-feature times scaled to all windows.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from myoshift.signal.features import _accel, extract_features, features_from_signals

log = logging.getLogger("features_vs_libemg")

#: LibEMG name -> our name for every feature both libraries have (parameters at defaults).
SHARED = {
    "MAV": "mav", "ZC": "zc", "SSC": "ssc", "WL": "wl", "LS": "ls", "MFL": "mfl",
    "MSR": "msr", "WAMP": "wamp", "RMS": "rms", "IAV": "iav", "DASDV": "dasdv",
    "VAR": "var", "M0": "m0", "M2": "m2", "M4": "m4", "SPARSI": "sparsi", "IRF": "irf",
    "WLF": "wlf", "AR": "ar", "CC": "cc", "LD": "log", "MAVFD": "mavfd",
    "MAVSLP": "mavslp", "MDF": "mdf", "MNF": "mnf", "MNP": "mnp", "MPK": "mpk",
    "SKEW": "skew", "KURT": "kurt", "PAP": "pap", "MZP": "mzp", "TM": "tm", "SM": "sm",
    "SAMPEN": "sampen", "ISD": "isd", "COR": "cor", "MDIFF": "mdiff", "MLK": "mlk",
    "ACT": "act", "MOB": "mob", "COMP": "comp", "MEAN": "mean",
}  # fmt: skip
HTD = ["MAV", "ZC", "SSC", "WL"]
SLOW = {"SAMPEN", "LS", "MDF"}
FS = 1000.0
WINDOW, STEP = 200, 100


def load_3dc(root: Path) -> list[np.ndarray]:
    files = sorted((root / "3DCDataset").glob("Participant*/*/EMG/3dc_EMG_gesture_*.txt"))
    if not files:
        raise SystemExit(f"no 3DC EMG files under {root / '3DCDataset'}")
    # time first and C-contiguous, as ``Recording.emg`` (pandas hands out column-major)
    sigs = [np.ascontiguousarray(pd.read_csv(f, header=None).to_numpy(np.float64)) for f in files]
    return [s for s in sigs if s.shape[0] >= WINDOW]


def best(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def libemg_worker(windows_path: Path, out_path: Path, repeats: int, subset: int) -> None:
    """Child process: time LibEMG on the saved windows, write times and HTD values."""
    from libemg.feature_extractor import FeatureExtractor

    fe = FeatureExtractor()
    W = np.load(windows_path)
    n = W.shape[0]
    htd = np.hstack([fe.extract_features([f], W)[f] for f in HTD])
    times = {"htd": best(lambda: fe.extract_features(HTD, W), repeats), "per_feature": {}}
    sub = W[:subset]
    for name in SHARED:
        dic = {f"{name}_fs": FS} if name in ("MDF", "MNF", "SM") else {}
        arr = sub if name in SLOW else W
        t0 = time.perf_counter()
        fe.extract_features([name], arr, dic)
        times["per_feature"][name] = (time.perf_counter() - t0) * n / len(arr)
    np.save(out_path.with_suffix(".npy"), htd)
    out_path.write_text(json.dumps(times))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--libemg-python", default=sys.executable)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--subset", type=int, default=100, help="windows for LibEMG's slow loops")
    ap.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        libemg_worker(args.worker[0], args.worker[1], args.repeats, args.subset)
        return

    sigs = load_3dc(args.data)
    views = [np.lib.stride_tricks.sliding_window_view(s, WINDOW, axis=0)[::STEP] for s in sigs]
    W = np.ascontiguousarray(np.concatenate(views))
    n = W.shape[0]
    log.info("3DC: %d recordings, windows %s float64 (%.0f MB)", len(sigs), W.shape, W.nbytes / 1e6)
    with tempfile.TemporaryDirectory() as tmp:
        wpath, opath = Path(tmp) / "windows.npy", Path(tmp) / "libemg.json"
        np.save(wpath, W)
        log.info("timing LibEMG with %s ...", args.libemg_python)
        subprocess.run(
            [args.libemg_python, __file__, "--worker", str(wpath), str(opath),
             "--repeats", str(args.repeats), "--subset", str(args.subset)],
            check=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
        )  # fmt: skip
        lib = json.loads(opath.read_text())
        ref = np.load(opath.with_suffix(".npy"))
    for name, t in lib["per_feature"].items():
        log.info("  LibEMG %-7s %10.1f windows/s", name, n / t)

    t_read = best(lambda: W.sum(axis=2), args.repeats + 2)
    # (a) Hudgins TD on the materialised array
    ours, _ = extract_features(W, "hudgins-td")
    np.testing.assert_allclose(ours, ref, rtol=1e-9)
    t_ours = best(lambda: extract_features(W, "hudgins-td"), args.repeats)
    rows = [("(a) Hudgins TD, window array", lib["htd"], t_ours)]
    if _accel.enabled():  # the same without the optional numba kernels
        _accel.ENABLED = False
        t_np = best(lambda: extract_features(W, "hudgins-td"), args.repeats)
        _accel.ENABLED = True
        rows.append(("(a') same, NumPy only (no numba)", lib["htd"], t_np))

    # (b) the same straight from the recordings (running sums)
    def fast() -> np.ndarray:
        return features_from_signals(sigs, WINDOW, STEP, "hudgins-td")[0]

    np.testing.assert_allclose(fast(), ref, rtol=1e-9)
    rows.append(("(b) Hudgins TD, from recordings", lib["htd"], best(fast, args.repeats)))
    sigs32 = [s.astype(np.float32) for s in sigs]  # the dtype of Recording.emg (exact here)

    def fast32() -> np.ndarray:
        return features_from_signals(sigs32, WINDOW, STEP, "hudgins-td")[0]

    np.testing.assert_allclose(fast32(), ref, rtol=1e-9)
    rows.append(("(b') same, float32 recordings", lib["htd"], best(fast32, args.repeats)))

    # (c) every shared feature, ours on all windows in one call
    t_all = best(lambda: extract_features(W, list(SHARED.values()), fs=FS), 1)
    rows.append(("(c) all shared features", sum(lib["per_feature"].values()), t_all))
    sampen = best(lambda: extract_features(W[: 10 * args.subset], ["sampen"]), 1)
    log.info(
        "sample entropy: LibEMG %.1f windows/s, myoshift %.0f windows/s",
        n / lib["per_feature"]["SAMPEN"],
        10 * args.subset / sampen,
    )

    print(
        f"\n{n} windows of 10 channels x 200 samples (3DC, float64); one read pass "
        f"W.sum(axis=2): {t_read * 1e3:.1f} ms ({n / t_read:,.0f} windows/s)"
    )
    print(f"{'task':34s} {'LibEMG w/s':>11s} {'myoshift w/s':>13s} {'ratio':>7s} {'/ read':>7s}")
    for task, tl, to in rows:
        print(f"{task:34s} {n / tl:11,.0f} {n / to:13,.0f} {tl / to:6.1f}x {to / t_read:6.1f}x")


if __name__ == "__main__":
    main()
