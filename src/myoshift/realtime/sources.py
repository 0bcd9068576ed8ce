"""Where samples come from: file and recording replay, a callback queue, and the loop.

A source is any iterable of `Chunk` (samples ``(n, n_channels)`` plus optional
timestamps). `replay` plays a `Recording`, an array or a file (CSV/TXT/NPY, samples x
channels, `load_samples`) at real-time speed, faster, or as fast as possible
(``speed=0``). `CallbackSource` takes samples pushed from another thread (a device
driver's callback) and never blocks longer than its ``timeout``. `run` drives a
`myoshift.realtime.Recognizer` from any source with plain callbacks. Lab Streaming
Layer in and out lives in `myoshift.realtime.lsl` (optional extra ``myoshift[lsl]``).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from myoshift.errors import (
    ConfigError,
    DataFormatError,
    DataNotFoundError,
    MyoshiftError,
    ShapeError,
)
from myoshift.realtime.decision import Decision, Fault, RecognizerStats
from myoshift.recording import Recording

__all__ = [
    "CallbackSource",
    "Chunk",
    "StreamError",
    "load_samples",
    "replay",
    "run",
]

SAMPLE_SUFFIXES = (".csv", ".txt", ".npy")


class StreamError(MyoshiftError):
    """A live source stopped delivering (disappeared, or silent past its timeout)."""


class Chunk(NamedTuple):
    """Consecutive samples ``(n, n_channels)`` and, optionally, their timestamps (s)."""

    samples: np.ndarray
    timestamps: np.ndarray | None = None


def _numeric_rows(path: Path) -> np.ndarray:
    """A delimited text file's numeric rows (comma, semicolon, tab or spaces; one
    optional header line)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"cannot read as text ({exc})") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DataFormatError(path, "is empty; expected samples x channels")
    sep = next((s for s in (",", ";", "\t") if s in lines[0]), None)

    def row(line: str) -> list[float]:
        return [float(v) for v in (line.split(sep) if sep else line.split())]

    try:
        row(lines[0])
    except ValueError:
        lines = lines[1:]  # a header
    try:
        rows = [row(ln) for ln in lines]
    except ValueError as exc:
        raise DataFormatError(
            path, f"non-numeric value ({exc}); expected samples x channels"
        ) from None
    widths = sorted({len(r) for r in rows})
    if len(widths) != 1:
        raise DataFormatError(path, f"rows have different numbers of columns {widths}")
    return np.asarray(rows, dtype=np.float64)


def load_samples(path: str | Path) -> np.ndarray:
    """Samples ``(n_samples, n_channels)`` float32 from a CSV/TXT/NPY file.

    Text files hold one sample per line, channels separated by commas, semicolons,
    tabs or spaces, with at most one header line. ``.npy`` holds a 2-D numeric array
    (no pickles).

    Raises
    ------
    DataNotFoundError, DataFormatError
        A missing file, another suffix, or content that is not samples x channels.
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix not in SAMPLE_SUFFIXES:
        expected = ", ".join(SAMPLE_SUFFIXES)
        raise DataFormatError(p, f"unknown suffix {suffix!r}; expected {expected}")
    if suffix == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataFormatError(p, f"not a NumPy array file ({exc})") from None
        if not np.issubdtype(arr.dtype, np.number):
            raise DataFormatError(p, f"holds {arr.dtype} values, expected numbers")
    else:
        arr = _numeric_rows(p)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise DataFormatError(p, f"has shape {arr.shape}; expected (samples, channels)")
    return np.asarray(arr, dtype=np.float32)


def replay(
    data: Recording | np.ndarray | str | Path,
    fs: float | None = None,
    *,
    speed: float = 1.0,
    chunk_ms: float = 25.0,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Chunk]:
    """Chunks of a recording, array or file, released at ``speed`` times real time.

    Parameters
    ----------
    data : Recording, ndarray (n, C) or path
        What to play (a path is read with `load_samples`).
    fs : float, optional
        Rate in Hz; required unless ``data`` is a Recording (then it must agree).
    speed : float
        1: real time (chunk released when its last sample would have been acquired);
        2: twice as fast; 0: as fast as possible.
    chunk_ms : float
        Chunk length (at least one sample).

    Yields
    ------
    Chunk
        Without timestamps (sample index / fs is the stream's clock).
    """
    if isinstance(data, Recording):
        if fs is not None and abs(fs - data.fs) > 1e-9:
            raise ConfigError(f"replay: the recording is at {data.fs:g} Hz, not {fs:g} Hz")
        fs, samples = data.fs, data.emg
    else:
        samples = load_samples(data) if isinstance(data, str | Path) else np.asarray(data)
    if fs is None or not fs > 0:
        raise ConfigError(f"replay needs the sampling rate fs > 0, got {fs!r}")
    if samples.ndim != 2:
        raise ShapeError(f"replay takes samples (n, channels), got shape {samples.shape}")
    if not (np.isfinite(speed) and speed >= 0):
        raise ConfigError(f"speed must be >= 0 (0: as fast as possible), got {speed!r}")
    if not (np.isfinite(chunk_ms) and chunk_ms > 0):
        raise ConfigError(f"chunk_ms must be > 0, got {chunk_ms!r}")
    size = max(1, int(round(chunk_ms * fs / 1000.0)))
    start = clock()
    for i in range(0, len(samples), size):
        chunk = samples[i : i + size]
        if speed > 0:
            due = start + (i + len(chunk)) / (fs * speed)
            wait = due - clock()
            if wait > 0:
                sleep(wait)
        yield Chunk(chunk)


class CallbackSource:
    """Samples pushed by another thread (e.g. a device driver's callback), as a source.

    ``put(samples)`` from the producer; iterate in the consumer. Iteration ends after
    `close`; a producer silent for ``timeout`` seconds raises `StreamError` instead of
    hanging.

    Parameters
    ----------
    timeout : float
        Longest wait for the next chunk, in seconds.
    maxsize : int
        Chunks held before ``put`` raises (0: unbounded).
    """

    _END = object()

    def __init__(self, timeout: float = 5.0, maxsize: int = 1000) -> None:
        if not timeout > 0:
            raise ConfigError(f"timeout must be > 0 s, got {timeout!r}")
        self.timeout = float(timeout)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize)

    def put(self, samples: Any, timestamps: Any = None) -> None:
        """Queue samples ``(n, C)`` (and their timestamps); `StreamError` when full."""
        try:
            # a copy: drivers often reuse their buffer for the next packet
            self._queue.put_nowait(Chunk(np.array(samples), timestamps))
        except queue.Full:
            raise StreamError(
                f"callback source: {self._queue.maxsize} chunks waiting; the consumer "
                "is not keeping up"
            ) from None

    def close(self) -> None:
        """End the stream once the queued chunks are consumed."""
        self._queue.put(self._END)

    def __iter__(self) -> Iterator[Chunk]:
        while True:
            try:
                item = self._queue.get(timeout=self.timeout)
            except queue.Empty:
                raise StreamError(
                    f"callback source: no samples for {self.timeout:g} s (producer gone?)"
                ) from None
            if item is self._END:
                return
            yield item


def run(
    recognizer: Any,
    source: Iterable[Chunk | np.ndarray],
    on_decision: Callable[[Decision], None] | None = None,
    on_fault: Callable[[Fault], None] | None = None,
    on_error: Callable[[MyoshiftError], None] | None = None,
) -> RecognizerStats:
    """Push every chunk of ``source`` into ``recognizer``, calling back as it goes.

    Parameters
    ----------
    recognizer : Recognizer
    source : iterable of Chunk or arrays (n, C)
    on_decision : callable, optional
        Called with each `Decision` as soon as it is made.
    on_fault : callable, optional
        Called with each reported `Fault` (NaN or saturated samples).
    on_error : callable, optional
        Called with the `ShapeError` of a chunk the recogniser refuses (e.g. wrong
        channel count); the loop then goes on. Without it the error is raised.

    Returns
    -------
    RecognizerStats
        The recogniser's counts at the end.
    """
    for item in source:
        chunk = item if isinstance(item, Chunk) else Chunk(np.asarray(item))
        try:
            decisions = recognizer.push(chunk.samples, chunk.timestamps)
        except ShapeError as exc:
            if on_error is None:
                raise
            on_error(exc)
            continue
        for fault in recognizer.pop_faults():
            if on_fault is not None:
                on_fault(fault)
        if on_decision is not None:
            for d in decisions:
                on_decision(d)
    return recognizer.stats  # type: ignore[no-any-return]
