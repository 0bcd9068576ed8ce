"""`Recognizer`: chunks of EMG in, gesture decisions out, from a fitted `MethodChain`.

Each `Recognizer.push` takes a chunk ``(n, n_channels)`` of any size. The chunk runs
through the chain's causal preprocess filters, whose state carries over between chunks
(started, like the offline steps, from their steady state at the first sample). The
last window's worth of filtered samples lives in a `RingBuffer`, so memory stays bounded
however long the stream runs. Every window completed by the chunk (``window_ms`` long,
one every ``step_ms``, counted from the first sample, exactly as `make_windows` cuts a
recording) goes through the chain's represent steps and the estimator in ONE batch per
push (``predict_proba``; the label is the most probable class), then confidence
rejection (``reject_below``) and a majority vote over the last ``vote`` decisions.

With ``vote=1`` and ``reject_below=0`` the labels are the offline path's,
``chain.predict(recording)`` window for window, whatever the chunking (property-tested).

Overload: with ``realtime=True`` the stream is live, so a window older than
``max_latency_s`` is useless. When input comes faster than it is processed (a large
chunk, a stalled caller), the oldest windows of the push are dropped so that the
predicted latency of the rest stays within ``max_latency_s`` (the newest window is
always decided); every drop is counted (`RecognizerStats.dropped`) and reported on the
next decision (`Decision.dropped`).

Bad input: a chunk with the wrong shape or channel count raises a one-line `ShapeError`
and leaves the recogniser untouched. NaN/Inf values, or values at or beyond
``saturation``, raise the same way with ``on_fault="raise"``; with ``on_fault="report"``
(the default) they are recorded as `Fault`s (`pop_faults`), NaN values are replaced by
the channel's last finite value so the filters stay finite, and every window holding a
faulty sample gets no decision (``fault`` set) while the stream goes on.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError, ShapeError
from myoshift.realtime.buffer import RingBuffer
from myoshift.realtime.decision import (
    FAULT_CODES,
    Decision,
    Fault,
    RecognizerStats,
    find_faults,
    hold_last_finite,
    vote,
)
from myoshift.realtime.model import StreamModel, load_stream_model, stream_model
from myoshift.recording import Layout
from myoshift.signal.steps import apply_steps
from myoshift.signal.windows import Windows

__all__ = ["Recognizer"]

log = logging.getLogger(__name__)

_FAULT_NAMES = {v: k for k, v in FAULT_CODES.items()}
_MAX_FAULTS = 1000  # fault reports kept until popped


class Recognizer:
    """Streaming gesture recognition with a fitted method chain.

    Parameters
    ----------
    model : MethodChain or StreamModel
        A fitted chain whose preprocess steps are causal filters (see
        `myoshift.realtime.model.stream_model`), or a `StreamModel` wrapping one.
    vote : int
        Majority vote over the last ``vote`` decisions (1: off).
    reject_below : float
        A window whose most probable class has a lower probability gets no decision
        (0: off).
    realtime : bool
        Live stream: drop the oldest windows of a push whose decision would come later
        than ``max_latency_s`` (see the module docstring). False: decide every window.
    max_latency_s : float
        Latency bound of ``realtime`` mode, in seconds.
    saturation : float or None
        Absolute value at or beyond which a raw sample counts as saturated (None: off).
    on_fault : {"report", "raise"}
        What NaN or saturated samples do.
    max_batch : int
        Most windows per estimator call (bounds memory when one push completes many).
    fs, n_channels : optional
        Input rate and channel count when the chain does not record them.
    clock : callable
        Seconds, for latencies (default `time.perf_counter`).
    """

    def __init__(
        self,
        model: Any,
        *,
        vote: int = 1,
        reject_below: float = 0.0,
        realtime: bool = False,
        max_latency_s: float = 0.1,
        saturation: float | None = None,
        on_fault: str = "report",
        max_batch: int = 256,
        fs: float | None = None,
        n_channels: int | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not isinstance(model, StreamModel):
            model = stream_model(model, fs, n_channels)
        if not model.streaming:
            raise ConfigError(f"{model.source}: loaded for offline use only (streaming=False)")
        if not (isinstance(vote, int) and vote >= 1):
            raise ConfigError(f"vote must be an integer >= 1, got {vote!r}")
        if not 0.0 <= float(reject_below) <= 1.0:
            raise ConfigError(f"reject_below must be in [0, 1], got {reject_below!r}")
        if not float(max_latency_s) > 0:
            raise ConfigError(f"max_latency_s must be > 0, got {max_latency_s!r}")
        if saturation is not None and not float(saturation) > 0:
            raise ConfigError(f"saturation must be a positive level or None, got {saturation!r}")
        if on_fault not in ("report", "raise"):
            raise ConfigError(f"on_fault must be 'report' or 'raise', got {on_fault!r}")
        if not (isinstance(max_batch, int) and max_batch >= 1):
            raise ConfigError(f"max_batch must be an integer >= 1, got {max_batch!r}")
        self.model = model
        self.vote, self.reject_below = vote, float(reject_below)
        self.realtime, self.max_latency_s = bool(realtime), float(max_latency_s)
        self.saturation = None if saturation is None else float(saturation)
        self.on_fault, self.max_batch, self.clock = on_fault, max_batch, clock
        self.reset()

    @classmethod
    def load(
        cls,
        folder: str | Path,
        fs: float | None = None,
        precision: str | None = None,
        **options: Any,
    ) -> Recognizer:
        """A recogniser of the model in ``folder``: a saved chain, or an export whose
        ONNX graph of ``precision`` runs (see `load_stream_model`)."""
        return cls(load_stream_model(folder, fs, precision=precision), **options)

    def reset(self) -> None:
        """Start a new stream: fresh filters, empty buffers, zero counts."""
        self._filters = self.model.filters()
        self._n_channels = self.model.n_channels
        self._ring: RingBuffer | None = None
        self._fault_ring: RingBuffer | None = None
        self._last_fault = -1  # absolute index of the newest faulty sample
        self._hold: np.ndarray | None = None
        self._next_window = 0
        self._history: deque[int | None] = deque(maxlen=self.vote)
        self._cost_per_window = 0.0  # seconds, running estimate for realtime mode
        self._faults: deque[Fault] = deque(maxlen=_MAX_FAULTS)
        self._fault_kinds: set[str] = set()  # kinds found in the previous chunk
        self.stats = RecognizerStats()

    def warm_up(self, n_channels: int | None = None) -> None:
        """Run the estimator once on a zero window (first calls are slow); no state change."""
        c = n_channels or self._n_channels
        if c is None:
            raise ConfigError("warm_up needs the channel count (the model does not record it)")
        X = np.zeros((1, c, self.model.window), dtype=np.float32)
        self._infer(X, np.zeros(1, dtype=np.int64))

    def pop_faults(self) -> list[Fault]:
        """The faults reported since the last call (oldest first)."""
        out = list(self._faults)
        self._faults.clear()
        return out

    # ------------------------------------------------------------------ input checks
    def _check_chunk(self, chunk: Any) -> np.ndarray:
        try:
            arr = np.asarray(chunk, dtype=np.float64)
        except (TypeError, ValueError):
            raise ShapeError(
                f"chunk must be numeric (n, channels), got {type(chunk).__name__}"
            ) from None
        if arr.ndim != 2:
            raise ShapeError(f"chunk must be 2-D (n_samples, n_channels), got shape {arr.shape}")
        want = self._n_channels
        if want is not None and arr.shape[1] != want:
            raise ShapeError(
                f"chunk has {arr.shape[1]} channels, the model {self.model.source} takes {want}"
            )
        return arr

    def _times(self, timestamps: Any, n: int) -> np.ndarray | None:
        if timestamps is None:
            return None
        ts = np.asarray(timestamps, dtype=np.float64)
        if ts.ndim == 0:  # the time of the chunk's last sample
            return float(ts) - (n - 1 - np.arange(n)) / self.model.fs
        if ts.shape != (n,):
            raise ShapeError(f"timestamps must be a number or shape ({n},), got {ts.shape}")
        return ts

    def _faults_of(self, arr: np.ndarray) -> np.ndarray:
        """Per-sample fault code (0 none, 1 NaN, 2 saturated); raises or records faults."""
        codes, found = find_faults(arr, self.saturation, self.stats.samples)
        if found and self.on_fault == "raise":
            raise ShapeError(f"chunk has {found[0].message().split(';')[0]}")
        for fault in found:
            if fault.kind not in self._fault_kinds:  # once per run of faulty chunks
                log.warning("input fault: %s", fault.message())
            self._faults.append(fault)
        self._fault_kinds = {f.kind for f in found}
        self.stats.faults += len(found)
        return codes

    # ------------------------------------------------------------------ the push
    def push(self, chunk: Any, timestamps: Any = None) -> list[Decision]:
        """Feed the next samples; returns the decisions of the windows they complete.

        Parameters
        ----------
        chunk : array-like, (n, n_channels)
            Raw samples in the model's units, oldest first (any n, including 0).
        timestamps : float or array-like (n,), optional
            Time of each sample, or of the chunk's last one; default sample index / fs.

        Raises
        ------
        ShapeError
            Wrong shape or channel count, non-numeric data, bad timestamps, or faulty
            samples with ``on_fault="raise"``; the recogniser is then unchanged.
        """
        entry = self.clock()
        arr = self._check_chunk(chunk)
        times = self._times(timestamps, len(arr))
        if len(arr) == 0:
            return []
        codes = self._faults_of(arr)
        if self._ring is None:
            self._n_channels = arr.shape[1]
            self._ring = RingBuffer(self.model.window, arr.shape[1])
            self._fault_ring = RingBuffer(self.model.window, 1, np.uint8)
            self._hold = np.zeros(arr.shape[1])
        assert self._hold is not None and self._fault_ring is not None
        x = hold_last_finite(arr, self._hold)
        self._hold = x[-1].copy()
        x = x.astype(np.float32)  # what a Recording holds
        for f in self._filters:
            x = f.process(x)
        before = self.stats.samples
        history = self._ring.since(min(self._next_window * self.model.step, before))
        faults = self._fault_ring.since(before - len(history))[:, 0]
        base = before - len(history)
        self._ring.extend(x)
        self._fault_ring.extend(codes[:, None])
        if codes.any():
            self._last_fault = before + int(np.flatnonzero(codes)[-1])
        self.stats.samples += len(x)
        return self._decide(
            np.vstack([history, x]), np.concatenate([faults, codes]), base, times, entry
        )

    def _ready(self) -> np.ndarray:
        """Start samples of the windows completed so far and not yet decided."""
        w, s = self.model.window, self.model.step
        last = (self.stats.samples - w) // s  # last window that fits (may be < next)
        starts = np.arange(self._next_window, last + 1, dtype=np.int64) * s
        self._next_window = max(self._next_window, last + 1)
        return starts

    def _keep_from(self, ends: np.ndarray, entry: float) -> int:
        """Index of the oldest window to decide; older ones are dropped (realtime)."""
        if not self.realtime or len(ends) <= 1:
            return 0
        spent = self.clock() - entry
        lag = (self.stats.samples - 1 - ends) / self.model.fs + spent
        cost = self._cost_per_window * (len(ends) - np.arange(len(ends)))
        fits = np.flatnonzero(lag + cost <= self.max_latency_s)
        return int(fits[0]) if len(fits) else len(ends) - 1

    def _decide(
        self,
        data: np.ndarray,
        codes: np.ndarray,
        base: int,
        times: np.ndarray | None,
        entry: float,
    ) -> list[Decision]:
        starts = self._ready()
        w = self.model.window
        self.stats.windows += len(starts)
        keep = self._keep_from(starts + w - 1, entry)
        dropped, starts = keep, starts[keep:]
        if dropped:
            self.stats.dropped += dropped
            log.info("overload: dropped %d windows to keep latency bounded", dropped)
        out: list[Decision] = []
        for i in range(0, len(starts), self.max_batch):
            batch = starts[i : i + self.max_batch]
            out += self._batch(data, codes, base, batch, times, entry, dropped if i == 0 else 0)
        return out

    def _batch(
        self,
        data: np.ndarray,
        codes: np.ndarray,
        base: int,
        starts: np.ndarray,
        times: np.ndarray | None,
        entry: float,
        dropped: int,
    ) -> list[Decision]:
        w, fs = self.model.window, self.model.fs
        fault = np.zeros(len(starts), dtype=np.uint8)
        if self._last_fault >= starts[0]:
            spans = np.lib.stride_tricks.sliding_window_view(codes, w)
            fault = spans[starts - base].max(axis=1)
        ok = np.flatnonzero(fault == 0)
        labels = np.zeros(len(starts), dtype=np.int64)
        probs = np.full(len(starts), np.nan)
        if len(ok):
            t0 = self.clock()
            X = np.lib.stride_tricks.sliding_window_view(data, w, axis=0)[starts[ok] - base]
            proba = self._infer(np.ascontiguousarray(X), starts[ok])
            cost = (self.clock() - t0) / len(ok)
            self._cost_per_window = (
                cost if not self.stats.inferences else (0.8 * self._cost_per_window + 0.2 * cost)
            )
            self.stats.inferences += 1
            best = proba.argmax(axis=1)
            labels[ok] = np.asarray(self.model.classes)[best]
            probs[ok] = proba[np.arange(len(ok)), best]
        now = self.clock()
        newest = self.stats.samples - 1
        out = []
        for j, start in enumerate(starts):
            end = int(start) + w - 1
            kind = _FAULT_NAMES.get(int(fault[j]))
            raw = None if kind else int(labels[j])
            accepted = raw
            if raw is not None and probs[j] < self.reject_below:
                accepted = None
                self.stats.rejected += 1
            self.stats.faulty_windows += kind is not None
            self._history.append(accepted)
            label = accepted if self.vote == 1 else vote(self._history)
            t_end = end / fs if times is None else float(times[end - newest - 1 + len(times)])
            out.append(
                Decision(
                    label,
                    raw,
                    float(probs[j]),
                    t_end,
                    (newest - end) / fs + (now - entry),
                    int(start) // self.model.step,
                    dropped if j == 0 else 0,
                    kind,
                )
            )
        self.stats.decisions += len(out)
        return out

    def _infer(self, X: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """``predict_proba`` of windows ``X (n, C, T)`` through the represent steps."""
        chain, n = self.model.chain, len(X)
        if not chain.represent_:  # windows as a plain array: the estimator reads only X
            return self._checked(chain.estimator_.predict_proba(X), n)
        w = Windows(
            X,
            np.full(n, -1, dtype=np.int64),
            pd.DataFrame({"recording": np.zeros(n, dtype=np.int64), "start": starts}),
            self.model.fs,
            Layout.plain(X.shape[1]),
            self.model.class_names,
            self.model.window,
            self.model.step,
        )
        return self._checked(chain.estimator_.predict_proba(apply_steps(chain.represent_, w)), n)

    @staticmethod
    def _checked(result: Any, n: int) -> np.ndarray:
        proba = np.asarray(result)
        if proba.ndim != 2 or len(proba) != n or not math.isfinite(float(proba.sum())):
            raise ShapeError(f"the estimator returned probabilities of shape {proba.shape}")
        return proba
