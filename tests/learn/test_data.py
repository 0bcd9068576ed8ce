"""Validation splits by group, input checks and class weights."""

from __future__ import annotations

import numpy as np
import pytest

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn.data import check_windows, class_weights, unpack, validation_split
from myoshift.signal.windows import make_windows
from tests.conftest import make_recording


def test_validation_split_holds_out_whole_groups() -> None:
    groups = np.repeat(np.arange(7), 10)
    y = np.tile(np.arange(2), 35)
    tr, va = validation_split(y, groups, 0.3, seed=1)
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == 70
    assert not set(groups[tr]) & set(groups[va])
    assert len(set(groups[va])) == 2  # round(0.3 * 7)
    tr2, va2 = validation_split(y, groups, 0.3, seed=1)
    assert np.array_equal(va, va2)


def test_validation_split_without_groups_takes_last_block_per_class() -> None:
    y = np.repeat([0, 1], 10)
    tr, va = validation_split(y, None, 0.2)
    assert va.tolist() == [8, 9, 18, 19]
    assert validation_split(y, None, 0.0)[1].size == 0
    with pytest.raises(ConfigError, match="val_fraction"):
        validation_split(y, None, 1.0)


def test_one_group_falls_back_to_blocks() -> None:
    y = np.repeat([0, 1], 10)
    _, va = validation_split(y, np.zeros(20), 0.2)
    assert va.tolist() == [8, 9, 18, 19]


def test_check_windows_errors() -> None:
    with pytest.raises(ShapeError, match="3-D"):
        check_windows(np.zeros((4, 8)))
    bad = np.zeros((5, 2, 3))
    bad[3, 1, 2] = np.nan
    with pytest.raises(ShapeError, match="window 3"):
        check_windows(bad)
    with pytest.raises(ShapeError, match="no windows"):
        check_windows(np.zeros((0, 2, 3)))


def test_unpack_windows_uses_repetition_as_groups() -> None:
    rec = make_recording(n_samples=400, label=1)
    rec.repetition = np.repeat([1, 2], 200)
    w = make_windows(rec, 200, 100)
    X, y, g = unpack(w)
    assert X.shape == w.X.shape and np.array_equal(y, w.y)
    assert set(g.tolist()) == {1, 2}


def test_class_weights() -> None:
    y = np.array([0, 0, 0, 1])
    w = class_weights(y, 2, "balanced")
    assert w is not None and np.allclose(w, [4 / 6, 2.0])
    w2 = class_weights(y, 2, {"b": 3.0}, classes=np.array(["a", "b"]))
    assert w2 is not None and w2.tolist() == [1.0, 3.0]
    assert class_weights(y, 2, None) is None
    with pytest.raises(ConfigError, match="unknown classes"):
        class_weights(y, 2, {"z": 1.0}, classes=np.array(["a", "b"]))
