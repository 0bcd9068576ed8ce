"""Batching helpers: rows of named inputs."""

from __future__ import annotations

import numpy as np

from myoshift.learn.tasks import take_rows
from myoshift.signal.window_array import WindowArray


def test_take_rows_of_arrays_dicts_and_lazy_windows() -> None:
    signal = np.arange(40, dtype=np.float32).reshape(20, 2)
    lazy = WindowArray([signal], np.zeros(6, dtype=np.int64), np.arange(6) * 2, window=4)
    x = np.asarray(lazy)
    idx = np.array([4, 0])
    np.testing.assert_array_equal(take_rows(x, idx), x[idx])
    rows = take_rows(lazy, idx)
    assert isinstance(rows, WindowArray)  # lazy windows stay lazy
    np.testing.assert_array_equal(np.asarray(rows), x[idx])
    both = take_rows({"emg": lazy, "imu": x[:, :1]}, idx)
    assert isinstance(both["emg"], WindowArray)
    np.testing.assert_array_equal(both["imu"], x[idx, :1])
