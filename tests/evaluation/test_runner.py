"""The runner: outputs, resume from cache, crash isolation, calibration, parallel folds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from myoshift.errors import ConfigError
from myoshift.evaluation import Method, run_benchmark
from myoshift.evaluation.results import RESULT_COLUMNS
from tests.evaluation.helpers import (
    build_broken,
    build_centroid,
    build_fragile,
    build_noadapt,
    make_set,
)

CENTROID = Method("centroid", build_centroid, window_ms=200, step_ms=100)


def test_outputs_written(tmp_path: Path) -> None:
    rs = make_set(subjects=(1, 2, 3), sessions=(1, 2), reps=2)
    res = run_benchmark(rs, "loso", [CENTROID], calibration=[0, 1], out_dir=tmp_path)
    assert res.n_failed == 0 and res.n_computed == 6 and res.n_cached == 0
    df = pd.read_csv(tmp_path / "results.csv")
    assert list(df.columns[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    acc = df[df["metric"] == "accuracy"]
    assert len(acc) == 6 and acc["value"].between(0, 1).all()
    assert {
        "balanced_accuracy",
        "f1_macro",
        "accuracy_vote5",
        "recall[1]",
        "wall_s",
        "peak_rss_mb",
        "peak_traced_mb",
    } <= set(df["metric"])
    assert acc["value"].mean() > 0.8  # the classes are easy to tell apart
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["protocol"] == "loso" and summary["n_failed"] == 0
    cell = [s for s in summary["summary"] if s["metric"] == "accuracy" and s["calibration"] == 1]
    assert cell[0]["n"] == 3 and 0 <= cell[0]["std"] <= 1
    html = (tmp_path / "report.html").read_text()
    assert "plots/per_subject.png" in html and "plots/calibration.png" in html
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert "confusion_centroid_c0.png" in pngs and "per_subject.png" in pngs
    assert all((tmp_path / "plots" / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)
    rec = res.records[0]
    assert rec["resources"]["n_train"] > 0 and rec["resources"]["wall_s"] > 0


def test_resume_recomputes_only_missing_run(tmp_path: Path) -> None:
    rs = make_set(subjects=(1, 2, 3), reps=2)
    first = run_benchmark(rs, "loso", [CENTROID], calibration=[0, 1], out_dir=tmp_path)
    files = sorted((tmp_path / "runs").rglob("*.json"))
    assert len(files) == 6
    victim = next(f for f in files if f.name.startswith("2-c1-"))
    victim.unlink()
    again = run_benchmark(
        rs, "loso", [CENTROID], calibration=[0, 1], out_dir=tmp_path, write_report=False
    )
    assert again.n_computed == 1 and again.n_cached == 5
    assert victim.exists()
    pd.testing.assert_frame_equal(
        first.results[first.results["metric"] == "accuracy"].reset_index(drop=True),
        again.results[again.results["metric"] == "accuracy"].reset_index(drop=True),
    )
    # another configuration (window) is another cache entry
    other = Method("centroid", build_centroid, window_ms=300, step_ms=100)
    third = run_benchmark(
        rs, "loso", [other], calibration=[0, 1], out_dir=tmp_path, write_report=False
    )
    assert third.n_computed == 6


def test_crash_in_one_fold_is_isolated(tmp_path: Path) -> None:
    rs = make_set(subjects=(1, 2, 3), reps=2, gain={2: 1000.0})
    fragile = Method("fragile", build_fragile, window_ms=200, step_ms=100)
    # calibration given: the API's default is now the CLI's (0 and 1 on cross-domain protocols)
    res = run_benchmark(rs, "loso", [fragile, CENTROID], calibration=0, out_dir=tmp_path)
    assert res.n_failed == 1
    err = res.results[res.results["metric"] == "error"]
    assert list(err["fold"]) == ["2"] and list(err["method"]) == ["fragile"]
    assert "signal too large" in err["error"].iloc[0]
    ok = res.results[(res.results["metric"] == "accuracy")]
    assert len(ok) == 2 + 3
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["failures"][0]["fold"] == "2"
    broken = run_benchmark(rs, "loso", [Method("broken", build_broken)], calibration=[0, 1])
    assert broken.n_failed == 6
    assert broken.results["error"].str.startswith("fit failed: ValueError: this method").all()
    # failures are not cached: a rerun tries again
    again = run_benchmark(
        rs, "loso", [fragile, CENTROID], calibration=0, out_dir=tmp_path, write_report=False
    )
    assert again.n_computed == 1 and again.n_failed == 1


def test_calibration_adapts_and_needs_adapt() -> None:
    # subject 3 is scaled: zero-shot suffers, adapting the centroids on one rep fixes it
    rs = make_set(subjects=(1, 2, 3), reps=3, gain={3: np.array([8.0, 1.0, 1.0, 1.0])})
    res = run_benchmark(rs, "loso", [CENTROID], calibration=[0, 1], show_progress=False)
    acc = res.results[(res.results["metric"] == "accuracy") & (res.results["fold"] == "3")]
    by_k = acc.set_index("calibration")["value"]
    assert by_k[1] > by_k[0] and by_k[1] > 0.9
    assert res.records[1]["info"]["n_calibration"] > 0
    noadapt = Method("majority", build_noadapt)
    res = run_benchmark(rs, "loso", [noadapt], calibration=[0, 1])
    errs = res.results[res.results["metric"] == "error"]
    assert len(errs) == 3 and errs["error"].str.contains("no adapt").all()
    assert res.n_failed == 3


def test_electrode_shift_conditions_in_results(tmp_path: Path) -> None:
    rs = make_set(subjects=(1,), reps=3)
    res = run_benchmark(rs, "electrode-shift", [CENTROID], out_dir=tmp_path)
    acc = res.results[res.results["metric"] == "accuracy"]
    assert set(acc["condition"]) == {
        "shift=-1",
        "shift=+0",
        "shift=+1",
        "shift=-1/aug",
        "shift=+0/aug",
        "shift=+1/aug",
    }
    assert set(acc[acc["fold"] == "1:aug"]["condition"]) == {
        "shift=-1/aug",
        "shift=+0/aug",
        "shift=+1/aug",
    }
    assert set(acc["fold"]) == {"1:aug", "1:noaug"}
    noaug = acc[acc["fold"] == "1:noaug"].set_index("condition")["value"]
    assert noaug["shift=+0"] > noaug["shift=+1"]
    assert (tmp_path / "plots" / "conditions.png").exists()


@pytest.mark.slow
def test_parallel_matches_serial(tmp_path: Path) -> None:
    rs = make_set(subjects=(1, 2, 3), reps=2)
    serial = run_benchmark(rs, "loso", [CENTROID], calibration=[0, 1])
    par = run_benchmark(
        rs, "loso", [CENTROID], calibration=[0, 1], n_jobs=2, out_dir=tmp_path, write_report=False
    )
    a = serial.results[serial.results["metric"] == "accuracy"]["value"].to_numpy()
    b = par.results[par.results["metric"] == "accuracy"]["value"].to_numpy()
    np.testing.assert_allclose(a, b)
    assert par.n_computed == 6


def test_bad_arguments() -> None:
    rs = make_set(subjects=(1, 2), reps=2)
    with pytest.raises(ConfigError, match="no methods"):
        run_benchmark(rs, "loso", [])
    with pytest.raises(ConfigError, match="given twice"):
        run_benchmark(rs, "loso", [CENTROID, CENTROID])
    with pytest.raises(ConfigError, match="not evaluated"):
        run_benchmark(rs, "loso", [CENTROID], overrides={"other": {"epochs": 1}})
    with pytest.raises(ConfigError, match="registered methods"):
        run_benchmark(rs, "loso", [CENTROID], overrides={"centroid": {"epochs": 1}})
    with pytest.raises(ConfigError, match="unknown protocol"):
        run_benchmark(rs, "nope", [CENTROID])


def test_cross_day_gap_in_results_and_plot(tmp_path: Path) -> None:
    rs = make_set(subjects=(1,), sessions=(1, 2, 3), session_key="day", rep_key="trial", reps=2)
    res = run_benchmark(rs, "cross-day", [CENTROID], calibration=[0, 1], out_dir=tmp_path)
    acc = res.results[res.results["metric"] == "accuracy"]
    assert sorted(set(zip(acc["fold"], acc["gap"]))) == [
        ("1:1->2", 1),
        ("1:1->3", 2),
        ("1:2->3", 1),
    ]
    assert (tmp_path / "plots" / "gap.png").exists()


def test_shared_source_set_is_fitted_once() -> None:
    """`predefined`: every target subject and budget reuses the one source model."""
    fits: list[int] = []

    def build_counting(fs: float, seed: int):  # type: ignore[no-untyped-def]
        est = build_centroid(fs, seed)
        fit = est.fit
        est.fit = lambda *a, **k: (fits.append(1), fit(*a, **k))[1]  # type: ignore[method-assign]
        return est

    split = {1: "pretraining", 2: "pretraining", 3: "evaluation", 4: "evaluation"}
    rs = make_set(
        subjects=(1, 2, 3, 4),
        sessions=(1, 2),
        dataset="synthetic",
        extra={s: {"split": v} for s, v in split.items()},
    )
    res = run_benchmark(
        rs, "predefined", [Method("counting", build_counting)], calibration=[0, 1], n_jobs=1
    )
    assert res.n_failed == 0
    assert res.meta["n_folds"] == 2 and len(res.records) == 4
    assert len(fits) == 1


def test_ensemble_cache_key_covers_member_recipes() -> None:
    """Editing a member's config must not serve the ensemble's cached results."""
    from myoshift.evaluation.runner import resolve_method
    from myoshift.learn.methods import get_method

    method = resolve_method("tcn-lda-ensemble")
    referenced = method.cache_params([])["referenced_methods"]
    assert sorted(referenced) == ["lda-tdar", "tcn-transfer"]
    assert referenced["tcn-transfer"]["params"] == get_method("tcn-transfer").params


def test_regression_method_end_to_end(tmp_path: Path) -> None:
    """A regression method (``target: glove``) is fitted, calibrated and scored on the
    auxiliary stream sampled at window ends; outputs carry regression metrics."""
    from myoshift.evaluation.runner import resolve_method
    from myoshift.recording import AuxStream, RecordingSet
    from tests.evaluation.helpers import ninapro_like

    recs = []
    for subject in (1, 2):
        r = ninapro_like(subject=subject)
        # the "joint angles" follow the active gesture: gesture c bends joint c - 1
        angles = np.eye(4)[np.maximum(r.labels, 0)][:, 1:] * 60.0
        r.aux["glove"] = AuxStream(angles, fs=r.fs)
        recs.append(r)
    rs = RecordingSet(recs)
    method = resolve_method("ridge-td-glove")
    assert method.target == "glove" and method.params["target"] == "glove"
    assert "target" not in resolve_method("lda-td").params  # classification keys unchanged
    res = run_benchmark(rs, "within-session", ["ridge-td-glove"], out_dir=tmp_path)
    assert res.n_failed == 0, res.records[0].get("error")
    df = pd.read_csv(tmp_path / "results.csv")
    r2 = df[df["metric"] == "r2"]
    assert len(r2) == 2 and (r2["value"] > 0.5).all()
    assert {"rmse", "pearson_r", "nmse"} <= set(df["metric"]) and "accuracy" not in set(
        df["metric"]
    )
    html = (tmp_path / "report.html").read_text()
    assert "r2" in html and "plots/per_subject.png" in html
    again = run_benchmark(rs, "within-session", ["ridge-td-glove"], out_dir=tmp_path)
    assert again.n_cached == 2 and again.n_computed == 0
    # a dataset without the stream: a clear per-run error, not a crash or a silent label fit
    plain = RecordingSet([ninapro_like(subject=3)])
    bad = run_benchmark(plain, "within-session", ["ridge-td-glove"], show_progress=False)
    assert bad.n_failed == 1 and "no auxiliary stream 'glove'" in bad.records[0]["error"]
