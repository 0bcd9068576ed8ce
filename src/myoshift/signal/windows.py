"""Cutting recordings into overlapping analysis windows, cut on demand.

`make_windows` returns `Windows` whose ``X`` is a `WindowArray`: references to the
recordings' EMG plus the recording and start sample of every window, gathered into real
arrays batch by batch. Windows never straddle two recordings. Every window carries its
label, repetition unit, start sample, all metadata of its recording and, on request,
auxiliary streams over the same time span.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import UNLABELLED, AuxStream, Layout, Recording
from myoshift.signal.repetitions import sample_units
from myoshift.signal.window_array import WindowArray

LabelMode = Literal["majority", "last", "pure"]

#: per-window columns that recording metadata cannot override
_RESERVED = ("recording", "start", "repetition")


@dataclass(frozen=True)
class AuxWindows:
    """An auxiliary stream cut into windows at its own rate.

    Attributes
    ----------
    X : ndarray, float32, (n_windows, n_dims, n_points)
        The stream over each EMG window's time span, ``n_points = max(1,
        round(window_ms * fs / 1000))`` points linearly interpolated, the last one at the
        time of the window's last EMG sample.
    fs : float
        Rate of the points in Hz: the stream's rate (the median over the recordings when
        their estimated rates differ).
    names : tuple of str
        Name of each dimension (may be empty).
    """

    X: np.ndarray
    fs: float
    names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def subset(self, index: np.ndarray) -> AuxWindows:
        """The windows at integer positions ``index``."""
        return AuxWindows(self.X[index], self.fs, self.names)


@dataclass
class Windows:
    """A batch of windows cut from recordings sharing one rate and channel layout.

    Attributes
    ----------
    X : WindowArray or ndarray, (n_windows, n_channels, n_samples)
        LibEMG's layout: channels before time. From `make_windows` a `WindowArray`
        (windows cut on demand from the recordings, ``X.sources[meta.recording]``);
        ``np.asarray(X)`` materialises it, ``X[idx]`` gathers a batch.
    y : ndarray, int64, (n_windows,)
        Class code per window (``UNLABELLED`` = -1 where kept).
    meta : DataFrame
        One row per window: ``recording`` (index in the input sequence), ``start``
        (first sample), ``repetition`` (repetition unit, see `make_windows`) and every
        metadata field of its recording.
    extra : dict of str to ndarray
        Per-window arrays beside the labels, e.g. regression targets from auxiliary
        streams (``make_windows(..., targets="glove")``), each ``(n_windows, k)``.
    aux : dict of str to AuxWindows
        Auxiliary streams as windows of their own (``make_windows(..., aux=("imu",))``).
    """

    X: np.ndarray | WindowArray
    y: np.ndarray
    meta: pd.DataFrame
    fs: float
    layout: Layout
    class_names: tuple[str, ...] = ()
    window: int = 0
    step: int = 0
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    aux: dict[str, AuxWindows] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[2])

    @property
    def groups(self) -> np.ndarray:
        """Group of every window (int64): the unit validation splits and protocols keep whole.

        The window's repetition unit (``meta["repetition"]``) when any window has one
        (> 0), otherwise the index of its recording (``meta["recording"]``); zeros when
        ``meta`` has neither column.
        """
        n = len(self)
        if "repetition" in self.meta.columns:
            rep = self.meta["repetition"].to_numpy().astype(np.int64)
            if (rep > 0).any():
                return rep
        if "recording" in self.meta.columns:
            return self.meta["recording"].to_numpy().astype(np.int64)
        return np.zeros(n, dtype=np.int64)

    def subset(self, index: np.ndarray | Sequence[int] | pd.Series) -> Windows:
        """Windows at integer positions or a boolean mask (lazy ``X`` stays lazy)."""
        idx = np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return Windows(
            self.X.take(idx) if isinstance(self.X, WindowArray) else self.X[idx],
            self.y[idx],
            self.meta.iloc[idx].reset_index(drop=True),
            self.fs,
            self.layout,
            self.class_names,
            self.window,
            self.step,
            {k: v[idx] for k, v in self.extra.items()},
            {k: v.subset(idx) for k, v in self.aux.items()},
        )


def ms_to_samples(ms: float, fs: float) -> int:
    """Milliseconds to a whole number of samples at rate ``fs`` (at least 1)."""
    if not (np.isfinite(ms) and ms > 0):
        raise ConfigError(f"window/step must be a positive number of ms, got {ms}")
    return max(1, int(round(ms * fs / 1000.0)))


def window_starts(n_samples: int, window: int, step: int) -> np.ndarray:
    """Start indices of every full window in a signal of ``n_samples``."""
    if n_samples < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - window + 1, step, dtype=np.int64)


def window_codes(codes: np.ndarray, starts: np.ndarray, window: int, mode: LabelMode) -> np.ndarray:
    """One code per window from per-sample codes (labels or repetitions).

    ``majority``: most frequent code in the window (ties to the smaller code);
    ``last``: the code of the window's last sample; ``pure``: the code if every sample
    agrees, else ``UNLABELLED``. Vectorised with cumulative counts per code.
    """
    if len(starts) == 0:
        return np.zeros(0, dtype=np.int64)
    if mode == "last":
        return codes[starts + window - 1].astype(np.int64)
    values, inverse = np.unique(codes, return_inverse=True)
    if mode == "pure":
        change = np.concatenate([[0], np.cumsum(inverse[1:] != inverse[:-1])])
        pure = change[starts + window - 1] == change[starts]
        return np.where(pure, codes[starts], UNLABELLED).astype(np.int64)
    if mode != "majority":
        raise ConfigError(f"unknown label mode {mode!r}; valid: majority, last, pure")
    onehot = np.zeros((len(codes) + 1, len(values)), dtype=np.int32)
    onehot[np.arange(1, len(codes) + 1), inverse] = 1
    cum = np.cumsum(onehot, axis=0)
    counts = cum[starts + window] - cum[starts]
    return values[np.argmax(counts, axis=1)].astype(np.int64)


def _check_compatible(recordings: Sequence[Recording]) -> None:
    fs = {r.fs for r in recordings}
    ch = {r.n_channels for r in recordings}
    if len(fs) > 1:
        raise ConfigError(f"recordings have different rates {sorted(fs)}; resample first")
    if len(ch) > 1:
        raise ConfigError(f"recordings have different channel counts {sorted(ch)}")


def window_units(rec: Recording, starts: np.ndarray, window: int) -> np.ndarray:
    """Repetition unit of every window: the majority of its samples' units (int64).

    Per-sample units come from `myoshift.signal.repetitions.sample_units` (rest samples
    belong to the repetition before them); a whole-recording unit is given to every
    window, and 0 when the recording has none.
    """
    units = sample_units(rec)
    if isinstance(units, np.ndarray):
        return window_codes(units, starts, window, "majority")
    return np.full(len(starts), 0 if units is None else units, dtype=np.int64)


def _stream(rec: Recording, name: str, role: str) -> AuxStream:
    """Auxiliary stream ``name`` of ``rec``; a clear error naming the streams it has."""
    if name not in rec.aux:
        have = ", ".join(sorted(rec.aux)) or "none"
        raise ConfigError(
            f"recording {rec._name()} has no auxiliary stream {name!r} to use as {role} "
            f"(streams: {have})"
        )
    return rec.aux[name]


#: how far (s) an auxiliary stream may start after or end before the EMG, beyond one of its
#: own sample periods (3DC's IMU: about 20 ms at each end, its first all-zero row dropped)
AUX_SPAN_TOLERANCE_S = 0.1


def _spanning(rec: Recording, stream: AuxStream, name: str) -> AuxStream:
    """``stream`` if it covers the EMG of ``rec`` within `AUX_SPAN_TOLERANCE_S`; a stream
    of another duration would be held at its edge values silently (interpolation)."""
    times = stream.times()
    tol = AUX_SPAN_TOLERANCE_S + 1.0 / stream.fs
    emg_end = (rec.n_samples - 1) / rec.fs
    if len(times) == 0 or times[0] > tol or times[-1] < emg_end - tol:
        span = f"{times[0]:.2f}-{times[-1]:.2f} s" if len(times) else "nothing"
        raise ConfigError(
            f"recording {rec._name()}: auxiliary stream {name!r} covers {span} but the EMG "
            f"0-{emg_end:.2f} s (tolerance {tol:.2f} s); IMU and EMG durations do not match"
        )
    return stream


def _aux_windows(
    name: str, parts: list[tuple[AuxStream, np.ndarray]], window_ms: float
) -> AuxWindows:
    """Stream ``name`` over every window, from per-recording ``(stream, window ends in s)``.

    All parts are sampled on one grid: ``max(1, round(window_ms * fs / 1000))`` points
    ``1 / fs`` apart, the last at the window's end, with ``fs`` the streams' rate (their
    median when estimated rates differ between recordings, as 3DC's IMU at 49-59 Hz).
    """
    dims = sorted({s.data.shape[1] for s, _ in parts})
    if len(dims) > 1:
        raise ConfigError(
            f"auxiliary stream {name!r} has {dims} dimensions in different recordings; "
            "select recordings with the same stream layout"
        )
    fs = float(np.median([s.fs for s, _ in parts]))
    points = max(1, int(round(window_ms * fs / 1000.0)))
    offsets = (np.arange(points) - (points - 1)) / fs
    X = np.concatenate(
        [
            s.at((ends[:, None] + offsets[None, :]).ravel())
            .reshape(len(ends), points, -1)
            .transpose(0, 2, 1)
            for s, ends in parts
        ]
    )
    if not np.isfinite(X).all():
        raise ShapeError(f"auxiliary stream {name!r} has NaN or Inf inside some windows")
    return AuxWindows(np.ascontiguousarray(X, dtype=np.float32), fs, parts[0][0].names)


def _names(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def make_windows(
    recordings: Recording | Iterable[Recording],
    window_ms: float,
    step_ms: float,
    label_mode: LabelMode = "majority",
    drop_unlabelled: bool = True,
    dtype: type = np.float32,
    targets: str | Sequence[str] = (),
    aux: str | Sequence[str] = (),
) -> Windows:
    """Cut every recording into windows of ``window_ms`` every ``step_ms``.

    Parameters
    ----------
    recordings : Recording or iterable of Recording (e.g. a RecordingSet)
        All must share one sampling rate and channel count.
    window_ms, step_ms : float
        Window length and hop in milliseconds, converted with the recordings' rate.
    label_mode : {"majority", "last", "pure"}
        How a window's label is chosen (see `window_codes`).
    drop_unlabelled : bool
        Drop windows whose label is ``UNLABELLED``; if False they are kept with -1.
    dtype : numpy dtype
        Dtype of the gathered windows (converted batch by batch).
    targets : str or sequence of str
        Auxiliary streams (e.g. ``"glove"``) to sample as continuous targets: the
        stream's value, linearly interpolated, at the time of the window's last sample
        (what a causal regressor must output after seeing the window). Stored in
        ``Windows.extra[name]`` as ``(n_windows, n_dims)`` float32.
    aux : str or sequence of str
        Auxiliary streams (e.g. ``"imu"``) to cut into windows of their own over the
        same time span, at their own rate: ``Windows.aux[name]`` (see `AuxWindows`).

    Returns
    -------
    Windows
        ``X`` is a `WindowArray` (no copy of the windows is made here).
        ``meta["repetition"]`` is the window's repetition unit: the majority of the
        per-sample units of `myoshift.signal.repetitions.sample_units` (0 when the
        recording has none), and `Windows.groups` derives the split groups from it.
        Rest windows between two repetitions belong to the repetition before them
        (before this definition they had repetition 0 and formed a group of their own).

    Raises
    ------
    ConfigError
        Empty input, mixed rates/channels, no recording long enough for one window, a
        recording without a requested stream, or an aux stream whose number of
        dimensions differs between recordings.
    ShapeError
        Non-finite samples in the windows, the targets or the aux windows.
    """
    if label_mode not in ("majority", "last", "pure"):
        raise ConfigError(f"unknown label mode {label_mode!r}; valid: majority, last, pure")
    recs = [recordings] if isinstance(recordings, Recording) else list(recordings)
    if not recs:
        raise ConfigError("make_windows got no recordings")
    _check_compatible(recs)
    fs = recs[0].fs
    window, step = ms_to_samples(window_ms, fs), ms_to_samples(step_ms, fs)
    tnames, anames = _names(targets), _names(aux)
    srcs, begins, ys, reps, rows = [], [], [], [], []
    extra_parts: dict[str, list[np.ndarray]] = {name: [] for name in tnames}
    aux_parts: dict[str, list[tuple[AuxStream, np.ndarray]]] = {name: [] for name in anames}
    for i, r in enumerate(recs):
        starts = window_starts(r.n_samples, window, step)
        if len(starts) == 0:
            continue
        y = window_codes(r.labels, starts, window, label_mode)
        keep = y != UNLABELLED if drop_unlabelled else np.ones(len(y), dtype=bool)
        if not keep.any():
            continue
        starts, y = starts[keep], y[keep]
        srcs.append(np.full(len(starts), i, dtype=np.int64))
        begins.append(starts)
        ys.append(y)
        reps.append(window_units(r, starts, window))
        ends = (starts + window - 1) / fs
        for name in tnames:
            extra_parts[name].append(_stream(r, name, "a target").at(ends))
        for name in anames:
            aux_parts[name].append((_spanning(r, _stream(r, name, "aux windows"), name), ends))
        fields = {k: v for k, v in r.meta.items() if k not in _RESERVED}
        rows.append(pd.DataFrame({**fields, "recording": i, "start": starts}))
    if not srcs:
        longest = max(r.n_samples for r in recs)
        raise ConfigError(
            f"no windows: window of {window_ms} ms = {window} samples, longest recording has "
            f"{longest} samples (or every window was unlabelled)"
        )
    X = WindowArray(
        [r.emg for r in recs], np.concatenate(srcs), np.concatenate(begins), window, dtype
    )
    if not X.finite().all():  # scans the recordings once, never the windows
        raise ShapeError("windows contain NaN or Inf; clean or interpolate the recordings first")
    meta = pd.concat(rows, ignore_index=True)
    meta["repetition"] = np.concatenate(reps)
    extra = {name: np.concatenate(parts) for name, parts in extra_parts.items()}
    for name, values in extra.items():
        if not np.isfinite(values).all():
            raise ShapeError(f"target stream {name!r} has NaN or Inf at some window ends")
    return Windows(
        X,
        np.concatenate(ys),
        meta,
        fs,
        recs[0].layout,
        max((r.class_names for r in recs), key=len),
        window,
        step,
        extra,
        {name: _aux_windows(name, parts, window_ms) for name, parts in aux_parts.items()},
    )
