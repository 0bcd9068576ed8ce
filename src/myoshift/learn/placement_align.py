"""Placement compensation for any method: turn the armband's electrodes back into place.

A `MethodChain` with ``placement`` set keeps a `PlacementReference` of its training
recordings (`myoshift.signal.placement.make_reference`). When it meets the armband
again (``adapt`` on calibration recordings, or ``recalibrate`` without labels) it
estimates how far round the ring the electrodes now sit (`estimate_rotation`: from the
gestures' activity patterns when ``placement="labelled"``, from the unlabelled active
windows when ``"unlabelled"``) and from then on rotates every raw input recording back
by that much before preprocessing and windowing, so classical and deep estimators alike
see the electrodes where they were trained.

The estimate is refined below one electrode by a parabola through the match scores of
the best rotation and its two neighbours (the armband is rarely turned by a whole
electrode spacing); an offset under `SNAP` electrodes is read as none, so an exact
rotation is undone by an exact channel roll, a fractional one by the linear
interpolation of `myoshift.signal.layouts.rotate_ring`.

The rotation acts on the raw signal, so it is estimated on the raw signal
(`estimate_rotation` takes each recording's median off). Ring layouts only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from myoshift.errors import ConfigError
from myoshift.recording import RecordingSet
from myoshift.signal.layouts import rotate_ring
from myoshift.signal.placement import PlacementReference, estimate_rotation, make_reference

__all__ = [
    "PLACEMENT_MODES",
    "SNAP",
    "PlacementCorrection",
    "aligned",
    "check_mode",
    "estimate_correction",
    "placement_from_state",
    "placement_state",
    "reference_of",
    "refine",
]

#: values of ``MethodChain(placement=...)`` (None: no compensation)
PLACEMENT_MODES = ("labelled", "unlabelled")
#: sub-electrode offsets smaller than this (electrodes) are read as none
SNAP = 0.1


def check_mode(mode: Any, where: str) -> str | None:
    """``mode`` checked against `PLACEMENT_MODES` (None allowed); one-line `ConfigError`."""
    if mode is None or mode in PLACEMENT_MODES:
        return mode  # type: ignore[no-any-return]
    raise ConfigError(
        f"{where}: placement must be one of {', '.join(PLACEMENT_MODES)} or none, got {mode!r}"
    )


def _check_ring(rset: RecordingSet, where: str) -> None:
    for r in rset:
        if r.layout.kind != "ring":
            raise ConfigError(
                f"{where}: placement compensation needs a ring layout (an armband); "
                f"{r._name()} has a {r.layout.kind} layout"
            )


def refine(scores: np.ndarray) -> float:
    """The best rotation of ``scores`` (one per ring rotation) to a fraction of an
    electrode: a parabola through the best score and its two ring neighbours; offsets
    under `SNAP` are dropped. Returns a value in ``[-0.5, C - 0.5)``."""
    s = np.asarray(scores, dtype=np.float64)
    c, best = len(s), int(np.argmax(s))
    if c < 3:
        return float(best)
    low, mid, high = s[(best - 1) % c], s[best], s[(best + 1) % c]
    curve = low - 2.0 * mid + high
    offset = float(np.clip(0.5 * (low - high) / curve, -0.5, 0.5)) if curve < 0 else 0.0
    return float(best) + (offset if abs(offset) >= SNAP else 0.0)


@dataclass(frozen=True)
class PlacementCorrection:
    """An estimated armband rotation and how it is undone.

    Attributes
    ----------
    rotation : float
        Electrodes the armband sits round from the reference, in the `rotate_ring`
        sense (channel ``c`` now sees what channel ``c - rotation`` saw), as the
        shortest signed turn (``-C/2 < rotation <= C/2``); may be fractional.
    margin : float
        How far the best integer rotation's score beats the runner-up's.
    method : {"labelled", "unlabelled"}
        What the estimate used (`estimate_rotation`).
    n_channels : int
    """

    rotation: float
    margin: float
    method: str
    n_channels: int

    def apply(self, emg: np.ndarray) -> np.ndarray:
        """Samples ``(n, C)`` with the rotation undone (same dtype)."""
        if self.rotation == 0:
            return emg
        return rotate_ring(emg[:, :, None], -self.rotation)[:, :, 0]  # type: ignore[no-any-return]

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """`apply` on a chunk of a stream (stateless: chunks give the offline result)."""
        return self.apply(chunk)

    def to_json(self) -> dict[str, Any]:
        return {
            "rotation": round(self.rotation, 4),
            "margin": round(self.margin, 4),
            "method": self.method,
            "n_channels": self.n_channels,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PlacementCorrection:
        return cls(float(d["rotation"]), float(d["margin"]), str(d["method"]), int(d["n_channels"]))


def reference_of(rset: RecordingSet, where: str) -> PlacementReference:
    """The placement reference of training recordings (ring layouts only)."""
    _check_ring(rset, where)
    return make_reference(list(rset))


def estimate_correction(
    rset: RecordingSet, reference: PlacementReference, use_labels: bool, where: str
) -> PlacementCorrection:
    """The rotation of ``rset`` relative to ``reference`` (labels used when
    ``use_labels`` and the recordings carry gestures the reference has)."""
    _check_ring(rset, where)
    est = estimate_rotation(list(rset), reference, use_labels=use_labels)
    c = est.n_channels
    turn = refine(est.scores)
    turn = turn - c if turn > c / 2 else turn
    return PlacementCorrection(turn, est.margin, est.method, c)


def aligned(rset: RecordingSet, correction: PlacementCorrection | None) -> RecordingSet:
    """``rset`` with ``correction`` undone in every recording (unchanged when None)."""
    if correction is None or correction.rotation == 0:
        return rset
    return RecordingSet([replace(r, emg=correction.apply(r.emg)) for r in rset])


def placement_state(
    reference: PlacementReference | None, correction: PlacementCorrection | None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """JSON fields and arrays of a chain's placement (for `EstimatorState`)."""
    if reference is None:
        return {}, {}
    fitted = {
        "placement_source": reference.source,
        "placement": None if correction is None else correction.to_json(),
    }
    arrays = {
        "placement.patterns": np.asarray(reference.patterns, np.float64),
        "placement.classes": np.asarray(reference.classes, np.int64),
    }
    return fitted, arrays


def placement_from_state(
    fitted: dict[str, Any], arrays: dict[str, np.ndarray]
) -> tuple[PlacementReference | None, PlacementCorrection | None]:
    """Inverse of `placement_state`."""
    if "placement.patterns" not in arrays:
        return None, None
    ref = PlacementReference(
        np.asarray(arrays["placement.patterns"], np.float64),
        np.asarray(arrays["placement.classes"], np.int64),
        str(fitted.get("placement_source", "")),
    )
    doc = fitted.get("placement")
    return ref, None if doc is None else PlacementCorrection.from_json(doc)
