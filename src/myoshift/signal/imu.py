"""Features of auxiliary streams cut into windows: IMU orientation and generic statistics.

Pure NumPy on window arrays ``(n_windows, n_dims, n_points)`` such as
``Windows.aux["imu"].X`` (`myoshift.signal.windows.AuxWindows`).

Quaternions are ``(w, x, y, z)`` (Hamilton convention, scalar first, as the 3DC
armband logs them) and give the sensor's orientation: ``R(q)`` maps a vector in the
sensor frame to the world frame. ``q`` and ``-q`` are the same orientation; features
use the sign-normalised quaternion (``w >= 0``), so that one orientation has one value.

Quaternion features (the stream must have 4 dimensions):

* ``quaternion``: the unit quaternion at the window's last point, ``w >= 0`` (4);
* ``rotation``: the rotation matrix at the last point, row-major (9);
* ``gravity``: the world's vertical axis in the sensor frame, ``R^T e_z`` (3): the
  direction of gravity the armband sees, which tells forearm pronation from supination
  whatever the heading;
* ``rotation-change``: the angle (rad) of the rotation from the window's first point to
  its last (1);
* ``angular-speed``: the mean angle between successive points times the stream rate
  (rad/s) (1).

Generic per-dimension statistics (any stream: IMU, glove, force, or EMG windows):
``mean``, ``last``, ``abs-last`` (``|x|`` at the last point: an instantaneous map),
``max``, ``min``, ``range`` (peak to peak, ``max - min``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from myoshift.errors import ConfigError, ShapeError

__all__ = [
    "QUATERNION_FEATURES",
    "STATISTICS",
    "angular_speed",
    "canonical_quaternions",
    "gravity_direction",
    "relative_angle",
    "rotation_matrices",
    "stream_features",
]

#: quaternion features and their names per column
QUATERNION_FEATURES: dict[str, tuple[str, ...]] = {
    "quaternion": ("qw", "qx", "qy", "qz"),
    "rotation": tuple(f"r{i}{j}" for i in range(1, 4) for j in range(1, 4)),
    "gravity": ("gx", "gy", "gz"),
    "rotation-change": ("rotation_change",),
    "angular-speed": ("angular_speed",),
}

#: per-dimension statistics over a window, ``(n, C, T) -> (n, C)``
STATISTICS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": lambda x: x.mean(axis=2),
    "last": lambda x: x[:, :, -1],
    "abs-last": lambda x: np.abs(x[:, :, -1]),
    "max": lambda x: x.max(axis=2),
    "min": lambda x: x.min(axis=2),
    "range": lambda x: np.ptp(x, axis=2),
}


def canonical_quaternions(q: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` with ``w >= 0`` (float64).

    Raises
    ------
    ShapeError
        A last axis other than 4, or a quaternion of (near) zero norm.
    """
    q = np.asarray(q, dtype=np.float64)
    if q.ndim < 1 or q.shape[-1] != 4:
        raise ShapeError(f"quaternions must have a last axis of 4 (w, x, y, z), got {q.shape}")
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if not np.all(norm > 1e-6):
        raise ShapeError("quaternions of zero norm (the IMU had no orientation yet?)")
    q = q / norm
    return np.where(q[..., :1] < 0, -q, q)


def rotation_matrices(q: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` of quaternions ``(..., 4)`` (sensor -> world)."""
    w, x, y, z = np.moveaxis(canonical_quaternions(q), -1, 0)
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def gravity_direction(q: np.ndarray) -> np.ndarray:
    """The world's vertical axis in the sensor frame, ``R(q)^T e_z``, ``(..., 3)``."""
    return rotation_matrices(q)[..., 2, :]


def relative_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (rad, in ``[0, pi]``) of the rotation taking orientation ``a`` to ``b``."""
    dot = np.abs(np.sum(canonical_quaternions(a) * canonical_quaternions(b), axis=-1))
    return 2.0 * np.arccos(np.clip(dot, 0.0, 1.0))


def angular_speed(q: np.ndarray, fs: float) -> np.ndarray:
    """Mean angular speed (rad/s) over each window of quaternions ``(n, T, 4)``.

    The angle between successive points times the rate ``fs``, averaged over the
    window; 0 for windows of one point.
    """
    if not (np.isfinite(fs) and fs > 0):
        raise ConfigError(f"angular-speed needs the stream's rate in Hz > 0, got {fs!r}")
    if q.shape[1] < 2:
        return np.zeros(q.shape[0])
    return relative_angle(q[:, :-1], q[:, 1:]).mean(axis=1) * fs


def _quaternion_feature(name: str, q: np.ndarray, fs: float) -> np.ndarray:
    """One quaternion feature of windows ``q`` ``(n, T, 4)`` as ``(n, k)``."""
    last = q[:, -1]
    if name == "quaternion":
        return canonical_quaternions(last)
    if name == "rotation":
        return rotation_matrices(last).reshape(len(q), 9)
    if name == "gravity":
        return gravity_direction(last)
    if name == "rotation-change":
        return relative_angle(q[:, 0], last)[:, None]
    return angular_speed(q, fs)[:, None]


def stream_features(
    X: np.ndarray,
    features: Sequence[str],
    fs: float = 0.0,
    names: Sequence[str] = (),
) -> tuple[np.ndarray, list[str]]:
    """Features of windows of a stream, ``(n, C, T) -> (n, k)`` float64, and their names.

    Parameters
    ----------
    X : ndarray, (n_windows, n_dims, n_points)
    features : sequence of str
        Names from `QUATERNION_FEATURES` (the stream must have 4 dimensions) and
        `STATISTICS`, in output order; columns are feature-major.
    fs : float
        Rate of the points in Hz (used by ``angular-speed``).
    names : sequence of str
        Name of each dimension (default ``ch0, ch1, ...``), used in the statistics'
        column names (``"mean_qw"``).

    Raises
    ------
    ConfigError
        No or unknown feature names.
    ShapeError
        Not a 3-D array, no points, non-finite values, or a quaternion feature on a
        stream without 4 dimensions.
    """
    X = np.asarray(X)
    if X.ndim != 3 or X.shape[2] < 1:
        raise ShapeError(f"stream windows must be (n, dims, points >= 1), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ShapeError("stream windows contain NaN or Inf")
    if isinstance(features, str) or not features:
        raise ConfigError(f"features must be a non-empty list of names, got {features!r}")
    valid = (*QUATERNION_FEATURES, *STATISTICS)
    unknown = [f for f in features if f not in valid]
    if unknown:
        raise ConfigError(f"unknown stream feature {unknown[0]!r}; valid: {', '.join(valid)}")
    dims = list(names) if len(names) == X.shape[1] else [f"ch{i}" for i in range(X.shape[1])]
    quat = [f for f in features if f in QUATERNION_FEATURES]
    if quat and X.shape[1] != 4:
        raise ShapeError(
            f"feature {quat[0]!r} needs a quaternion stream (4 dimensions w, x, y, z), got "
            f"{X.shape[1]} dimensions"
        )
    q = np.moveaxis(X, 1, 2).astype(np.float64) if quat else X
    columns, out_names = [], []
    for f in features:
        if f in QUATERNION_FEATURES:
            columns.append(_quaternion_feature(f, q, fs))
            out_names += list(QUATERNION_FEATURES[f])
        else:
            columns.append(STATISTICS[f](X.astype(np.float64, copy=False)))
            out_names += [f"{f}_{d}" for d in dims]
    return np.concatenate(columns, axis=1), out_names
