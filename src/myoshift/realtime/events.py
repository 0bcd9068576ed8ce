"""Onset events: the trigger that turns flags into events, and how events are scored.

A detector (`myoshift.realtime.onset`) emits `Event` s: ``"onset"`` when it decides a
gesture has started, ``"offset"`` when it decides the arm is at rest again. Each event
carries the index of the sample at which the decision was taken, so its lag behind the
true gesture start is what a live system would see. `KOfM` is the double-threshold
trigger the detectors share.

Scoring (`score_events`) against per-sample labels (0 rest, -1 unlabelled, gestures 1..):

* a **gesture** is a run of one gesture code; its onset counts as *detected* when the
  first free detected onset lies in ``[start - before_s, start + tolerance_s)``; the
  *latency* is that onset's time minus ``start`` (negative: before the label);
* onsets inside a gesture's guard zone ``[start - before_s, end + after_s)`` that are
  not its match are *extra* onsets (re-triggers while the person moves);
* every other onset whose sample is labelled rest (``rest_labels``) is a **false
  activation**; *rest time* is the rest-labelled time outside every guard zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import REST, Recording
from myoshift.signal._validation import positive

__all__ = [
    "Event",
    "EventScore",
    "KOfM",
    "activity_mask",
    "gesture_spans",
    "rest_segment",
    "score_events",
]

EventKind = Literal["onset", "offset"]
#: State changes found in a run of flags: (position, kind).
Found = list[tuple[int, EventKind]]


@dataclass(frozen=True)
class Event:
    """A detector's decision that activity started (``onset``) or stopped (``offset``).

    Attributes
    ----------
    kind : {"onset", "offset"}
    sample : int
        Index (from the start of the stream) of the sample on whose arrival the
        detector decided.
    time : float
        ``sample / fs`` in seconds.
    """

    kind: EventKind
    sample: int
    time: float


def _count(value: Any, name: str) -> int:
    return int(positive(value, name, integer=True))


class KOfM:
    """Double-threshold trigger (Bonato et al. 1998) over a stream of boolean flags.

    Onset once at least ``k`` of the last ``m`` flags are up; offset once the last
    ``off`` flags are all down. Flags before the stream's start count as down.
    """

    def __init__(self, k: int, m: int, off: int) -> None:
        self.k, self.m, self.off = _count(k, "k"), _count(m, "m"), _count(off, "off")
        if self.k > self.m:
            raise ConfigError(f"double threshold needs k <= m, got k = {k}, m = {m}")
        self._keep = max(self.m, self.off) - 1
        self.reset()

    def reset(self) -> None:
        """Back to inactive with no history."""
        self.active = False
        self._hist = np.zeros(self._keep, dtype=np.int64)

    def run(self, above: np.ndarray) -> Found:
        """Feed the next flags; ``(position in above, kind)`` of each state change."""
        ext = np.concatenate([self._hist, np.asarray(above, dtype=np.int64)])
        csum = np.concatenate([[0], np.cumsum(ext)])
        at = np.arange(len(self._hist), len(ext)) + 1
        ups = np.flatnonzero(csum[at] - csum[at - self.m] >= self.k)
        downs = np.flatnonzero(csum[at] - csum[at - self.off] == 0)
        found: Found = []
        pos = 0
        while True:
            cand = downs if self.active else ups
            j = int(np.searchsorted(cand, pos))
            if j == len(cand):
                break
            pos = int(cand[j])
            found.append((pos, "offset" if self.active else "onset"))
            self.active = not self.active
            pos += 1
        self._hist = ext[len(ext) - self._keep :] if self._keep else ext[:0]
        return found


def gesture_spans(labels: np.ndarray) -> np.ndarray:
    """Runs of one gesture code (label >= 1) as rows ``(start, end, code)``, end exclusive."""
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise ShapeError(f"labels must be 1-D (n_samples,), got shape {lab.shape}")
    if lab.size == 0:
        return np.zeros((0, 3), dtype=np.int64)
    cut = np.flatnonzero(np.diff(lab)) + 1
    starts, ends = np.r_[0, cut], np.r_[cut, lab.size]
    keep = lab[starts] >= 1
    return np.stack([starts[keep], ends[keep], lab[starts[keep]]], axis=1).astype(np.int64)


def rest_segment(
    recording: Recording, seconds: float, rest_labels: Sequence[int] = (REST,)
) -> slice:
    """The first ``seconds`` of the first long-enough run of rest in ``recording``.

    Raises
    ------
    ConfigError
        No run of rest samples lasts ``seconds`` (the longest one is named).
    """
    if not (np.isfinite(seconds) and seconds > 0):
        raise ConfigError(f"rest calibration seconds must be > 0, got {seconds!r}")
    need = int(round(seconds * recording.fs))
    rest = np.isin(recording.labels, list(rest_labels)).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.r_[0, rest, 0]))
    starts, ends = edges[::2], edges[1::2]
    long = np.flatnonzero(ends - starts >= need)
    if len(long) == 0:
        longest = float((ends - starts).max(initial=0)) / recording.fs
        name = recording.meta.get("source", "recording")
        raise ConfigError(
            f"{name}: no {seconds} s run of rest (labels {list(rest_labels)}) to calibrate "
            f"on; the longest lasts {longest:.2f} s"
        )
    first = int(starts[long[0]])
    return slice(first, first + need)


def activity_mask(events: Iterable[Event], n_samples: int) -> np.ndarray:
    """Boolean ``(n_samples,)``: True from each onset's sample up to its offset's sample."""
    mask = np.zeros(n_samples, dtype=bool)
    begin: int | None = None
    for ev in sorted(events, key=lambda e: e.sample):
        if ev.kind == "onset" and begin is None:
            begin = ev.sample
        elif ev.kind == "offset" and begin is not None:
            mask[begin : ev.sample] = True
            begin = None
    if begin is not None:
        mask[begin:] = True
    return mask


@dataclass
class EventScore:
    """Event metrics of one or several recordings (`combine` pools them).

    Attributes
    ----------
    n_gestures, detected : int
        Gestures scored, and those whose onset was detected in time.
    latencies_s : ndarray
        Latency of each detected gesture (s; negative = before the label's start).
    false_activations : int
        Onsets at rest, outside every gesture's guard zone.
    extra_onsets : int
        Further onsets inside guard zones (re-triggers during a gesture).
    rest_s : float
        Rest time scored (s).
    rest_active_s : float
        Rest time during which the detector reported activity (s).
    gesture_s, gesture_active_s : float
        Gesture-labelled time, and the part of it reported active (s).
    """

    n_gestures: int = 0
    detected: int = 0
    latencies_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    false_activations: int = 0
    extra_onsets: int = 0
    rest_s: float = 0.0
    rest_active_s: float = 0.0
    gesture_s: float = 0.0
    gesture_active_s: float = 0.0

    @property
    def missed(self) -> int:
        return self.n_gestures - self.detected

    @property
    def miss_rate(self) -> float:
        return self.missed / self.n_gestures if self.n_gestures else float("nan")

    @property
    def false_per_min(self) -> float:
        return 60.0 * self.false_activations / self.rest_s if self.rest_s else float("nan")

    @property
    def median_latency_s(self) -> float:
        return float(np.median(self.latencies_s)) if self.latencies_s.size else float("nan")

    @property
    def latency_iqr_s(self) -> tuple[float, float]:
        """25th and 75th percentile of the latencies (s)."""
        if not self.latencies_s.size:
            return (float("nan"), float("nan"))
        q25, q75 = np.percentile(self.latencies_s, [25, 75])
        return (float(q25), float(q75))

    @classmethod
    def combine(cls, scores: Iterable[EventScore]) -> EventScore:
        """Pool several scores: counts and times add, latencies concatenate."""
        items = list(scores)
        out = cls()
        for s in items:
            out.n_gestures += s.n_gestures
            out.detected += s.detected
            out.false_activations += s.false_activations
            out.extra_onsets += s.extra_onsets
            out.rest_s += s.rest_s
            out.rest_active_s += s.rest_active_s
            out.gesture_s += s.gesture_s
            out.gesture_active_s += s.gesture_active_s
        if items:
            out.latencies_s = np.concatenate([s.latencies_s for s in items])
        return out


def score_events(
    events: Sequence[Event],
    labels: np.ndarray,
    fs: float,
    *,
    before_s: float = 0.5,
    tolerance_s: float = 1.0,
    after_s: float = 0.5,
    rest_labels: Sequence[int] = (REST,),
    within: slice | np.ndarray = slice(None),
) -> EventScore:
    """Score detected events against per-sample labels (see the module docstring).

    Parameters
    ----------
    events : sequence of Event
        One stream's events (sample indices into ``labels``).
    labels : ndarray, (n_samples,)
    fs : float
    before_s, tolerance_s : float
        A gesture's onset is matched by the first onset in
        ``[start - before_s, start + tolerance_s)``.
    after_s : float
        The guard zone ends ``after_s`` after the gesture's last sample.
    rest_labels : sequence of int
        Label codes counted as rest (e.g. ``(0, -1)`` where unmarked time is rest).
    within : slice or boolean ndarray, (n_samples,)
        Only gestures starting, onsets and rest and gesture samples inside it are
        scored (e.g. everything after the calibration segment, or one fold).
    """
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise ShapeError(f"labels must be 1-D (n_samples,), got shape {lab.shape}")
    for name, v in (("before_s", before_s), ("tolerance_s", tolerance_s), ("after_s", after_s)):
        if not (np.isfinite(v) and v >= 0):
            raise ConfigError(f"{name} must be a finite number >= 0, got {v!r}")
    if tolerance_s <= 0:
        raise ConfigError(f"tolerance_s must be > 0, got {tolerance_s!r}")
    n = lab.size
    scored = np.zeros(n, dtype=bool)
    try:
        scored[within] = True
    except (IndexError, ValueError):
        raise ShapeError(f"within must be a slice or a boolean mask of {n} samples") from None
    spans = gesture_spans(lab)
    spans = spans[scored[spans[:, 0]]]
    before, tol, after = (int(round(v * fs)) for v in (before_s, tolerance_s, after_s))
    samples = sorted(e.sample for e in events if e.kind == "onset" and 0 <= e.sample < n)
    onsets = np.array([s for s in samples if scored[s]], dtype=np.int64)
    guard = np.zeros(n, dtype=bool)
    for start, end, _code in gesture_spans(lab):
        guard[max(start - before, 0) : min(end + after, n)] = True
    used = np.zeros(len(onsets), dtype=bool)
    latencies = []
    for start, _end, _code in spans:
        j = int(np.searchsorted(onsets, start - before))
        while j < len(onsets) and onsets[j] < start + tol and used[j]:
            j += 1
        if j < len(onsets) and onsets[j] < start + tol:
            used[j] = True
            latencies.append((onsets[j] - start) / fs)
    free = onsets[~used]
    in_guard = guard[free] if free.size else np.zeros(0, dtype=bool)
    is_rest = np.isin(lab, list(rest_labels))
    false = int((~in_guard & is_rest[free]).sum()) if free.size else 0
    scored_rest = is_rest & ~guard & scored
    gesture = (lab >= 1) & scored
    active = activity_mask(events, n)
    return EventScore(
        n_gestures=len(spans),
        detected=len(latencies),
        latencies_s=np.asarray(latencies, dtype=np.float64),
        false_activations=false,
        extra_onsets=int(in_guard.sum()),
        rest_s=float(scored_rest.sum()) / fs,
        rest_active_s=float((scored_rest & active).sum()) / fs,
        gesture_s=float(gesture.sum()) / fs,
        gesture_active_s=float((gesture & active).sum()) / fs,
    )
