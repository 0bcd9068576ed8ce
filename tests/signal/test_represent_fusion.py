"""Represent steps of feature-level fusion: ``imu-features`` and ``instantaneous``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from myoshift.errors import ConfigError
from myoshift.recording import AuxStream, Layout, Recording
from myoshift.signal.imu import canonical_quaternions, stream_features
from myoshift.signal.represent_fusion import DEFAULT_INSTANTANEOUS, DEFAULT_QUATERNION
from myoshift.signal.steps import make_step, make_steps, step_names, steps_from_json, steps_to_json
from myoshift.signal.window_array import WindowArray
from myoshift.signal.windows import Windows, make_windows


def recording(n: int = 600, fs: float = 200.0, imu_dims: int = 4, seed: int = 0) -> Recording:
    """Random EMG with a slowly turning unit-quaternion stream (or a glove) at 50 Hz."""
    rng = np.random.default_rng(seed)
    m = int(n / fs * 50)
    if imu_dims == 4:
        angle = np.linspace(0, 1.0, m)
        data = np.stack([np.cos(angle / 2), np.sin(angle / 2), 0 * angle, 0 * angle], axis=1)
    else:
        data = rng.standard_normal((m, imu_dims))
    return Recording(
        rng.standard_normal((n, 3)).astype(np.float32),
        fs,
        np.repeat([1, 2], n // 2),
        Layout.ring(3),
        aux={"imu": AuxStream(data, 50.0)},
        meta={"subject": 1},
    )


def windows(imu_dims: int = 4) -> Windows:
    return make_windows(recording(imu_dims=imu_dims), 200, 100, aux=("imu",))


def test_steps_are_registered() -> None:
    assert {"imu-features", "instantaneous"} <= set(step_names("represent"))


def test_imu_features_default_sets_by_stream_kind() -> None:
    w = windows()
    out = make_step("represent", "imu-features").fit_transform(w)
    block = out.aux["imu-features"]
    # heading-free by default: gravity direction, rotation over the window, angular speed
    assert block.X.shape == (len(w), 3 + 1 + 1, 1) and block.X.dtype == np.float32
    assert block.names == ("gx", "gy", "gz", "rotation_change", "angular_speed")
    assert out.X is w.X and out.aux["imu"] is w.aux["imu"]  # the rest untouched
    expected, _ = stream_features(w.aux["imu"].X, list(DEFAULT_QUATERNION), w.aux["imu"].fs)
    np.testing.assert_allclose(block.X[:, :, 0], expected, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(block.X[:, :3, 0], axis=1), 1.0, atol=1e-6)
    # the absolute orientation on request, sign-normalised
    q = make_step("represent", {"imu-features": {"features": ["quaternion"]}}).fit_transform(w)
    assert q.aux["imu-features"].names == ("qw", "qx", "qy", "qz")
    assert (q.aux["imu-features"].X[:, 0, 0] >= 0).all()
    # a glove-like stream of 5 sensors: mean, last and range per sensor
    glove = make_step("represent", "imu-features").fit_transform(windows(imu_dims=5))
    assert glove.aux["imu-features"].X.shape[1] == 15
    assert glove.aux["imu-features"].names[:2] == ("mean_ch0", "mean_ch1")


def test_imu_features_into_x_replace_the_emg() -> None:
    w = windows()
    step = make_step("represent", {"imu-features": {"features": ["gravity"], "into": "X"}})
    out = step.fit_transform(w)
    assert isinstance(out.X, np.ndarray) and out.X.shape == (len(w), 3, 1)
    assert "imu-features" not in out.aux and np.array_equal(out.y, w.y)
    q = np.moveaxis(w.aux["imu"].X, 1, 2)[:, -1]
    # rotation about x: gravity in the sensor frame is (0, sin a, cos a)
    angle = 2 * np.arctan2(canonical_quaternions(q)[:, 1], canonical_quaternions(q)[:, 0])
    np.testing.assert_allclose(out.X[:, 1, 0], np.sin(angle), atol=1e-5)


def test_imu_features_without_the_stream_is_a_clear_error() -> None:
    w = make_windows(recording(), 200, 100)  # no aux windows cut
    with pytest.raises(ConfigError, match=r"step 'imu-features'.*no auxiliary stream 'imu'.*aux"):
        make_step("represent", "imu-features").fit_transform(w)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"imu-features": {"features": ["tilt"]}}, "features must be one of"),
        ({"imu-features": {"features": "gravity"}}, "non-empty list"),
        ({"imu-features": {"into": "Y"}}, "into must be one of"),
        ({"imu-features": {"stream": ""}}, "stream must be"),
        ({"instantaneous": {"stats": ["median"]}}, "stats must be one of"),
        ({"instantaneous": {"key": ""}}, "key must be"),
    ],
)
def test_bad_parameters(spec: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_step("represent", spec)


def test_instantaneous_maps_and_window_statistics() -> None:
    x = np.array([[[1.0, -3.0, 2.0, -0.5], [0.0, 1.0, 4.0, 2.0]]], dtype=np.float32)  # (1, 2, 4)
    w = Windows(x, np.array([1]), pd.DataFrame({"recording": [0]}), 100.0, Layout.ring(2))
    out = make_step("represent", "instantaneous").fit_transform(w)
    block = out.aux["inst"]
    assert list(DEFAULT_INSTANTANEOUS) == ["abs-last", "max", "min", "range"]
    np.testing.assert_allclose(block.X[0, :, 0], [0.5, 2.0, 2.0, 4.0, -3.0, 0.0, 5.0, 4.0])
    assert block.names[:2] == ("abs-last_ch0", "abs-last_ch1")
    alone = make_step("represent", {"instantaneous": {"into": "X", "stats": ["max"]}})
    np.testing.assert_allclose(alone.fit_transform(w).X[0, :, 0], [2.0, 4.0])


def test_instantaneous_reads_lazy_windows_chunk_by_chunk() -> None:
    w = windows()
    assert isinstance(w.X, WindowArray)
    lazy = make_step("represent", "instantaneous").fit_transform(w).aux["inst"].X
    dense = make_step("represent", "instantaneous").fit_transform(
        Windows(np.asarray(w.X), w.y, w.meta, w.fs, w.layout)
    )
    np.testing.assert_array_equal(lazy, dense.aux["inst"].X)
    assert lazy.shape == (len(w), 4 * 3, 1)


def test_steps_save_and_rebuild() -> None:
    steps = make_steps(
        "represent",
        [{"imu-features": {"features": ["gravity", "angular-speed"], "key": "g"}}, "instantaneous"],
    )
    w = windows()
    for s in steps:
        w = s.fit_transform(w)
    docs, arrays = steps_to_json(steps)
    back = steps_from_json("represent", docs, arrays)
    assert [s.params() for s in back] == [s.params() for s in steps]
    again = windows()
    for s in back:
        again = s.transform(again)
    for key in ("g", "inst"):
        np.testing.assert_array_equal(again.aux[key].X, w.aux[key].X)
