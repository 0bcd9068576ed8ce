"""Optional compiled kernels (numba) for the cheapest, most used time-domain features.

NumPy needs one pass over the windows per elementary operation (``|x|``, a difference, a
product, a comparison, a sum, ...), about ten passes for Hudgins TD. When numba is
installed these kernels compute the sums and counts in one pass each: over a window
array (used by `extract_features` through `WindowStats`) and into block sums of a
continuous signal (the running-sum path in ``fast``), with the same definitions and the
same numbers (to float rounding). Hudgins TD (MAV, WL, ZC, SSC; also IAV, MFL, MAVFD)
has fused kernels that compute all four sums in a single read: ``row_htd`` over a window
array and ``block_htd`` over a continuous time-first signal. Without numba, or with the
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

    @numba.njit(cache=True, nogil=True, fastmath={"reassoc"})
    def _block_float(
        kind: int, x: Any, g: int, shift: Any, out: Any, last: Any, b0: int
    ) -> None:  # pragma: no cover - compiled
        """Block sums of one float quantity of ``x`` (C, nb * g + 2), zero-padded.

        kind: 0 |x|, 1 x - shift, 2 x^2, 3 (x - shift)^2, 4 |dx|, 5 dx^2. For the pair
        quantities (4, 5) ``last`` receives each block's last term.
        """
        c_n, n_pad = x.shape
        nb = (n_pad - 2) // g
        for c in range(c_n):
            sh = shift[c]
            for b in range(nb):
                t0 = b * g
                acc = 0.0
                if kind == 0:
                    for t in range(t0, t0 + g):
                        acc += abs(x[c, t])
                elif kind == 1:
                    for t in range(t0, t0 + g):
                        acc += x[c, t] - sh
                elif kind == 2:
                    for t in range(t0, t0 + g):
                        acc += x[c, t] * x[c, t]
                elif kind == 3:
                    for t in range(t0, t0 + g):
                        v = x[c, t] - sh
                        acc += v * v
                elif kind == 4:
                    for t in range(t0, t0 + g):
                        acc += abs(x[c, t + 1] - x[c, t])
                    last[c, b0 + b] = abs(x[c, t0 + g] - x[c, t0 + g - 1])
                else:
                    for t in range(t0, t0 + g):
                        d = x[c, t + 1] - x[c, t]
                        acc += d * d
                    d = x[c, t0 + g] - x[c, t0 + g - 1]
                    last[c, b0 + b] = d * d
                out[c, b0 + b] = acc

    @numba.njit(cache=True, nogil=True)
    def _block_count(
        kind: int, x: Any, g: int, thr: float, out: Any, last: Any, b0: int
    ) -> None:  # pragma: no cover - compiled
        """Block counts of ``x`` (C, nb * g + 2), zero-padded: 0 ZC, 1 SSC, 2 WAMP.

        ``last`` receives the count of each block's last term (ZC, WAMP) or last two
        terms (SSC) when ``g`` is large enough to hold them.
        """
        c_n, n_pad = x.shape
        nb = (n_pad - 2) // g
        for c in range(c_n):
            for b in range(nb):
                t0 = b * g
                k = 0
                if kind == 0:
                    for t in range(t0, t0 + g):
                        k += (x[c, t] * x[c, t + 1] < 0) & (abs(x[c, t + 1] - x[c, t]) >= thr)
                    t = t0 + g - 1
                    lk = (x[c, t] * x[c, t + 1] < 0) & (abs(x[c, t + 1] - x[c, t]) >= thr)
                elif kind == 1:
                    for t in range(t0, t0 + g):
                        k += (x[c, t + 1] - x[c, t]) * (x[c, t + 2] - x[c, t + 1]) <= -thr
                    lk = 0
                    for t in range(max(t0, t0 + g - 2), t0 + g):
                        lk += (x[c, t + 1] - x[c, t]) * (x[c, t + 2] - x[c, t + 1]) <= -thr
                else:
                    for t in range(t0, t0 + g):
                        k += abs(x[c, t + 1] - x[c, t]) > thr
                    t = t0 + g - 1
                    lk = abs(x[c, t + 1] - x[c, t]) > thr
                out[c, b0 + b] = k
                last[c, b0 + b] = lk

    @numba.njit(inline="always")
    def _f64(v: Any) -> float:  # pragma: no cover - compiled
        """A value as float64 (float32 input computes as its float64 copy)."""
        return np.float64(v)

    @numba.njit(cache=True, nogil=True, fastmath={"reassoc"})
    def _row_htd(x: Any, zc_thr: float, ssc_thr: float) -> Any:  # pragma: no cover - compiled
        """Hudgins TD sums of each row of ``x`` (rows, T >= 1) in one read: (rows, 4).

        Columns: sum|x|, sum|dx|, ZC count, SSC count. Values are converted to float64
        before any arithmetic, so float32 rows give the numbers of their float64 copy.
        """
        r_n, t_n = x.shape
        out = np.empty((r_n, 4))
        for r in range(r_n):
            a = 0.0
            ad = 0.0
            z = 0
            s = 0
            for t in range(t_n - 2):
                v0 = _f64(x[r, t])
                v1 = _f64(x[r, t + 1])
                d0 = v1 - v0
                d1 = _f64(x[r, t + 2]) - v1
                a += abs(v0)
                ad += abs(d0)
                z += (v0 * v1 < 0) & (abs(d0) >= zc_thr)
                s += d0 * d1 <= -ssc_thr
            for t in range(max(t_n - 2, 0), t_n - 1):  # the last pair (no triple left)
                v0 = _f64(x[r, t])
                v1 = _f64(x[r, t + 1])
                d0 = v1 - v0
                a += abs(v0)
                ad += abs(d0)
                z += (v0 * v1 < 0) & (abs(d0) >= zc_thr)
            a += abs(_f64(x[r, t_n - 1]))
            out[r, 0] = a
            out[r, 1] = ad
            out[r, 2] = z
            out[r, 3] = s
        return out

    @numba.njit(inline="always")
    def _htd_rows(
        r0: Any,
        r1: Any,
        r2: Any,
        count: int,
        zc_thr: float,
        ssc_thr: float,
        a_abs: Any,
        a_ad: Any,
        a_zc: Any,
        a_ss: Any,
    ) -> None:  # pragma: no cover - compiled
        """Add the Hudgins TD terms of ``count`` values of three consecutive rows."""
        for j in range(count):
            v0 = _f64(r0[j])
            v1 = _f64(r1[j])
            d0 = v1 - v0
            d1 = _f64(r2[j]) - v1
            a_abs[j] += abs(v0)
            a_ad[j] += abs(d0)
            a_zc[j] += 1.0 if (v0 * v1 < 0) & (abs(d0) >= zc_thr) else 0.0
            a_ss[j] += 1.0 if d0 * d1 <= -ssc_thr else 0.0

    @numba.njit(cache=True, nogil=True)
    def _block_htd(
        x: Any, g: int, zc_thr: float, ssc_thr: float, cum: Any, inner: Any, b0: int
    ) -> None:  # pragma: no cover - compiled
        """Hudgins TD block sums of one signal ``x`` (n, C), time first, in one pass.

        Blocks of ``g`` samples, ``n // g`` of them, are blocks ``b0 .. b0 + n // g - 1``
        of ``cum`` (n_blocks + 1, 4, C) and ``inner`` (n_blocks, 4, C); quantities 0
        |x_t|, 1 |x_{t+1} - x_t|, 2 ZC indicator of (t, t+1), 3 SSC indicator of (t, t+1,
        t+2), each term filed under the block of its first sample t. ``cum`` holds the
        cumulative sums of the blocks' full sums (``cum[b + 1] = cum[b] + full sum of
        block b``, continuing from ``cum[b0]``), ``inner`` the sum of only those
        terms whose samples all lie in the block (all but the last 1 (WL, ZC) or 2 (SSC)
        terms): a window ending at a block's end uses ``inner`` of that block.

        Time is the outer loop and channels the inner one, over the contiguous rows;
        ``m`` consecutive rows (``m * C`` values, a multiple of 16 when ``m <= 16``)
        form one inner loop with one accumulator per value, so that the loop is long
        enough to vectorise for few channels; the ``m`` partial sums of a channel are
        added at the block's end (a fixed order, no reassociation by the compiler).
        Terms reaching past the signal's end are 0.
        """
        n, c_n = x.shape
        nb = n // g
        xf = x.reshape(n * c_n)
        m = 1
        while (m * c_n) % 16 != 0 and m < 16:
            m += 1
        width = m * c_n
        acc = np.zeros((4, width))
        a_abs = acc[0]
        a_ad = acc[1]
        a_zc = acc[2]
        a_ss = acc[3]
        lst = np.zeros((4, c_n))  # the block's last terms (index 0 unused)
        for b in range(nb):
            t0 = b * g
            acc[:] = 0.0
            lst[:] = 0.0
            stop = max(t0, min(t0 + g - 2, n - 2))  # rows whose terms all lie in the block
            n_multi = (stop - t0) // m
            for k in range(n_multi):  # m rows at a time, one flat loop
                base = (t0 + k * m) * c_n
                r0 = xf[base : base + width]
                r1 = xf[base + c_n : base + c_n + width]
                r2 = xf[base + 2 * c_n : base + 2 * c_n + width]
                _htd_rows(r0, r1, r2, width, zc_thr, ssc_thr, a_abs, a_ad, a_zc, a_ss)
            for t in range(t0 + n_multi * m, stop):  # the remaining full rows
                _htd_rows(x[t], x[t + 1], x[t + 2], c_n, zc_thr, ssc_thr, a_abs, a_ad, a_zc, a_ss)
            for t in range(stop, t0 + g):  # the last two rows: terms reaching past
                pos = t - t0
                for c in range(c_n):
                    v0 = _f64(x[t, c])
                    a_abs[c] += abs(v0)
                    if t + 1 < n:
                        v1 = _f64(x[t + 1, c])
                        d0 = v1 - v0
                        ad = abs(d0)
                        zz = 1.0 if (v0 * v1 < 0) & (ad >= zc_thr) else 0.0
                        if pos < g - 1:
                            a_ad[c] += ad
                            a_zc[c] += zz
                        else:
                            lst[1, c] += ad
                            lst[2, c] += zz
                        if t + 2 < n:
                            ss = 1.0 if d0 * (_f64(x[t + 2, c]) - v1) <= -ssc_thr else 0.0
                            if pos < g - 2:
                                a_ss[c] += ss
                            else:
                                lst[3, c] += ss
            bb = b0 + b
            for q in range(4):
                for c in range(c_n):
                    tot = 0.0
                    for k in range(m):
                        tot += acc[q, k * c_n + c]
                    inner[bb, q, c] = tot
                    cum[bb + 1, q, c] = cum[bb, q, c] + (tot + lst[q, c])

    @numba.njit(cache=True, nogil=True)
    def _htd_windows(
        cum: Any, inner: Any, sb: Any, e: Any, g: int, out: Any
    ) -> None:  # pragma: no cover - compiled
        """Window sums ``out`` (n_windows, 4, C) from `_block_htd`'s ``cum`` and ``inner``.

        Window ``w`` covers blocks ``sb[w] .. e[w] - 1``: ``cum[e - 1] - cum[sb] +
        inner[e - 1]`` (for ``g == 1`` an SSC term spans 3 blocks: ``cum[e - 2] - cum[sb]``).
        """
        c_n = cum.shape[2]
        for w in range(sb.shape[0]):
            s = sb[w]
            la = e[w] - 1
            for q in range(4):
                for c in range(c_n):
                    out[w, q, c] = cum[la, q, c] - cum[s, q, c] + inner[la, q, c]
            if g < 2:
                for c in range(c_n):
                    out[w, 3, c] = cum[la - 1, 3, c] - cum[s, 3, c]


#: Running-sum quantities with a compiled block kernel: name -> (float?, kind).
BLOCK_KINDS = {
    "abs": (True, 0),
    "x": (True, 1),
    "sq": (True, 2),
    "sqs": (True, 3),
    "absd": (True, 4),
    "dsq": (True, 5),
    "zc": (False, 0),
    "ssc": (False, 1),
    "wamp": (False, 2),
}


def block_sums(
    name: str,
    xt: np.ndarray,
    g: int,
    param: float | None,
    shift: np.ndarray,
    out: np.ndarray,
    last: np.ndarray,
    b0: int,
) -> None:
    """Block sums of quantity ``name`` of the zero-padded channel-first signal ``xt``.

    ``xt`` is ``(C, nb * g + 2)``; ``out[:, b0 : b0 + nb]`` receives the block sums and
    ``last`` the terms a window ending at each block's end drops (see ``_running.WindowSums``).
    """
    is_float, kind = BLOCK_KINDS[name]
    if is_float:
        _block_float(kind, xt, int(g), shift, out, last, int(b0))
    else:
        _block_count(kind, xt, int(g), float(param or 0.0), out, last, int(b0))


def row_sums(x: np.ndarray) -> np.ndarray:
    """``(rows, 5)``: sum, sum|x|, sum x^2, sum|dx|, sum dx^2 of each row of ``x``."""
    return _row_sums(np.ascontiguousarray(x))


def row_count(kind: str, x: np.ndarray, thr: float) -> np.ndarray:
    """ZC, SSC or WAMP count of each row of ``x`` (``(rows, T)``)."""
    fn = {"zc": _row_zc, "ssc": _row_ssc, "wamp": _row_wamp}[kind]
    return fn(np.ascontiguousarray(x), float(thr))


#: dtypes the fused Hudgins TD kernels read directly (others are converted to float64).
HTD_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def row_htd(x: np.ndarray, zc_thr: float, ssc_thr: float) -> np.ndarray:
    """``(rows, 4)``: sum|x|, sum|dx|, ZC count, SSC count of each row of ``x`` (rows, T)."""
    if x.dtype not in HTD_DTYPES:
        x = x.astype(np.float64)
    return _row_htd(np.ascontiguousarray(x), float(zc_thr), float(ssc_thr))


def block_htd(
    x: np.ndarray,
    g: int,
    zc_thr: float,
    ssc_thr: float,
    cum: np.ndarray,
    inner: np.ndarray,
    b0: int,
) -> None:
    """Hudgins TD cumulative block sums of the signal ``x`` (n, C) into ``cum``/``inner``.

    One fused pass over the C-contiguous signal; see ``_running.WindowSums``.
    """
    if x.dtype not in HTD_DTYPES:
        x = x.astype(np.float64)
    _block_htd(np.ascontiguousarray(x), int(g), float(zc_thr), float(ssc_thr), cum, inner, int(b0))


def htd_windows(
    cum: np.ndarray, inner: np.ndarray, b_start: np.ndarray, b_end: np.ndarray, g: int
) -> np.ndarray:
    """``(n_windows, 4, C)`` window sums from the block sums of `block_htd`."""
    out = np.empty((len(b_start), 4, cum.shape[2]))
    _htd_windows(cum, inner, b_start, b_end, int(g), out)
    return out
