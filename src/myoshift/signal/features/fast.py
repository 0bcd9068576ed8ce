"""Windowed features straight from continuous signals, with running sums.

Overlapping windows share most of their samples, so for every feature that is a sum of a
per-sample (or per-difference) quantity, the window values are differences of block
sums: each quantity is computed once over the signal and summed in blocks of
``g = gcd(window, step)`` samples, and a window adds ``window / g`` block sums. The cost
is one pass over the signal instead of one pass per window. Features without such a form
(AR, spectra, entropy, ...) are computed on strided window views chunk by chunk with
`extract_features`, so every feature is available here with the same numbers. When the
optional numba kernels are on and only Hudgins TD quantities are needed (``|x|``, ``|dx|``,
ZC, SSC), one fused compiled pass per signal computes all of them (``_accel.block_htd``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import UNLABELLED, Recording
from myoshift.signal.features import _accel
from myoshift.signal.features.extract import column_names, extract_features
from myoshift.signal.features.frequency import check_fs
from myoshift.signal.features.registry import FEATURES, resolve_features, split_params
from myoshift.signal.features.time_domain import check_threshold
from myoshift.signal.windows import (
    _meta_repetition,
    ms_to_samples,
    window_codes,
    window_starts,
)

#: Features computed with running sums (others fall back to strided window views).
RUNNING_FEATURES = (
    "mav", "iav", "rms", "var", "mean", "act", "isd", "log",
    "wl", "mfl", "mavfd", "dasdv", "mdiff", "mzp", "zc", "ssc", "wamp",
)  # fmt: skip


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


class _Sums:
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


def _needed_keys(
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


def _running(name: str, s: _Sums, p: dict[str, Any]) -> np.ndarray:
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


def _check_signal(x: Any, i: int) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise ShapeError(f"signal {i} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ShapeError(f"signal {i} must be 2-D (n_samples, n_channels), got shape {arr.shape}")
    return arr


def features_from_signals(
    signals: list[np.ndarray] | tuple[np.ndarray, ...],
    window: int,
    step: int,
    features: str | list[str] | tuple[str, ...],
    fs: float | None = None,
    *,
    starts: list[np.ndarray] | None = None,
    **params: Any,
) -> tuple[np.ndarray, list[str]]:
    """Features of every window of several continuous signals (rows: signal by signal).

    Windows never straddle two signals. The signals are laid end to end (each padded to
    a multiple of ``gcd(window, step)``) so that the running sums cost one pass over all
    of them, whatever their number.

    Parameters
    ----------
    signals : list of ndarray, each (n_samples_i, n_channels)
        Recordings, time first (as ``Recording.emg``); same channel count.
    window, step : int
        Window length and hop in samples; windows start at ``0, step, 2 step, ...`` in each
        signal and only full windows are used (as `make_windows`).
    features, fs, **params
        As `extract_features`.
    starts : list of int arrays, optional
        Explicit window starts per signal (e.g. only labelled windows); multiples of
        ``step`` keep the one-pass cost. Overrides the regular grid.

    Returns
    -------
    X, columns
        The rows and columns of ``extract_features`` on the materialised windows
        ``x[s : s + window].T`` of each signal in turn (equal to float rounding).
    """
    for v, nm in ((window, "window"), (step, "step")):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ConfigError(f"{nm} must be a positive number of samples, got {v!r}")
    window, step = int(window), int(step)
    sigs = [_check_signal(x, i) for i, x in enumerate(signals)]
    if not sigs:
        raise ConfigError("no signals given")
    chans = {x.shape[1] for x in sigs}
    if len(chans) > 1:
        raise ShapeError(f"signals have different channel counts {sorted(chans)}")
    c = chans.pop()
    if starts is None:
        st_list = [window_starts(x.shape[0], window, step) for x in sigs]
    else:
        if len(starts) != len(sigs):
            raise ConfigError(f"starts has {len(starts)} arrays for {len(sigs)} signals")
        st_list = []
        for x, st in zip(sigs, starts):
            st = np.asarray(st, dtype=np.int64)
            if st.ndim != 1 or (len(st) and (st.min() < 0 or st.max() + window > x.shape[0])):
                raise ShapeError(
                    f"starts must be 1-D with 0 <= start <= n_samples - window "
                    f"({x.shape[0] - window})"
                )
            st_list.append(st)
    if starts is None and all(x.shape[0] < window for x in sigs):
        longest = max(x.shape[0] for x in sigs)
        raise ShapeError(
            f"window of {window} samples is longer than the signal ({longest} samples)"
        )
    names = resolve_features(features)
    routed = split_params(names, params)
    specs = [FEATURES[nm] for nm in names]
    for spec in specs:
        if spec.needs_fs:
            check_fs(fs, spec.name)
        if window < spec.min_samples:
            raise ShapeError(
                f"feature {spec.name!r} needs windows of at least {spec.min_samples} samples"
            )
    cols = column_names(specs, routed, c)
    n_total = sum(len(st) for st in st_list)
    out = np.empty((n_total, len(cols)))
    if n_total == 0:
        return out, cols

    g = math.gcd(window, step, *(int(np.gcd.reduce(st)) for st in st_list if len(st)))
    used = [(x, st) for x, st in zip(sigs, st_list) if len(st)]
    running = [nm for nm in names if nm in RUNNING_FEATURES]
    shift = bool({"var", "mean"} & set(running))
    sums = _Sums(
        [x for x, _ in used],
        [st for _, st in used],
        window,
        g,
        _needed_keys(running, routed),
        shift,
    )
    sums.check_finite()
    rest = [nm for nm in names if nm not in RUNNING_FEATURES]
    if rest:
        parts = [
            extract_features(
                np.lib.stride_tricks.sliding_window_view(np.asarray(x, np.float64), window, 0)[st],
                rest,
                fs,
                **_flatten(routed, rest),
            )[0]
            for x, st in used
        ]
        rest_x = np.concatenate(parts)
    col = rest_col = 0
    for spec in specs:
        width = len(spec.output_labels(routed[spec.name])) * c
        if spec.name in RUNNING_FEATURES:
            out[:, col : col + width] = _running(spec.name, sums, routed[spec.name])
        else:
            out[:, col : col + width] = rest_x[:, rest_col : rest_col + width]
            rest_col += width
        col += width
    return out, cols


def features_from_signal(
    x: np.ndarray,
    window: int,
    step: int,
    features: str | list[str] | tuple[str, ...],
    fs: float | None = None,
    *,
    starts: np.ndarray | None = None,
    **params: Any,
) -> tuple[np.ndarray, list[str]]:
    """Features of every window of one continuous signal ``(n_samples, n_channels)``.

    `features_from_signals` for a single signal: windows of ``window`` samples every
    ``step`` (or at ``starts``), same values and columns as `extract_features` on the
    materialised windows.
    """
    return features_from_signals(
        [x], window, step, features, fs, starts=None if starts is None else [starts], **params
    )


def _flatten(routed: dict[str, dict[str, Any]], names: list[str]) -> dict[str, Any]:
    return {f"{nm}_{k}": v for nm in names for k, v in routed[nm].items()}


@dataclass
class FeatureTable:
    """Features of windows cut from recordings, with their labels and metadata.

    Attributes
    ----------
    X : ndarray, (n_windows, n_columns)
        The same rows as ``make_windows`` (same order, same dropped windows).
    y : ndarray, int64, (n_windows,)
    meta : DataFrame
        ``recording``, ``start``, ``repetition`` and the recording metadata per window.
    columns : list of str
    fs : float
    window, step : int
        In samples.
    """

    X: np.ndarray
    y: np.ndarray
    meta: pd.DataFrame
    columns: list[str]
    fs: float
    window: int
    step: int


def features_from_recordings(
    recordings: Recording | Iterable[Recording],
    window_ms: float,
    step_ms: float,
    features: str | list[str] | tuple[str, ...],
    *,
    label_mode: str = "majority",
    drop_unlabelled: bool = True,
    **params: Any,
) -> FeatureTable:
    """Windowed features of recordings without materialising the windows.

    Windows, labels (``label_mode``), repetitions, dropped windows and metadata are those
    of ``make_windows(recordings, window_ms, step_ms, label_mode, drop_unlabelled)``;
    features are computed per recording with `features_from_signal` (running sums).

    Raises
    ------
    ConfigError
        No recordings, mixed rates or channel counts, or no window at all.
    """
    recs = [recordings] if isinstance(recordings, Recording) else list(recordings)
    if not recs:
        raise ConfigError("features_from_recordings got no recordings")
    rates = {r.fs for r in recs}
    chans = {r.n_channels for r in recs}
    if len(rates) > 1 or len(chans) > 1:
        raise ConfigError(
            f"recordings must share one rate and channel count, got rates {sorted(rates)} "
            f"and channel counts {sorted(chans)}"
        )
    fs = recs[0].fs
    window, step = ms_to_samples(window_ms, fs), ms_to_samples(step_ms, fs)
    sigs, kept, ys, reps, rows = [], [], [], [], []
    for i, r in enumerate(recs):
        starts = window_starts(r.n_samples, window, step)
        if len(starts) == 0:
            continue
        y = window_codes(r.labels, starts, window, label_mode)  # type: ignore[arg-type]
        if r.repetition is not None:
            rep = window_codes(r.repetition, starts, window, "majority")
        else:
            rep = np.full(len(starts), _meta_repetition(r), dtype=np.int64)
        keep = y != UNLABELLED if drop_unlabelled else np.ones(len(y), dtype=bool)
        if not keep.any():
            continue
        sigs.append(r.emg)
        kept.append(starts[keep])
        ys.append(y[keep])
        reps.append(rep[keep])
        rows.append(pd.DataFrame({"recording": i, "start": starts[keep], **r.meta}))
    if not sigs:
        raise ConfigError(
            f"no windows: window of {window_ms} ms = {window} samples, longest recording has "
            f"{max(r.n_samples for r in recs)} samples (or every window was unlabelled)"
        )
    X, columns = features_from_signals(sigs, window, step, features, fs, starts=kept, **params)
    meta = pd.concat(rows, ignore_index=True)
    meta["repetition"] = np.concatenate(reps)
    return FeatureTable(X, np.concatenate(ys), meta, columns, fs, window, step)
