"""Regimes plug into the runner; Windows (layout, groups) reach the estimator; models are kept."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from myoshift.errors import ConfigError
from myoshift.evaluation import (
    Fold,
    FoldOutcome,
    Method,
    Regime,
    get_regime,
    register_regime,
    run_benchmark,
)
from myoshift.evaluation.regimes import score_conditions
from myoshift.evaluation.runner import model_dir
from myoshift.learn import load_estimator
from myoshift.recording import Layout
from tests.evaluation.helpers import build_centroid, make_set

CENTROID = Method("centroid", build_centroid, window_ms=200, step_ms=100)


def test_grid_layout_reaches_the_network(tmp_path: Path) -> None:
    """A grid model learns the electrode grid and channel map through the runner."""
    cmap = [1, 0, 3, 2, 5, 4, 7, 6]  # row-major grid cell -> EMG channel
    rs = make_set(
        subjects=(1, 2),
        reps=2,
        n_channels=8,
        n_samples=300,
        layout=Layout.grid(4, 2, np.asarray(cmap).reshape(4, 2)),
    )
    res = run_benchmark(
        rs,
        "loso",
        ["mobilenetv2"],
        out_dir=tmp_path,
        overrides={"mobilenetv2": {"epochs": 1, "window_ms": 200, "step_ms": 100}},
        save_models=True,
        show_progress=False,
        write_report=False,
    )
    assert res.n_failed == 0, res.records[0].get("error")
    saved = Path(res.records[0]["model"])
    assert saved == model_dir(tmp_path / "models", res.results.iloc[0:1].pipe(_key))
    chain = load_estimator(saved)
    config = chain.estimator_.network_.config()
    assert list(config["grid"]) == [4, 2]
    assert list(config["channel_map"]) == cmap


def _key(frame: Any) -> Any:
    from myoshift.evaluation.results import RunKey

    row = frame.iloc[0]
    return RunKey(row["dataset"], row["protocol"], row["method"], str(row["fold"]), 0, 0, "")


def test_saved_models_replay_the_scores(tmp_path: Path) -> None:
    rs = make_set(subjects=(1, 2, 3), reps=2)
    kw: dict[str, Any] = dict(
        calibration=[0, 1],
        out_dir=tmp_path,
        save_models=True,
        overrides={"lda-td": {"window_ms": 200, "step_ms": 100}},
        show_progress=False,
    )
    res = run_benchmark(rs, "loso", ["lda-td"], **kw)
    assert res.n_failed == 0
    models = sorted((tmp_path / "models" / "lda-td").rglob("estimator.json"))
    # one chain per fold and budget, each with its estimator nested inside
    assert len([m for m in models if m.parent.name.startswith("cal")]) == 6
    rec = next(r for r in res.records if r["key"]["calibration"] == 1)
    chain = load_estimator(rec["model"])
    fold = rec["key"]["fold"]
    test = rs.select(subject=int(fold)).select(repetition=2)
    acc = float((chain.predict(test) == chain.windows(test).y).mean())
    assert acc == pytest.approx(rec["conditions"][""]["accuracy"])
    # a fresh interpreter loads it with the public API alone (every class registered)
    code = f"from myoshift.learn import load_estimator; print(load_estimator({rec['model']!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and "MethodChain" in out.stdout, out.stderr
    # a rerun with save_models finds everything cached, models included
    again = run_benchmark(rs, "loso", ["lda-td"], **kw)
    assert again.n_computed == 0
    with pytest.raises(ConfigError, match="output folder"):
        run_benchmark(rs, "loso", [CENTROID], save_models=True)


@register_regime
class _HalfTrain(Regime):
    """A toy regime written in a test: fit on the first half of the training recordings."""

    name = "test-half-train"
    prepared: list[int] = []

    def prepare(self, method: Method, folds: Sequence[Fold], seed: int) -> Any:
        train = folds[0].train
        half = train[: max(1, len(train) // 2)]
        type(self).prepared.append(len(half))
        return method.chain(train[0].fs, seed).fit(half)

    def run_fold(
        self, method: Method, prepared: Any, fold: Fold, seed: int, vote: int | None
    ) -> FoldOutcome:
        out = score_conditions(prepared, fold, vote)
        out.info["toy"] = True
        return out


def test_a_toy_regime_plugs_in_without_touching_the_runner(tmp_path: Path) -> None:
    rs = make_set(subjects=(1, 2, 3), reps=2)
    res = run_benchmark(
        rs, "loso", [CENTROID], 0, regime="test-half-train", out_dir=tmp_path, show_progress=False
    )
    assert res.n_failed == 0 and res.meta["regime"] == "test-half-train"
    assert all(r["info"]["toy"] for r in res.records)
    assert _HalfTrain.prepared and len(_HalfTrain.prepared) == 3
    # its results are cached under its own key: the transfer regime recomputes
    again = run_benchmark(rs, "loso", [CENTROID], 0, out_dir=tmp_path, show_progress=False)
    assert again.n_computed == 3
    cached = run_benchmark(
        rs, "loso", [CENTROID], 0, regime="test-half-train", out_dir=tmp_path, show_progress=False
    )
    assert cached.n_cached == 3


def test_unknown_regime() -> None:
    with pytest.raises(ConfigError, match="unknown regime 'nope'; valid: .*transfer"):
        get_regime("nope")


def test_method_with_unknown_step_is_one_line_error(tmp_path: Path) -> None:
    from myoshift.learn.methods import spec_from_dict

    with pytest.raises(ConfigError, match="method 'x'.*unknown preprocess step 'wobble'"):
        spec_from_dict(
            {
                "name": "x",
                "kind": "classical",
                "estimator": "ClassicalClassifier",
                "citation": "c",
                "window_ms": 200,
                "preprocess": ["wobble"],
            }
        )


def test_api_defaults_match_the_cli() -> None:
    """run_benchmark without methods/calibration runs what `myoshift benchmark` runs."""
    import inspect

    from myoshift.cli.benchmark import CLI_N_JOBS
    from myoshift.evaluation.recipes import QUICK_DEEP, default_methods

    params = inspect.signature(run_benchmark).parameters
    assert params["methods"].default is None and params["calibration"].default is None
    names, overrides = default_methods()
    assert names == ["lda-td", "tcn"] and overrides == {"tcn": QUICK_DEEP}
    assert CLI_N_JOBS == -1 and params["n_jobs"].default == 1  # the CLI prints this one
    rs = make_set(subjects=(1, 2), reps=2)
    res = run_benchmark(rs, "loso", [CENTROID], show_progress=False, write_report=False)
    assert res.meta["calibration"] == [0, 1]  # cross-domain protocol: 0 and 1


def test_random_calibration_sampler_is_seeded_and_nested() -> None:
    from myoshift.evaluation import get_protocol

    rs = make_set(subjects=(1, 2), reps=6)

    def cal_reps(seed: int) -> dict[int, list[int]]:
        proto = get_protocol("loso", calibration_sampler="random", sampler_seed=seed)
        out = {}
        for f in proto.split(rs, [1, 3]):
            out[f.info["calibration"]] = sorted({r.meta["repetition"] for r in f.calibration})
            test = {r.meta["repetition"] for r in f.test}
            assert not test & set(out[f.info["calibration"]])
        return out

    a, b = cal_reps(0), cal_reps(0)
    assert a == b and len(a[1]) == 1 and len(a[3]) == 3
    assert set(a[1]) <= set(a[3])  # budgets are nested
    first = get_protocol("loso").split(rs, [3])[0]
    assert sorted({r.meta["repetition"] for r in first.calibration}) == [1, 2, 3]
    draws = {tuple(cal_reps(s)[3]) for s in range(6)}
    assert len(draws) > 1  # not tied to recording order
    with pytest.raises(ConfigError, match="unknown calibration sampler 'best'"):
        get_protocol("loso", calibration_sampler="best")


def test_a_multi_task_chain_reports_classes_and_joint_angles(tmp_path: Path) -> None:
    """One estimator, both metric families (and R² / RMSE per joint) in one condition."""
    from myoshift.learn import MultiTaskEstimator
    from myoshift.recording import AuxStream

    rs = make_set(subjects=(1, 2), reps=2, n_samples=300)
    for i, r in enumerate(rs):
        t = np.arange(60) / 20.0
        r.aux["glove"] = AuxStream(np.stack([np.sin(t + i), t * r.labels[0]], 1), fs=20.0)
    tiny = {"model": "tcn", "model_params": {"width": 8, "dilations": [1]}, "threads": 1}
    method = Method(
        "mt",
        lambda fs, seed: MultiTaskEstimator(**tiny, epochs=1, batch_size=16, seed=seed),
        window_ms=200,
        step_ms=100,
        target="glove",
    )
    res = run_benchmark(rs, "loso", [method], 0, out_dir=tmp_path, show_progress=False)
    assert res.n_failed == 0, res.records[0].get("error")
    metrics = set(res.results["metric"])
    assert {"accuracy", "balanced_accuracy", "r2", "rmse", "r2[0]", "rmse[1]"} <= metrics
