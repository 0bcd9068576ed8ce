"""Channel layouts: channels to 2-D images, ring rotation and grid translation.

Windows are ``(n_windows, n_channels, n_samples)``. Images are
``(n_windows, rows, cols, n_samples)``: for a grid the `Layout`'s ``channel_map`` places
each channel at its physical position (positions without an electrode get ``fill``);
a ring or plain layout becomes one row ``1 × n_channels``. `reshape_channels` folds any
channel count into an arbitrary ``h × w`` image (e.g. the 8 × 24 HD-sEMG images).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import Layout
from myoshift.signal._validation import as_signal


def _windows(X: Any, name: str = "X") -> np.ndarray:
    return as_signal(X, name, ndim=3, min_samples=0)


def _check_layout(X: np.ndarray, layout: Layout) -> None:
    if not isinstance(layout, Layout):
        raise ConfigError(f"layout must be a myoshift Layout, got {type(layout).__name__}")
    if X.shape[1] != layout.n_channels:
        raise ShapeError(
            f"X has {X.shape[1]} channels (axis 1) but the {layout.kind} layout has "
            f"{layout.n_channels}"
        )


def image_index(layout: Layout) -> np.ndarray:
    """``(rows, cols)`` channel index of each image pixel (-1 = no electrode)."""
    if layout.kind == "grid":
        return layout.grid_index()
    return np.arange(layout.n_channels)[None, :]


def to_image(X: Any, layout: Layout, fill: float = 0.0) -> np.ndarray:
    """Windows ``(n, C, T)`` to images ``(n, rows, cols, T)`` following ``layout``.

    Grids use their ``channel_map`` (``-1`` pixels get ``fill``); rings and plain
    layouts give ``(n, 1, C, T)``.
    """
    arr = _windows(X)
    _check_layout(arr, layout)
    idx = image_index(layout)
    padded = np.concatenate([arr, np.full((arr.shape[0], 1, arr.shape[2]), fill, arr.dtype)], 1)
    safe = np.where(idx >= 0, idx, arr.shape[1])
    return padded[:, safe, :]


def from_image(images: Any, layout: Layout) -> np.ndarray:
    """Inverse of `to_image`: images ``(n, rows, cols, T)`` back to ``(n, C, T)``."""
    img = as_signal(images, "images", ndim=4, min_samples=0)
    idx = image_index(layout)
    if img.shape[1:3] != idx.shape:
        raise ShapeError(f"images have grid {img.shape[1:3]}, layout expects {idx.shape}")
    rows, cols = np.nonzero(idx >= 0)
    order = np.argsort(idx[rows, cols])
    return img[:, rows[order], cols[order], :]


def reshape_channels(X: Any, shape: tuple[int, int], pad: bool = False) -> np.ndarray:
    """Fold channels row-major into an ``h × w`` image: ``(n, C, T)`` -> ``(n, h, w, T)``.

    ``h * w`` must equal ``C``, unless ``pad=True`` where missing pixels are zero.
    """
    arr = _windows(X)
    h, w = (int(v) for v in shape)
    if h < 1 or w < 1:
        raise ConfigError(f"image shape must be positive, got {shape}")
    n, c, t = arr.shape
    if h * w != c:
        if not (pad and h * w > c):
            raise ShapeError(
                f"cannot fold {c} channels into {h}x{w} = {h * w} pixels"
                + ("" if pad else " (pass pad=True to zero-pad)")
            )
        arr = np.concatenate([arr, np.zeros((n, h * w - c, t), arr.dtype)], axis=1)
    return arr.reshape(n, h, w, t)


def _shifts(k: Any, n: int, name: str) -> np.ndarray:
    """Scalar or per-window shifts as a float array of shape ``(n,)``."""
    arr = np.asarray(k, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ShapeError(
            f"{name} must be a scalar or have one value per window ({n}), got {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ConfigError(f"{name} must be finite")
    return arr


def rotate_ring(X: Any, k: Any) -> np.ndarray:
    """Rotate ring electrodes by ``k`` positions: output channel ``c`` reads ``c - k``.

    Integer ``k`` is an exact ``np.roll`` along the channel axis (axis 1); a fractional
    ``k`` interpolates linearly between the two neighbouring electrodes (the armband
    put on rotated by a fraction of the electrode spacing). ``k`` may be a scalar or one
    value per window.
    """
    arr = _windows(X)
    n, c, _ = arr.shape
    shifts = _shifts(k, n, "k")
    base = np.floor(shifts)
    frac = (shifts - base).astype(arr.dtype)
    if n and (shifts == shifts[0]).all():  # one shift for all: two rolls
        x0 = np.roll(arr, int(base[0]), axis=1)
        if frac[0] == 0:
            return x0
        return (1 - frac[0]) * x0 + frac[0] * np.roll(arr, int(base[0]) + 1, axis=1)
    rows = np.arange(n)[:, None]
    i0 = (np.arange(c)[None, :] - base[:, None].astype(np.int64)) % c  # (n, C)
    x0 = arr[rows, i0]  # gathers whole time rows
    if not frac.any():
        return x0
    x1 = arr[rows, (i0 - 1) % c]
    f = frac[:, None, None]
    return (1 - f) * x0 + f * x1


def translate_grid(
    X: Any,
    layout: Layout,
    dr: Any = 0,
    dc: Any = 0,
    mode: Literal["zero", "edge"] = "zero",
) -> np.ndarray:
    """Shift a grid's electrodes by ``dr`` rows and ``dc`` columns (integers).

    The pixel at ``(r, c)`` takes the value that was at ``(r - dr, c - dc)``. Sources
    outside the grid (or without an electrode) give zero (``mode="zero"``) or the
    nearest edge electrode (``mode="edge"``). ``dr``/``dc`` may be one value per window.
    Input and output are ``(n, C, T)`` in the layout's channel order.
    """
    arr = _windows(X)
    _check_layout(arr, layout)
    if layout.kind != "grid":
        raise ConfigError(f"translate_grid needs a grid layout, got {layout.kind!r}")
    if mode not in ("zero", "edge"):
        raise ConfigError(f"mode must be 'zero' or 'edge', got {mode!r}")
    n, c, _ = arr.shape
    sr, sc = _shifts(dr, n, "dr"), _shifts(dc, n, "dc")
    if (sr != np.round(sr)).any() or (sc != np.round(sc)).any():
        raise ConfigError("translate_grid shifts must be integers")
    idx = layout.grid_index()
    rows, cols = idx.shape
    pr, pc = np.nonzero(idx >= 0)
    order = np.argsort(idx[pr, pc])
    pr, pc = pr[order], pc[order]  # position of each channel
    src_r = pr[None, :] - sr[:, None].astype(np.int64)  # (n, C)
    src_c = pc[None, :] - sc[:, None].astype(np.int64)
    inside = (src_r >= 0) & (src_r < rows) & (src_c >= 0) & (src_c < cols)
    if mode == "edge":
        src_r, src_c = np.clip(src_r, 0, rows - 1), np.clip(src_c, 0, cols - 1)
        inside = np.ones_like(inside)
    src = np.where(inside, idx[np.clip(src_r, 0, rows - 1), np.clip(src_c, 0, cols - 1)], -1)
    padded = np.concatenate([arr, np.zeros((n, 1, arr.shape[2]), arr.dtype)], axis=1)
    src = np.where(src >= 0, src, c)
    return padded[np.arange(n)[:, None], src]
