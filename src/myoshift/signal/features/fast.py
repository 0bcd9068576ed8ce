"""Windowed features straight from continuous signals, with running sums.

Overlapping windows share most of their samples, so for every feature that is a sum of a
per-sample (or per-difference) quantity, the window values are differences of block
sums: each quantity is computed once over the signal and summed in blocks of
``g = gcd(window, step)`` samples, and a window adds ``window / g`` block sums. The cost
is one pass over the signal instead of one pass per window. Features without such a form
(AR, spectra, entropy, ...) are computed on strided window views chunk by chunk with
`extract_features`, so every feature is available here with the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import UNLABELLED, Recording
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


class _Sums:
    """Window sums of per-sample quantities of one signal ``(n_samples, n_channels)``."""

    def __init__(self, x: np.ndarray, starts: np.ndarray, window: int) -> None:
        self.x = x
        self.starts = starts
        self.window = window
        self.g = math.gcd(window, int(np.gcd.reduce(starts))) if len(starts) else window
        self.n = x.shape[0]

    def window_sum(self, q: np.ndarray) -> np.ndarray:
        """Sum of ``q[s : s + window]`` for every start ``s``; ``q`` is ``(n, C)``."""
        g = self.g
        nb = (int(self.starts[-1]) + self.window) // g
        blocks = np.add.reduce(q[: nb * g].reshape(nb, g, q.shape[1]), axis=1)
        cs = np.zeros((nb + 1, q.shape[1]))
        np.cumsum(blocks, axis=0, out=cs[1:])
        return cs[(self.starts + self.window) // g] - cs[self.starts // g]

    def pair_sum(self, q: np.ndarray, k: int) -> np.ndarray:
        """Window sums of a quantity defined on ``n - k`` consecutive k-tuples of samples.

        ``q[i]`` belongs to samples ``i .. i + k``; a window holds ``window - k`` of them.
        ``q`` is zero-padded to ``n`` rows and the ``k`` terms that leave the window removed.
        """
        pad = np.zeros((self.n, q.shape[1]))
        pad[: q.shape[0]] = q
        total = self.window_sum(pad)
        end = self.starts + self.window
        for j in range(1, k + 1):
            total -= pad[end - j]
        return total

    @cached_property
    def abs(self) -> np.ndarray:
        return np.abs(self.x)

    @cached_property
    def s_abs(self) -> np.ndarray:
        return self.window_sum(self.abs)

    @cached_property
    def shifted(self) -> np.ndarray:
        """Signal minus its per-channel mean (variance is shift-invariant; less cancellation)."""
        return self.x - self.x.mean(axis=0)

    @cached_property
    def s_x(self) -> np.ndarray:
        return self.window_sum(self.shifted)

    @cached_property
    def s_sq(self) -> np.ndarray:
        return self.window_sum(self.x * self.x)

    @cached_property
    def s_sq_shifted(self) -> np.ndarray:
        y = self.shifted
        return self.window_sum(y * y)

    @cached_property
    def diff(self) -> np.ndarray:
        return self.x[1:] - self.x[:-1]

    @cached_property
    def abs_diff(self) -> np.ndarray:
        return np.abs(self.diff)

    @cached_property
    def s_abs_diff(self) -> np.ndarray:
        return self.pair_sum(self.abs_diff, 1)

    @cached_property
    def s_diff_sq(self) -> np.ndarray:
        d = self.diff
        return self.pair_sum(d * d, 1)


def _running(name: str, s: _Sums, p: dict[str, Any]) -> np.ndarray:
    w = s.window
    if name == "mav":
        return s.s_abs / w
    if name == "iav":
        return s.s_abs
    if name == "rms":
        return np.sqrt(s.s_sq / w)
    if name in ("act",):
        return s.s_sq / w
    if name == "isd":
        return s.s_sq
    if name == "mean":
        return s.s_x / w + s.x.mean(axis=0)
    if name == "var":
        m = s.s_x / w
        return np.maximum(s.s_sq_shifted / w - m * m, 0.0)
    if name == "log":
        off = check_threshold(p.get("offset", 1.0), "log_offset")
        return np.exp(s.window_sum(np.log(s.abs + off)) / w)
    if name == "wl":
        return s.s_abs_diff
    if name == "mfl":
        with np.errstate(divide="ignore"):
            return np.log10(s.s_abs_diff)
    if name == "mavfd":
        return s.s_abs_diff / (w - 1)
    if name == "dasdv":
        return np.sqrt(s.s_diff_sq / (w - 1))
    if name == "mdiff":
        return s.s_diff_sq / w
    if name == "mzp":
        return np.sqrt(s.s_diff_sq / w)
    if name == "wamp":
        thr = check_threshold(p.get("threshold", 2e-3), "wamp_threshold")
        return s.pair_sum((s.abs_diff > thr).astype(np.float64), 1)
    if name == "zc":
        thr = check_threshold(p.get("threshold", 0.0), "zc_threshold")
        mask = (s.x[:-1] * s.x[1:]) < 0
        if thr > 0:
            mask &= s.abs_diff >= thr
        return s.pair_sum(mask.astype(np.float64), 1)
    if name == "ssc":
        thr = check_threshold(p.get("threshold", 0.0), "ssc_threshold")
        d = s.diff
        return s.pair_sum(((d[:-1] * d[1:]) <= -thr).astype(np.float64), 2)
    raise AssertionError(name)  # pragma: no cover - RUNNING_FEATURES is exhaustive


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
    """Features of every window of one continuous signal, without materialising windows.

    Parameters
    ----------
    x : ndarray, (n_samples, n_channels)
        One recording (time first, as ``Recording.emg``).
    window, step : int
        Window length and hop in samples; windows start at ``0, step, 2 step, ...`` and
        only full windows are used (as `make_windows`).
    features, fs, **params
        As `extract_features`.
    starts : ndarray of int, optional
        Explicit window starts (e.g. only labelled windows); overrides ``step``.

    Returns
    -------
    X, columns
        Exactly the columns of ``extract_features(windows, features)`` on the windows
        ``x[s : s + window].T`` (equal to float rounding).
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise ShapeError(f"signal must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ShapeError(f"signal must be 2-D (n_samples, n_channels), got shape {arr.shape}")
    for v, nm in ((window, "window"), (step, "step")):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ConfigError(f"{nm} must be a positive number of samples, got {v!r}")
    n, c = arr.shape
    if window > n:
        raise ShapeError(f"window of {window} samples is longer than the signal ({n} samples)")
    if starts is None:
        st = window_starts(n, int(window), int(step))
    else:
        st = np.asarray(starts, dtype=np.int64)
        if st.ndim != 1 or (len(st) and (st.min() < 0 or st.max() + window > n)):
            raise ShapeError(f"starts must be 1-D with 0 <= start <= {n - window}")
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
    out = np.empty((len(st), len(cols)))
    if len(st) == 0:
        return out, cols
    xf = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(xf).all():
        raise ShapeError("signal contains NaN or Inf; clean or interpolate it first")
    sums = _Sums(xf, st, int(window))
    rest = [nm for nm in names if nm not in RUNNING_FEATURES]
    if rest:
        view = np.lib.stride_tricks.sliding_window_view(xf, window, axis=0)[st]
        rest_x, _ = extract_features(view, rest, fs, **_flatten(routed, rest))
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
    feats, ys, reps, rows = [], [], [], []
    columns: list[str] = []
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
        f, columns = features_from_signal(
            r.emg, window, step, features, fs, starts=starts[keep], **params
        )
        feats.append(f)
        ys.append(y[keep])
        reps.append(rep[keep])
        rows.append(pd.DataFrame({"recording": i, "start": starts[keep], **r.meta}))
    if not feats:
        raise ConfigError(
            f"no windows: window of {window_ms} ms = {window} samples, longest recording has "
            f"{max(r.n_samples for r in recs)} samples (or every window was unlabelled)"
        )
    meta = pd.concat(rows, ignore_index=True)
    meta["repetition"] = np.concatenate(reps)
    return FeatureTable(np.concatenate(feats), np.concatenate(ys), meta, columns, fs, window, step)
