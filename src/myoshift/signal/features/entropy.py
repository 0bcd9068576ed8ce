"""Sample entropy, vectorised over windows and channels (LibEMG loops per window).

Pairs of templates are visited by lag ``d`` (the distance between their starts): for each
lag one vectorised comparison covers every window, channel and start at once, so the
cost is ``O(N^2)`` element operations per window without a Python loop per window.
"""

from __future__ import annotations

import numpy as np

from myoshift.errors import ConfigError
from myoshift.signal.features._stats import EPS, WindowStats, as_stats
from myoshift.signal.features.registry import register_feature
from myoshift.signal.features.time_domain import check_int

Input = np.ndarray | WindowStats

#: Rows (window x channel) per block in `sample_entropy` (keeps temporaries in cache).
_BLOCK_ROWS = 512


def _match_counts(st: np.ndarray, dim: int, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Ordered pairs of matching templates (LibEMG's counting) for ``dim`` and ``dim + 1``.

    ``st`` is ``(N, R)``: time first, one column per window/channel. Templates of length
    ``m`` start at ``0 .. N - m``; LibEMG compares templates ``k < N - m`` with every
    template ``j != k``, so a pair of two non-last templates counts twice and a pair with
    the last template once.
    """
    n, r = st.shape
    s0 = np.zeros(r, dtype=np.int64)
    s1 = np.zeros(r, dtype=np.int64)
    diff = np.empty((n, r))
    close = np.empty((n, r), dtype=bool)
    for d in range(1, n - dim + 1):
        rows = n - d
        np.subtract(st[:rows], st[d:], out=diff[:rows])
        np.abs(diff[:rows], out=diff[:rows])
        np.less_equal(diff[:rows], tol, out=close[:rows])
        length = rows - dim + 1  # template pairs (k, k + d) of length dim
        e = close[:length].copy()
        for o in range(1, dim):
            e &= close[o : o + length]
        s0 += 2 * np.add.reduce(e.view(np.uint8), axis=0, dtype=np.int64) - e[length - 1]
        if length > 1:
            e1 = e[: length - 1] & close[dim : dim + length - 1]
            s1 += 2 * np.add.reduce(e1.view(np.uint8), axis=0, dtype=np.int64) - e1[-1]
    return s0, s1


@register_feature(
    "sampen", "sample entropy (LibEMG's counting)", aliases=("SAMPEN",), min_samples=4
)
def sampen(windows: Input, dim: int = 2, tolerance: float = 0.3) -> np.ndarray:
    """Sample entropy of each window and channel, as LibEMG's SAMPEN.

    The window is standardised (``(x - mean) / std``); templates of ``dim`` and
    ``dim + 1`` samples match when their Chebyshev distance is ``<= tolerance`` (in
    units of the window's std). With ``A`` and ``B`` LibEMG's averaged match counts for
    ``dim`` and ``dim + 1``, the value is ``log((A + eps) / (B + eps))``.

    A constant window (std 0) has no defined value: LibEMG returns NaN; here every
    template matches (the standardised series is taken as all zeros), which gives a
    finite value near 0.
    """
    m = check_int(dim, "sampen_dim", minimum=2)
    try:
        tol = float(tolerance)
    except (TypeError, ValueError):
        raise ConfigError(f"sampen_tolerance must be a number, got {tolerance!r}") from None
    if not (np.isfinite(tol) and tol > 0):
        raise ConfigError(f"sampen_tolerance must be finite and > 0, got {tolerance!r}")
    s = as_stats(windows)
    n_win, n_ch, n = s.x.shape
    if n < m + 2:
        raise ConfigError(f"sampen with dim={m} needs at least {m + 2} samples, got {n}")
    x = s.x.reshape(n_win * n_ch, n)
    mu = np.mean(x, axis=1, keepdims=True)
    sd = np.std(x, axis=1, keepdims=True)
    out = np.empty(n_win * n_ch)
    for start in range(0, x.shape[0], _BLOCK_ROWS):
        blk = slice(start, start + _BLOCK_ROWS)
        with np.errstate(divide="ignore", invalid="ignore"):
            st = (x[blk] - mu[blk]) / sd[blk]
        st[~np.isfinite(st)] = 0.0
        s0, s1 = _match_counts(np.ascontiguousarray(st.T), m, tol)
        a = s0 / ((n - m - 1) * (n - m))
        b = s1 / ((n - m - 1) * (n - m - 1))
        out[blk] = np.log((a + EPS) / (b + EPS))
    return out.reshape(n_win, n_ch)
