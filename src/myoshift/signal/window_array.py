"""`WindowArray`: windows of long recordings cut on demand, never all at once.

A `WindowArray` holds references to the recordings' sample arrays (no copy) and, per
window, the index of its recording and its first sample. Indexing it gathers the
requested windows into a real ``(k, C, T)`` array (strided views of each recording, one
fancy-index copy per recording), so memory grows with the recordings and the batch, not
with the number of overlapping windows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from myoshift.errors import ConfigError, ShapeError

#: default windows per gathered block (`WindowArray.iter_chunks`, chunked checks, features)
DEFAULT_CHUNK = 2048


class WindowArray:
    """A lazy ``(n_windows, n_channels, window)`` array of windows cut from recordings.

    Parameters
    ----------
    sources : sequence of ndarray (n_samples_i, n_channels)
        Continuous signals, kept by reference.
    source : ndarray of int (n_windows,)
        Index into ``sources`` of each window.
    start : ndarray of int (n_windows,)
        First sample of each window in its source.
    window : int
        Samples per window.
    dtype : numpy dtype
        Dtype of the gathered windows (converted per batch).

    Notes
    -----
    ``w[k]`` gives a ``(C, T)`` array, ``w[slice | int array | bool mask]`` a
    ``(k, C, T)`` array (a copy), ``w.take(idx)`` a lazy subset, ``np.asarray(w)`` the
    whole array. ``nbytes`` is the size of that whole array; `held_nbytes` what the
    object itself holds (its index arrays).
    """

    def __init__(
        self,
        sources: Sequence[np.ndarray],
        source: np.ndarray,
        start: np.ndarray,
        window: int,
        dtype: Any = np.float32,
    ) -> None:
        self._sources = tuple(sources)
        self._source = np.asarray(source, dtype=np.int64)
        self._start = np.asarray(start, dtype=np.int64)
        self._window = int(window)
        self._dtype = np.dtype(dtype)
        if self._source.shape != self._start.shape or self._source.ndim != 1:
            raise ShapeError(
                f"WindowArray needs one source index and one start per window, got shapes "
                f"{self._source.shape} and {self._start.shape}"
            )
        channels = {s.shape[1] for s in self._sources if s.ndim == 2}
        if len(channels) > 1 or any(s.ndim != 2 for s in self._sources):
            raise ShapeError("WindowArray sources must be 2-D (n_samples, n_channels) alike")
        self._channels = channels.pop() if channels else 0
        if self._window < 1:
            raise ConfigError(f"WindowArray window must be >= 1 sample, got {window}")
        if len(self._source):
            lengths = np.array([len(s) for s in self._sources], dtype=np.int64)
            if self._source.min() < 0 or self._source.max() >= len(self._sources):
                raise ShapeError(f"WindowArray source index outside 0..{len(self._sources) - 1}")
            if (self._start < 0).any() or (
                self._start + self._window > lengths[self._source]
            ).any():
                raise ShapeError("WindowArray has windows that run past their recording")

    # -- array-like attributes -----------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self._source), self._channels, self._window)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._dtype

    @property
    def ndim(self) -> int:
        return 3

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        """Bytes of the materialised array (what ``np.asarray`` would allocate)."""
        return self.size * self._dtype.itemsize

    @property
    def held_nbytes(self) -> int:
        """Bytes this object owns (its per-window index arrays; sources are shared)."""
        return int(self._source.nbytes + self._start.nbytes)

    @property
    def sources(self) -> tuple[np.ndarray, ...]:
        """The continuous signals the windows are cut from (by reference)."""
        return self._sources

    @property
    def source_index(self) -> np.ndarray:
        """Index into `sources` of every window (read-only view)."""
        return _readonly(self._source)

    @property
    def starts(self) -> np.ndarray:
        """First sample of every window in its source (read-only view)."""
        return _readonly(self._start)

    def __len__(self) -> int:
        return len(self._source)

    def __repr__(self) -> str:
        return f"WindowArray(shape={self.shape}, dtype={self._dtype}, sources={len(self._sources)})"

    # -- gathering -----------------------------------------------------------------------
    def _positions(self, key: Any) -> np.ndarray:
        """Integer window positions for a slice, int array or boolean mask."""
        n = len(self)
        if isinstance(key, slice):
            return np.arange(n)[key]
        idx = np.asarray(key)
        if idx.dtype == bool:
            if idx.shape != (n,):
                raise IndexError(f"boolean index of shape {idx.shape} for {n} windows")
            return np.flatnonzero(idx)
        if idx.dtype.kind not in "iu" and idx.size:
            raise IndexError(f"windows are indexed by integers or a mask, got {idx.dtype}")
        idx = idx.astype(np.int64).reshape(-1)
        if idx.size and (idx.max() >= n or idx.min() < -n):
            raise IndexError(f"window index out of range for {n} windows")
        return np.where(idx < 0, idx + n, idx)

    def _gather(self, pos: np.ndarray) -> np.ndarray:
        """Windows at positions ``pos`` as a new ``(k, C, T)`` array."""
        out = np.empty((len(pos), self._channels, self._window), dtype=self._dtype)
        if len(pos) == 0:
            return out
        src, start = self._source[pos], self._start[pos]
        order = np.argsort(src, kind="stable")
        cuts = np.flatnonzero(np.diff(src[order])) + 1
        for sel in np.split(order, cuts):
            view = np.lib.stride_tricks.sliding_window_view(
                self._sources[int(src[sel[0]])], self._window, axis=0
            )
            out[sel] = view[start[sel]]
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            if not key:
                return self._gather(np.arange(len(self)))
            first, rest = key[0], key[1:]
            out = self[first]
            if isinstance(first, (int, np.integer)):
                return out[rest] if rest else out
            return out[(slice(None), *rest)]
        if isinstance(key, (int, np.integer)):
            k = int(key)
            if not -len(self) <= k < len(self):
                raise IndexError(f"window {k} out of range for {len(self)} windows")
            return self._gather(np.array([k % len(self)]))[0]
        return self._gather(self._positions(key))

    def take(self, index: Any) -> WindowArray:
        """A lazy subset: the windows at integer positions or a boolean mask."""
        pos = self._positions(index)
        return WindowArray(
            self._sources, self._source[pos], self._start[pos], self._window, self._dtype
        )

    def iter_chunks(self, size: int = DEFAULT_CHUNK) -> Iterator[np.ndarray]:
        """Consecutive ``(<= size, C, T)`` arrays covering every window in order."""
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ConfigError(f"chunk size must be a positive integer, got {size!r}")
        for a in range(0, len(self), int(size)):
            yield self._gather(np.arange(a, min(a + int(size), len(self))))

    def finite(self) -> np.ndarray:
        """Boolean per window: no NaN/Inf inside it.

        Each source with windows is scanned once, block by block, for non-finite rows;
        windows are never gathered.
        """
        ok = np.ones(len(self), dtype=bool)
        for s in np.unique(self._source):
            rows = _nonfinite_rows(self._sources[int(s)])
            if len(rows) == 0:
                continue
            sel = np.flatnonzero(self._source == s)
            start = self._start[sel]
            first = np.minimum(np.searchsorted(rows, start), len(rows) - 1)
            ok[sel] = ~((rows[first] >= start) & (rows[first] < start + self._window))
        return ok

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("a WindowArray cannot be viewed as an array without a copy")
        out = self._gather(np.arange(len(self)))
        return out if dtype is None else out.astype(dtype, copy=False)


def _readonly(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


def _nonfinite_rows(signal: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """Sorted indices of the rows of ``signal`` with a NaN/Inf, scanned block by block."""
    bad = [
        a + np.flatnonzero(~np.isfinite(signal[a : a + block]).all(axis=1))
        for a in range(0, len(signal), block)
    ]
    return np.concatenate(bad) if bad else np.zeros(0, dtype=np.int64)


def finite_windows(arr: WindowArray | np.ndarray, chunk: int = DEFAULT_CHUNK) -> np.ndarray:
    """Boolean per window: every value finite.

    A `WindowArray` scans its sources (`WindowArray.finite`); an array is checked
    ``chunk`` windows at a time.
    """
    if isinstance(arr, WindowArray):
        return arr.finite()
    ok = np.empty(len(arr), dtype=bool)
    for a in range(0, len(arr), chunk):
        block = np.asarray(arr[a : a + chunk])
        ok[a : a + len(block)] = np.isfinite(block).reshape(len(block), -1).all(axis=1)
    return ok
