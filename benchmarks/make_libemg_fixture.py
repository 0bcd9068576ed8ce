"""Compute LibEMG's feature values on windows of real recordings and save a small fixture.

LibEMG is a benchmark-only dependency (it pins numpy<2, so it lives in its own virtual
environment). Run::

    python -m venv /tmp/libemg-venv && /tmp/libemg-venv/bin/pip install libemg "numpy<2"
    /tmp/libemg-venv/bin/python benchmarks/make_libemg_fixture.py \
        --data /work/shared/data --out tests/fixtures/libemg_features.npz

Windows come straight from the original files (read with NumPy, no myoshift import):
3DC (10 channels, 1000 Hz, 200-sample windows, integer ADC counts) and LibEMG's
OneSubjectMyoDataset (8 channels, 200 Hz, 40-sample windows). They are stored as int16
(exact: both datasets are integers) next to LibEMG's float64 outputs, so
``tests/signal/test_features_libemg.py`` recomputes our features on the same windows
without LibEMG.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger("make_libemg_fixture")

#: (LibEMG name, parameters passed through feature_dic) for every feature both libraries have.
FEATURES: list[tuple[str, dict]] = [
    ("MAV", {}), ("ZC", {}), ("SSC", {}), ("WL", {}), ("LS", {}), ("MFL", {}), ("MSR", {}),
    ("WAMP", {}), ("RMS", {}), ("IAV", {}), ("DASDV", {}), ("VAR", {}), ("M0", {}),
    ("M2", {}), ("M4", {}), ("SPARSI", {}), ("IRF", {}), ("WLF", {}), ("AR", {}),
    ("CC", {}), ("LD", {}), ("MAVFD", {}), ("MAVSLP", {}), ("MDF", {"fs": True}),
    ("MNF", {"fs": True}), ("MNP", {}), ("MPK", {}), ("SKEW", {}), ("KURT", {}),
    ("PAP", {}), ("MZP", {}), ("TM", {}), ("SM", {"fs": True}), ("SAMPEN", {}),
    ("ISD", {}), ("COR", {}), ("MDIFF", {}), ("MLK", {}), ("ACT", {}), ("MOB", {}),
    ("COMP", {}), ("MEAN", {}),
]  # fmt: skip

#: Extra runs with non-default parameters: (key, LibEMG name, feature_dic).
VARIANTS: list[tuple[str, str, dict]] = [
    ("SSC_thr", "SSC", {"SSC_threshold": 25.0}),
    ("WAMP_thr", "WAMP", {"WAMP_threshold": 10.0}),
    ("AR6", "AR", {"AR_order": 6}),
    ("TM4", "TM", {"TM_order": 4}),
    ("SM1", "SM", {"SM_order": 1}),
    ("SAMPEN_3", "SAMPEN", {"SAMPEN_dim": 3, "SAMPEN_tolerance": 0.2}),
]


def windows_3dc(root: Path, per_file: int = 3) -> np.ndarray:
    """``per_file`` 200-sample windows from each class file of 3DC participant 1, rep 0."""
    out = []
    folder = root / "3DCDataset" / "Participant1" / "train" / "EMG"
    for cls in range(11):
        x = np.loadtxt(folder / f"3dc_EMG_gesture_0_{cls}.txt", delimiter=",")
        for k in range(per_file):
            s = 1000 + k * 1100
            out.append(x[s : s + 200].T)
    return np.stack(out)


def windows_myo(root: Path, per_file: int = 8) -> np.ndarray:
    """``per_file`` 40-sample windows from each class of LibEMG's one-subject Myo data."""
    out = []
    folder = root / "OneSubjectMyoDataset" / "trial_1"
    for cls in range(5):
        x = np.loadtxt(folder / f"R_0_C_{cls}.csv", delimiter=",")
        for k in range(per_file):
            s = 20 + k * 45
            out.append(x[s : s + 40].T)
    return np.stack(out)


def compute(fe, windows: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    res: dict[str, np.ndarray] = {}
    for name, opts in FEATURES:
        dic = {f"{name}_fs": float(fs)} if opts.get("fs") else {}
        res[name] = np.asarray(fe.extract_features([name], windows, dic)[name], dtype=np.float64)
    for key, name, dic in VARIANTS:
        d = dict(dic)
        if name == "SM":
            d["SM_fs"] = float(fs)
        res[key] = np.asarray(fe.extract_features([name], windows, d)[name], dtype=np.float64)
    return res


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--out", type=Path, default=Path("tests/fixtures/libemg_features.npz"))
    args = ap.parse_args()
    import libemg
    from libemg.feature_extractor import FeatureExtractor

    fe = FeatureExtractor()
    arrays: dict[str, np.ndarray] = {}
    for ds, win, fs in (
        ("3dc", windows_3dc(args.data), 1000.0),
        ("myo", windows_myo(args.data), 200.0),
    ):
        assert np.array_equal(win, np.round(win)) and np.abs(win).max() < 2**15
        arrays[f"{ds}__windows"] = win.astype(np.int16)
        arrays[f"{ds}__fs"] = np.array(fs)
        for key, val in compute(fe, win.astype(np.float64), fs).items():
            arrays[f"{ds}__{key}"] = val
        log.info("%s: %s windows %s", ds, win.shape[0], win.shape)
    meta = {
        "libemg_version": getattr(libemg, "__version__", "2.0.3"),
        "numpy_version": np.__version__,
        "variants": {k: dic for k, _, dic in VARIANTS},
    }
    arrays["meta_json"] = np.array(json.dumps(meta))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    log.info("wrote %s (%.0f KB)", args.out, args.out.stat().st_size / 1024)


if __name__ == "__main__":
    main()
