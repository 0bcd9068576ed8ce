"""Data augmentation for EMG windows (training only, always seeded).

Every function takes windows ``X`` of shape ``(n, C, T)`` and an explicit ``rng``
(a ``numpy.random.Generator`` or an integer seed), draws its random parameters per
window, never modifies ``X`` in place and returns a new array of the same shape and
dtype. `Augmenter` chains steps, each applied to a random fraction of the windows.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.interpolate import CubicSpline

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import Layout
from myoshift.signal._validation import as_rng, as_signal
from myoshift.signal.layouts import rotate_ring, translate_grid

RNG = np.random.Generator | int


def _windows(X: Any) -> np.ndarray:
    return as_signal(X, "X", ndim=3, min_samples=0)


def _per_window(value: Any, n: int, rng: np.random.Generator, name: str) -> np.ndarray:
    """A scalar, or a ``(low, high)`` range drawn uniformly per window -> ``(n,)``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or not float(value[0]) <= float(value[1]):
            raise ConfigError(f"{name} range must be (low, high) with low <= high, got {value}")
        return rng.uniform(float(value[0]), float(value[1]), size=n)
    v = float(value)
    if not np.isfinite(v):
        raise ConfigError(f"{name} must be finite, got {value}")
    return np.full(n, v)


def add_noise_snr(X: Any, snr_db: float | tuple[float, float], rng: RNG) -> np.ndarray:
    """Add white Gaussian noise at a signal-to-noise ratio of ``snr_db`` decibels.

    The signal power is measured per window and channel (mean square over time), so
    every channel of every window gets noise of power ``P / 10 ** (snr_db / 10)``.
    ``snr_db`` may be a ``(low, high)`` range drawn per window.
    """
    arr, gen = _windows(X), as_rng(rng)
    snr = _per_window(snr_db, arr.shape[0], gen, "snr_db")
    power = np.mean(arr.astype(np.float64) ** 2, axis=2, keepdims=True)
    std = np.sqrt(power / 10.0 ** (snr[:, None, None] / 10.0))
    return (arr + std * gen.standard_normal(arr.shape)).astype(arr.dtype)


def scale_magnitude(
    X: Any, rng: RNG, low: float = 0.8, high: float = 1.2, per_channel: bool = False
) -> np.ndarray:
    """Multiply each window (or each window-channel) by a gain drawn in ``[low, high]``."""
    arr, gen = _windows(X), as_rng(rng)
    if not 0 <= low <= high:
        raise ConfigError(f"need 0 <= low <= high, got low={low}, high={high}")
    size = (arr.shape[0], arr.shape[1] if per_channel else 1, 1)
    return (arr * gen.uniform(low, high, size=size)).astype(arr.dtype)


def rotate_electrodes(
    X: Any, rng: RNG, max_shift: float = 1.0, fractional: bool = False
) -> np.ndarray:
    """Rotate ring electrodes by a random ``k`` in ``[-max_shift, max_shift]`` per window.

    Integer ``k`` unless ``fractional`` (then linear interpolation, see `rotate_ring`).
    """
    arr, gen = _windows(X), as_rng(rng)
    if not (np.isfinite(max_shift) and max_shift >= 0):
        raise ConfigError(f"max_shift must be >= 0, got {max_shift}")
    n = arr.shape[0]
    k: np.ndarray
    if fractional:
        k = np.asarray(gen.uniform(-max_shift, max_shift, size=n))
    else:
        m = int(np.floor(max_shift))
        k = np.asarray(gen.integers(-m, m + 1, size=n))
    return rotate_ring(arr, k)


def translate_electrodes(
    X: Any, rng: RNG, layout: Layout, max_shift: int | tuple[int, int] = 1, mode: str = "zero"
) -> np.ndarray:
    """Translate a grid by random integer ``(dr, dc)`` within ``±max_shift`` per window."""
    arr, gen = _windows(X), as_rng(rng)
    mr, mc = (max_shift, max_shift) if isinstance(max_shift, int) else max_shift
    if mr < 0 or mc < 0:
        raise ConfigError(f"max_shift must be >= 0, got {max_shift}")
    n = arr.shape[0]
    dr = gen.integers(-mr, mr + 1, size=n)
    dc = gen.integers(-mc, mc + 1, size=n)
    return translate_grid(arr, layout, dr, dc, mode=mode)  # type: ignore[arg-type]


def channel_dropout(X: Any, rng: RNG, p: float = 0.1) -> np.ndarray:
    """Zero each channel of each window independently with probability ``p``."""
    arr, gen = _windows(X), as_rng(rng)
    if not 0 <= p <= 1:
        raise ConfigError(f"dropout probability must be in [0, 1], got {p}")
    keep = gen.random((arr.shape[0], arr.shape[1], 1)) >= p
    return (arr * keep).astype(arr.dtype)


def time_shift(X: Any, rng: RNG, max_shift: int = 10, mode: str = "roll") -> np.ndarray:
    """Shift each window in time by a random integer in ``[-max_shift, max_shift]`` samples.

    ``mode="roll"`` wraps around (circular); ``"pad"`` crops what leaves the window and
    zero-pads the other end.
    """
    arr, gen = _windows(X), as_rng(rng)
    if mode not in ("roll", "pad"):
        raise ConfigError(f"mode must be 'roll' or 'pad', got {mode!r}")
    if int(max_shift) < 0:
        raise ConfigError(f"max_shift must be >= 0, got {max_shift}")
    n, _, t = arr.shape
    s = np.asarray(gen.integers(-int(max_shift), int(max_shift) + 1, size=n))
    src = np.arange(t)[None, :] - s[:, None]  # (n, T): output t reads input t - s
    if mode == "roll":
        return np.take_along_axis(arr, (src % t)[:, None, :], axis=2) if t else arr.copy()
    valid = (src >= 0) & (src < t)
    out = np.take_along_axis(arr, np.clip(src, 0, max(t - 1, 0))[:, None, :], axis=2)
    return (out * valid[:, None, :]).astype(arr.dtype)


def time_warp(X: Any, rng: RNG, sigma: float = 0.2, n_knots: int = 4) -> np.ndarray:
    """Smooth random time warping (resampling along a random monotone time map).

    The local speed is ``exp(N(0, sigma))`` at ``n_knots + 2`` evenly spaced knots,
    interpolated by a cubic spline; its running integral, rescaled to span the window,
    maps output to input time, and each channel is linearly interpolated there. The
    first and last samples stay in place.
    """
    arr, gen = _windows(X), as_rng(rng)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ConfigError(f"sigma must be >= 0, got {sigma}")
    if int(n_knots) < 1:
        raise ConfigError(f"n_knots must be >= 1, got {n_knots}")
    n, _, t = arr.shape
    if t < 2 or n == 0:
        return arr.copy()
    knots = np.linspace(0, t - 1, int(n_knots) + 2)
    speed = np.exp(gen.normal(0.0, sigma, size=(n, len(knots))))
    grid = np.arange(t, dtype=np.float64)
    rate = np.maximum(CubicSpline(knots, speed, axis=1)(grid), 1e-3)  # (n, T)
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum((rate[:, 1:] + rate[:, :-1]) / 2, 1)], 1)
    warped = cum / cum[:, -1:] * (t - 1)  # monotone, 0 .. T-1
    i0 = np.clip(np.floor(warped).astype(np.int64), 0, t - 2)
    frac = (warped - i0)[:, None, :]
    x0 = np.take_along_axis(arr, i0[:, None, :], axis=2)
    x1 = np.take_along_axis(arr, (i0 + 1)[:, None, :], axis=2)
    return ((1.0 - frac) * x0 + frac * x1).astype(arr.dtype)


def one_hot(y: Any, n_classes: int | None = None) -> np.ndarray:
    """Class codes ``(n,)`` to one-hot rows ``(n, n_classes)``; soft labels pass through."""
    arr = np.asarray(y)
    if arr.ndim == 2:
        return arr.astype(np.float64)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ShapeError(
            f"labels must be integer codes (n,) or soft labels (n, K), got {arr.shape}"
        )
    if arr.size and arr.min() < 0:
        raise ConfigError("labels must be >= 0 (drop UNLABELLED windows before mixup)")
    k = int(arr.max()) + 1 if n_classes is None else int(n_classes)
    if arr.size and arr.max() >= k:
        raise ConfigError(f"label {arr.max()} >= n_classes {k}")
    out = np.zeros((arr.size, k))
    out[np.arange(arr.size), arr] = 1.0
    return out


def mixup(
    X: Any,
    y: Any,
    rng: RNG,
    alpha: float = 0.2,
    n_classes: int | None = None,
    p: float = 1.0,
    return_pairs: bool = False,
) -> tuple[Any, ...]:
    """Mixup (Zhang et al., 2018): convex combinations of random pairs of windows.

    Each window ``i`` is mixed with a random partner ``j`` (a permutation of the batch)
    with weight ``lam ~ Beta(alpha, alpha)``: ``X_i' = lam X_i + (1 - lam) X_j``. A window
    is left untouched (``lam = 1``) with probability ``1 - p``.

    Returns
    -------
    (X_mixed, Y_soft)
        by default, ``Y_soft`` ``(n, n_classes)`` float (``y`` may already be soft);
    (X_mixed, y, y[j], lam)
        with ``return_pairs=True``: the two integer labels and the weight per window,
        for a loss ``lam * L(y) + (1 - lam) * L(y[j])``.
    """
    arr, gen = _windows(X), as_rng(rng)
    if not alpha > 0:
        raise ConfigError(f"mixup alpha must be > 0, got {alpha}")
    n = arr.shape[0]
    yy = np.asarray(y)
    if yy.shape[0] != n:
        raise ShapeError(f"y has {yy.shape[0]} rows, X has {n} windows")
    perm = gen.permutation(n)
    lam = np.where(gen.random(n) < p, np.asarray(gen.beta(alpha, alpha, size=n)), 1.0)
    lw = lam[:, None, None]
    xm = (lw * arr + (1.0 - lw) * arr[perm]).astype(arr.dtype)
    if return_pairs:
        return xm, yy, yy[perm], lam
    soft = one_hot(yy, n_classes)
    return xm, lam[:, None] * soft + (1.0 - lam[:, None]) * soft[perm]


StepFn = Callable[..., Any]

AUGMENTATIONS: dict[str, StepFn] = {
    "noise": add_noise_snr,
    "scale": scale_magnitude,
    "rotate": rotate_electrodes,
    "translate": translate_electrodes,
    "dropout": channel_dropout,
    "shift": time_shift,
    "warp": time_warp,
    "mixup": mixup,
}
LABEL_STEPS = {"mixup"}


class Augmenter:
    """A chain of augmentations, callable as ``augmenter(X, y, rng) -> (X, y)``.

    Parameters
    ----------
    steps : sequence
        Each step is a name from `AUGMENTATIONS`, a ``(name, kwargs)`` pair, or a
        callable ``f(X, rng=generator) -> X`` (its parameter must be named ``rng``). Example:
        ``[("noise", {"snr_db": (10, 30)}), "scale", ("rotate", {"max_shift": 1})]``.
    p : float or sequence of float
        Probability that a step applies to each window (one value, or one per step).
        Mixup (which also changes ``y`` to soft labels of shape ``(n, n_classes)``)
        mixes each window with probability ``p``; then ``y`` stays soft for later steps.

    Notes
    -----
    Windows are selected per step independently; the output has the input's shape.
    """

    def __init__(self, steps: Sequence[Any], p: float | Sequence[float] = 0.5) -> None:
        self.steps: list[tuple[str, StepFn, dict[str, Any]]] = []
        for step in steps:
            if callable(step):
                self.steps.append((getattr(step, "__name__", "custom"), step, {}))
                continue
            name, kwargs = (step, {}) if isinstance(step, str) else step
            if name not in AUGMENTATIONS:
                raise ConfigError(f"unknown augmentation {name!r}; valid: {sorted(AUGMENTATIONS)}")
            fn, kw = AUGMENTATIONS[name], dict(kwargs)
            missing = [
                q.name
                for q in inspect.signature(fn).parameters.values()
                if q.default is inspect.Parameter.empty
                and q.name not in ("X", "y", "rng")
                and q.name not in kw
            ]
            if missing:
                raise ConfigError(f"augmentation {name!r} needs {missing} in its kwargs")
            self.steps.append((name, fn, kw))
        if isinstance(p, (int, float, np.floating)):
            probs = [float(p)] * len(self.steps)
        else:
            probs = [float(v) for v in p]
        if len(probs) != len(self.steps):
            raise ConfigError(f"got {len(probs)} probabilities for {len(self.steps)} steps")
        if any(not 0 <= v <= 1 for v in probs):
            raise ConfigError(f"probabilities must be in [0, 1], got {probs}")
        self.p = probs

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}(p={p})" for (n, _, _), p in zip(self.steps, self.p))
        return f"Augmenter([{inner}])"

    def __call__(self, X: Any, y: Any, rng: RNG) -> tuple[np.ndarray, np.ndarray]:
        arr, gen = _windows(X).copy(), as_rng(rng)
        labels = np.asarray(y)
        if labels.shape[0] != arr.shape[0]:
            raise ShapeError(f"y has {labels.shape[0]} rows, X has {arr.shape[0]} windows")
        for (name, fn, kwargs), prob in zip(self.steps, self.p):
            if name in LABEL_STEPS:
                arr, labels = fn(arr, labels, gen, p=prob, **kwargs)
                continue
            mask = np.asarray(gen.random(arr.shape[0]) < prob)
            if mask.any():
                arr[mask] = fn(arr[mask], rng=gen, **kwargs)
        return arr, labels


def as_augmenter(spec: Any) -> Callable[..., Any] | None:
    """An augmentation callable from a callable, an `Augmenter` spec, or None.

    ``spec`` may be a callable ``(X, y, rng) -> (X, y)`` (returned as is), a list of
    `Augmenter` steps, or a dict ``{"steps": [...], "p": ...}``; plain data like this
    fits in a method config and in a saved estimator's JSON. Pairs may be lists (JSON
    has no tuples): ``[["noise", {"snr_db": [20, 40]}], ["scale", {}]]``.
    """
    if spec is None or callable(spec):
        return spec
    if isinstance(spec, dict):
        unknown = set(spec) - {"steps", "p"}
        if unknown or "steps" not in spec:
            raise ConfigError(
                "augment spec must be a list of steps or {'steps': [...], 'p': ...}, "
                f"got {spec!r}"
            )
        steps, p = spec["steps"], spec.get("p", 0.5)
    elif isinstance(spec, (list, tuple)):
        steps, p = spec, 0.5
    else:
        raise ConfigError(f"augment must be a callable, a list of steps or a dict, got {spec!r}")
    if isinstance(p, list):
        p = tuple(p)

    def _step(step: Any) -> Any:
        if isinstance(step, (list, tuple)):
            if len(step) != 2 or not isinstance(step[1], dict):
                raise ConfigError(f"augment step must be a name or [name, kwargs], got {step!r}")
            kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in step[1].items()}
            return (step[0], kwargs)
        return step

    return Augmenter([_step(st) for st in steps], p=p)
