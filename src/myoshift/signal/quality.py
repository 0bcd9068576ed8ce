"""Wear checks: per-channel faults of a recording, each with a score and a threshold.

Every check is a pure function of the samples giving one score per channel (``flat``,
``clipping``, ``mains``, ``baseline``, ``noisy``, ``contact``, ``low_snr``: each
``*_score`` function says what it measures); a fault is a score beyond the check's
threshold in `CHECKS`, with a plain-language message. docs/quality.md lists them all
with their thresholds and how those were chosen. `check_recording` runs every check
(and the placement estimate, given a `PlacementReference`) and returns a
`QualityReport`, whose ``to_json()`` is ``{"ok", "faults": [{"channel", "fault",
"score", "message"}], "placement"}``. Channels are the data's columns, counting from 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.signal import welch

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import REST, Layout
from myoshift.signal.placement import (
    PlacementReference,
    Session,
    as_session,
    estimate_rotation,
    pattern_windows,
    rest_level,
    window_rms,
)

#: seconds of signal the checks need at least (one spectrum segment)
ANALYSIS_WINDOW_S = 2.0
#: short windows of the contact and noise-floor checks (seconds)
SHORT_WINDOW_S = 0.05
#: band of the line (± Hz) and of its neighbourhood (Hz from the line) in the mains check
LINE_HALF_WIDTH = 0.5
LINE_NEIGHBOURS = (2.0, 6.0)
#: low-frequency band of the baseline check (Hz)
BASELINE_HZ = 5.0
#: a window departs from the neighbours when its log ratio moves by more than log(20)
CONTACT_LOG_RATIO = float(np.log(20.0))
#: the noisy check's robust z divides by this spread (natural log units): 1.4826 x the
#: median absolute deviation of the floor-to-neighbours ratio pooled over the tuning data
NOISY_SCALE = 0.24
#: low_snr is assessed when the median channel rises this much (dB) above rest
CONTRACTION_DB = 10.0
#: samples pile up on a rail: this many times as many as just inside it
PILE_RATIO = 3.0


@dataclass(frozen=True)
class Check:
    """One wear check: threshold, direction, unit and the message of its fault."""

    name: str
    threshold: float
    above: bool  # a fault when the score is above (else below) the threshold
    unit: str
    message: str  # formatted with channel, score, unit and extra fields

    def fails(self, score: np.ndarray, threshold: float | None = None) -> np.ndarray:
        t = self.threshold if threshold is None else threshold
        with np.errstate(invalid="ignore"):
            return np.asarray(score > t if self.above else score < t) & np.isfinite(score)


_MESSAGES = {
    "flat": "channel {channel} is flat ({score:.3f} of the median channel's RMS): the "
    "electrode is disconnected or not touching the skin; re-seat electrode {channel}",
    "clipping": "channel {channel} sits at the amplifier's limits in {pct:.1f} % of samples "
    "(clipping): lower the gain if the device has one, else check that electrode {channel} "
    "is not pressed or loose",
    "mains": "channel {channel} picks up {line} Hz mains hum ({score:.1f} dB above the EMG "
    "spectrum): check skin contact and the reference electrode, move away from mains cables "
    "and chargers",
    "baseline": "channel {channel} has baseline wander or motion artefacts ({pct:.0f} % of "
    "its power below 5 Hz): fasten the armband or cable and re-seat electrode {channel}",
    "noisy": "channel {channel} is much noisier than its neighbours (robust z = {score:.1f}): "
    "clean the skin under electrode {channel} and re-seat it",
    "contact": "channel {channel} loses contact now and then (spikes or drop-outs in "
    "{pct:.1f} % of 50 ms windows): re-seat electrode {channel} or tighten the armband",
    "low_snr": "channel {channel} barely rises above rest during contractions "
    "({score:.1f} dB): move electrode {channel} over the muscle or improve its contact",
}
#: the checks in report order, with their documented thresholds (docs/quality.md)
CHECKS: dict[str, Check] = {
    c.name: c
    for c in (
        Check("flat", 0.05, False, "x median channel", _MESSAGES["flat"]),
        Check("clipping", 0.005, True, "of samples", _MESSAGES["clipping"]),
        Check("mains", 6.0, True, "dB", _MESSAGES["mains"]),
        Check("baseline", 0.05, True, "of power below 5 Hz", _MESSAGES["baseline"]),
        Check("noisy", 4.5, True, "robust z", _MESSAGES["noisy"]),
        Check("contact", 0.01, True, "of windows", _MESSAGES["contact"]),
        Check("low_snr", 3.0, False, "dB", _MESSAGES["low_snr"]),
    )
}
FAULT_NAMES = tuple(CHECKS)


@dataclass(frozen=True)
class Fault:
    """A failed check on one channel (``channel`` counts data columns from 0)."""

    channel: int
    fault: str
    score: float
    message: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "score": round(self.score, 6)}


@dataclass
class QualityReport:
    """Result of `check_recording`: the faults, every score, notes and placement."""

    faults: list[Fault]
    scores: dict[str, np.ndarray]
    n_channels: int
    seconds: float
    source: str = ""
    notes: list[str] = field(default_factory=list)
    placement: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No fault, and the armband not rotated (when a placement reference was given)."""
        return not self.faults and not self.placement.get("shift", 0)

    def to_json(self) -> dict[str, Any]:
        """``{"ok": bool, "faults": [...], "placement": {...}}`` (the documented form)."""
        return {
            "ok": self.ok,
            "faults": [f.to_json() for f in self.faults],
            "placement": dict(self.placement),
        }

    def to_text(self) -> list[str]:
        """Plain-language lines: one per fault, the notes and the placement advice."""
        head = f"{self.source or 'recording'}: {self.n_channels} channels, {self.seconds:.1f} s"
        lines = [head + (": no fault found" if self.ok else f": {len(self.faults)} fault(s)")]
        lines += [f"  [{f.fault}] {f.message}" for f in self.faults]
        lines += [f"  note: {n}" for n in self.notes]
        if self.placement:
            lines.append(f"  placement: {self.placement['advice']}")
        return lines


# -- the checks (pure functions: samples -> one score per channel) -------------------------


def flat_score(x: np.ndarray) -> np.ndarray:
    """Channel RMS over the median channel RMS (0 for a constant channel)."""
    rms = np.sqrt(np.mean((x - np.median(x, axis=0)) ** 2, axis=0))
    mid = np.median(rms)
    return rms / mid if mid > 0 else np.where(rms > 0, np.inf, 0.0)


def clipping_score(raw: np.ndarray, rails: tuple[float, float] | None = None) -> np.ndarray:
    """Fraction of samples at a rail: ``rails`` (low, high) or each channel's extremes.

    An extreme counts as a rail only where samples pile up on it: at least `PILE_RATIO`
    times as many as in the band of the same signal just inside it (one quantisation
    step or 1 % of the range, whichever is wider). A natural tail thins out towards its
    extreme; a clipped one piles up there.
    """
    lo, hi = (raw.min(axis=0), raw.max(axis=0)) if rails is None else rails
    lo, hi = np.broadcast_to(lo, raw.shape[1:]), np.broadcast_to(hi, raw.shape[1:])
    out = np.zeros(raw.shape[1])
    for c in range(raw.shape[1]):
        v = raw[:, c]
        span = max(float(hi[c] - lo[c]), 1e-12)
        gaps = np.diff(np.unique(v))
        width = max(float(gaps.min()) if gaps.size else 0.0, 0.01 * span)
        tol = 1e-3 * span
        for at, inside in (
            (v >= hi[c] - tol, (v < hi[c] - tol) & (v >= hi[c] - tol - width)),
            (v <= lo[c] + tol, (v > lo[c] + tol) & (v <= lo[c] + tol + width)),
        ):
            n_at = int(at.sum())
            if n_at >= 2 and n_at >= PILE_RATIO * int(inside.sum()):
                out[c] += n_at / len(v)
    return out


def _spectrum(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    nper = min(len(x), int(round(ANALYSIS_WINDOW_S * fs)))
    return welch(x, fs, nperseg=nper, axis=0)


def mains_score(
    x: np.ndarray, fs: float, lines: tuple[float, ...] = (50.0, 60.0)
) -> tuple[np.ndarray, np.ndarray]:
    """Line prominence in dB per channel and the mains frequency it was found at.

    For each family (fundamental and harmonics below Nyquist): the summed peak power
    density within `LINE_HALF_WIDTH` of each line over the summed median density of its
    neighbourhood (`LINE_NEIGHBOURS`); the larger family counts.
    """
    f, p = _spectrum(x, fs)
    best = np.full(x.shape[1], -np.inf)
    where = np.full(x.shape[1], lines[0])
    lo_n, hi_n = LINE_NEIGHBOURS
    for f0 in lines:
        line_p, base_p = np.zeros(x.shape[1]), np.zeros(x.shape[1])
        for h in np.arange(f0, fs / 2 - hi_n, f0):
            band = np.abs(f - h) <= LINE_HALF_WIDTH
            near = (np.abs(f - h) >= lo_n) & (np.abs(f - h) <= hi_n)
            if band.any() and near.sum() >= 2:
                line_p += p[band].max(axis=0)
                base_p += np.median(p[near], axis=0)
        if not base_p.any():
            continue
        db = 10 * np.log10(np.maximum(line_p, 1e-30) / np.maximum(base_p, 1e-30))
        where = np.where(db > best, f0, where)
        best = np.maximum(best, db)
    return best, where


def baseline_score(x: np.ndarray, fs: float) -> np.ndarray:
    """Fraction of each channel's power below `BASELINE_HZ` (motion artefact, wander)."""
    f, p = _spectrum(x, fs)
    total = p.sum(axis=0)
    return np.where(total > 0, p[f < BASELINE_HZ].sum(axis=0) / np.maximum(total, 1e-30), 0.0)


def neighbours(layout: Layout) -> list[np.ndarray]:
    """Each channel's neighbours: ring ``c ± 1, c ± 2``, grid 4-adjacent, else every other.

    Four neighbours on a ring keep one bad channel from dragging its neighbours' median.
    """
    n = layout.n_channels
    if layout.kind == "ring" and n >= 5:
        return [np.array([(c + d) % n for d in (-2, -1, 1, 2)]) for c in range(n)]
    if layout.kind == "grid":
        idx = layout.grid_index()
        out: list[np.ndarray] = [np.empty(0, int)] * n
        for r, col in zip(*np.nonzero(idx >= 0)):
            adj = [
                idx[r + dr, col + dc]
                for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
                if 0 <= r + dr < idx.shape[0] and 0 <= col + dc < idx.shape[1]
            ]
            out[idx[r, col]] = np.array([a for a in adj if a >= 0], int)
        return out
    return [np.array([k for k in range(n) if k != c]) for c in range(n)]


def _neighbour_median(values: np.ndarray, nbrs: list[np.ndarray], usable: np.ndarray) -> np.ndarray:
    """Median over each channel's usable neighbours (all usable channels if none)."""
    out = np.empty(values.shape)
    for c, nb in enumerate(nbrs):
        keep = nb[usable[nb]] if nb.size else nb
        if keep.size == 0:
            keep = np.flatnonzero(usable & (np.arange(len(usable)) != c))
        out[..., c] = np.median(values[..., keep], axis=-1) if keep.size else np.nan
    return out


def _short_rms(x: np.ndarray, fs: float) -> np.ndarray:
    return window_rms(x, max(2, int(round(SHORT_WINDOW_S * fs))))


def noisy_score(x: np.ndarray, fs: float, layout: Layout, usable: np.ndarray) -> np.ndarray:
    """Robust z-score of the log noise floor against the neighbours' (NaN if unusable).

    ``d`` = the channel's log floor minus its neighbours' median; the score is ``d``
    minus the median ``d`` of the recording, over `NOISY_SCALE` (a spread pooled over
    many recordings: the spread of 8 channels of one recording is too unstable).
    """
    floor = np.log(np.quantile(_short_rms(x, fs), 0.05, axis=0) + 1e-12)
    d = floor - _neighbour_median(floor, neighbours(layout), usable)
    if not usable.any():
        return np.full(len(d), np.nan)
    return np.where(usable, (d - np.median(d[usable])) / NOISY_SCALE, np.nan)


def contact_score(x: np.ndarray, fs: float, layout: Layout, usable: np.ndarray) -> np.ndarray:
    """Fraction of 50 ms windows whose RMS ratio to the neighbours' departs from its usual
    value by more than a factor 20 (spikes and drop-outs of a loose electrode)."""
    log_rms = np.log(_short_rms(x, fs) + 1e-9 * (np.abs(x).max() + 1e-30))
    ratio = log_rms - _neighbour_median(log_rms, neighbours(layout), usable)
    dev = np.abs(ratio - np.median(ratio, axis=0))
    return np.where(usable, (dev > CONTACT_LOG_RATIO).mean(axis=0), np.nan)


def low_snr_score(rms: np.ndarray, window_labels: np.ndarray | None = None) -> np.ndarray:
    """dB between contraction and rest RMS per channel, from window RMS ``(n, C)``.

    Contraction: the strongest labelled gesture, else the 95th-percentile window; rest:
    labelled rest windows, else the quietest tenth (`placement.rest_level`).
    """
    rest = rest_level(rms, window_labels)
    wl = np.full(len(rms), -1) if window_labels is None else window_labels
    gestures = np.unique(wl[wl > REST])
    if gestures.size and (wl == REST).sum() >= 2:
        act = np.max([np.sqrt(np.mean(rms[wl == k] ** 2, axis=0)) for k in gestures], axis=0)
    else:
        act = np.quantile(rms, 0.95, axis=0)
    return np.asarray(20 * np.log10(np.maximum(act, 1e-30) / np.maximum(rest, 1e-30)))


# -- running them -------------------------------------------------------------------------


def channel_scores(
    s: Session, rails: tuple[float, float] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every check's per-channel scores on a checked `Session`, and extra details.

    Channels found flat are not scored by the other checks (NaN), nor used as
    neighbours. ``low_snr`` is NaN everywhere when the recording holds no contraction.
    """
    n = len(s.x)
    if n < ANALYSIS_WINDOW_S * s.fs:
        raise ShapeError(
            f"{s.name}: {n / s.fs:.2f} s of signal is shorter than the "
            f"{ANALYSIS_WINDOW_S:g} s analysis window of the quality checks"
        )
    flat = flat_score(s.x)
    usable = ~CHECKS["flat"].fails(flat)
    mains, line = mains_score(s.x, s.fs)
    rms, window_labels = pattern_windows(s)
    snr = low_snr_score(rms, window_labels if s.labelled else None)
    notes: list[str] = []
    if not (usable.any() and np.median(snr[usable]) >= CONTRACTION_DB):
        snr = np.full_like(snr, np.nan)
        notes.append("low_snr not assessed: the recording holds no clear contraction")
    scores = {
        "flat": flat,
        "clipping": clipping_score(s.raw, rails),
        "mains": mains,
        "baseline": baseline_score(s.x, s.fs),
        "noisy": noisy_score(s.x, s.fs, s.layout, usable),
        "contact": contact_score(s.x, s.fs, s.layout, usable),
        "low_snr": snr,
    }
    for name in FAULT_NAMES[1:]:
        scores[name] = np.where(usable, scores[name], np.nan)
    return scores, {"line": line, "notes": notes}


def find_faults(
    scores: Mapping[str, np.ndarray],
    thresholds: Mapping[str, float] | None = None,
    details: Mapping[str, Any] | None = None,
) -> list[Fault]:
    """Faults of the scores against `CHECKS` (``thresholds`` overrides some by name)."""
    thresholds = dict(thresholds or {})
    unknown = sorted(set(thresholds) - set(CHECKS))
    if unknown:
        raise ConfigError(f"unknown quality checks {unknown}; known: {', '.join(FAULT_NAMES)}")
    line = (details or {}).get("line")
    out = []
    for name, check in CHECKS.items():
        score = np.asarray(scores[name], dtype=np.float64)
        for c in np.flatnonzero(check.fails(score, thresholds.get(name))):
            v = float(score[c])
            text = check.message.format(
                channel=int(c), score=v, pct=100 * v, line=int(line[c]) if line is not None else 50
            )
            out.append(Fault(int(c), name, v, text))
    return sorted(out, key=lambda f: (f.channel, FAULT_NAMES.index(f.fault)))


def check_recording(
    data: Any,
    fs: float | None = None,
    layout: Layout | None = None,
    labels: Any = None,
    reference: PlacementReference | None = None,
    rails: tuple[float, float] | None = None,
    thresholds: Mapping[str, float] | None = None,
    name: str | None = None,
) -> QualityReport:
    """Run every wear check on a recording (and the placement, given a reference).

    Parameters
    ----------
    data : Recording, sequence of Recording or array (n_samples, n_channels)
        Recordings of one session are joined end to end.
    fs : float, optional
        Sampling rate (Hz); needed for an array.
    layout : Layout, optional
        Channel geometry for the neighbour checks (default: the recording's, or plain).
    labels : array (n_samples,), optional
        Class codes (0 rest); a recording's own labels are used otherwise.
    reference : PlacementReference, optional
        Where the armband belongs; adds the ``placement`` estimate and its advice.
    rails : (low, high), optional
        The amplifier's range; default: each channel's extreme values.
    thresholds : mapping, optional
        Threshold overrides by check name.

    Raises
    ------
    ShapeError
        Shorter than `ANALYSIS_WINDOW_S`, NaN/Inf, a reference of another channel count.
    """
    s = as_session(data, fs, layout, labels, name)
    scores, details = channel_scores(s, rails)
    faults = find_faults(scores, thresholds, details)
    report = QualityReport(
        faults, scores, s.raw.shape[1], len(s.x) / s.fs, s.name, list(details["notes"])
    )
    if reference is not None:
        report.placement = estimate_rotation(s.x, reference, s.fs, s.labels, s.layout).to_json()
    return report
