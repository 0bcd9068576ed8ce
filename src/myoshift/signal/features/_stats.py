"""Shared per-window intermediates, computed once per chunk and reused by every feature.

Each feature function takes either a raw ``(n_windows, n_channels, n_samples)`` array or
a `WindowStats`; `extract_features` passes one `WindowStats` per chunk of windows so that
``|x|``, the first difference, the power spectrum, ... are computed once for all the
features that need them.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from myoshift.errors import ShapeError
from myoshift.signal.features import _accel

#: ``np.spacing(1)``: the epsilon LibEMG adds inside logarithms.
EPS = float(np.spacing(1))


def next_pow2(n: int) -> int:
    """Smallest power of two >= ``n`` (1 for 0), LibEMG's FFT length."""
    return 1 if n == 0 else 2 ** math.ceil(math.log2(n))


def flat_pairs(x: np.ndarray, op: np.ufunc) -> np.ndarray:
    """``op(x[..., 1:], x[..., :-1])`` along the last axis of a C-contiguous array, unsliced.

    Computed on the flattened array (one contiguous pass, about twice as fast as slicing
    the last axis). The result has ``x``'s shape; its last column pairs the end of one
    row with the start of the next and must be ignored (slice ``[..., :-1]``).
    """
    flat = x.reshape(-1)
    buf = np.empty(flat.size, dtype=np.result_type(x, x))
    op(flat[1:], flat[:-1], out=buf[:-1])
    buf[-1] = 0
    return buf.reshape(x.shape)


class WindowStats:
    """Lazily computed intermediates of one float64 block of windows.

    Parameters
    ----------
    x : ndarray, (n_windows, n_channels, n_samples)
        Converted to C-contiguous float64 once.
    """

    def __init__(self, x: np.ndarray) -> None:
        self.x = np.ascontiguousarray(x, dtype=np.float64)
        if self.x.ndim != 3:
            raise ShapeError(
                f"windows must be 3-D (n_windows, n_channels, n_samples), got shape {x.shape}"
            )
        #: precomputed counts ``(kind, threshold) -> (n, C)`` (see `fused_htd`)
        self.counts: dict[tuple[str, float], np.ndarray] = {}

    @classmethod
    def fused_htd(cls, x: np.ndarray, zc_threshold: float, ssc_threshold: float) -> WindowStats:
        """Stats of Hudgins TD windows from one compiled read of ``x`` (needs numba).

        ``sum|x|``, ``sum|dx|`` and the ZC/SSC counts at the given thresholds are computed
        together by ``_accel.row_htd``; ``x`` is kept as given (float32 is not copied:
        the kernel converts each value to float64), so only MAV, IAV, WL, MFL, MAVFD, ZC
        and SSC (at these thresholds) may be asked of the result.
        """
        obj = cls.__new__(cls)
        obj.x = x
        n, c, t = x.shape
        res = _accel.row_htd(x.reshape(n * c, t), zc_threshold, ssc_threshold).reshape(n, c, 4)
        obj.__dict__["abs_sum"] = res[..., 0]
        obj.__dict__["abs_diff_sum"] = res[..., 1]
        obj.counts = {("zc", zc_threshold): res[..., 2], ("ssc", ssc_threshold): res[..., 3]}
        return obj

    @property
    def n_samples(self) -> int:
        return int(self.x.shape[2])

    # -- amplitude -------------------------------------------------------------------------
    @cached_property
    def abs(self) -> np.ndarray:
        return np.abs(self.x)

    @cached_property
    def fused(self) -> np.ndarray | None:
        """``(n, C, 5)`` sum, sum|x|, sum x^2, sum|d|, sum d^2 in one compiled pass (or None)."""
        if not _accel.enabled():
            return None
        n, c, t = self.x.shape
        return _accel.row_sums(self.x.reshape(n * c, t)).reshape(n, c, 5)

    @cached_property
    def abs_sum(self) -> np.ndarray:
        if self.fused is not None:
            return self.fused[..., 1]
        return np.add.reduce(self.abs, axis=2)

    @cached_property
    def sum(self) -> np.ndarray:
        if self.fused is not None:
            return self.fused[..., 0]
        return np.add.reduce(self.x, axis=2)

    @cached_property
    def sq_sum(self) -> np.ndarray:
        if self.fused is not None:
            return self.fused[..., 2]
        return np.einsum("ijk,ijk->ij", self.x, self.x)

    @cached_property
    def mean(self) -> np.ndarray:
        return self.sum / self.n_samples

    @cached_property
    def centered(self) -> np.ndarray:
        return self.x - self.mean[..., None]

    @cached_property
    def central2(self) -> np.ndarray:
        """Population variance (two-pass, as ``np.var``)."""
        c = self.centered
        return np.einsum("ijk,ijk->ij", c, c) / self.n_samples

    # -- differences -----------------------------------------------------------------------
    @cached_property
    def diff_full(self) -> np.ndarray:
        """First difference, ``(n, C, N)``: the last column is padding (see `flat_pairs`)."""
        return flat_pairs(self.x, np.subtract)

    @cached_property
    def diff(self) -> np.ndarray:
        return self.diff_full[..., :-1]

    @cached_property
    def abs_diff(self) -> np.ndarray:
        return np.abs(self.diff_full)[..., :-1]

    @cached_property
    def abs_diff_sum(self) -> np.ndarray:
        if self.fused is not None:
            return self.fused[..., 3]
        return np.add.reduce(self.abs_diff, axis=2)

    @cached_property
    def diff_sq_sum(self) -> np.ndarray:
        if self.fused is not None:
            return self.fused[..., 4]
        d = self.diff
        return np.einsum("ijk,ijk->ij", d, d)

    @cached_property
    def diff2(self) -> np.ndarray:
        d = self.diff
        return d[..., 1:] - d[..., :-1]

    @cached_property
    def diff2_sq_sum(self) -> np.ndarray:
        d2 = self.diff2
        return np.einsum("ijk,ijk->ij", d2, d2)

    @cached_property
    def abs_diff2_sum(self) -> np.ndarray:
        return np.add.reduce(np.abs(self.diff2), axis=2)

    # -- transforms --------------------------------------------------------------------------
    @cached_property
    def log_power(self) -> WindowStats:
        """Stats of ``log(x**2 + eps)``: the second signal of the TD-PSD features."""
        return WindowStats(np.log(self.x * self.x + EPS))

    @cached_property
    def nfft(self) -> int:
        return next_pow2(self.n_samples)

    @cached_property
    def power(self) -> np.ndarray:
        """LibEMG's power spectrum: ``|fft(x, nextpow2) / n_samples|**2``, bins ``[0, nfft/2)``."""
        nfft = self.nfft
        half = max(1, nfft // 2)
        spec = np.fft.rfft(self.x, n=nfft, axis=2)[..., :half]
        spec /= self.n_samples
        return spec.real**2 + spec.imag**2

    def freqs(self, fs: float) -> np.ndarray:
        """Frequencies (Hz) of the `power` bins: ``k * fs / nfft``."""
        return np.arange(self.power.shape[2]) * (float(fs) / self.nfft)


def as_stats(windows: np.ndarray | WindowStats) -> WindowStats:
    """Wrap a raw window array (validated for shape) in `WindowStats`."""
    if isinstance(windows, WindowStats):
        return windows
    arr = np.asarray(windows)
    if arr.dtype.kind not in "fiu":
        raise ShapeError(f"windows must be a real numeric array, got dtype {arr.dtype}")
    return WindowStats(arr)


def row_count(kind: str, s: WindowStats, thr: float) -> np.ndarray | None:
    """ZC/SSC/WAMP counts ``(n, C)`` from the compiled kernels, or None without them."""
    if (kind, thr) in s.counts:
        return s.counts[(kind, thr)]
    if not _accel.enabled():
        return None
    n, c, t = s.x.shape
    return _accel.row_count(kind, s.x.reshape(n * c, t), thr).reshape(n, c)


def count_last(mask: np.ndarray) -> np.ndarray:
    """Number of True values along the last axis, as float64."""
    acc = np.int32 if mask.shape[-1] < 2**31 else np.int64
    return np.add.reduce(mask.view(np.uint8), axis=-1, dtype=acc).astype(np.float64)


def safe_divide(num: np.ndarray, den: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``num / den`` with ``fill`` where ``den == 0``."""
    out = np.full(np.broadcast(num, den).shape, fill, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out
