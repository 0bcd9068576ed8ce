"""Optional compiled kernels (numba) for the cheapest, most used time-domain features.

NumPy needs one pass over the windows per elementary operation (``|x|``, a difference, a
product, a comparison, a sum, ...), about ten passes for Hudgins TD. When numba is
installed these kernels compute the sums and counts in one pass each over a window array (used by
`extract_features` through `WindowStats`), with the same
definitions and the same numbers (to float rounding); without numba, or with the
environment variable ``MYOSHIFT_NO_NUMBA=1``, the NumPy code is used. numba is not a
dependency of myoshift.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

try:  # pragma: no cover - depends on the environment
    import numba

    AVAILABLE = os.environ.get("MYOSHIFT_NO_NUMBA", "") in ("", "0")
except ImportError:  # pragma: no cover
    numba = None  # type: ignore[assignment]
    AVAILABLE = False

#: Switch used by tests to compare both paths; False disables the kernels.
ENABLED = AVAILABLE


def enabled() -> bool:
    """Whether the compiled kernels are used."""
    return bool(ENABLED and AVAILABLE)


if AVAILABLE:  # pragma: no branch

    @numba.njit(cache=True, nogil=True, fastmath={"reassoc"})
    def _row_sums(x: Any) -> Any:  # pragma: no cover - compiled
        r_n, t_n = x.shape
        out = np.empty((r_n, 5))
        for r in range(r_n):
            prev = x[r, 0]
            s = prev
            a = abs(prev)
            q = prev * prev
            ad = 0.0
            dq = 0.0
            for t in range(1, t_n):
                v = x[r, t]
                d = v - prev
                s += v
                a += abs(v)
                q += v * v
                ad += abs(d)
                dq += d * d
                prev = v
            out[r, 0] = s
            out[r, 1] = a
            out[r, 2] = q
            out[r, 3] = ad
            out[r, 4] = dq
        return out

    @numba.njit(cache=True, nogil=True)
    def _row_zc(x: Any, thr: float) -> Any:  # pragma: no cover - compiled
        r_n, t_n = x.shape
        out = np.zeros(r_n)
        for r in range(r_n):
            c = 0
            for t in range(t_n - 1):
                a = x[r, t]
                b = x[r, t + 1]
                c += (a * b < 0) & (abs(b - a) >= thr)
            out[r] = c
        return out

    @numba.njit(cache=True, nogil=True)
    def _row_ssc(x: Any, thr: float) -> Any:  # pragma: no cover - compiled
        r_n, t_n = x.shape
        out = np.zeros(r_n)
        for r in range(r_n):
            c = 0
            d0 = x[r, 1] - x[r, 0]
            for t in range(2, t_n):
                d1 = x[r, t] - x[r, t - 1]
                c += d0 * d1 <= -thr
                d0 = d1
            out[r] = c
        return out

    @numba.njit(cache=True, nogil=True)
    def _row_wamp(x: Any, thr: float) -> Any:  # pragma: no cover - compiled
        r_n, t_n = x.shape
        out = np.zeros(r_n)
        for r in range(r_n):
            c = 0
            for t in range(t_n - 1):
                c += abs(x[r, t + 1] - x[r, t]) > thr
            out[r] = c
        return out


def row_sums(x: np.ndarray) -> np.ndarray:
    """``(rows, 5)``: sum, sum|x|, sum x^2, sum|dx|, sum dx^2 of each row of ``x``."""
    return _row_sums(np.ascontiguousarray(x))


def row_count(kind: str, x: np.ndarray, thr: float) -> np.ndarray:
    """ZC, SSC or WAMP count of each row of ``x`` (``(rows, T)``)."""
    fn = {"zc": _row_zc, "ssc": _row_ssc, "wamp": _row_wamp}[kind]
    return fn(np.ascontiguousarray(x), float(thr))
