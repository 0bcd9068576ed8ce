"""Windowed features straight from continuous signals and recordings, no window copies.

`features_from_signals` (and `features_from_signal` for one signal) checks the signals
and the window grid, computes the `RUNNING_FEATURES` with the running sums of
``_running`` (one pass over the signals instead of one per window) and every other
feature (AR, spectra, entropy, ...) with `extract_features` on strided window views
chunk by chunk, so every feature is available here with the same numbers.
`features_from_recordings` cuts the windows, labels, repetitions and metadata of
``make_windows`` from recordings and returns them with the features as a `FeatureTable`.
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
from myoshift.signal.features._running import WindowSums, needed_keys, running_feature
from myoshift.signal.features.extract import column_names, extract_features
from myoshift.signal.features.frequency import check_fs
from myoshift.signal.features.registry import FEATURES, resolve_features, split_params
from myoshift.signal.windows import ms_to_samples, window_codes, window_starts, window_units

#: Features computed with running sums (others fall back to strided window views).
RUNNING_FEATURES = (
    "mav", "iav", "rms", "var", "mean", "act", "isd", "log",
    "wl", "mfl", "mavfd", "dasdv", "mdiff", "mzp", "zc", "ssc", "wamp",
)  # fmt: skip


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
    sums = WindowSums(
        [x for x, _ in used],
        [st for _, st in used],
        window,
        g,
        needed_keys(running, routed),
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
            out[:, col : col + width] = running_feature(spec.name, sums, routed[spec.name])
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
        rep = window_units(r, starts, window)  # the one definition, as make_windows
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
