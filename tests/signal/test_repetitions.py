"""Repetition units of samples (`myoshift.signal.repetitions`), the one shared definition."""

from __future__ import annotations

import numpy as np

import myoshift.evaluation.units as units
from myoshift.recording import UNLABELLED
from myoshift.signal import repetitions
from myoshift.signal.repetitions import (
    REP_KEYS,
    fill_rest,
    infer_from_labels,
    meta_repetition,
    sample_units,
)
from tests.conftest import make_recording


def test_fill_rest_joins_rest_to_the_repetition_before() -> None:
    rep = np.array([0, 0, 1, 1, 0, 0, 2, 0, 3, 0])
    assert fill_rest(rep).tolist() == [1, 1, 1, 1, 1, 1, 2, 2, 3, 3]
    assert fill_rest(np.zeros(4, dtype=int)).tolist() == [0, 0, 0, 0]
    assert fill_rest(np.array([], dtype=int)).dtype == np.int64


def test_infer_from_gesture_runs() -> None:
    labels = np.array([0, 1, 1, 0, 2, 0, 1, UNLABELLED, 2, 2, 0])
    assert infer_from_labels(labels).tolist() == [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]
    assert infer_from_labels(np.array([0, 1, 1, 0, 2, 0])) is None  # no class repeats
    assert infer_from_labels(np.array([], dtype=int)) is None


def test_meta_repetition_order_and_bad_values() -> None:
    assert REP_KEYS[0] == "repetition"
    assert meta_repetition({"trial": 3, "rep": 9}) == 3
    assert meta_repetition({"repetition": float("nan"), "cycle": "2"}) == 2
    assert meta_repetition({"repetition": "first", "subject": 1}) is None
    assert meta_repetition({}) is None


def test_sample_units_precedence() -> None:
    rec = make_recording(6, 2, label=np.array([1, 1, 0, 1, 1, 0]), trial=7)
    # 1. per-sample repetition (filled)
    rec.repetition = np.array([0, 1, 0, 2, 2, 0])
    assert sample_units(rec).tolist() == [1, 1, 1, 2, 2, 2]
    # 2. all-zero per-sample codes: the metadata field
    rec.repetition = np.zeros(6, dtype=np.int64)
    assert sample_units(rec) == 7
    # 3. no field: the gesture runs
    rec.meta = {"subject": 1}
    assert sample_units(rec).tolist() == [1, 1, 1, 2, 2, 2]
    # 4. nothing: unknown
    rec.labels = np.array([1, 1, 0, 0, 0, 0])
    assert sample_units(rec) is None


def test_evaluation_units_uses_the_signal_definition() -> None:
    for name in ("REP_KEYS", "SampleUnits", "infer_from_labels", "sample_units"):
        assert getattr(units, name) is getattr(repetitions, name)
