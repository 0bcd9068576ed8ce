"""The few-shot protocol and its episodes: folds, seeding, the episode rule, bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from myoshift.datasets.synthetic import SyntheticDataset
from myoshift.errors import ConfigError
from myoshift.evaluation import get_protocol, protocol_names
from myoshift.evaluation.few_shot import FewShot, FewShotSpec, hide_classes, novel_classes
from myoshift.evaluation.few_shot_episodes import (
    check_pool,
    interval_text,
    sample_episode,
    sample_episodes,
    span_seconds,
    t_halfwidth,
    target_pool,
    window_unit_ids,
)
from myoshift.recording import RecordingSet
from myoshift.signal.windows import make_windows
from tests.evaluation.helpers import make_set, ninapro_like


def _target(classes: int = 5, reps: int = 4, n_samples: int = 200) -> RecordingSet:
    """One person, one file per (repetition, class), classes 0 (rest) .. classes - 1."""
    return make_set(subjects=(7,), reps=reps, classes=classes, n_samples=n_samples)


def _pool(rset: RecordingSet, spec: FewShotSpec, window_ms: float = 200, step_ms: float = 50):
    w = make_windows(rset, window_ms, step_ms)
    return w, target_pool(rset, spec, (), w.y, window_unit_ids(rset, w.meta))


# -- the argument ----------------------------------------------------------------------------
def test_argument_parses_and_labels() -> None:
    spec = FewShotSpec.parse("5,1,episodes=20,shots=repetitions,queries=30,rest,novel=3,by=day")
    assert (spec.n_way, spec.k_shot, spec.episodes, spec.queries) == (5, 1, 20, 30)
    assert spec.shots == "repetitions" and spec.rest and spec.novel and spec.n_novel == 3
    assert spec.by == "day"
    assert FewShotSpec.parse(spec.label.partition(":")[2]) == spec
    proto = get_protocol("few-shot:5,5")
    assert isinstance(proto, FewShot) and proto.label == "few-shot:5,5"
    assert proto.default_regime == "few-shot" and "few-shot:N,K" in protocol_names()
    assert proto.params()["few_shot"]["episodes"] == 100


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("few-shot", "protocol few-shot needs N,K"),
        ("few-shot:5", "needs N,K"),
        ("few-shot:5,5,shots=trials", "shots='trials'; valid: windows, repetitions"),
        ("few-shot:5,5,fast", "bad option 'fast'"),
        ("few-shot:1,5", "N must be >= 2"),
        ("few-shot:5,0", "k_shot must be >= 1"),
    ],
)
def test_bad_argument_is_one_line(name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        get_protocol(name)
    assert "\n" not in str(err.value)


# -- folds -------------------------------------------------------------------------------------
def test_loso_folds_hold_each_person_out() -> None:
    rs = make_set(subjects=(1, 2, 3), reps=3, classes=4)
    folds = get_protocol("few-shot:3,2").split(rs)
    assert [f.name for f in folds] == ["1", "2", "3"]
    for f in folds:
        assert set(f.test.unique("subject")) == {int(f.name)}
        assert int(f.name) not in f.train.unique("subject") and len(f.calibration) == 0
        assert f.info["few_shot"]["n_way"] == 3 and f.info["calibration"] == 0


def test_predefined_split_where_the_dataset_has_one() -> None:
    rs = SyntheticDataset(n_subjects=4, n_sessions=1, n_repetitions=2, rep_seconds=0.6).load()
    folds = get_protocol("few-shot:3,2").split(rs)
    assert [f.name for f in folds] == ["3", "4"]  # the evaluation half of the people
    assert all(set(f.train.unique("split")) == {"pretraining"} for f in folds)
    assert folds[0].train is folds[1].train  # one training set: the regime fits once
    loso = get_protocol("few-shot:3,2,by=subject").split(rs)
    assert [f.name for f in loso] == ["1", "2", "3", "4"]


def test_targets_by_another_column_share_training() -> None:
    rs = make_set(subjects=(1, 2), sessions=(1, 2, 3), reps=2, classes=4, session_key="day")
    folds = get_protocol("few-shot:3,1,by=day").split(rs)
    assert [f.name for f in folds][:2] == ["day=1/1", "day=1/2"]
    for f in folds:
        day = int(f.info["test_domain"])
        assert set(f.test.unique("day")) == {day} and day not in f.train.unique("day")
    assert folds[0].train is folds[1].train


def test_novel_classes_never_reach_training() -> None:
    rs = make_set(subjects=(1, 2, 3), reps=3, classes=4)
    novel = novel_classes([0, 1, 2, 3], None, seed=0)
    assert len(novel) == 2 and novel == novel_classes([3, 2, 1, 0], None, seed=0)
    assert 0 not in novel and len(novel_classes(range(11), None)) == 5
    folds = get_protocol("few-shot:2,2,novel").split(rs)
    for f in folds:
        assert f.info["novel_classes"] == list(novel)
        labels = np.concatenate([r.labels for r in f.train])
        assert not np.isin(labels, novel).any()
        assert np.isin(np.concatenate([r.labels for r in f.test]), novel).any()
    spec = FewShotSpec(2, 2, novel=True)
    w = make_windows(folds[0].test, 200, 50)
    pool = target_pool(folds[0].test, spec, novel, w.y, window_unit_ids(folds[0].test, w.meta))
    assert pool.classes == novel
    assert len(hide_classes(rs, [0, 1, 2, 3])) == 0  # nothing labelled left: dropped


# -- episodes ---------------------------------------------------------------------------------
def test_episode_rule_windows() -> None:
    spec = FewShotSpec(3, 4, episodes=20)
    w, pool = _pool(_target(), spec)
    units = window_unit_ids(_target(), w.meta)
    for ep in sample_episodes(pool, spec, seed=0, key="7"):
        assert len(ep.classes) == 3 and 0 not in ep.classes
        assert set(w.y[ep.support]) == set(ep.classes) == set(w.y[ep.query])
        for c in ep.classes:
            sup = ep.support[w.y[ep.support] == c]
            assert len(sup) == 4 and len(set(units[sup])) == 1  # K windows, ONE repetition
            qry = ep.query[w.y[ep.query] == c]
            assert not set(units[qry]) & set(units[sup])  # never the same repetition
            assert len(qry) == sum(pool.count(c, u) for u in pool.units) - pool.count(
                c, int(units[sup][0])
            )


def test_episode_rule_repetitions_rest_and_queries() -> None:
    spec = FewShotSpec(4, 2, episodes=10, shots="repetitions", rest=True, queries=5)
    w, pool = _pool(_target(classes=4, reps=4), spec)
    units = window_unit_ids(_target(classes=4, reps=4), w.meta)
    assert 0 in pool.classes
    for ep in sample_episodes(pool, spec, seed=3, key="7"):
        for c in ep.classes:
            sup = ep.support[w.y[ep.support] == c]
            assert set(units[sup]) == set(ep.support_units[c]) and len(ep.support_units[c]) == 2
            assert sum(pool.count(c, u) for u in ep.support_units[c]) == len(sup)  # whole reps
            qry = ep.query[w.y[ep.query] == c]
            assert len(qry) == 5 and not set(units[qry]) & set(units[sup])


def test_episodes_are_seeded_by_seed_target_and_index() -> None:
    spec = FewShotSpec(3, 2, episodes=5)
    _, pool = _pool(_target(), spec)
    a, b = sample_episodes(pool, spec, 0, "7"), sample_episodes(pool, spec, 0, "7")
    assert all(
        np.array_equal(x.support, y.support) and np.array_equal(x.query, y.query)
        for x, y in zip(a, b)
    )
    other = sample_episodes(pool, spec, 1, "7")
    assert any(not np.array_equal(x.support, y.support) for x, y in zip(a, other))
    assert not np.array_equal(a[0].support, a[1].support)  # episodes differ
    # another windowing draws the same classes and support repetitions
    _, coarse = _pool(_target(), spec, window_ms=150, step_ms=30)
    for e in range(5):
        x, y = sample_episode(pool, spec, 0, "7", e), sample_episode(coarse, spec, 0, "7", e)
        assert x.classes == y.classes and x.support_units == y.support_units


def test_continuous_recording_units() -> None:
    rs = RecordingSet([ninapro_like(reps=4, classes=3)])
    spec = FewShotSpec(3, 2, episodes=5)
    w, pool = _pool(rs, spec, 200, 100)
    assert pool.units == (0, 1, 2, 3) and pool.classes == (1, 2, 3)
    units = window_unit_ids(rs, w.meta)
    for ep in sample_episodes(pool, spec, 0, "1"):
        for c in ep.classes:
            sup, qry = (idx[w.y[idx] == c] for idx in (ep.support, ep.query))
            assert len(set(units[sup])) == 1 and not set(units[qry]) & set(units[sup])


# -- bad input --------------------------------------------------------------------------------
def test_n_larger_than_the_person_classes() -> None:
    rs = make_set(subjects=(1, 2), reps=3, classes=4)
    with pytest.raises(ConfigError, match=r"target 1 has 3 classes to draw from \[1, 2, 3\]; N=5"):
        get_protocol("few-shot:5,1").split(rs)


def test_k_larger_than_a_repetition() -> None:
    spec = FewShotSpec(3, 50)
    _, pool = _pool(_target(), spec)  # 2 s files: 37 windows of 200 ms every 50 ms
    with pytest.raises(ConfigError, match="K=50 support windows from one repetition") as err:
        check_pool(pool, spec, "target 7")
    assert "most windows in one repetition per class: {1: 37, 2: 37, 3: 37, 4: 37}" in str(
        err.value
    )


def test_repetitions_asked_beyond_what_the_person_has() -> None:
    rs = make_set(subjects=(1, 2), reps=3, classes=4)
    with pytest.raises(ConfigError, match="0 classes with 4\\+ repetitions"):
        get_protocol("few-shot:3,3,shots=repetitions").split(rs)


def test_dataset_without_repetitions() -> None:
    rs = make_set(subjects=(1, 2), reps=1, classes=4, rep_key="take")
    with pytest.raises(ConfigError, match="has no repetitions"):
        get_protocol("few-shot:3,1,shots=repetitions").split(rs)


def test_by_unknown_column() -> None:
    with pytest.raises(ConfigError, match="no metadata column 'week'"):
        get_protocol("few-shot:2,1,by=week").split(make_set(subjects=(1, 2)))


# -- what the report shows ----------------------------------------------------------------------
def test_support_seconds_count_overlaps_once() -> None:
    meta = pd.DataFrame({"recording": [0, 0, 0, 1], "start": [0, 10, 100, 5]})
    # recording 0: [0, 20) U [10, 30) U [100, 120) = 50 samples; recording 1: 20
    assert span_seconds(meta, 20, 10.0) == pytest.approx(7.0)


def test_intervals() -> None:
    assert t_halfwidth(1.0, 4) == pytest.approx(3.182446 / 2, rel=1e-5)
    assert np.isnan(t_halfwidth(1.0, 1))
    people = {"mean": 0.8, "std": 0.1, "n": 3, "n_folds": 3, "std_folds": 0.1}
    assert interval_text(people, None) == f"±{100 * t_halfwidth(0.1, 3):.1f} (people)"
    days = {**people, "n": 1, "std": np.nan, "n_folds": 5, "std_folds": 0.05}
    assert interval_text(days, None).endswith("(folds)")
    one = {**days, "n_folds": 1}
    assert interval_text(one, {"mean": 0.031}) == "±3.1 (episodes)"


def test_spec_is_frozen_and_checked() -> None:
    with pytest.raises(ConfigError, match="queries must be >= 1"):
        replace(FewShotSpec(), queries=0)


def test_a_missing_repetition_of_one_class() -> None:
    rs = RecordingSet([r for r in _target() if (r.labels[0], r.meta["repetition"]) != (2, 2)])
    spec = FewShotSpec(4, 2, episodes=30)
    w, pool = _pool(rs, spec)
    units = window_unit_ids(rs, w.meta)
    assert pool.count(2, 1) == 0 and pool.count(2, 0) > 0
    for ep in sample_episodes(pool, spec, 0, "7"):
        qry = ep.query[w.y[ep.query] == 2]
        assert len(qry) and 1 not in set(units[qry])
