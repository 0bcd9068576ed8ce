"""Input checks shared by the signal modules (filters, spectral, wavelet, augment, ...)."""

from __future__ import annotations

from typing import Any

import numpy as np

from myoshift.errors import ConfigError, ShapeError


def as_signal(
    x: Any,
    name: str = "x",
    ndim: int | tuple[int, ...] | None = None,
    min_samples: int = 1,
    axis: int = -1,
) -> np.ndarray:
    """Validate a real numeric signal array and return it as a floating array.

    Integer input becomes float64; float32/float64 keep their dtype.

    Raises
    ------
    ShapeError
        Non-numeric, boolean or complex dtype, wrong number of dimensions, fewer than
        ``min_samples`` samples along ``axis``, or NaN/Inf values.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise ShapeError(
            f"{name} must be a real numeric array (float or int), got dtype {arr.dtype}"
        )
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    elif arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ShapeError(f"{name} must be {want}, got shape {arr.shape}")
    if arr.ndim == 0:
        raise ShapeError(f"{name} must be an array with a time axis, got a scalar")
    if arr.shape[axis] < min_samples:
        raise ShapeError(
            f"{name} has {arr.shape[axis]} samples along axis {axis}, need at least {min_samples}"
        )
    if not np.isfinite(arr).all():
        raise ShapeError(f"{name} contains NaN or Inf; clean or interpolate the signal first")
    return arr


def positive(value: Any, name: str, integer: bool = False) -> float:
    """A finite number > 0 (an int > 0 when ``integer``), else `ConfigError`."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise ConfigError(f"{name} must be finite and > 0, got {value!r}")
    if integer and (isinstance(value, bool) or v != int(v)):
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return v


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A `numpy.random.Generator` from a generator or an integer seed (never hidden state)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        raise ConfigError("pass an explicit rng (np.random.Generator) or integer seed")
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ConfigError(f"rng must be a numpy Generator or an int seed, got {type(rng).__name__}")
