"""The one data model: `Recording` (one continuous capture) and `RecordingSet`.

Label codes are the same for every dataset:

* ``REST`` (0) is the rest / neutral / no-motion class, whatever the source calls it;
* gestures are ``1 .. n_classes - 1`` in the order of the dataset's ``class_names``;
* ``UNLABELLED`` (-1) marks samples with no trustworthy label (e.g. UCI's class 0,
  transitions between gestures). Windowing drops or flags them explicitly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from myoshift.errors import ConfigError, ShapeError

if TYPE_CHECKING:  # pandas is imported when a metadata table is first built
    import pandas as pd

REST = 0
UNLABELLED = -1

LayoutKind = Literal["ring", "grid", "plain"]


@dataclass(frozen=True)
class Layout:
    """Physical arrangement of the EMG channels.

    Attributes
    ----------
    kind : {"ring", "grid", "plain"}
        ``ring``: electrodes evenly spaced around the forearm (armbands), channel ``i``
        neighbours ``i - 1`` and ``i + 1`` (mod n). ``grid``: a rows × cols electrode
        array. ``plain``: no known geometry.
    shape : tuple of int
        ``(n,)`` for ring/plain, ``(rows, cols)`` for grids.
    channel_map : tuple of tuple of int, optional
        For grids: ``channel_map[r][c]`` is the index of the channel (column of
        ``Recording.emg``) at physical position (r, c), or -1 for no electrode.
        ``None`` means row-major order.
    """

    kind: LayoutKind
    shape: tuple[int, ...]
    channel_map: tuple[tuple[int, ...], ...] | None = None

    @classmethod
    def ring(cls, n: int) -> Layout:
        return cls("ring", (int(n),))

    @classmethod
    def plain(cls, n: int) -> Layout:
        return cls("plain", (int(n),))

    @classmethod
    def grid(cls, rows: int, cols: int, channel_map: Any = None) -> Layout:
        cmap = None
        if channel_map is not None:
            arr = np.asarray(channel_map, dtype=int)
            if arr.shape != (rows, cols):
                raise ShapeError(f"grid channel_map has shape {arr.shape}, expected {(rows, cols)}")
            cmap = tuple(tuple(int(v) for v in row) for row in arr)
        return cls("grid", (int(rows), int(cols)), cmap)

    @property
    def n_channels(self) -> int:
        if self.kind == "grid" and self.channel_map is not None:
            return int((np.asarray(self.channel_map) >= 0).sum())
        return math.prod(self.shape)  # not np.prod: ~30x faster on a tuple

    def grid_index(self) -> np.ndarray:
        """``(rows, cols)`` array of channel indices (-1 = no electrode)."""
        if self.kind != "grid":
            raise ConfigError(f"layout {self.kind!r} has no grid; use a grid layout")
        if self.channel_map is None:
            return np.arange(self.n_channels).reshape(self.shape)
        return np.asarray(self.channel_map, dtype=int)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "shape": list(self.shape),
            "channel_map": None
            if self.channel_map is None
            else [list(r) for r in self.channel_map],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Layout:
        cmap = d.get("channel_map")
        return cls(
            d["kind"],
            tuple(int(v) for v in d["shape"]),
            None if cmap is None else tuple(tuple(int(v) for v in r) for r in cmap),
        )


@dataclass
class AuxStream:
    """An auxiliary stream (IMU, data glove, ...) with its own sampling rate.

    ``data`` is ``(n_samples, n_dims)`` float32; sample ``k`` is at time
    ``start + k / fs`` seconds on the EMG clock (EMG sample 0 is at t = 0).
    """

    data: np.ndarray
    fs: float
    names: tuple[str, ...] = ()
    start: float = 0.0

    def __post_init__(self) -> None:
        self.data = np.asarray(self.data, dtype=np.float32)
        if self.data.ndim == 1:
            self.data = self.data[:, None]
        if self.data.ndim != 2:
            raise ShapeError(f"aux stream must be 2-D (n_samples, n_dims), got {self.data.shape}")
        if not self.fs > 0:
            raise ShapeError(f"aux stream rate must be > 0, got {self.fs}")

    def times(self) -> np.ndarray:
        return self.start + np.arange(len(self.data)) / self.fs

    def at(self, t: np.ndarray) -> np.ndarray:
        """Linearly interpolate the stream at times ``t`` (seconds, EMG clock)."""
        tt = self.times()
        if len(tt) == 0:
            return np.full((len(t), self.data.shape[1]), np.nan, dtype=np.float32)
        cols = [np.interp(t, tt, self.data[:, j]) for j in range(self.data.shape[1])]
        return np.stack(cols, axis=1).astype(np.float32)


@dataclass
class Recording:
    """One continuous EMG capture.

    Attributes
    ----------
    emg : ndarray, float32, (n_samples, n_channels)
    fs : float
        EMG sampling rate in Hz.
    labels : ndarray, int64, (n_samples,)
        Per-sample class code: ``REST`` = 0, gestures 1.., ``UNLABELLED`` = -1.
    layout : Layout
    repetition : ndarray, int64, (n_samples,), optional
        Per-sample repetition / trial / cycle index (0 = none, e.g. rest between).
    aux : dict of str to AuxStream
        Auxiliary streams, e.g. ``"imu"``, ``"glove"``.
    meta : dict
        dataset, subject, session, day, trial, split, gender, ... (whatever the source
        provides). Values should be scalars (str, int, float, bool).
    class_names : tuple of str
        Name of each class code ``0 .. n_classes - 1``.
    """

    emg: np.ndarray
    fs: float
    labels: np.ndarray
    layout: Layout
    repetition: np.ndarray | None = None
    aux: dict[str, AuxStream] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.emg = np.ascontiguousarray(self.emg, dtype=np.float32)
        if self.emg.ndim != 2:
            raise ShapeError(
                f"{self._name()}: emg must be 2-D (n_samples, n_channels), got {self.emg.shape}"
            )
        n = self.emg.shape[0]
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.labels.ndim == 0:
            self.labels = np.full(n, int(self.labels), dtype=np.int64)
        if self.labels.shape != (n,):
            raise ShapeError(
                f"{self._name()}: labels have shape {self.labels.shape}, expected ({n},)"
            )
        if self.repetition is not None:
            self.repetition = np.asarray(self.repetition, dtype=np.int64)
            if self.repetition.ndim == 0:
                self.repetition = np.full(n, int(self.repetition), dtype=np.int64)
            if self.repetition.shape != (n,):
                raise ShapeError(
                    f"{self._name()}: repetition has shape {self.repetition.shape}, expected ({n},)"
                )
        if not (np.isfinite(self.fs) and self.fs > 0):
            raise ShapeError(f"{self._name()}: sampling rate must be finite and > 0, got {self.fs}")
        if self.layout.n_channels != self.emg.shape[1]:
            raise ShapeError(
                f"{self._name()}: layout has {self.layout.n_channels} channels, "
                f"emg has {self.emg.shape[1]}"
            )
        if self.labels.size and self.labels.min() < UNLABELLED:
            raise ShapeError(f"{self._name()}: label codes below {UNLABELLED} are not allowed")

    def _name(self) -> str:
        return str(self.meta.get("source", self.meta.get("dataset", "recording")))

    @property
    def n_samples(self) -> int:
        return int(self.emg.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.emg.shape[1])

    @property
    def duration(self) -> float:
        return self.n_samples / self.fs

    def with_emg(self, emg: np.ndarray, fs: float | None = None, **changes: Any) -> Recording:
        """A copy with new EMG (e.g. filtered); labels etc. carried over."""
        return replace(self, emg=emg, fs=self.fs if fs is None else fs, **changes)


def _matches(value: Any, want: Any) -> bool:
    if callable(want):
        return bool(want(value))
    if isinstance(want, (list, tuple, set, frozenset, range, np.ndarray)):
        return value in list(want)
    return bool(value == want)


class RecordingSet(Sequence[Recording]):
    """A list of recordings plus a pandas table of their metadata (one row each).

    ``rset.select(subject=3, session=["Test0", "Test1"])`` filters (values, lists or
    predicates), ``rset.groupby("day")`` yields ``(value, RecordingSet)`` pairs and
    ``rset.meta`` is the table (with ``n_samples``, ``fs``, ``n_channels`` added).
    """

    def __init__(self, recordings: Iterable[Recording] = ()) -> None:
        self._recs: list[Recording] = list(recordings)
        self._meta: pd.DataFrame | None = None

    # Sequence protocol -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._recs)

    def __iter__(self) -> Iterator[Recording]:
        return iter(self._recs)

    def __getitem__(self, i: Any) -> Any:  # type: ignore[override]
        if isinstance(i, slice):
            return RecordingSet(self._recs[i])
        if isinstance(i, (list, np.ndarray)):
            return RecordingSet([self._recs[int(k)] for k in i])
        return self._recs[i]

    def __add__(self, other: RecordingSet) -> RecordingSet:
        return RecordingSet([*self._recs, *other._recs])

    def __repr__(self) -> str:
        return f"RecordingSet({len(self)} recordings, {self.total_seconds:.1f} s)"

    # Metadata ------------------------------------------------------------------------
    @property
    def meta(self) -> pd.DataFrame:
        if self._meta is None:
            import pandas as pd

            rows = [
                {**r.meta, "n_samples": r.n_samples, "fs": r.fs, "n_channels": r.n_channels}
                for r in self._recs
            ]
            self._meta = pd.DataFrame(rows)
        return self._meta

    @property
    def total_seconds(self) -> float:
        return float(sum(r.duration for r in self._recs))

    def unique(self, column: str) -> list[Any]:
        """Sorted distinct values of a metadata column (missing values dropped)."""
        if len(self) == 0 or column not in self.meta:
            return []
        vals: list[Any] = self.meta[column].dropna().unique().tolist()
        try:
            return sorted(vals)
        except TypeError:
            return vals

    def select(
        self, where: Callable[[Recording], bool] | None = None, **criteria: Any
    ) -> RecordingSet:
        """Recordings whose metadata match every criterion.

        A criterion value can be a scalar, a list of accepted values or a predicate.
        Unknown metadata columns raise a `ConfigError` listing the known ones.
        """
        known = set(self.meta.columns) if len(self) else set()
        for key in criteria:
            if len(self) and key not in known:
                raise ConfigError(f"unknown metadata column {key!r}; known: {sorted(known)}")
        out = []
        for r in self._recs:
            row = {**r.meta, "n_samples": r.n_samples, "fs": r.fs, "n_channels": r.n_channels}
            if all(_matches(row.get(k), v) for k, v in criteria.items()) and (
                where is None or where(r)
            ):
                out.append(r)
        return RecordingSet(out)

    def groupby(self, column: str) -> Iterator[tuple[Any, RecordingSet]]:
        """Yield ``(value, subset)`` for each distinct value of a metadata column."""
        if len(self) and column not in self.meta:
            raise ConfigError(
                f"unknown metadata column {column!r}; known: {sorted(map(str, self.meta.columns))}"
            )
        for value in self.unique(column):
            yield value, RecordingSet(r for r in self._recs if r.meta.get(column) == value)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The longest class-name list among the recordings (they share one code)."""
        return max((r.class_names for r in self._recs), key=len, default=())

    def map(self, fn: Callable[[Recording], Recording]) -> RecordingSet:
        """Apply a per-recording transform (e.g. a filter)."""
        return RecordingSet(fn(r) for r in self._recs)
