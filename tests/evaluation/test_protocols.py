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
