"""train-on:COLUMN=VALUE and next-day[:N] on small RecordingSets, bad input, the runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets import get_dataset
from myoshift.errors import ConfigError
from myoshift.evaluation import Method, get_protocol, protocol_names, run_benchmark
from myoshift.evaluation.domain_protocols import TRAIN_ON_DEFAULTS
from myoshift.evaluation.protocols import Fold, available_protocols
from myoshift.recording import RecordingSet
from myoshift.signal.windows import make_windows
from tests.conftest import require_dataset
from tests.evaluation.helpers import build_centroid, make_set
from tests.evaluation.test_protocols import assert_disjoint


def _no_shared_recordings(fold: Fold) -> None:
    """Each recording here is one repetition: no recording on two sides of a fold."""
    train, cal, test = (set(map(id, s)) for s in (fold.train, fold.calibration, fold.test))
    assert not train & test and not cal & test and not train & cal, fold.name


def _placement_set(subjects: tuple[int, ...] = (1, 2), dataset: str = "test") -> RecordingSet:
    return make_set(
        subjects=subjects, sessions=("before", "after"), session_key="placement", dataset=dataset
    )


def _days(days: tuple[int, ...] = (1, 2, 3, 4), subjects: tuple[int, ...] = (1,)) -> RecordingSet:
    return make_set(subjects=subjects, sessions=days, session_key="day", rep_key="trial", reps=2)


def test_names_are_listed() -> None:
    names = protocol_names()
    assert "train-on:COLUMN=VALUE" in names and "next-day[:N]" in names
    assert get_protocol("train-on:level=Ramp").label == "train-on:level=Ramp"
    assert get_protocol("next-day:3").label == "next-day:3"
    assert get_protocol("next-day").label == "next-day"


def test_train_on_before_tests_after_per_person_with_calibration() -> None:
    rs = _placement_set()
    folds = get_protocol("train-on:placement=before").split(rs, [0, 1])
    assert [(f.name, f.info["calibration"]) for f in folds] == [
        ("1:before->after", 0),
        ("1:before->after", 1),
        ("2:before->after", 0),
        ("2:before->after", 1),
    ]
    for f in folds:
        _no_shared_recordings(f)
        who = f.info["subject"]
        assert {(r.meta["subject"], r.meta["placement"]) for r in f.train} == {(who, "before")}
        assert {(r.meta["subject"], r.meta["placement"]) for r in f.test} == {(who, "after")}
        assert f.info["train_domain"] == "before" and f.info["test_domain"] == "after"
        assert f.info["column"] == "placement"
        # calibration: the first repetition of the target placement; never tested
        k = f.info["calibration"]
        assert {r.meta["repetition"] for r in f.calibration} == ({1} if k else set())
        assert {r.meta["repetition"] for r in f.test} == {2, 3}  # same test for every k
    # the folds of one person share their training recordings (one fit in the runner)
    assert [id(r) for r in folds[0].train] == [id(r) for r in folds[1].train]


def test_train_on_one_level_tests_each_other_level() -> None:
    rs = make_set(subjects=(1,), sessions=("Ramp", "20P", "50P", "MVC"), session_key="level")
    folds = get_protocol("train-on:level=ramp").split(rs)  # values compare case-insensitively
    assert [f.name for f in folds] == ["1:Ramp->20P", "1:Ramp->50P", "1:Ramp->MVC"]
    for f in folds:
        assert {r.meta["level"] for r in f.train} == {"Ramp"}
        assert {r.meta["level"] for r in f.test} == {f.info["test_domain"]}
    folds = get_protocol("train-on:level=50P").split(rs)
    assert [f.info["test_domain"] for f in folds] == ["20P", "MVC", "Ramp"]


def test_train_on_numbers_and_missing_values() -> None:
    rs = _days((1, 2, 3))
    folds = get_protocol("train-on:day=1").split(rs)
    assert [f.name for f in folds] == ["1:1->2", "1:1->3"]
    levels = make_set(subjects=(1,), sessions=(50, 80, None), session_key="intensity")
    folds = get_protocol("train-on:intensity=50.0").split(levels)
    assert [f.info["test_domain"] for f in folds] == ["80"]  # no fold for a missing value
    assert all(r.meta["intensity"] == 50 for r in folds[0].train)


def test_train_on_leaves_out_people_without_the_value() -> None:
    rs = _placement_set((1,)) + make_set(
        subjects=(2,), sessions=("after",), session_key="placement"
    )
    assert [f.name for f in get_protocol("train-on:placement=before").split(rs)] == [
        "1:before->after"
    ]
    only_before = make_set(subjects=(1, 2), sessions=("before",), session_key="placement")
    with pytest.raises(ConfigError, match="no person has both placement=before and another"):
        get_protocol("train-on:placement=before").split(only_before)


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("train-on:posture=before", r"unknown metadata column 'posture'; known: \[.*'placement'"),
        ("train-on:placement=moved", "no 'placement' equals 'moved'; values: after, before"),
    ],
)
def test_train_on_bad_column_or_value_lists_what_exists(name: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle) as err:
        get_protocol(name).split(_placement_set())
    assert "can honour" in str(err.value)


@pytest.mark.parametrize("name", ["train-on", "train-on:placement", "train-on:=before"])
def test_train_on_needs_column_and_value(name: str) -> None:
    with pytest.raises(ConfigError, match="train-on:COLUMN=VALUE"):
        get_protocol(name)


def test_available_protocols_list_each_dataset_standard() -> None:
    assert TRAIN_ON_DEFAULTS["electrode-shift"] == ("placement", "before")
    listed = available_protocols(_placement_set(dataset="electrode-shift"))
    assert "train-on:placement=before" in listed
    assert not any(p.startswith("train-on") for p in available_protocols(_placement_set()))
    levels = make_set(
        subjects=(1,),
        sessions=("Ramp", "50P"),
        session_key="level",
        dataset="contraction-intensity",
    )
    assert "train-on:level=Ramp" in available_protocols(levels)
    assert "next-day" in available_protocols(_days())
    assert "next-day" not in available_protocols(_placement_set())


def test_next_day_trains_on_the_previous_days() -> None:
    rs = _days()
    folds = get_protocol("next-day").split(rs, [0, 1])
    names = list(dict.fromkeys(f.name for f in folds))
    assert names == ["1:1->2", "1:1..2->3", "1:1..3->4"]
    for f in folds:
        assert_disjoint(f)
        test_day = int(f.info["test_domain"])
        assert {r.meta["day"] for r in f.train} == set(range(1, test_day))
        assert {r.meta["day"] for r in f.test} == {test_day}
        assert f.info["gap"] == 1 and f.info["n_train_days"] == test_day - 1
        k = f.info["calibration"]
        assert {(r.meta["day"], r.meta["trial"]) for r in f.calibration} == (
            {(test_day, 1)} if k else set()
        )
    window = get_protocol("next-day:2").split(rs)
    assert [f.name for f in window] == ["1:1->2", "1:1..2->3", "1:2..3->4"]
    assert {r.meta["day"] for r in window[-1].train} == {2, 3}


def test_next_day_one_is_cross_day_consecutive() -> None:
    rs = _days((1, 2, 5), subjects=(1, 2))
    mine = get_protocol("next-day:1").split(rs)
    theirs = get_protocol("cross-day", mode="consecutive").split(rs)
    assert [f.name for f in mine] == [f.name for f in theirs]
    for a, b in zip(mine, theirs):
        assert [id(r) for r in a.train] == [id(r) for r in b.train]
        assert [id(r) for r in a.test] == [id(r) for r in b.test]
        assert a.info["gap"] == b.info["gap"]
    assert [f.info["gap"] for f in mine] == [1, 3, 1, 3]


def test_next_day_refusals_name_it() -> None:
    with pytest.raises(ConfigError, match=r"next-day: .*no subject recorded in two or more days"):
        get_protocol("next-day").split(_placement_set())
    with pytest.raises(ConfigError, match="integer N"):
        get_protocol("next-day:all")
    with pytest.raises(ConfigError, match="N >= 1"):
        get_protocol("next-day:0")


def test_window_view_keeps_repetitions_apart() -> None:
    rs = _placement_set()
    w = make_windows(rs, 40, 20)
    splits = list(
        get_protocol("train-on:placement=before").cv(w.meta, w.y, 1).split_with_calibration()
    )
    assert len(splits) == 2
    for train, cal, test in splits:
        assert set(w.meta["placement"].iloc[train]) == {"before"}
        assert set(w.meta["placement"].iloc[test]) == {"after"}
        assert not set(cal) & set(test) and len(cal) > 0


def test_runner_reports_one_row_per_target_value(tmp_path: Path) -> None:
    rs = make_set(subjects=(1, 2), sessions=("Ramp", "20P", "80P"), session_key="level")
    method = Method("centroid", build_centroid, window_ms=200, step_ms=100)
    res = run_benchmark(
        rs,
        "train-on:level=Ramp",
        [method],
        calibration=[0, 1],
        out_dir=tmp_path,
        show_progress=False,
        write_report=False,
    )
    assert res.n_failed == 0
    acc = res.results[res.results["metric"] == "accuracy"]
    assert sorted(set(acc["fold"])) == ["1:Ramp->20P", "1:Ramp->80P", "2:Ramp->20P", "2:Ramp->80P"]
    assert len(acc) == 4 * 2 and np.all(acc["value"].between(0, 1))


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("dataset", "folder", "subjects", "protocol", "n_folds"),
    [
        ("electrode-shift", "CIILData", [0, 1], "train-on:placement=before", 2),
        ("contraction-intensity", "ContractionIntensity", None, "train-on:level=Ramp", 11),
        ("multiday", "MultiDay", None, "next-day", 3),
    ],
)
def test_standard_protocols_on_the_real_datasets(
    tmp_path: Path,
    dataset: str,
    folder: str,
    subjects: list[int] | None,
    protocol: str,
    n_folds: int,
) -> None:
    root = require_dataset(folder)
    ds = get_dataset(dataset, data_dir=root.parent, cache_dir=tmp_path)
    rs = ds.load(subjects, show_progress=False)
    assert protocol in available_protocols(rs) and protocol in ds.description
    folds = get_protocol(protocol).split(rs, [0, 1] if dataset != "multiday" else 0)
    assert len({f.name for f in folds}) == n_folds
    for f in folds:
        _no_shared_recordings(f)
        if f.info["calibration"]:  # one repetition of every class of the target
            assert len(f.calibration) == len(rs.class_names)
