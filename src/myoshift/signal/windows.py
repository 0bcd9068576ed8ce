"""Cutting recordings into overlapping analysis windows.

Windows are strided views of each recording (no Python loop per window) and never
straddle two recordings. Every window carries its label, repetition, start sample and
all metadata of its recording, so protocols can split windows by metadata.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import UNLABELLED, Layout, Recording

LabelMode = Literal["majority", "last", "pure"]

#: per-window columns that recording metadata cannot override
_RESERVED = ("recording", "start", "repetition")


@dataclass
class Windows:
    """A batch of windows cut from recordings sharing one rate and channel layout.

    Attributes
    ----------
    X : ndarray, (n_windows, n_channels, n_samples)
        LibEMG's layout: channels before time.
    y : ndarray, int64, (n_windows,)
        Class code per window (``UNLABELLED`` = -1 where kept).
    meta : DataFrame
        One row per window: ``recording`` (index in the input sequence), ``start``
        (first sample), ``repetition`` and every metadata field of its recording.
    extra : dict of str to ndarray
        Per-window arrays beside the labels, e.g. regression targets from auxiliary
        streams (``make_windows(..., targets="glove")``), each ``(n_windows, k)``.
    """

    X: np.ndarray
    y: np.ndarray
    meta: pd.DataFrame
    fs: float
    layout: Layout
    class_names: tuple[str, ...] = ()
    window: int = 0
    step: int = 0
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[2])

    def subset(self, index: np.ndarray | Sequence[int] | pd.Series) -> Windows:
        """Windows at integer positions or a boolean mask."""
        idx = np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return Windows(
            self.X[idx],
            self.y[idx],
            self.meta.iloc[idx].reset_index(drop=True),
            self.fs,
            self.layout,
            self.class_names,
            self.window,
            self.step,
            {k: v[idx] for k, v in self.extra.items()},
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


def _meta_repetition(rec: Recording) -> int:
    """A whole-recording ``repetition`` from metadata (0 when absent or not an integer)."""
    try:
        return int(rec.meta.get("repetition") or 0)
    except (TypeError, ValueError):
        return 0


def _target_at(rec: Recording, name: str, times: np.ndarray) -> np.ndarray:
    """Auxiliary stream ``name`` of ``rec`` at ``times`` (seconds); clear error if absent."""
    if name not in rec.aux:
        have = ", ".join(sorted(rec.aux)) or "none"
        raise ConfigError(
            f"recording {rec._name()} has no auxiliary stream {name!r} to use as a target "
            f"(streams: {have})"
        )
    return rec.aux[name].at(times)


def make_windows(
    recordings: Recording | Iterable[Recording],
    window_ms: float,
    step_ms: float,
    label_mode: LabelMode = "majority",
    drop_unlabelled: bool = True,
    dtype: type = np.float32,
    targets: str | Sequence[str] = (),
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
    targets : str or sequence of str
        Auxiliary streams (e.g. ``"glove"``) to sample as continuous targets: the
        stream's value, linearly interpolated, at the time of the window's last sample
        (what a causal regressor must output after seeing the window). Stored in
        ``Windows.extra[name]`` as ``(n_windows, n_dims)`` float32.

    Raises
    ------
    ConfigError
        Empty input, mixed rates/channels, no recording long enough for one window, or
        a recording without a requested target stream.
    ShapeError
        Non-finite samples in the windows or the targets.
    """
    if label_mode not in ("majority", "last", "pure"):
        raise ConfigError(f"unknown label mode {label_mode!r}; valid: majority, last, pure")
    recs = [recordings] if isinstance(recordings, Recording) else list(recordings)
    if not recs:
        raise ConfigError("make_windows got no recordings")
    _check_compatible(recs)
    fs = recs[0].fs
    window, step = ms_to_samples(window_ms, fs), ms_to_samples(step_ms, fs)
    names = (targets,) if isinstance(targets, str) else tuple(targets)
    xs, ys, reps, rows = [], [], [], []
    aux: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for i, r in enumerate(recs):
        starts = window_starts(r.n_samples, window, step)
        if len(starts) == 0:
            continue
        view = np.lib.stride_tricks.sliding_window_view(r.emg, window, axis=0)[starts]
        y = window_codes(r.labels, starts, window, label_mode)
        rep = (
            window_codes(r.repetition, starts, window, "majority")
            if r.repetition is not None
            else np.full(len(starts), _meta_repetition(r), dtype=np.int64)
        )
        keep = y != UNLABELLED if drop_unlabelled else np.ones(len(y), dtype=bool)
        if not keep.any():
            continue
        xs.append(view[keep])
        ys.append(y[keep])
        reps.append(rep[keep])
        for name in names:
            aux[name].append(_target_at(r, name, (starts[keep] + window - 1) / fs))
        fields = {k: v for k, v in r.meta.items() if k not in _RESERVED}
        rows.append(pd.DataFrame({**fields, "recording": i, "start": starts[keep]}))
    if not xs:
        longest = max(r.n_samples for r in recs)
        raise ConfigError(
            f"no windows: window of {window_ms} ms = {window} samples, longest recording has "
            f"{longest} samples (or every window was unlabelled)"
        )
    X: np.ndarray = np.concatenate(xs).astype(dtype, copy=False)
    if not np.isfinite(X).all():
        raise ShapeError("windows contain NaN or Inf; clean or interpolate the recordings first")
    meta = pd.concat(rows, ignore_index=True)
    meta["repetition"] = np.concatenate(reps)
    extra = {name: np.concatenate(parts) for name, parts in aux.items()}
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
    )
