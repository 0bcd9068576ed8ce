"""Within-session accuracy of myoshift's ``lda-td`` against LibEMG's LDA on the same windows.

For each dataset (``ninapro-db1``, ``3dc``, ``myoarmband`` evaluation subjects), the
``within-session`` protocol gives one fold per subject (Ninapro: repetitions
1,3,4,6,8,9,10 train / 2,5,7 test; 3DC: train / test halves; myoarmband: ``training0`` →
``Test0`` + ``Test1``). Each side is cut with the ``lda-td`` method's window and step exactly
as the benchmark runner does (`make_windows`, majority labels, unlabelled windows dropped).
On those window arrays:

* ours: ``build_estimator("lda-td", fs)`` (Hudgins TD → StandardScaler → scikit-learn LDA),
  fitted on the train windows, accuracy on the test windows; ``rf-td`` likewise (ours only);
* LibEMG 2.0.3: ``FeatureExtractor().extract_features(["MAV","ZC","SSC","WL"], windows)``
  and ``EMGClassifier("LDA")`` fitted through its own path (``fit(feature_dictionary=...)``,
  no scaling, plain ``LinearDiscriminantAnalysis()``), predictions from ``run()``
  (argmax of ``predict_proba``, i.e. an index into the sorted class list, mapped back).

LibEMG pins numpy<2, so it runs in a child process of ``--libemg-python`` fed the very same
arrays through a temporary .npz per fold (see `features_vs_libemg.py`). One command::

    .venv/bin/python benchmarks/lda_vs_libemg.py --data /work/shared/data \
        --libemg-python /tmp/libemg-venv/bin/python

Exit status 1 when, for any dataset, the mean |difference| of per-fold accuracies exceeds
``--tolerance`` percentage points (default 1).
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
from pathlib import Path

import numpy as np

log = logging.getLogger("lda_vs_libemg")

HTD = ["MAV", "ZC", "SSC", "WL"]
DATASETS = ("ninapro-db1", "3dc", "myoarmband")


def libemg_worker(fold_files: list[Path], out_path: Path) -> None:
    """Child process: LibEMG features + LibEMG's LDA classifier on each saved fold."""
    from libemg.emg_predictor import EMGClassifier
    from libemg.feature_extractor import FeatureExtractor

    fe = FeatureExtractor()
    out = {}
    for path in fold_files:
        d = np.load(path)
        classes = np.unique(d["y_train"])
        # LibEMG's run() returns argmax indices of predict_proba, i.e. positions in the
        # sorted class list; train on those positions so predictions map back exactly.
        y_idx = np.searchsorted(classes, d["y_train"])
        train = fe.extract_features(HTD, d["X_train"])
        test = fe.extract_features(HTD, d["X_test"])
        clf = EMGClassifier("LDA")
        clf.fit(feature_dictionary={"training_features": train, "training_labels": y_idx})
        pred_idx, _ = clf.run(test)
        pred = classes[np.asarray(pred_idx, dtype=int)]
        out[path.stem] = float(np.mean(pred == d["y_test"]))
        np.save(path.with_suffix(".pred.npy"), pred)
    out_path.write_text(json.dumps(out))


def _subjects(name: str, data: Path) -> list[object] | None:
    """Evaluation subjects of myoarmband (``eval-*``); every subject elsewhere."""
    if name != "myoarmband":
        return None
    from myoshift.datasets import get_dataset

    ds = get_dataset(name, data_dir=data)
    subs = sorted({u.subject for u in ds.units(ds.root)}, key=str)
    return [s for s in subs if str(s).startswith("eval-")]


def run_dataset(
    name: str, data: Path, libemg_python: str, max_folds: int | None, with_rf: bool
) -> dict[str, object]:
    from myoshift.datasets import load_dataset
    from myoshift.evaluation import get_protocol
    from myoshift.learn import build_estimator, get_method
    from myoshift.signal.windows import make_windows

    t0 = time.perf_counter()
    rset = load_dataset(name, subjects=_subjects(name, data), data_dir=data)
    folds = get_protocol("within-session").split(rset, 0)
    if max_folds:
        folds = folds[:max_folds]
    fs = float(rset[0].fs)
    spec = get_method("lda-td")
    rf_spec = get_method("rf-td")
    assert (rf_spec.window_ms, rf_spec.step_ms) == (spec.window_ms, spec.step_ms)
    log.info(
        "%s: %d recordings, %d folds, fs %g Hz, window %g ms / step %g ms",
        name, len(rset), len(folds), fs, spec.window_ms, spec.step_ms,
    )  # fmt: skip
    ours: dict[str, float] = {}
    same: dict[str, float] = {}  # fraction of test windows with the same prediction
    our_pred: dict[str, np.ndarray] = {}
    rf: dict[str, float] = {}
    n_win: dict[str, tuple[int, int]] = {}
    subjects: dict[str, object] = {}
    t_ours = t_rf = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, fold in enumerate(folds):
            key = f"fold{i:03d}"
            wtr = make_windows(fold.train, spec.window_ms, spec.step_ms)
            wte = make_windows(fold.test, spec.window_ms, spec.step_ms)
            n_win[key] = (len(wtr), len(wte))
            subjects[key] = fold.info.get("subject", fold.name)
            t = time.perf_counter()
            est = build_estimator(spec, fs=fs)
            est.fit(wtr.X, wtr.y)
            our_pred[key] = np.asarray(est.predict(wte.X))
            ours[key] = float(np.mean(our_pred[key] == wte.y))
            t_ours += time.perf_counter() - t
            if with_rf:
                t = time.perf_counter()
                est = build_estimator(rf_spec, fs=fs, seed=0)
                est.fit(wtr.X, wtr.y)
                rf[key] = float(np.mean(np.asarray(est.predict(wte.X)) == wte.y))
                t_rf += time.perf_counter() - t
            path = Path(tmp) / f"{key}.npz"
            np.savez(path, X_train=wtr.X, y_train=wtr.y, X_test=wte.X, y_test=wte.y)
            files.append(path)
            log.info(
                "  %s %s: %d/%d windows, lda-td %.2f%%%s", key, subjects[key], len(wtr),
                len(wte), 100 * ours[key], f", rf-td {100 * rf[key]:.2f}%" if with_rf else "",
            )  # fmt: skip
        opath = Path(tmp) / "libemg.json"
        t = time.perf_counter()
        subprocess.run(
            [libemg_python, __file__, "--worker", str(opath), *map(str, files)],
            check=True,
        )
        t_lib = time.perf_counter() - t
        lib = json.loads(opath.read_text())
        for key, path in zip(ours, files):
            same[key] = float(np.mean(np.load(path.with_suffix(".pred.npy")) == our_pred[key]))
    keys = list(ours)
    diff = np.array([100 * (ours[k] - lib[k]) for k in keys])
    return {
        "dataset": name,
        "folds": keys,
        "subjects": subjects,
        "n_windows": n_win,
        "ours": ours,
        "libemg": lib,
        "rf": rf,
        "same_prediction": same,
        "diff_pp": diff.tolist(),
        "mean_abs_pp": float(np.mean(np.abs(diff))),
        "max_abs_pp": float(np.max(np.abs(diff))),
        "t_ours": t_ours,
        "t_rf": t_rf,
        "t_libemg": t_lib,
        "wall": time.perf_counter() - t0,
    }


def print_table(results: list[dict[str, object]]) -> None:
    print()
    print("| dataset | subjects/folds | train/test windows | lda-td (ours) | LibEMG LDA | "
          "mean abs diff (pp) | max abs diff (pp) | rf-td (ours) | wall (s) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        keys = r["folds"]
        ntr = sum(r["n_windows"][k][0] for k in keys)
        nte = sum(r["n_windows"][k][1] for k in keys)
        ours = 100 * np.mean([r["ours"][k] for k in keys])
        lib = 100 * np.mean([r["libemg"][k] for k in keys])
        rf = f"{100 * np.mean(list(r['rf'].values())):.2f}%" if r["rf"] else "-"
        diffs = f"{r['mean_abs_pp']:.3f} | {r['max_abs_pp']:.3f}"
        print(f"| {r['dataset']} | {len(keys)} | {ntr}/{nte} | {ours:.2f}% | {lib:.2f}% | "
              f"{diffs} | {rf} | {r['wall']:.0f} |")  # fmt: skip
    for r in results:
        print(f"\n{r['dataset']}: per-fold difference ours − LibEMG (pp):")
        print(
            "  " + ", ".join(
                f"{r['subjects'][k]}: {d:+.3f}" for k, d in zip(r["folds"], r["diff_pp"])
            )
        )  # fmt: skip
        agree = 100 * min(r["same_prediction"].values())
        print(f"  identical window predictions: lowest fold {agree:.3f}%")
        print(f"  fit+predict time: lda-td {r['t_ours']:.1f} s, rf-td {r['t_rf']:.1f} s, "
              f"LibEMG child (incl. start-up) {r['t_libemg']:.1f} s")  # fmt: skip


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("MYOSHIFT_DATA",
                    "/work/shared/data")))  # fmt: skip
    ap.add_argument("--libemg-python", default="/tmp/libemg-venv/bin/python")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--max-folds", type=int, default=None, help="first N folds only (smoke)")
    ap.add_argument("--no-rf", action="store_true", help="skip rf-td")
    ap.add_argument("--tolerance", type=float, default=1.0, help="pp, mean |difference|")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw results")
    ap.add_argument("--worker", nargs="+", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        libemg_worker(args.worker[1:], args.worker[0])
        return 0
    t0 = time.perf_counter()
    results = [
        run_dataset(name, args.data, args.libemg_python, args.max_folds, not args.no_rf)
        for name in args.datasets.split(",")
    ]
    print_table(results)
    print(f"\ntotal wall time {time.perf_counter() - t0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    bad = [r["dataset"] for r in results if r["mean_abs_pp"] > args.tolerance]
    if bad:
        print(f"FAIL: mean |difference| above {args.tolerance} pp on {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
