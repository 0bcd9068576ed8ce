"""A fixed-size ring buffer of the latest samples of a multichannel stream."""

from __future__ import annotations

import numpy as np

from myoshift.errors import ConfigError, ShapeError

__all__ = ["RingBuffer"]


class RingBuffer:
    """The last ``capacity`` samples of a ``(n_samples, n_channels)`` stream.

    Samples are addressed by their absolute index in the stream (0 = the first sample
    ever written); memory stays ``capacity x n_channels`` however long the stream runs.

    Parameters
    ----------
    capacity : int
        Samples kept.
    n_channels : int
    dtype : numpy dtype
    """

    def __init__(self, capacity: int, n_channels: int, dtype: type = np.float32) -> None:
        if capacity < 1 or n_channels < 1:
            raise ConfigError(
                f"ring buffer needs capacity >= 1 and channels >= 1, got {capacity}, {n_channels}"
            )
        self._data: np.ndarray = np.zeros((capacity, n_channels), dtype=dtype)
        self.total = 0  # samples written since the start

    @property
    def capacity(self) -> int:
        return int(self._data.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self._data.shape[1])

    @property
    def first(self) -> int:
        """Absolute index of the oldest sample still held."""
        return max(0, self.total - self.capacity)

    def extend(self, samples: np.ndarray) -> None:
        """Append ``samples`` ``(n, n_channels)``; only the last ``capacity`` are kept."""
        if samples.ndim != 2 or samples.shape[1] != self.n_channels:
            raise ShapeError(
                f"ring buffer takes (n, {self.n_channels}) samples, got {samples.shape}"
            )
        n = len(samples)
        keep = samples[-self.capacity :]
        pos = (self.total + n - len(keep)) % self.capacity
        head = min(len(keep), self.capacity - pos)
        self._data[pos : pos + head] = keep[:head]
        self._data[: len(keep) - head] = keep[head:]
        self.total += n

    def since(self, start: int) -> np.ndarray:
        """A copy of the samples from absolute index ``start`` to the newest, in order."""
        if not self.first <= start <= self.total:
            raise ShapeError(
                f"sample {start} is not held (buffer holds samples [{self.first}, {self.total}))"
            )
        idx = np.arange(start, self.total) % self.capacity
        return self._data[idx]
