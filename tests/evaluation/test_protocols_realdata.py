"""Protocols on the real recordings: fold counts and splits from the dataset READMEs."""

from __future__ import annotations

import numpy as np
import pytest

from myoshift.datasets import get_dataset
from myoshift.errors import ConfigError
from myoshift.evaluation import get_protocol
from myoshift.evaluation.protocols import available_protocols
from tests.conftest import real_data_dir, require_dataset

pytestmark = pytest.mark.realdata


def _load(name: str, folder: str, subjects: list | None = None):  # type: ignore[no-untyped-def]
    require_dataset(folder)
    return get_dataset(name, data_dir=real_data_dir()).load(subjects, show_progress=False)


def test_kanoga_cross_day_first_and_consecutive() -> None:
    rs = _load("kanoga", "LongTermSEMG_Kanoga")
    days = rs.unique("day")
    assert days == list(range(1, 16))
    folds = get_protocol("cross-day").split(rs, [0, 1])
    names = sorted({f.name for f in folds})
    # day 1 -> each of 14 later days, and d -> d+1 for d = 2..14 (1 -> 2 counted once)
    assert len(names) == 14 + 13
    f = next(f for f in folds if f.name == "1:1->15" and f.info["calibration"] == 1)
    assert f.info["gap"] == 14
    assert {r.meta["day"] for r in f.train} == {1}
    assert {r.meta["trial"] for r in f.calibration} == {1}
    assert {r.meta["trial"] for r in f.test} == {2, 3, 4}
    assert len(f.calibration) == 22 and len(f.test) == 3 * 22


def test_myoarmband_standard_and_predefined_splits() -> None:
    rs = _load("myoarmband", "MyoArmbandDataset")
    within = get_protocol("within-session").split(rs)
    assert len(within) == 18
    assert all({r.meta["split"] for r in f.train} == {"evaluation"} for f in within)
    assert all({r.meta["session"] for r in f.test} == {"Test0", "Test1"} for f in within)
    folds = get_protocol("predefined").split(rs, [0, 1, 4])
    assert len(folds) == 18 * 3
    for f in folds:
        assert len({r.meta["subject"] for r in f.train}) == 22
        k = f.info["calibration"]
        assert len(f.calibration) == 7 * k
        assert {r.meta["cycle"] for r in f.calibration} == set(range(1, k + 1))
        assert len(f.test) == 2 * 28


def test_ninapro_standard_repetitions() -> None:
    rs = _load("ninapro-db1", "NinaproDB1", [1])
    (fold,) = get_protocol("within-session").split(rs)
    n = sum(r.n_samples for r in fold.train) + sum(r.n_samples for r in fold.test)
    assert n == rs[0].n_samples
    with pytest.raises(ConfigError, match="ring or grid"):
        get_protocol("electrode-shift").split(rs)


def test_flexemg_sessions() -> None:
    rs = _load("flexemg", "flexemg")
    folds = get_protocol("cross-session").split(rs, [0, 1])
    assert sorted({f.name for f in folds}) == ["1:1->2"]
    f = next(f for f in folds if f.info["calibration"] == 1)
    assert [r.meta["trial"] for r in f.calibration] == [1]
    assert len(f.test) == len(rs.select(session=2)) - 1
    (within,) = get_protocol("within-session").split(rs.select(session=1))
    assert len(within.train) == 7 and len(within.test) == 3


def test_3dc_cross_day_is_refused_not_run_on_sessions_of_one_day() -> None:
    rs = _load("3dc", "3DCDataset", [1, 2])
    with pytest.raises(ConfigError, match=r"no 'day' column\); protocols that 3dc can honour: "):
        get_protocol("cross-day").split(rs, [0, 1])
    assert "cross-session (by session)" in available_protocols(rs)


def test_uci_gestures_cross_session_by_series() -> None:
    rs = _load("uci-gestures", "UCI_EMG_data_for_gestures")
    folds = get_protocol("cross-session").split(rs, [0, 1])
    with_both = sorted(s for s in rs.unique("subject") if len(rs.select(subject=s)) == 2)
    # one fold per subject with both series (series 1 of subject 2 is absent at the source)
    assert sorted({f.name for f in folds}) == [f"{s}:1->2" for s in with_both]
    for f in folds:
        assert f.info["column"] == "series" and f.info["gap"] == 1
        assert {r.meta["series"] for r in f.train} == {1}
        assert {r.meta["series"] for r in [*f.calibration, *f.test]} == {2}
        (test,) = f.test  # the second run through the gestures of series 2, in one piece
        assert set(np.unique(test.repetition)) <= {0, 2}
        if f.info["calibration"] == 1:
            (cal,) = f.calibration  # the first run through every gesture of series 2
            assert set(np.unique(cal.labels)) == set(np.unique(test.labels))
            assert cal.meta["segment_start"] == 0
            assert test.meta["segment_start"] == cal.n_samples
