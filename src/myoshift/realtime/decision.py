"""What the recogniser reports (decisions, input faults, running counts) and the pure
functions behind it: fault detection, NaN holding and the majority vote."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = [
    "FAULT_CODES",
    "Decision",
    "Fault",
    "RecognizerStats",
    "find_faults",
    "hold_last_finite",
    "vote",
]

#: per-sample fault codes (0: none); a sample with both counts as the larger
FAULT_CODES = {"nan": 1, "saturated": 2}


@dataclass(frozen=True)
class Decision:
    """The recogniser's output for one window.

    Attributes
    ----------
    label : int or None
        The class code after confidence rejection and the majority vote; None means "no
        decision" (rejected, a faulty window, or the vote's majority is "no decision").
    raw_label : int or None
        The window's own decision (the estimator's most probable class); None for a
        window with faulty samples (not classified).
    probability : float
        Probability of ``raw_label`` (NaN for a faulty window).
    t_end : float
        Time of the window's last sample in seconds: sample index / fs, or the caller's
        timestamps when given.
    latency_s : float
        Seconds from the window's last sample to this decision: its age in the stream
        when the push began (samples after it / fs) plus the time spent in the push.
    window : int
        Window number in the stream (window ``k`` starts at sample ``k * step``).
    dropped : int
        Windows dropped just before this one to keep up with real time (overload).
    fault : str or None
        ``"nan"`` or ``"saturated"`` when the window holds such samples.
    """

    label: int | None
    raw_label: int | None
    probability: float
    t_end: float
    latency_s: float
    window: int
    dropped: int = 0
    fault: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (NaN probability as None)."""
        d = asdict(self)
        if math.isnan(self.probability):
            d["probability"] = None
        return d


@dataclass(frozen=True)
class Fault:
    """Samples of one pushed chunk that could not be trusted.

    Attributes
    ----------
    kind : {"nan", "saturated"}
    first : int
        Absolute index of the chunk's first faulty sample.
    n_samples : int
        Faulty samples in the chunk.
    channels : tuple of int
        Channels where they occurred.
    """

    kind: str
    first: int
    n_samples: int
    channels: tuple[int, ...]

    def message(self) -> str:
        """A one-line description."""
        what = "NaN or Inf values" if self.kind == "nan" else "saturated values"
        return (
            f"{self.n_samples} samples with {what} from sample {self.first} on channels "
            f"{list(self.channels)}; their windows get no decision"
        )


@dataclass
class RecognizerStats:
    """Running counts since the recogniser started (or was reset).

    Attributes
    ----------
    samples : int
        Samples pushed.
    windows : int
        Windows that became complete.
    decisions : int
        Decisions returned (``windows - dropped``).
    dropped : int
        Windows dropped to keep latency bounded (``realtime=True`` only).
    rejected : int
        Windows whose probability was below ``reject_below``.
    faulty_windows : int
        Windows holding NaN or saturated samples (no decision).
    faults : int
        Fault reports (one per kind and chunk).
    inferences : int
        Calls of the estimator (one per push, or per ``max_batch`` windows).
    """

    samples: int = 0
    windows: int = 0
    decisions: int = 0
    dropped: int = 0
    rejected: int = 0
    faulty_windows: int = 0
    faults: int = 0
    inferences: int = 0


def vote(history: Iterable[int | None]) -> int | None:
    """Most frequent entry of ``history``; ties go to the smallest code, None first.

    None ("no decision") ranks below every class code, so a tie with it gives no
    decision; without None entries this is `myoshift.evaluation.metrics.majority_vote`.
    """
    counts = Counter(-1 if h is None else int(h) for h in history)
    if not counts:
        return None
    best = max(counts.values())
    code = min(c for c, n in counts.items() if n == best)
    return None if code == -1 else code


def find_faults(
    x: np.ndarray, saturation: float | None, first: int
) -> tuple[np.ndarray, list[Fault]]:
    """Per-sample fault codes (`FAULT_CODES`) of samples ``x (n, C)`` and one `Fault`
    per kind found; ``first`` is the absolute index of ``x[0]``.

    NaN/Inf anywhere in a sample makes it ``"nan"``; with ``saturation``, a value with
    ``|value| >= saturation`` makes it ``"saturated"``.
    """
    codes = np.zeros(len(x), dtype=np.uint8)
    masks = {"nan": ~np.isfinite(x)}
    if saturation is not None:
        with np.errstate(invalid="ignore"):
            masks["saturated"] = np.abs(x) >= saturation
    found = []
    for kind, mask in masks.items():
        rows = np.flatnonzero(mask.any(axis=1))
        if len(rows):
            chans = tuple(int(c) for c in np.flatnonzero(mask.any(axis=0)))
            found.append(Fault(kind, first + int(rows[0]), len(rows), chans))
            codes[rows] = np.maximum(codes[rows], FAULT_CODES[kind])
    return codes, found


def hold_last_finite(x: np.ndarray, last: np.ndarray) -> np.ndarray:
    """``x (n, C)`` with each non-finite value replaced by its channel's previous finite
    value (``last`` before the first sample)."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return x
    filled = np.vstack([last[None, :], x])
    ok = np.vstack([np.ones((1, x.shape[1]), dtype=bool), ~bad])
    rows = np.where(ok, np.arange(len(filled))[:, None], 0)
    np.maximum.accumulate(rows, axis=0, out=rows)
    return np.take_along_axis(filled, rows, axis=0)[1:]
