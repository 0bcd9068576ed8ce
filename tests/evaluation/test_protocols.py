"""Protocols on small RecordingSets: disjointness by repetition, counts, calibration budgets."""

from __future__ import annotations

import numpy as np
import pytest

from myoshift.errors import ConfigError
from myoshift.evaluation import get_protocol, protocol_names
from myoshift.evaluation.protocols import Fold, available_protocols, shift_recording
from myoshift.evaluation.units import sample_units
from myoshift.recording import Layout, RecordingSet
from myoshift.signal.windows import make_windows
from tests.evaluation.helpers import make_set, ninapro_like


def units_of(rset: RecordingSet, key: str = "repetition") -> set[tuple]:
    """(subject, session/day, unit) of every sample-unit in a set."""
    out = set()
    for r in rset:
        u = sample_units(r)
        ctx = (r.meta.get("subject"), r.meta.get("session"), r.meta.get("day"))
        if isinstance(u, np.ndarray):
            out |= {(*ctx, int(v)) for v in np.unique(u)}
        else:
            out.add((*ctx, u))
    return out


def assert_disjoint(fold: Fold) -> None:
    tr, ca, te = units_of(fold.train), units_of(fold.calibration), units_of(fold.test)
    assert not tr & te, fold.name
    assert not ca & te, fold.name
    assert not tr & ca, fold.name


def test_names_and_unknown() -> None:
    assert "loso" in protocol_names()
    with pytest.raises(ConfigError, match="valid: within-session"):
        get_protocol("leave-one-out")
    with pytest.raises(ConfigError, match="needs a column"):
        get_protocol("leave-group-out")
    assert get_protocol("leave-group-out:gender").label == "leave-group-out:gender"
    assert get_protocol("electrode-shift:2").shifts == 2  # type: ignore[attr-defined]


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


def test_electrode_shift_on_a_plain_layout_is_refused_with_the_alternatives() -> None:
    rs = make_set(subjects=(1, 2), layout=Layout.plain(4))
    with pytest.raises(ConfigError, match="'plain' layout; protocols that test can honour: "):
        get_protocol("electrode-shift").split(rs)
    assert "electrode-shift" not in available_protocols(rs)
    assert available_protocols(RecordingSet()) == []


def test_leave_group_out_candidates_are_domain_columns() -> None:
    extra = {s: {"gender": "fmm"[s - 1], "person": "abc"[s - 1]} for s in (1, 2, 3)}
    rs = make_set(subjects=(1, 2, 3), sessions=(1, 2), extra=extra)
    # gender: a per-subject attribute; session: a context column; person: the subject
    # again under another name (that is loso); repetition is no domain
    assert [p for p in available_protocols(rs) if p.startswith("leave-group-out")] == [
        "leave-group-out:session",
        "leave-group-out:gender",
    ]


def test_loso_budget_and_same_test() -> None:
    rs = make_set(subjects=(1, 2, 3), sessions=(1, 2), reps=3)
    folds = get_protocol("loso").split(rs, [0, 1, 4])
    assert len(folds) == 3 * 3
    for f in folds:
        target = f.info["subject"]
        assert target not in {r.meta["subject"] for r in f.train}
        assert {r.meta["subject"] for r in f.test} == {target}
        assert_disjoint(f)
        k = f.info["calibration"]
        assert f.info["n_calibration_units"] == k
        # units in order: session 1 reps 1..3, then session 2 reps 1..3
        cal = sorted({(r.meta["session"], r.meta["repetition"]) for r in f.calibration})
        assert cal == [(1, 1), (1, 2), (1, 3), (2, 1)][:k]
        assert len(f.test) == (6 - 4) * 3  # first max(k) units excluded for every budget
    per_k = get_protocol("loso", same_test=False).split(rs, [0, 1])
    assert len(per_k[0].test) == 6 * 3 and len(per_k[1].test) == 5 * 3
    with pytest.raises(ConfigError, match="more repetitions than subject"):
        get_protocol("loso").split(rs, [6])
    with pytest.raises(ConfigError, match="need at least 2"):
        get_protocol("loso").split(make_set(subjects=(1,)))


def test_leave_group_out_column() -> None:
    extra = {1: {"gender": "f"}, 2: {"gender": "m"}, 3: {"gender": "m"}}
    rs = make_set(subjects=(1, 2, 3), extra=extra)
    folds = get_protocol("leave-group-out:gender").split(rs, [0, 1])
    assert sorted({f.name for f in folds}) == ["f", "m"]
    f = next(f for f in folds if f.name == "m" and f.info["calibration"] == 1)
    assert {r.meta["subject"] for r in f.train} == {1}
    # first repetition of *each* held-out subject
    assert {(r.meta["subject"], r.meta["repetition"]) for r in f.calibration} == {(2, 1), (3, 1)}
    assert_disjoint(f)
    with pytest.raises(ConfigError, match="unknown metadata column 'age'"):
        get_protocol("leave-group-out:age").split(rs)


def test_predefined_myoarmband() -> None:
    extra = {s: {"split": "pretraining" if s < 3 else "evaluation"} for s in range(1, 5)}
    pre = make_set(
        subjects=(1, 2),
        sessions=("training0",),
        rep_key="cycle",
        reps=4,
        dataset="myoarmband",
        extra=extra,
    )
    ev = make_set(
        subjects=(3, 4),
        sessions=("training0", "Test0", "Test1"),
        rep_key="cycle",
        reps=4,
        dataset="myoarmband",
        extra=extra,
    )
    folds = get_protocol("predefined").split(pre + ev, [0, 1, 4])
    assert sorted({f.name for f in folds}) == ["3", "4"]
    for f in folds:
        assert {r.meta["split"] for r in f.train} == {"pretraining"}
        assert {r.meta["session"] for r in f.test} == {"Test0", "Test1"}
        assert len(f.test) == 2 * 4 * 3
        k = f.info["calibration"]
        assert {r.meta["cycle"] for r in f.calibration} == set(range(1, k + 1))
        assert {r.meta["session"] for r in f.calibration} <= {"training0"}
    with pytest.raises(ConfigError, match="not defined for dataset 'test'"):
        get_protocol("predefined").split(make_set())


def test_electrode_shift_conditions_and_augmentation() -> None:
    rs = make_set(subjects=(1,), reps=3)
    folds = get_protocol("electrode-shift").split(rs)
    assert [f.name for f in folds] == ["1:noaug", "1:aug"]
    noaug, aug = folds
    assert len(aug.train) == 3 * len(noaug.train)
    conds = dict(noaug.conditions())
    assert list(conds) == ["shift=-1", "shift=+0", "shift=+1"]
    np.testing.assert_array_equal(conds["shift=+1"][0].emg[:, 1], noaug.test[0].emg[:, 0])
    np.testing.assert_array_equal(conds["shift=+0"][0].emg, noaug.test[0].emg)
    assert [c for c, _ in aug.conditions()] == ["shift=-1/aug", "shift=+0/aug", "shift=+1/aug"]
    plain = make_set(subjects=(1,), layout=Layout.plain(4))
    with pytest.raises(ConfigError, match="ring or grid"):
        shift_recording(plain[0], 1)


def test_cv_view_over_windows() -> None:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from tests.evaluation.helpers import log_rms

    rs = make_set(subjects=(1, 2, 3), reps=3)
    w = make_windows(rs, 200, 100)
    cv = get_protocol("loso").cv(w.meta, w.y)
    assert cv.get_n_splits() == 3
    for train, test in cv.split(w.X):
        assert not set(train) & set(test)
        assert set(w.meta["subject"].iloc[test]) & set(w.meta["subject"].iloc[train]) == set()
    cv1 = get_protocol("loso").cv(w.meta, w.y, calibration=1)
    for train, cal, test in cv1.split_with_calibration(w.X):
        keys = set(zip(w.meta["recording"].iloc[cal], w.meta["repetition"].iloc[cal]))
        assert {w.meta["repetition"].iloc[i] for i in cal} == {1}
        assert not set(train) & set(cal)
        assert not keys & set(zip(w.meta["recording"].iloc[test], w.meta["repetition"].iloc[test]))
    est = make_pipeline(FunctionTransformer(log_rms), LinearDiscriminantAnalysis())
    scores = cross_val_score(est, w.X, w.y, cv=cv)
    assert len(scores) == 3 and scores.min() > 0.8
    ninapro = make_windows(ninapro_like(1), 200, 100)
    ws = get_protocol("within-session").cv(ninapro.meta, ninapro.y)
    ((train, test),) = list(ws.split(ninapro.X))
    assert len(train) + len(test) <= len(ninapro)
    assert len(test) > 0 and not set(train) & set(test)


def test_empty_set_is_an_error() -> None:
    with pytest.raises(ConfigError, match="empty"):
        get_protocol("loso").split(RecordingSet())


def test_trial_field_separates_files_with_the_same_repetition_code() -> None:
    # flexemg-like: every trial file codes its gesture samples as repetition 1
    recs = []
    for trial in range(1, 7):
        r = ninapro_like(1, reps=1)
        r.meta = {"dataset": "flexlike", "subject": 1, "session": 1, "trial": trial}
        recs.append(r)
    rs = RecordingSet(recs)
    (fold,) = get_protocol("within-session").split(rs)
    assert [r.meta["trial"] for r in fold.train] == [1, 2, 3, 4]
    assert [r.meta["trial"] for r in fold.test] == [5, 6]
