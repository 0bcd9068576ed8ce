"""Window sums of per-sample quantities by running sums, and the features made from them.

Overlapping windows share most of their samples, so for every feature that is a sum of a
per-sample (or per-difference) quantity, the window values are differences of block
sums: each quantity is computed once over the signal and summed in blocks of
``g = gcd(window, step)`` samples, and a window adds ``window / g`` block sums, one pass
over the signal instead of one pass per window. This module holds the quantities
(``|x|``, ``x``, squares, logs, ``|dx|``, squared differences, WAMP, ZC, SSC),
`WindowSums` that computes their window sums for several signals at once (with the
optional numba kernels of ``_accel`` when they are on, and one fused compiled pass per
signal, ``_accel.block_htd``, when only Hudgins TD quantities are needed), and
`needed_keys` / `running_feature` that map a feature name to its quantities and its
window values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from myoshift.errors import ShapeError
from myoshift.signal.features import _accel
from myoshift.signal.features.time_domain import check_threshold

#: Quantities of the fused Hudgins TD kernel: name -> (index, k); a term on k + 1 samples.
_FUSED_HTD = {"abs": (0, 0), "absd": (1, 1), "zc": (2, 1), "ssc": (3, 2)}

#: Samples per time chunk in the running-sum pass (keeps temporaries in the CPU cache).
CHUNK_SAMPLES = 1 << 13


def _diff(x: np.ndarray, cache: dict[str, np.ndarray]) -> np.ndarray:
    """First difference of the chunk (all but the last column), computed once per chunk."""
    if "d" not in cache:
        cache["d"] = x[:, 1:] - x[:, :-1]
    return cache["d"]


def _q_abs(x: np.ndarray, n: int, p: Any, cache: dict[str, np.ndarray]) -> np.ndarray:
    return np.abs(x[:, :n])


def _q_x(x: np.ndarray, n: int, p: Any, cache: dict[str, np.ndarray]) -> np.ndarray:
    return x[:, :n]


def _q_sq(x: np.ndarray, n: int, p: Any, cache: dict[str, np.ndarray]) -> np.ndarray:
    return x[:, :n] * x[:, :n]


def _q_log(x: np.ndarray, n: int, p: Any, cache: dict[str, np.ndarray]) -> np.ndarray:
    return np.log(np.abs(x[:, :n]) + p)


def _q_absd(x: np.ndarray, n: int, p: Any, cache: dict[str, np.ndarray]) -> np.ndarray:
    if "ad" not in cache:
        cache["ad"] = np.abs(_diff(x, cache))
    return cache["ad"][:, :n]


def _q_dsq(x: np.ndarray, n: int, p: Any, cache: dict[str, np.ndarray]) -> np.ndarray:
    d = _diff(x, cache)[:, :n]
    return d * d


def _q_wamp(x: np.ndarray, n: int, p: Any, cache: dict[str, np.ndarray]) -> np.ndarray:
    return _q_absd(x, n, None, cache) > p


def _q_zc(x: np.ndarray, n: int, p: Any, cache: dict[str, np.ndarray]) -> np.ndarray:
    mask = (x[:, :n] * x[:, 1 : n + 1]) < 0
    if p:
        mask &= _q_absd(x, n, None, cache) >= p
    return mask


def _q_ssc(x: np.ndarray, n: int, p: Any, cache: dict[str, np.ndarray]) -> np.ndarray:
    d = _diff(x, cache)
    return (d[:, :n] * d[:, 1 : n + 1]) <= -p


# quantity -> (function, k): q[i] depends on samples i .. i + k; a window holds N - k terms
_QUANTITIES = {
    "abs": (_q_abs, 0),
    "x": (_q_x, 0),
    "sq": (_q_sq, 0),
    "sqs": (_q_sq, 0),  # square of the shifted signal (VAR)
    "log": (_q_log, 0),
    "absd": (_q_absd, 1),
    "dsq": (_q_dsq, 1),
    "wamp": (_q_wamp, 1),
    "zc": (_q_zc, 1),
    "ssc": (_q_ssc, 2),
}


class WindowSums:
    """Window sums of per-sample quantities of several signals in one cache-friendly pass.

    Each signal ``(n_i, C)`` is padded to a multiple of ``g`` (which divides the window
    and every start) and walked in time chunks of ``CHUNK_SAMPLES``: every chunk is
    transposed once into a small channel-first buffer, every requested quantity is
    evaluated on it and reduced to block sums of ``g`` samples. A window sum is then a
    difference of cumulative block sums, minus the ``k`` terms of a quantity on ``k + 1``
    samples that reach past the window's end.
    """

    def __init__(
        self,
        signals: list[np.ndarray],
        starts: list[np.ndarray],
        window: int,
        g: int,
        keys: list[tuple[str, float | None]],
        shift: bool,
    ) -> None:
        self.starts_list, self.window, self.g = starts, window, g
        self.keys = keys
        self.c = signals[0].shape[1]
        self.fused = _accel.enabled() and all(name in _FUSED_HTD for name, _ in keys)
        if self.fused:
            self._fused_htd(signals, starts, keys)
            return
        signals = [np.asarray(x, dtype=np.float64) for x in signals]
        self.signals = signals
        padded = [-(-x.shape[0] // g) * g for x in signals]
        self.offsets = np.concatenate([[0], np.cumsum(padded)[:-1]]).astype(np.int64)
        self.starts = np.concatenate([st + o for st, o in zip(starts, self.offsets)])
        #: per-signal, per-channel shift removed from "x"/"sq" (less cancellation in VAR)
        self.shifts = [x.mean(axis=0) if shift else np.zeros(self.c) for x in signals]  # (C,) each
        nb = int(sum(padded)) // g
        if _accel.enabled() and all(name in _accel.BLOCK_KINDS for name, _ in keys):
            self._compiled(keys, nb, padded)
            return
        self.blocks = {key: np.empty((self.c, nb)) for key in keys}
        #: per block, the sum of its last k terms (the terms a window ending there drops)
        self.last = {key: np.empty((self.c, nb)) for key in keys if 0 < _QUANTITIES[key[0]][1] <= g}
        for x, o, pl, sh in zip(signals, self.offsets, padded, self.shifts):
            self._walk(x, int(o), pl, sh)

    def _fused_htd(
        self,
        signals: list[np.ndarray],
        starts: list[np.ndarray],
        keys: list[tuple[str, float | None]],
    ) -> None:
        """Hudgins TD block sums with one fused compiled pass per signal (no copy, no
        transpose); blocks are the ``n_i // g`` full blocks of each signal in turn."""
        g = self.g
        thr = {name: float(par or 0.0) for name, par in keys}
        nbs = np.array([x.shape[0] // g for x in signals], dtype=np.int64)
        b_off = np.concatenate([[0], np.cumsum(nbs)[:-1]])
        nb = int(nbs.sum())
        #: cumulative block sums (from 0, in the kernel), and the blocks' inner sums
        self.cum = np.empty((nb + 1, 4, self.c))
        self.cum[0] = 0.0
        self.inner = np.empty((nb, 4, self.c))
        for x, b0 in zip(signals, b_off):
            _accel.block_htd(
                x, g, thr.get("zc", 0.0), thr.get("ssc", 0.0), self.cum, self.inner, int(b0)
            )
        #: first block and end block (exclusive) of every window
        self.b_start = np.concatenate([st // g + o for st, o in zip(starts, b_off)])
        self.b_end = self.b_start + self.window // g
        self.win: np.ndarray | None = None

    def _fused_window_sum(self, name: str) -> np.ndarray:
        """``(n_windows, C)`` window sums from the fused block sums.

        A window covers blocks ``sb .. e - 1``: the difference of cumulative sums over
        blocks ``sb .. e - 2`` plus the ``inner`` sum of its last block (the block's last
        terms on 2 or 3 samples reach past the window's end; for ``|x|`` inner is the
        whole block). With ``g == 1`` an SSC term spans 3 blocks: blocks ``sb .. e - 3``.
        All four quantities are computed together on the first call.
        """
        if self.win is None:  # (n_windows, 4, C), one compiled pass over the windows
            self.win = _accel.htd_windows(self.cum, self.inner, self.b_start, self.b_end, self.g)
        return self.win[:, _FUSED_HTD[name][0]]

    def _compiled(self, keys: list[tuple[str, float | None]], nb: int, padded: list[int]) -> None:
        """Block sums with the optional compiled kernels, one simple loop per quantity."""
        self.blocks = {key: np.empty((self.c, nb)) for key in keys}
        self.last = {key: np.zeros((self.c, nb)) for key in keys}
        for x, o, pl, sh in zip(self.signals, self.offsets, padded, self.shifts):
            xt = np.zeros((self.c, pl + 2))
            xt[:, : x.shape[0]] = x.T
            b0 = int(o) // self.g
            for key in keys:
                _accel.block_sums(
                    key[0], xt, self.g, key[1], sh, self.blocks[key], self.last[key], b0
                )

    def _walk(self, x: np.ndarray, off: int, padded: int, shift: np.ndarray) -> None:
        g, c, n = self.g, self.c, x.shape[0]
        step = max(g, CHUNK_SAMPLES // g * g)
        for a in range(0, padded, step):
            b = min(a + step, padded)
            xc = np.zeros((c, b - a + 2))
            avail = min(b + 2, n) - a
            xc[:, :avail] = x[a : a + avail].T
            xs = None
            cache: dict[str, np.ndarray] = {}
            for key in self.keys:
                name, par = key
                func, _ = _QUANTITIES[name]
                src = xc
                if name in ("x", "sqs"):
                    if xs is None:
                        xs = xc - shift[:, None]
                    src = xs
                q = func(src, b - a, par, cache if src is xc else {})
                acc = np.int32 if q.dtype == bool else np.float64
                if q.dtype == bool:
                    q = q.view(np.uint8)
                q3 = q.reshape(c, -1, g)
                sl = slice((off + a) // g, (off + b) // g)
                self.blocks[key][:, sl] = np.add.reduce(q3, axis=2, dtype=acc)
                k = _QUANTITIES[name][1]
                if k and g >= k:
                    self.last[key][:, sl] = np.add.reduce(q3[:, :, g - k :], axis=2, dtype=acc)

    def window_sum(self, name: str, par: float | None = None) -> np.ndarray:
        """``(n_windows, C)`` window sums of quantity ``name``."""
        if self.fused:
            return self._fused_window_sum(name)
        _, k = _QUANTITIES[name]
        blocks = self.blocks[(name, par)]
        cs = np.zeros((self.c, blocks.shape[1] + 1))
        np.cumsum(blocks, axis=1, out=cs[:, 1:])
        g = self.g
        total = cs[:, (self.starts + self.window) // g] - cs[:, self.starts // g]
        end = (self.starts + self.window) // g
        if k and g >= k:
            total -= self.last[(name, par)][:, end - 1]
        elif k:  # g == 1 < k: every block is one term
            for j in range(1, k + 1):
                total -= blocks[:, end - j]
        return total.T

    def window_shift(self) -> np.ndarray:
        """``(n_windows, C)`` shift of each window's signal (added back to MEAN)."""
        return np.concatenate(
            [
                np.broadcast_to(sh, (len(st), self.c))
                for sh, st in zip(self.shifts, self.starts_list)
            ]
        )

    def check_finite(self) -> None:
        if self.fused:  # the total of |x| is finite only if every block sum is
            if not np.isfinite(self.cum[-1, 0]).all():
                raise ShapeError("signal contains NaN or Inf; clean or interpolate it first")
            return
        for key, blk in self.blocks.items():
            if key[0] in ("abs", "x", "sq") and not np.isfinite(blk).all():
                raise ShapeError("signal contains NaN or Inf; clean or interpolate it first")


def needed_keys(
    names: list[str], routed: dict[str, dict[str, Any]]
) -> list[tuple[str, float | None]]:
    """Quantity keys ``(name, parameter)`` the running features need ("abs" always: NaN check)."""
    keys: list[tuple[str, float | None]] = [("abs", None)]
    for nm in names:
        p = routed.get(nm, {})
        k: list[tuple[str, float | None]]
        if nm in ("rms", "act", "isd"):
            k = [("sq", None)]
        elif nm == "mean":
            k = [("x", None)]
        elif nm == "var":
            k = [("x", None), ("sqs", None)]
        elif nm == "log":
            k = [("log", check_threshold(p.get("offset", 1.0), "log_offset"))]
        elif nm in ("wl", "mfl", "mavfd"):
            k = [("absd", None)]
        elif nm in ("dasdv", "mdiff", "mzp"):
            k = [("dsq", None)]
        elif nm in ("wamp", "zc", "ssc"):
            default = 2e-3 if nm == "wamp" else 0.0
            k = [(nm, check_threshold(p.get("threshold", default), f"{nm}_threshold"))]
        else:
            k = []
        keys.extend(x for x in k if x not in keys)
    return keys


def running_feature(name: str, s: WindowSums, p: dict[str, Any]) -> np.ndarray:
    """``(n_windows, C)`` values of running feature ``name`` (parameters ``p``) from ``s``."""
    w = s.window
    if name in ("mav", "iav"):
        v = s.window_sum("abs")
        return v / w if name == "mav" else v
    if name in ("rms", "act", "isd"):
        v = s.window_sum("sq")
        return np.sqrt(v / w) if name == "rms" else (v / w if name == "act" else v)
    if name == "mean":
        return s.window_sum("x") / w + s.window_shift()
    if name == "var":
        m = s.window_sum("x") / w
        return np.maximum(s.window_sum("sqs") / w - m * m, 0.0)
    if name == "log":
        return np.exp(s.window_sum("log", check_threshold(p.get("offset", 1.0), "log")) / w)
    if name in ("wl", "mfl", "mavfd"):
        v = s.window_sum("absd")
        if name == "mfl":
            with np.errstate(divide="ignore"):
                return np.log10(v)
        return v / (w - 1) if name == "mavfd" else v
    if name in ("dasdv", "mdiff", "mzp"):
        v = s.window_sum("dsq")
        if name == "dasdv":
            return np.sqrt(v / (w - 1))
        return v / w if name == "mdiff" else np.sqrt(v / w)
    thr = check_threshold(p.get("threshold", 2e-3 if name == "wamp" else 0.0), name)
    return s.window_sum(name, thr)
