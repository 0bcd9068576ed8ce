"""Gesture onset detection on continuous EMG: causal, stateful, calibrated on rest.

A detector is fitted on a few seconds of rest (`OnsetDetector.calibrate`), then takes
``(n_samples, n_channels)`` chunks of any size (`~OnsetDetector.process`) and returns the
`~myoshift.realtime.events.Event` s decided in each. `~OnsetDetector.detect` runs the same
causal computation over a whole recording, so streaming equals offline exactly.

* `TKEODetector`: Teager-Kaiser energy, rectified and low-passed (Solnik et al. 2008),
  against rest mean + h·SD with Bonato et al.'s (1998) k-of-m double threshold;
* `CUSUMDetector`: Page's cumulative sum of the standardised envelope;
* `ClassifierDetector`: a classifier's rest-vs-gesture decisions on sliding windows;
* `RMSThresholdDetector`: baseline, moving RMS above a fixed multiple of the rest RMS.

Envelope detectors divide each channel by its rest level, then combine (mean or max).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, Literal, Self

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal as sps

from myoshift.errors import ConfigError, ShapeError
from myoshift.realtime.events import Event, Found, KOfM, rest_segment
from myoshift.recording import REST, Layout, Recording
from myoshift.signal._validation import as_signal, positive
from myoshift.signal.filters import CausalFilter, butter_sos
from myoshift.signal.windows import ms_to_samples

__all__ = [
    "CUSUMDetector",
    "ClassifierDetector",
    "OnsetDetector",
    "RMSThresholdDetector",
    "TKEODetector",
]

#: Filter settling time skipped at the start of a rest calibration (s).
SETTLE_S = 0.25
#: Rest needed after settling (s).
MIN_REST_S = 0.5

Combine = Literal["mean", "max"]


class OnsetDetector(ABC):
    """Calibration, chunk checks, sample counting and events shared by every detector.

    Attributes
    ----------
    n_channels_ : int
        Channels seen at calibration (every chunk must have them).
    threshold_ : float
        The calibrated decision threshold, in the detector's own units.
    """

    def __init__(self, fs: float) -> None:
        self.fs = positive(fs, "fs")
        self.n_channels_: int | None = None
        self.threshold_ = math.nan
        self._n = 0

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _fit(self, rest: np.ndarray) -> None:
        """Set the calibrated state from rest samples (state is fresh)."""

    @abstractmethod
    def _step(self, x: np.ndarray) -> Found:
        """Consume float64 samples; absolute sample index and kind of each event."""

    @abstractmethod
    def _reset_state(self) -> None:
        """Forget the stream state (filters, triggers, buffers)."""

    # ------------------------------------------------------------------ public API
    def calibrate(self, rest: Recording | np.ndarray, seconds: float = 3.0) -> Self:
        """Fit the thresholds on rest and start a fresh stream.

        ``rest`` is an array of rest samples ``(n, C)``, or a Recording whose first
        ``seconds`` of rest-labelled samples are used. `ConfigError` when there is no
        rest, too little of it (< 0.75 s) or no signal at all.
        """
        if isinstance(rest, Recording):
            self._check_rate(rest.fs)
            x = rest.emg[rest_segment(rest, seconds)]
        else:
            x = as_signal(rest, "rest", ndim=2, min_samples=0, axis=0)
        need = int(round((SETTLE_S + MIN_REST_S) * self.fs))
        if len(x) < need:
            raise ConfigError(
                f"rest calibration needs at least {SETTLE_S + MIN_REST_S} s ({need} samples "
                f"at {self.fs:g} Hz) of rest, got {len(x)} samples"
            )
        self.n_channels_ = int(x.shape[1])
        self.reset()
        self._fit(x.astype(np.float64))
        self.reset()
        return self

    def reset(self) -> None:
        """Start a new stream (calibration is kept)."""
        self._n = 0
        self._reset_state()

    @property
    def active(self) -> bool:
        """Whether the detector currently reports a gesture."""
        return self._trigger.active

    def process(self, chunk: Any) -> list[Event]:
        """Consume the next ``(n_samples, n_channels)`` chunk; events decided in it."""
        if self.n_channels_ is None:
            raise ConfigError(f"{type(self).__name__} is not calibrated; call calibrate() first")
        x = as_signal(chunk, "chunk", ndim=2, min_samples=0, axis=0)
        if x.shape[1] != self.n_channels_:
            raise ShapeError(
                f"chunk has {x.shape[1]} channels, the detector was calibrated on "
                f"{self.n_channels_}"
            )
        found = self._step(x.astype(np.float64)) if len(x) else []
        self._n += len(x)
        return [Event(kind, s, s / self.fs) for s, kind in found]

    def detect(self, recording: Recording | np.ndarray) -> list[Event]:
        """Every event of a whole recording (from a fresh stream state)."""
        if isinstance(recording, Recording):
            self._check_rate(recording.fs)
            recording = recording.emg
        self.reset()
        try:
            return self.process(recording)
        finally:
            self.reset()

    # ------------------------------------------------------------------ helpers
    _trigger: KOfM

    def _check_rate(self, fs: float) -> None:
        if not math.isclose(fs, self.fs):
            raise ShapeError(f"recording is at {fs:g} Hz, the detector runs at {self.fs:g} Hz")


class _EnvelopeDetector(OnsetDetector):
    """A per-channel causal envelope, divided by its rest level and combined."""

    def __init__(self, fs: float, highpass_hz: float | None, combine: Combine) -> None:
        super().__init__(fs)
        if combine not in ("mean", "max"):
            raise ConfigError(f"combine must be 'mean' or 'max', got {combine!r}")
        self.combine = combine
        hp = None if highpass_hz is None else butter_sos(self.fs, "highpass", highpass_hz)
        self._hp = None if hp is None else CausalFilter(hp, init="steady")
        self.rest_level_ = np.ones(0)
        self.rest_mean_ = self.rest_std_ = math.nan

    @abstractmethod
    def _envelope(self, x: np.ndarray) -> np.ndarray:
        """Stateful per-channel envelope of (high-passed) samples, ``(n, C)``."""

    def _statistic(self, x: np.ndarray) -> np.ndarray:
        hp = x if self._hp is None else self._hp.process(x)
        env = self._envelope(hp) / self.rest_level_
        return env.mean(axis=1) if self.combine == "mean" else env.max(axis=1)

    def _fit(self, rest: np.ndarray) -> None:
        env = self._envelope(rest if self._hp is None else self._hp.process(rest))
        env = env[int(round(SETTLE_S * self.fs)) :]
        level = env.mean(axis=0)
        live = level > 0
        if not live.any():
            raise ConfigError("rest calibration: no channel carries any signal at rest")
        # a channel silent at rest (e.g. a pre-rectified, gated output) is scaled like a
        # typical channel instead of being divided by zero
        self.rest_level_ = np.where(live, level, np.median(level[live]))
        stat = env / self.rest_level_
        stat = stat.mean(axis=1) if self.combine == "mean" else stat.max(axis=1)
        self.rest_mean_ = float(stat.mean())
        self.rest_std_ = max(float(stat.std()), 1e-9 * self.rest_mean_)
        self.threshold_ = self._threshold()

    @abstractmethod
    def _threshold(self) -> float:
        """The decision threshold once the rest statistics are known."""

    def _step(self, x: np.ndarray) -> Found:
        found = self._trigger.run(self._statistic(x) > self.threshold_)
        return [(self._n + p, kind) for p, kind in found]

    def _reset_state(self) -> None:
        if self._hp is not None:
            self._hp.reset()


class TKEODetector(_EnvelopeDetector):
    """Double threshold on a TKEO-conditioned envelope (Solnik 2008; Bonato 1998).

    High-pass (``highpass_hz``, None to skip for pre-rectified signals), Teager-Kaiser
    energy ``x[n]² - x[n-1]·x[n+1]`` (one sample of delay), rectification, low-pass
    (``lowpass_hz``, 2nd order); threshold = rest mean + ``h``·SD; onset once
    ``min_fraction`` of the last ``hold_ms`` are above it, offset after ``off_ms`` below.
    """

    def __init__(
        self,
        fs: float,
        h: float = 10.0,
        hold_ms: float = 25.0,
        min_fraction: float = 0.5,
        off_ms: float = 100.0,
        highpass_hz: float | None = 20.0,
        lowpass_hz: float = 10.0,
        combine: Combine = "mean",
    ) -> None:
        super().__init__(fs, highpass_hz, combine)
        self.h = positive(h, "h")
        if not 0 < min_fraction <= 1:
            raise ConfigError(f"min_fraction must be in (0, 1], got {min_fraction!r}")
        m = ms_to_samples(hold_ms, self.fs)
        self._trigger = KOfM(max(1, math.ceil(min_fraction * m)), m, ms_to_samples(off_ms, fs))
        self._lp = CausalFilter(butter_sos(self.fs, "lowpass", lowpass_hz, order=2))
        self._prev = np.zeros((2, 0))

    def _envelope(self, x: np.ndarray) -> np.ndarray:
        if self._prev.shape[1] != x.shape[1]:
            self._prev = np.zeros((2, x.shape[1]))
        ext = np.concatenate([self._prev, x])
        self._prev = ext[-2:]
        psi = ext[1:-1] ** 2 - ext[:-2] * ext[2:]
        return self._lp.process(np.abs(psi))

    def _threshold(self) -> float:
        return self.rest_mean_ + self.h * self.rest_std_

    def _reset_state(self) -> None:
        super()._reset_state()
        self._lp.reset()
        self._prev = np.zeros((2, 0))
        self._trigger.reset()


class RMSThresholdDetector(_EnvelopeDetector):
    """Baseline: causal moving RMS (``window_ms``) above ``multiple`` × the rest RMS."""

    def __init__(
        self,
        fs: float,
        multiple: float = 3.0,
        window_ms: float = 100.0,
        highpass_hz: float | None = 20.0,
        combine: Combine = "mean",
    ) -> None:
        super().__init__(fs, highpass_hz, combine)
        self.multiple = positive(multiple, "multiple")
        width = ms_to_samples(window_ms, self.fs)
        self._b = np.full(width, 1.0 / width)
        self._zi: np.ndarray | None = None
        self._trigger = KOfM(1, 1, 1)

    def _envelope(self, x: np.ndarray) -> np.ndarray:
        if self._zi is None:
            self._zi = np.zeros((len(self._b) - 1, x.shape[1]))
        power, self._zi = sps.lfilter(self._b, [1.0], x**2, axis=0, zi=self._zi)
        return np.sqrt(np.maximum(power, 0.0))

    def _threshold(self) -> float:
        return self.multiple  # the statistic is in units of the rest RMS

    def _reset_state(self) -> None:
        super()._reset_state()
        self._zi = None
        self._trigger.reset()


class CUSUMDetector(_EnvelopeDetector):
    """Page's CUSUM on the standardised rectified, low-passed envelope.

    ``z = (s - rest mean) / rest SD``; onset when ``g = max(0, g + z - drift)`` exceeds
    ``h``·fs (``h`` in SD·seconds), offset when ``d = max(0, d + drift - z)`` does.
    """

    _sum: float
    active_: bool

    def __init__(
        self,
        fs: float,
        drift: float = 4.0,
        h: float = 0.2,
        highpass_hz: float | None = 20.0,
        lowpass_hz: float = 5.0,
        combine: Combine = "mean",
    ) -> None:
        super().__init__(fs, highpass_hz, combine)
        self.drift, self.h = positive(drift, "drift"), positive(h, "h")
        self._lp = CausalFilter(butter_sos(self.fs, "lowpass", lowpass_hz, order=2))
        self._reset_state()

    def _envelope(self, x: np.ndarray) -> np.ndarray:
        return self._lp.process(np.abs(x))

    def _threshold(self) -> float:
        return self.h * self.fs

    def _step(self, x: np.ndarray) -> Found:
        z = ((self._statistic(x) - self.rest_mean_) / self.rest_std_).tolist()
        g, drift, limit, active = self._sum, self.drift, self.threshold_, self.active_
        found: Found = []
        for i, zi in enumerate(z):
            g = max(0.0, g + (drift - zi if active else zi - drift))
            if g > limit:
                found.append((self._n + i, "offset" if active else "onset"))
                active, g = not active, 0.0
        self._sum, self.active_ = g, active
        return found

    @property
    def active(self) -> bool:
        return self.active_

    def _reset_state(self) -> None:
        super()._reset_state()
        self._lp.reset()
        self._sum, self.active_ = 0.0, False


class ClassifierDetector(OnsetDetector):
    """Onsets from a classifier's rest-vs-gesture decisions on sliding windows.

    Parameters
    ----------
    classifier : estimator
        ``predict`` (better ``predict_proba`` and ``classes_``) on windows ``(n, C, T)``,
        or a fitted `myoshift.learn.MethodChain` without preprocess steps (windowing
        from the chain, windows from ``chain.windows``, decisions from its
        ``estimator_``). Class ``rest_class`` is rest.
    window_ms, step_ms : float, optional
        Windowing (a chain gives its own).
    k, m, off : int
        Onset once ``k`` of the last ``m`` decisions are gesture; offset after ``off``
        rest decisions.
    h, floor : float
        A window is gesture when ``1 - P(rest)`` exceeds ``max(floor, rest mean +
        h·SD)`` (without ``predict_proba``: any non-rest decision).
    layout : Layout, optional
        Layout of the windows given to a chain (default: plain).
    """

    _buf: np.ndarray
    _start: int
    _next: int

    def __init__(
        self,
        classifier: Any,
        fs: float,
        window_ms: float | None = None,
        step_ms: float | None = None,
        k: int = 2,
        m: int = 3,
        off: int = 3,
        h: float = 3.0,
        floor: float = 0.5,
        rest_class: int = REST,
        layout: Layout | None = None,
    ) -> None:
        super().__init__(fs)
        self.classifier = classifier
        self._chain = hasattr(classifier, "windows") and hasattr(classifier, "estimator_")
        if self._chain:
            steps = [type(s).__name__ for s in getattr(classifier, "preprocess_", [])]
            if steps:
                raise ConfigError(
                    f"ClassifierDetector streams raw windows, but the chain filters whole "
                    f"recordings first ({', '.join(steps)}); fit it with preprocess=[]"
                )
            own = (classifier.window_ms, classifier.step_ms)
            if (window_ms or own[0], step_ms or own[1]) != own:
                raise ConfigError(f"a MethodChain windows with its own window_ms/step_ms {own}")
            window_ms, step_ms = own
        elif not hasattr(classifier, "predict"):
            raise ConfigError(
                f"classifier must have predict() on windows, got {type(classifier).__name__}"
            )
        if window_ms is None or step_ms is None:
            raise ConfigError("ClassifierDetector needs window_ms and step_ms for a classifier")
        self.window, self.step = ms_to_samples(window_ms, fs), ms_to_samples(step_ms, fs)
        self.h, self.floor, self.rest_class = positive(h, "h"), float(floor), int(rest_class)
        self.layout = layout
        self._trigger = KOfM(k, m, off)
        self._reset_state()

    def _scores(self, block: np.ndarray) -> np.ndarray:
        """``1 - P(rest)`` of each window of ``block`` starting at 0, step, 2·step, ..."""
        block = block.astype(np.float32)
        if self._chain:
            n, c = block.shape
            layout = self.layout or Layout.plain(c)
            rec = Recording(block, self.fs, np.zeros(n, dtype=np.int64), layout)
            est, X = self.classifier.estimator_, self.classifier.windows(rec)
        else:
            est = self.classifier
            X = np.ascontiguousarray(sliding_window_view(block, self.window, axis=0)[:: self.step])
        if hasattr(est, "predict_proba") and hasattr(est, "classes_"):
            classes = [int(c) for c in est.classes_]
            if self.rest_class not in classes:
                raise ConfigError(
                    f"classifier has no rest class {self.rest_class} among its classes {classes}"
                )
            return 1.0 - np.asarray(est.predict_proba(X))[:, classes.index(self.rest_class)]
        return (np.asarray(est.predict(X)) != self.rest_class).astype(np.float64)

    def _fit(self, rest: np.ndarray) -> None:
        if len(rest) < self.window:
            raise ConfigError(
                f"rest calibration is shorter than one window ({self.window} samples)"
            )
        scores = self._scores(rest)
        self.threshold_ = max(self.floor, float(scores.mean() + self.h * scores.std()))

    def _step(self, x: np.ndarray) -> Found:
        self._buf = np.concatenate([self._buf, x]) if len(self._buf) else x
        end = self._n + len(x)
        found: Found = []
        if end - self._next >= self.window:
            due = (end - self._next - self.window) // self.step + 1
            lo = self._next - self._start
            scores = self._scores(self._buf[lo : lo + (due - 1) * self.step + self.window])
            ends = self._next + np.arange(due) * self.step + self.window - 1
            found = [(int(ends[p]), k) for p, k in self._trigger.run(scores > self.threshold_)]
            self._next += due * self.step
        drop = min(self._next, end) - self._start
        self._buf, self._start = self._buf[drop:], self._start + drop
        return found

    def _reset_state(self) -> None:
        self._trigger.reset()
        self._buf = np.zeros((0, self.n_channels_ or 0))
        self._start = self._next = 0
