"""Input checking, validation splits by group and class weights for the estimators.

Estimators accept either a float array of windows ``(n_windows, n_channels, n_samples)``
with labels, or a `myoshift.signal.Windows` object (labels and groups then come from it;
the group of a window is its repetition). Validation data for early stopping is always
taken from the training data by whole groups (repetitions, trials), never as a random
subset of windows: overlapping windows of one repetition would otherwise sit on both
sides and make the validation loss meaninglessly optimistic.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.utils import Tags

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import Recording, RecordingSet
from myoshift.signal.window_array import WindowArray, finite_windows
from myoshift.signal.windows import Windows, make_windows

log = logging.getLogger(__name__)


def is_recordings(X: Any) -> bool:
    """True for a `Recording`, a `RecordingSet` or a non-empty list of recordings."""
    if isinstance(X, (Recording, RecordingSet)):
        return True
    return isinstance(X, (list, tuple)) and bool(X) and all(isinstance(r, Recording) for r in X)


class RecordingInput:
    """Lets an estimator take recordings as ``X``: cut with its ``window_ms``/``step_ms``.

    Windows (and labels, groups = repetitions) then come from `make_windows`, so
    ``est.fit(rset)``, ``est.score(test_rset)`` and ``est.adapt(calibration_rset)`` work
    without a separate windowing step; predictions are per window, in the window order
    of ``make_windows(X, est.window_ms, est.step_ms)``.
    """

    window_ms: float | None
    step_ms: float | None

    def __sklearn_tags__(self) -> Tags:
        """Inputs are windows ``(n, channels, samples)``, not 2-D tables."""
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.two_d_array, tags.input_tags.three_d_array = False, True
        return tags  # type: ignore[no-any-return]

    def _as_input(self, X: Any) -> Any:
        if not is_recordings(X):
            return X
        if self.window_ms is None or self.step_ms is None:
            raise ConfigError(
                f"{type(self).__name__} got recordings: set window_ms and step_ms to cut them "
                "into windows, or pass windows (an array or a Windows object)"
            )
        return make_windows(X, self.window_ms, self.step_ms)


def unpack(
    X: Any, y: Any = None, groups: Any = None, *, name: str = "X"
) -> tuple[np.ndarray | WindowArray, np.ndarray | None, np.ndarray | None]:
    """Return ``(X, y, groups)`` from arrays or a `Windows` object.

    With a `Windows` object, ``y`` defaults to ``windows.y`` and ``groups`` to
    ``windows.groups`` (repetition units, else recordings); explicit arguments win.
    A lazy `WindowArray` is checked and returned un-materialised (see `check_windows`).
    """
    if isinstance(X, Windows):
        if y is None:
            y = X.y
        if groups is None:
            groups = X.groups
        X = X.X
    return check_windows(X, name=name), y, groups


def check_windows(X: Any, *, name: str = "X") -> np.ndarray | WindowArray:
    """Check a window array: 3-D ``(n, C, T)``, numeric, finite; return float32.

    A lazy `WindowArray` is checked chunk by chunk and returned as it is (never
    materialised); anything else is converted to a float32 ndarray.

    Raises
    ------
    ShapeError
        Not 3-D, empty, not numeric or containing NaN/Inf (naming the first bad window).
    """
    if isinstance(X, WindowArray):
        arr: np.ndarray | WindowArray = X
        if X.dtype.kind not in "fiu":
            raise ShapeError(f"{name} must be numeric windows, got dtype {X.dtype}")
    else:
        if np.iscomplexobj(X):
            raise ShapeError(f"{name} must be real-valued windows, got complex values")
        try:
            arr = np.asarray(X, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ShapeError(
                f"{name} must be a numeric array (n_windows, n_channels, n_samples): {exc}"
            ) from None
    if arr.ndim != 3:
        raise ShapeError(
            f"{name} must be 3-D (n_windows, n_channels, n_samples), got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ShapeError(f"{name} has no windows (shape {arr.shape})")
    finite = finite_windows(arr)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ShapeError(
            f"{name} contains NaN or Inf in window {bad[0]} ({len(bad)} bad windows of "
            f"{len(arr)}); clean the signal before fitting"
        )
    return arr


def check_labels(y: Any, n: int, *, name: str = "y") -> np.ndarray:
    """1-D labels of length ``n``."""
    if y is None:
        raise ConfigError(f"{name} is required (labels for every window)")
    arr = np.asarray(y)
    if arr.ndim != 1 or len(arr) != n:
        raise ShapeError(f"{name} must be 1-D with {n} entries (one per window), got {arr.shape}")
    return arr


def check_targets(y: Any, n: int, *, name: str = "y") -> np.ndarray:
    """Continuous targets ``(n,)`` or ``(n, k)`` as float32 ``(n, k)``, finite."""
    if y is None:
        raise ConfigError(f"{name} is required (targets for every window)")
    arr = np.asarray(y, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or len(arr) != n:
        raise ShapeError(f"{name} must be (n,) or (n, k) with n={n}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ShapeError(f"{name} contains NaN or Inf")
    return arr


def validation_split(
    y: np.ndarray,
    groups: np.ndarray | None,
    val_fraction: float,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, val)`` holding out whole groups for validation.

    Parameters
    ----------
    y : ndarray (n,)
        Labels (used only by the fallback).
    groups : ndarray (n,) or None
        Group of each window (repetition, trial). With at least two distinct groups,
        ``round(val_fraction * n_groups)`` groups (at least 1, at most ``n_groups - 1``)
        are chosen with ``seed`` and held out.
    val_fraction : float in [0, 1)
        0 gives an empty validation set.
    seed : int

    Notes
    -----
    With no groups (or a single one), the last ``val_fraction`` of each class's windows
    in their given (time) order is held out: contiguous blocks, never random windows.
    """
    n = len(y)
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction}")
    all_idx = np.arange(n)
    if val_fraction == 0.0 or n < 2:
        return all_idx, np.zeros(0, dtype=np.int64)
    if groups is not None:
        groups = np.asarray(groups)
        if len(groups) != n:
            raise ShapeError(f"groups must have one entry per window ({n}), got {len(groups)}")
        uniq = np.unique(groups)
        if len(uniq) >= 2:
            n_val = int(np.clip(round(val_fraction * len(uniq)), 1, len(uniq) - 1))
            rng = np.random.default_rng(seed)
            val_groups = rng.choice(uniq, size=n_val, replace=False)
            val = np.isin(groups, val_groups)
            return all_idx[~val], all_idx[val]
    log.info("no groups for the validation split; holding out the last block of each class")
    val_mask = np.zeros(n, dtype=bool)
    for c in np.unique(y, axis=0) if np.ndim(y) == 1 else [None]:
        idx = all_idx if c is None else np.flatnonzero(y == c)
        k = int(np.floor(val_fraction * len(idx)))
        if k > 0 and k < len(idx):
            val_mask[idx[-k:]] = True
    return all_idx[~val_mask], all_idx[val_mask]


def class_weights(
    y_encoded: np.ndarray,
    n_classes: int,
    class_weight: str | Mapping[Any, float] | None,
    classes: np.ndarray | None = None,
) -> np.ndarray | None:
    """Per-class loss weights: None, ``"balanced"`` (n / (k * count)) or a mapping.

    A mapping is keyed by the original class labels (``classes``); missing classes
    get weight 1.
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ConfigError(
                f"class_weight must be None, 'balanced' or a dict, got {class_weight!r}"
            )
        counts = np.bincount(y_encoded, minlength=n_classes).astype(np.float64)
        w = np.where(counts > 0, len(y_encoded) / (n_classes * np.maximum(counts, 1)), 0.0)
        return w.astype(np.float32)
    if isinstance(class_weight, Mapping):
        labels = list(classes) if classes is not None else list(range(n_classes))
        unknown = set(class_weight) - set(labels)
        if unknown:
            raise ConfigError(
                f"class_weight has unknown classes {sorted(unknown)}; known: {labels}"
            )
        return np.array([float(class_weight.get(c, 1.0)) for c in labels], dtype=np.float32)
    raise ConfigError(f"class_weight must be None, 'balanced' or a dict, got {type(class_weight)}")
