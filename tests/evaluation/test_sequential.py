"""The sequential protocol and regime: days in order, recalibration policies, carried state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from myoshift.cli.main import main
from myoshift.datasets.synthetic import SyntheticDataset
from myoshift.errors import ConfigError
from myoshift.evaluation import Method, available_protocols, get_protocol, get_regime, run_benchmark
from myoshift.evaluation.plots import days_curve
from myoshift.evaluation.sequential import (
    day_fields,
    day_sets,
    first_seconds,
    first_units,
    parse_policy,
    without_labels,
)
from myoshift.learn.chain import MethodChain
from myoshift.recording import UNLABELLED, RecordingSet
from tests.evaluation.helpers import CentroidClassifier, build_centroid, log_rms, make_set

DAYS = (1, 2, 3, 4)


def _days(gain_step: float = 0.0, days: tuple[Any, ...] = DAYS, **kw: Any) -> RecordingSet:
    """Two people, 4 days x 3 repetitions x 3 classes of 2 s; channel 0 of day d scaled by
    1 + gain_step * (d - 1) (an electrode drifting)."""
    rs = make_set(subjects=(1, 2), sessions=days, session_key="day", **kw)
    if not gain_step:
        return rs

    def drift(r: Any) -> Any:
        gain = np.ones(r.n_channels)
        gain[0] = 1 + gain_step * (r.meta["day"] - 1)
        return r.with_emg(r.emg * gain)

    return rs.map(drift)


class _RecalCentroid(CentroidClassifier):
    """Nearest centroid that re-centres its features on unlabelled target windows."""

    def fit(self, X: Any, y: np.ndarray) -> _RecalCentroid:
        super().fit(X, y)
        self.offset_ = np.zeros(self.centroids_.shape[1])
        self.mean_ = log_rms(X).mean(axis=0)
        return self

    def recalibrate(self, X: Any) -> _RecalCentroid:
        self.offset_ = log_rms(X).mean(axis=0) - self.mean_
        return self

    def predict(self, X: Any) -> np.ndarray:
        d = ((log_rms(X) - self.offset_)[:, None, :] - self.centroids_[None]) ** 2
        return np.asarray(self.classes_[np.argmin(d.sum(axis=2), axis=1)])


class _RecalChain(MethodChain):
    """A chain with ``recalibrate`` as the contract says: unlabelled recordings, in place.

    It logs the days it recalibrated on (the log is copied with the chain, so a carried
    model remembers every day and a restarted one only its own)."""

    def recalibrate(self, recordings: Any) -> _RecalChain:
        rset = RecordingSet(recordings)
        assert all((r.labels == UNLABELLED).all() for r in rset), "labels reached recalibrate"
        est = self.estimator_
        if not hasattr(est, "recalibrate"):
            raise ConfigError(f"{type(est).__name__} has no recalibration policy")
        est.recalibrate(self.windows(rset, drop_unlabelled=False))
        self.log_ = [*getattr(self, "log_", []), sorted({r.meta["day"] for r in rset})]
        return self


@dataclass(frozen=True)
class _RecalMethod(Method):
    def chain(self, fs: float, seed: int) -> MethodChain:
        return _RecalChain(self.build(fs, seed), self.window_ms, self.step_ms, [], [])


def _build_recal(fs: float, seed: int) -> _RecalCentroid:
    return _RecalCentroid(fs, seed)


RECAL = _RecalMethod("recal-centroid", _build_recal, window_ms=200, step_ms=100)
NO_POLICY = _RecalMethod("centroid-no-policy", build_centroid, window_ms=200, step_ms=100)
PLAIN = Method("centroid", build_centroid, window_ms=200, step_ms=100)


def _run(rs: RecordingSet, method: Method = RECAL, protocol: str = "sequential", **params: Any):
    """The regime's outcome for the first person (fold), straight from the regime."""
    folds = get_protocol(protocol).split(rs, 0)
    regime = get_regime("sequential", **params)
    regime.check(get_protocol(protocol), folds)
    prepared = regime.prepare(method, folds[:1], 0)
    return regime.run_fold(method, prepared, folds[0], 0, 5)


# -- the protocol ----------------------------------------------------------------------------
def test_one_fold_per_person_trained_on_the_first_days() -> None:
    rs = _days()
    folds = get_protocol("sequential").split(rs, 0)
    assert [f.name for f in folds] == ["1", "2"]
    for f in folds:
        assert set(f.train.unique("day")) == {1} and set(f.test.unique("day")) == {2, 3, 4}
        assert f.info["train_values"] == [1] and f.info["test_values"] == [2, 3, 4]
        assert len(f.calibration) == 0
    two = get_protocol("sequential:2")
    assert two.label == "sequential:2" and two.default_regime == "sequential"
    assert set(two.split(rs, 0)[0].train.unique("day")) == {1, 2}
    assert "sequential (by day)" in available_protocols(rs)


def test_sessions_serve_when_there_are_no_days() -> None:
    rs = make_set(subjects=(1,), sessions=("train", "test"), reps=2)
    (fold,) = get_protocol("sequential").split(rs, 0)
    assert fold.info["sequence_column"] == "session"
    assert fold.info["train_values"] == ["train"] and fold.info["test_values"] == ["test"]


def test_refusals_name_what_the_data_can_honour() -> None:
    one_day = make_set(subjects=(1, 2), sessions=(1,), reps=3)
    with pytest.raises(ConfigError) as err:
        get_protocol("sequential").split(one_day, 0)
    text = str(err.value)
    assert "no subject recorded in two or more days or sessions" in text
    assert "protocols that test can honour: within-session" in text and "\n" not in text
    with pytest.raises(ConfigError, match="no person of dataset.*more than 4 day.*at most 4"):
        get_protocol("sequential:4").split(_days(), 0)
    with pytest.raises(ConfigError, match="takes calibration 0 only.*recalibrate=labelled:1"):
        get_protocol("sequential").split(_days(), [0, 1])
    for bad in ("sequential:x", "sequential:0"):
        with pytest.raises(ConfigError, match="sequential:D needs"):
            get_protocol(bad)


# -- helpers ---------------------------------------------------------------------------------
def test_days_in_natural_order_and_day_fields() -> None:
    rs = _days(days=(10, 2, 1))
    assert [v for v, _ in day_sets(rs, "day")] == [1, 2, 10]
    assert day_fields(10, 2, [1]) == {"days_since_training": 9, "day": 10}
    assert day_fields("test", 1, ["train"]) == {"days_since_training": 1}


def test_first_units_and_first_seconds_split_a_day() -> None:
    day = make_set(subjects=(1,), reps=3, classes=3)  # 9 recordings of 2 s, reps 1..3
    head, rest = first_units(day, 1, "day 2")
    assert set(head.unique("repetition")) == {1} and set(rest.unique("repetition")) == {2, 3}
    with pytest.raises(ConfigError, match="day 2: labelled:3 .* has 3: at most labelled:2"):
        first_units(day, 3, "day 2")
    head, rest = first_seconds(day, 7.0, "day 2")
    assert head.total_seconds == pytest.approx(7.0) and rest.total_seconds == pytest.approx(11.0)
    # repetition order: all of repetition 1 (3 x 2 s), then the start of repetition 2
    assert [r.meta["repetition"] for r in head] == [1, 1, 1, 2]
    assert head[-1].n_samples == 100 and rest[0].meta["segment_start"] == 100
    with pytest.raises(ConfigError, match="day 2 lasts 18.0 s: first-minute takes the first 60 s"):
        first_seconds(day, 60.0, "day 2")
    assert all((r.labels == UNLABELLED).all() for r in without_labels(day))


def test_policies_parse_or_refuse() -> None:
    assert parse_policy("labelled:3") == ("labelled", 3)
    assert parse_policy("previous-day") == ("previous-day", 0)
    for bad in ("labelled", "labelled:0", "labelled:x", "nope", "none:1"):
        with pytest.raises(ConfigError, match="valid: none, previous-day, first-minute"):
            parse_policy(bad)
    with pytest.raises(ConfigError, match="carry must be true or false"):
        get_regime("sequential", carry="yes")
    with pytest.raises(ConfigError, match="first_s must be > 0"):
        get_regime("sequential", recalibrate="first-minute", first_s=0)


# -- the regime ------------------------------------------------------------------------------
def test_days_visited_in_order_state_carried_or_restarted() -> None:
    rs = _days()
    carried = _run(rs, recalibrate="previous-day")
    assert list(carried.conditions) == ["day=2", "day=3", "day=4"]
    # the day after training follows a labelled day: recalibrated before days 3 and 4 only
    assert carried.model.log_ == [[2], [3]]
    assert [c["recalibration_s"] for c in carried.conditions.values()] == [0.0, 18.0, 18.0]
    restarted = _run(rs, recalibrate="previous-day", carry=False)
    assert restarted.model.log_ == [[3]]
    minute = _run(rs, recalibrate="first-minute", first_s=4.0)
    assert minute.model.log_ == [[2], [3], [4]]
    assert [c["days_since_training"] for c in minute.conditions.values()] == [1, 2, 3]
    assert [c["day"] for c in minute.conditions.values()] == [2, 3, 4]


def test_labelled_repetitions_carry_as_data_not_as_adaptations() -> None:
    rs = _days()
    carried = _run(rs, PLAIN, recalibrate="labelled:1")
    restarted = _run(rs, PLAIN, recalibrate="labelled:1", carry=False)
    # day 4: the training model adapted on repetition 1 of days 2, 3 and 4 (9 recordings
    # x 19 windows) or of day 4 alone
    assert carried.model.n_adapt_ == 9 * 19 and restarted.model.n_adapt_ == 3 * 19


def test_recalibration_data_is_left_out_of_the_test() -> None:
    rs = _days()
    n = {p: _run(rs, recalibrate=p).conditions["day=2"]["n"] for p in ("none", "labelled:1")}
    minute = _run(rs, recalibrate="first-minute", first_s=6.0).conditions["day=2"]
    # 9 recordings of 2 s, 200 ms windows every 100 ms: 19 windows each
    assert n["none"] == 9 * 19 and n["labelled:1"] == 6 * 19  # repetition 1 not tested
    assert minute["n"] == 6 * 19 and minute["recalibration_s"] == pytest.approx(6.0)
    with pytest.raises(ConfigError, match="person 1, day 2: labelled:3 .* has 3"):
        _run(rs, recalibrate="labelled:3")


def test_unlabelled_recalibration_follows_a_drifting_gain() -> None:
    rs = _days(gain_step=2.0)  # channel 0 of day 4: 7 times as loud as on day 1
    acc = {
        p: _run(rs, recalibrate=p, first_s=4.0).conditions["day=4"]["accuracy"]
        for p in ("none", "first-minute")
    }
    assert acc["first-minute"] > acc["none"] + 0.2


def test_a_policy_the_method_cannot_take_is_one_line_naming_both(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        _run(_days(), NO_POLICY, recalibrate="first-minute", first_s=4.0)
    assert str(err.value) == (
        "method 'centroid-no-policy' under recalibration policy 'first-minute': "
        "CentroidClassifier has no recalibration policy"
    )
    res = run_benchmark(
        _days(), "sequential", [PLAIN], regime=get_regime("sequential", recalibrate="previous-day"),
        show_progress=False,
    )  # fmt: skip
    assert res.n_failed == 2
    error = res.records[0]["error"]
    # whether the chain's message names the method or the regime adds it: both named once
    assert error.count("method 'centroid'") == 1 and "policy 'previous-day'" in error
    assert "\n" not in error


def test_the_regime_needs_the_sequential_protocol() -> None:
    rs = _days()
    with pytest.raises(ConfigError, match="needs protocol 'sequential' \\(got 'cross-day'\\)"):
        run_benchmark(rs, "cross-day", [PLAIN], 0, regime="sequential", show_progress=False)


def test_end_to_end_lda_on_synthetic_days(tmp_path: Path) -> None:
    data = SyntheticDataset(
        n_subjects=2, n_sessions=3, n_repetitions=2, n_classes=3, rep_seconds=1.0,
        rest_seconds=0.5,
    ).load()  # fmt: skip
    res = run_benchmark(data, "sequential", ["lda-td"], out_dir=tmp_path, show_progress=False)
    assert res.n_failed == 0 and res.meta["regime"] == "sequential"
    acc = res.summary[res.summary["metric"] == "accuracy"]
    assert acc["condition"].tolist() == ["day=2", "day=3"] and (acc["n"] == 2).all()
    since = res.summary[res.summary["metric"] == "days_since_training"]
    assert since["mean"].tolist() == [1.0, 2.0]
    assert (tmp_path / "plots" / "days.png").is_file()
    assert "days since the last training day" in (tmp_path / "report.html").read_text()
    labelled = run_benchmark(
        data, "sequential", ["lda-td"], out_dir=tmp_path, show_progress=False,
        regime=get_regime("sequential", recalibrate="labelled:1"),
    )  # fmt: skip
    assert labelled.n_computed == 2 and labelled.n_failed == 0  # its own cache key
    assert labelled.meta["regime_params"] == {"recalibrate": "labelled:1", "carry": True}
    again = run_benchmark(data, "sequential", ["lda-td"], out_dir=tmp_path, show_progress=False)
    assert again.n_cached == 2


def test_days_curve_needs_days_since_training(tmp_path: Path) -> None:
    cols = ["dataset", "protocol", "method", "fold", "subject", "calibration", "seed"]
    base = dict(zip(cols, ["d", "sequential", "m", "1", 1, 0, 0]))
    rows = [
        {**base, "condition": f"day={d}", "metric": m, "value": v, "gap": None}
        for d in (2, 3)
        for m, v in (("accuracy", 0.9 - 0.1 * d), ("days_since_training", d - 1))
    ]
    df = pd.DataFrame(rows)
    assert days_curve(df[df["metric"] == "accuracy"], tmp_path / "a.png") is None
    assert days_curve(df, tmp_path / "b.png") == tmp_path / "b.png"


# -- the CLI ---------------------------------------------------------------------------------
def test_cli_sequential_with_a_regime_parameter(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["benchmark", "--protocol", "sequential", "--methods", "lda-td", "--subjects", "1"]
    rc = main([*args, "--n-jobs", "1", "--out", str(tmp_path), "--regime-param", "carry=false",
               "--regime-param", "recalibrate=labelled:1", "--json"])  # fmt: skip
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["regime"] == "sequential"
    assert summary["regime_params"] == {"recalibrate": "labelled:1", "carry": False}
    assert {r["condition"] for r in summary["summary"]} >= {"day=2"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--regime-param", "carry"], "--regime-param takes KEY=VALUE"),
        (["--regime-param", "policy=none"], "takes parameters recalibrate, carry, first_s"),
        (["--regime-param", "recalibrate=labelled:0"], "unknown recalibration policy"),
        (["--calibration", "1"], "takes calibration 0 only"),
    ],
)
def test_cli_bad_input_is_one_line(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rc = main(["benchmark", "--protocol", "sequential", *extra, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
