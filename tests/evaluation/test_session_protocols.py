"""within-session, cross-session, cross-day: splits by repetition, session and day."""

from __future__ import annotations

import numpy as np
import pytest

from myoshift.errors import ConfigError
from myoshift.evaluation import get_protocol
from myoshift.evaluation.protocols import available_protocols
from myoshift.evaluation.units import sample_units
from myoshift.recording import RecordingSet
from myoshift.signal.windows import make_windows
from tests.evaluation.helpers import make_set, ninapro_like
from tests.evaluation.test_protocols import assert_disjoint


def test_within_session_generic_two_thirds() -> None:
    rs = make_set(subjects=(1, 2), sessions=(1, 2), reps=6)
    folds = get_protocol("within-session").split(rs)
    assert [f.name for f in folds] == ["1/1", "1/2", "2/1", "2/2"]
    for f in folds:
        assert_disjoint(f)
        assert {r.meta["repetition"] for r in f.train} == {1, 2, 3, 4}
        assert {r.meta["repetition"] for r in f.test} == {5, 6}
        assert len(f.train) == 4 * 3 and len(f.test) == 2 * 3 and len(f.calibration) == 0
        assert {r.meta["subject"] for r in [*f.train, *f.test]} == {f.info["subject"]}
    with pytest.raises(ConfigError, match="calibration 0"):
        get_protocol("within-session").split(rs, [0, 1])


def test_within_session_ninapro_standard_split_cuts_inside_recording() -> None:
    rs = RecordingSet([ninapro_like(1), ninapro_like(2)])
    folds = get_protocol("within-session").split(rs)
    assert len(folds) == 2
    for f in folds:
        train_reps = {int(v) for r in f.train for v in np.unique(sample_units(r))}
        test_reps = {int(v) for r in f.test for v in np.unique(sample_units(r))}
        assert train_reps == {1, 3, 4, 6, 8, 9, 10}
        assert test_reps == {2, 5, 7}
        # pieces of one recording; rest after a repetition goes with it
        n_train = sum(r.n_samples for r in f.train)
        n_test = sum(r.n_samples for r in f.test)
        assert n_train + n_test == rs[0].n_samples
        assert n_test == 3 * 3 * 120
        w = make_windows(f.test, 200, 100)
        assert set(w.y.tolist()) == {0, 1, 2, 3}


def test_within_session_myoarmband_and_3dc_defaults() -> None:
    extra = {1: {"split": "pretraining"}, 2: {"split": "evaluation"}, 3: {"split": "evaluation"}}
    pre = make_set(subjects=(1,), sessions=("training0",), dataset="myoarmband", extra=extra)
    ev = make_set(
        subjects=(2, 3),
        sessions=("training0", "Test0", "Test1"),
        dataset="myoarmband",
        rep_key="cycle",
        extra=extra,
    )
    folds = get_protocol("within-session").split(pre + ev)
    assert [f.info["subject"] for f in folds] == [2, 3]
    for f in folds:
        assert {r.meta["session"] for r in f.train} == {"training0"}
        assert {r.meta["session"] for r in f.test} == {"Test0", "Test1"}
    tdc = make_set(subjects=(1, 2), sessions=("train", "test"), dataset="3dc", reps=4)
    folds = get_protocol("within-session").split(tdc)
    assert len(folds) == 2
    assert all({r.meta["session"] for r in f.test} == {"test"} for f in folds)


def test_cross_day_first_and_consecutive_with_calibration() -> None:
    rs = make_set(subjects=(1,), sessions=(1, 2, 3, 4), session_key="day", rep_key="trial", reps=4)
    folds = get_protocol("cross-day").split(rs, [0, 1, 2])
    names = list(dict.fromkeys(f.name for f in folds))
    assert names == ["1:1->2", "1:1->3", "1:1->4", "1:2->3", "1:3->4"]
    assert len(folds) == 5 * 3
    by = {(f.name, f.info["calibration"]): f for f in folds}
    f = by[("1:1->4", 2)]
    assert f.info["gap"] == 3 and f.info["train_domain"] == "1" and f.info["test_domain"] == "4"
    assert {r.meta["day"] for r in f.train} == {1}
    assert {(r.meta["day"], r.meta["trial"]) for r in f.calibration} == {(4, 1), (4, 2)}
    assert {(r.meta["day"], r.meta["trial"]) for r in f.test} == {(4, 3), (4, 4)}
    # the same test data for every budget
    assert len(by[("1:1->4", 0)].test) == len(f.test)
    assert len(by[("1:1->4", 0)].calibration) == 0
    assert len(by[("1:1->4", 1)].calibration) == 3
    for f in folds:
        assert_disjoint(f)
    first = get_protocol("cross-day", mode="first").split(rs)
    assert [f.name for f in first] == ["1:1->2", "1:1->3", "1:1->4"]


def test_cross_day_impossible_on_one_day() -> None:
    rs = make_set(subjects=(1, 2), sessions=(1,), session_key="day")
    with pytest.raises(ConfigError, match="two or more days"):
        get_protocol("cross-day").split(rs)


def test_cross_day_refuses_sessions_of_one_day_and_names_what_the_data_honours() -> None:
    # 3dc-like: a train and a test session of the same day, no day column
    rs = make_set(subjects=(1, 2), sessions=("train", "test"), dataset="3dc", reps=2)
    with pytest.raises(ConfigError) as err:
        get_protocol("cross-day").split(rs, [0, 1])
    msg = str(err.value)
    assert "\n" not in msg and "no 'day' column" in msg
    assert msg.endswith(
        "protocols that 3dc can honour: within-session, cross-session (by session), "
        "leave-group-out:session, loso, electrode-shift, sequential (by session)"
    )
    assert available_protocols(rs) == [
        "within-session",
        "cross-session (by session)",
        "leave-group-out:session",
        "loso",
        "electrode-shift",
        "sequential (by session)",
    ]
    # the window view refuses alike
    w = make_windows(rs, 200, 100)
    with pytest.raises(ConfigError, match="can honour: within-session"):
        get_protocol("cross-day").cv(w.meta, w.y)
    with pytest.raises(ConfigError, match="'day' column"):
        get_protocol("cross-day", column="session")
    # cross-session says which column it split by
    folds = get_protocol("cross-session").split(rs)
    assert [f.name for f in folds] == ["1:train->test", "2:train->test"]
    assert all(f.info["column"] == "session" for f in folds)


def test_cross_session_takes_series_then_day() -> None:
    series = make_set(subjects=(1, 2), sessions=(1, 2), session_key="series", reps=2)
    (f1, f2) = get_protocol("cross-session").split(series, [0, 1])[::2]
    assert (f1.name, f1.info["column"], f1.info["gap"]) == ("1:1->2", "series", 1)
    assert {r.meta["series"] for r in f1.train} == {1}
    assert {(r.meta["series"], r.meta["repetition"]) for r in f1.test} == {(2, 2)}
    assert f2.info["subject"] == 2
    days = make_set(subjects=(1,), sessions=(1, 3), session_key="day", reps=2)
    (f,) = get_protocol("cross-session").split(days)
    assert f.info["column"] == "day" and f.info["gap"] == 2
    assert available_protocols(days) == [
        "within-session",
        "cross-session (by day)",
        "cross-day",
        "leave-group-out:day",
        "electrode-shift",
        "next-day",
        "sequential (by day)",
    ]
    with pytest.raises(ConfigError, match="one value per subject in 'series'"):
        get_protocol("cross-session").split(series.select(series=1))
