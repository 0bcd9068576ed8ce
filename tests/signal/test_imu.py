"""IMU orientation features and generic per-dimension window statistics."""

from __future__ import annotations

import numpy as np
import pytest

from myoshift.errors import ConfigError, ShapeError
from myoshift.signal.imu import (
    QUATERNION_FEATURES,
    angular_speed,
    canonical_quaternions,
    gravity_direction,
    relative_angle,
    rotation_matrices,
    stream_features,
)


def about(axis: str, angle: np.ndarray | float) -> np.ndarray:
    """Unit quaternions (w, x, y, z) of rotations by ``angle`` about a coordinate axis."""
    angle = np.asarray(angle, dtype=np.float64)
    q = np.zeros((*angle.shape, 4))
    q[..., 0] = np.cos(angle / 2)
    q[..., 1 + "xyz".index(axis)] = np.sin(angle / 2)
    return q


def test_canonical_quaternions_are_unit_with_nonnegative_w() -> None:
    q = np.array([[-2.0, 0.0, 0.0, 0.0], [0.5, -0.5, 0.5, 0.5], [-0.1, 0.7, 0.7, 0.0]])
    c = canonical_quaternions(q)
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 1.0)
    assert (c[:, 0] >= 0).all()
    np.testing.assert_allclose(c[0], [1, 0, 0, 0])
    # q and -q are one orientation: one canonical value
    np.testing.assert_allclose(canonical_quaternions(-q), c)
    with pytest.raises(ShapeError, match="zero norm"):
        canonical_quaternions(np.zeros((1, 4)))
    with pytest.raises(ShapeError, match="last axis of 4"):
        canonical_quaternions(np.ones((2, 3)))


def test_rotation_matrix_of_known_rotations() -> None:
    R = rotation_matrices(about("z", np.pi / 2))
    np.testing.assert_allclose(R @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)  # x -> y
    rng = np.random.default_rng(0)
    Rs = rotation_matrices(rng.standard_normal((50, 4)))
    eye = np.broadcast_to(np.eye(3), Rs.shape)
    np.testing.assert_allclose(Rs @ np.swapaxes(Rs, 1, 2), eye, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(Rs), 1.0)
    np.testing.assert_allclose(rotation_matrices(-rng.standard_normal((3, 4))).shape, (3, 3, 3))


def test_gravity_direction_tells_the_forearm_roll() -> None:
    np.testing.assert_allclose(gravity_direction(np.array([1.0, 0, 0, 0])), [0, 0, 1])
    # the sensor rolled by +/-90 degrees about its x axis (the forearm's long axis, say):
    # the world's vertical now lies along the sensor's +y / -y axis
    pro = gravity_direction(about("x", np.pi / 2))
    sup = gravity_direction(about("x", -np.pi / 2))
    np.testing.assert_allclose(pro, [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(sup, [0, -1, 0], atol=1e-12)
    # a heading change (about the vertical) leaves it unchanged
    yawed = gravity_direction(about("z", 1.0))
    np.testing.assert_allclose(yawed, [0, 0, 1], atol=1e-12)


def test_relative_angle_and_angular_speed() -> None:
    a, b = about("y", 0.2), about("y", 0.9)
    assert relative_angle(a, b) == pytest.approx(0.7)
    assert relative_angle(a, -b) == pytest.approx(0.7)  # sign-invariant
    assert relative_angle(a, a) == pytest.approx(0.0, abs=1e-6)
    fs, rate = 50.0, 1.5  # rad/s about x
    t = np.arange(13) / fs
    q = about("x", rate * t)[None]  # (1, T, 4)
    assert angular_speed(q, fs)[0] == pytest.approx(rate, rel=1e-6)
    assert angular_speed(q[:, :1], fs)[0] == 0.0
    with pytest.raises(ConfigError, match="rate"):
        angular_speed(q, 0.0)


def test_stream_features_columns_and_values() -> None:
    fs, rate = 50.0, 2.0
    t = np.arange(10) / fs
    q = np.stack([about("z", rate * t), about("x", 0.3 + 0 * t)])  # (2, T, 4)
    X = np.moveaxis(q, 2, 1).astype(np.float32)  # (2, 4, T) as AuxWindows hold it
    F, names = stream_features(X, list(QUATERNION_FEATURES), fs)
    assert F.shape == (2, 4 + 9 + 3 + 1 + 1) and F.dtype == np.float64
    assert names[:4] == ["qw", "qx", "qy", "qz"] and names[-2:] == [
        "rotation_change",
        "angular_speed",
    ]
    col = {n: F[:, i] for i, n in enumerate(names)}
    np.testing.assert_allclose(col["rotation_change"], [rate * t[-1], 0.0], atol=1e-5)
    np.testing.assert_allclose(col["angular_speed"], [rate, 0.0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(F[:, :4], canonical_quaternions(q[:, -1]), atol=1e-6)
    # generic statistics on any stream (a glove with 3 sensors), names from the stream
    G = np.arange(2 * 3 * 5, dtype=np.float64).reshape(2, 3, 5)
    F, names = stream_features(G, ["mean", "last", "abs-last", "max", "min", "range"], 0.0, "abc")
    assert names[:3] == ["mean_a", "mean_b", "mean_c"] and len(names) == 18
    np.testing.assert_allclose(F[0, :3], [2, 7, 12])
    np.testing.assert_allclose(F[0, 3:6], [4, 9, 14])
    np.testing.assert_allclose(F[:, 15:], 4.0)  # range = max - min


def test_stream_features_refuse_bad_input() -> None:
    with pytest.raises(ShapeError, match="needs a quaternion stream"):
        stream_features(np.zeros((2, 22, 5)), ["gravity"])
    with pytest.raises(ConfigError, match="unknown stream feature 'speed'"):
        stream_features(np.zeros((2, 4, 5)), ["speed"])
    with pytest.raises(ConfigError, match="non-empty list"):
        stream_features(np.zeros((2, 4, 5)), [])
    with pytest.raises(ShapeError, match="NaN"):
        stream_features(np.full((2, 4, 5), np.nan), ["mean"])
    with pytest.raises(ShapeError, match="points >= 1"):
        stream_features(np.zeros((2, 4)), ["mean"])
