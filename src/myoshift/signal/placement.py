"""Armband placement: how far round the ring the electrodes sit compared with a reference.

The reference (`PlacementReference`) is a small summary of recordings made with the
armband where it belongs — the user's calibration or a model's training data: one
activity pattern per gesture (the log RMS of each channel, the rest level taken off,
centred over the channels) and, for data without labels, a subsample of the patterns
of its active windows. A new recording is compared with it under each of the ``C``
ring rotations (`myoshift.signal.layouts.rotate_ring`, the convention of the round-1
ring alignment: rotation ``k`` means channel ``c`` now sees what channel ``c - k`` saw):

* **labelled** (`estimate_rotation` with labels: a few seconds of rest and one or two
  known gestures): each gesture's pattern is correlated with the reference's pattern of
  the same gesture; the rotation with the highest mean correlation wins;
* **unlabelled** (no labels): every active window's pattern is matched with its
  best-fitting reference pattern; the rotation with the highest mean best match wins.

Ties go to the smaller rotation, so an unchanged placement reads 0. `placement_advice`
says in plain words which way to turn the armband.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from myoshift.errors import ConfigError, DataFormatError, ShapeError
from myoshift.recording import REST, UNLABELLED, Layout, Recording
from myoshift.signal._validation import positive
from myoshift.signal.layouts import rotate_ring

#: length of the windows whose RMS makes an activity pattern (seconds)
PATTERN_WINDOW_S = 0.2
#: a window is active when its mean RMS is this many times the quietest windows' level
ACTIVE_RATIO = 2.0
#: most window patterns kept in a reference made without labels
MAX_PROTOTYPES = 256
_FORMAT = "myoshift-placement-reference"


@dataclass
class Session:
    """Checked input of the quality and placement functions: one or more recordings.

    ``raw`` is the samples as given, ``x`` the same with each recording's median taken
    off (recordings joined end to end without a step), ``labels`` one code per sample
    (``UNLABELLED`` where unknown), ``name`` what error messages call it.
    """

    raw: np.ndarray
    x: np.ndarray
    labels: np.ndarray
    fs: float
    layout: Layout
    name: str

    @property
    def labelled(self) -> bool:
        return bool((self.labels != UNLABELLED).any())


def as_session(
    data: Any,
    fs: float | None = None,
    layout: Layout | None = None,
    labels: Any = None,
    name: str | None = None,
) -> Session:
    """A `Session` from a `Recording`, a sequence of recordings or an array ``(n, C)``.

    Raises
    ------
    ShapeError
        Not 2-D, not numeric, NaN or Inf (naming the channels), recordings of different
        rates or channel counts, labels of the wrong length.
    ConfigError
        An array without ``fs``.
    """
    recs = [data] if isinstance(data, Recording) else None
    if recs is None and isinstance(data, Sequence) and data and isinstance(data[0], Recording):
        recs = list(data)
    if recs is not None:
        name = name or str(recs[0].meta.get("source", recs[0].meta.get("dataset", "recording")))
        if len({r.fs for r in recs}) > 1 or len({r.n_channels for r in recs}) > 1:
            raise ShapeError(f"{name}: recordings differ in rate or channel count")
        parts = [r.emg for r in recs]
        fs = recs[0].fs if fs is None else fs
        layout = layout or recs[0].layout
        labels = np.concatenate([r.labels for r in recs]) if labels is None else labels
    else:
        name = name or "array"
        arr = np.asarray(data)
        if arr.dtype.kind not in "fiu" or arr.ndim != 2:
            raise ShapeError(
                f"{name}: expected a numeric array of samples x channels, "
                f"got dtype {arr.dtype} and shape {arr.shape}"
            )
        if fs is None:
            raise ConfigError(f"{name}: give the sampling rate fs (Hz) with an array")
        parts = [arr]
    rate = positive(fs, f"{name}: fs")
    raw = np.concatenate(parts).astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(raw).all(axis=0))
    if bad.size:
        raise ShapeError(f"{name}: NaN or Inf in channel(s) {bad.tolist()}; clean the file first")
    x = np.concatenate([p - np.median(p, axis=0) for p in parts]).astype(np.float64)
    n, c = raw.shape
    lab = np.full(n, UNLABELLED, np.int64) if labels is None else np.asarray(labels, np.int64)
    if lab.shape != (n,):
        raise ShapeError(f"{name}: {lab.shape[0] if lab.ndim else 0} labels for {n} samples")
    if layout is None:
        layout = Layout.plain(c)
    if layout.n_channels != c:
        raise ShapeError(f"{name}: layout has {layout.n_channels} channels, data have {c}")
    return Session(raw, x, lab, rate, layout, name)


def window_rms(x: np.ndarray, size: int) -> np.ndarray:
    """RMS of consecutive non-overlapping windows of ``size`` samples: ``(n // size, C)``."""
    n = (len(x) // size) * size
    return np.sqrt(np.mean(x[:n].reshape(-1, size, x.shape[1]) ** 2, axis=1))


def _centre(log_rms: np.ndarray) -> np.ndarray:
    """Patterns with their mean over channels removed (overall gain does not count)."""
    return log_rms - log_rms.mean(axis=-1, keepdims=True)


def _activity(rms: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Centred log activity: the rest level's power taken off, floored at a tenth of it."""
    power = np.maximum(rms**2 - rest**2, 0.01 * rest**2 + 1e-24)
    return _centre(0.5 * np.log(power))


def rest_level(rms: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """Per-channel RMS at rest: labelled rest windows, else the quietest tenth."""
    if labels is not None and (labels == REST).sum() >= 2:
        return np.sqrt(np.mean(rms[labels == REST] ** 2, axis=0))
    quiet = rms.mean(axis=1) <= np.quantile(rms.mean(axis=1), 0.1)
    return np.sqrt(np.mean(rms[quiet] ** 2, axis=0))


def pattern_windows(s: Session) -> tuple[np.ndarray, np.ndarray]:
    """Window RMS ``(n, C)`` and each window's label (``UNLABELLED`` unless pure)."""
    size = max(1, int(round(PATTERN_WINDOW_S * s.fs)))
    rms = window_rms(s.x, size)
    if len(rms) < 2:
        raise ShapeError(
            f"{s.name}: {len(s.x) / s.fs:.2f} s is too short for placement "
            f"(needs at least {2 * PATTERN_WINDOW_S:g} s)"
        )
    lab = s.labels[: len(rms) * size].reshape(len(rms), size)
    pure = (lab == lab[:, :1]).all(axis=1)
    return rms, np.where(pure, lab[:, 0], UNLABELLED)


def _class_patterns(rms: np.ndarray, wl: np.ndarray, rest: np.ndarray) -> dict[int, np.ndarray]:
    """Each gesture's activity pattern (from the RMS of all its windows)."""
    out = {}
    for code in np.unique(wl[wl > REST]):
        out[int(code)] = _activity(np.sqrt(np.mean(rms[wl == code] ** 2, axis=0)), rest)
    return out


def _active_patterns(rms: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Activity patterns of the active windows (mean RMS over ``ACTIVE_RATIO`` x rest)."""
    active = rms.mean(axis=1) >= ACTIVE_RATIO * rest.mean()
    return _activity(rms[active], rest)


@dataclass
class PlacementReference:
    """Where the electrodes belong: activity patterns of a reference recording.

    Attributes
    ----------
    patterns : ndarray (P, C)
        Centred log activity patterns: one per gesture (``classes`` holds its code) or,
        without labels, of up to `MAX_PROTOTYPES` active windows (code ``UNLABELLED``).
    classes : ndarray (P,)
        Class code of each pattern.
    """

    patterns: np.ndarray
    classes: np.ndarray
    source: str = ""

    @property
    def n_channels(self) -> int:
        return int(self.patterns.shape[1])

    @property
    def labelled(self) -> bool:
        return bool((self.classes > REST).any())

    def save(self, path: str | Path) -> Path:
        """Write the reference as ``.npz`` (no pickled objects)."""
        path = Path(path)
        head = json.dumps({"format": _FORMAT, "version": 1, "source": self.source})
        with path.open("wb") as fh:
            np.savez(fh, patterns=self.patterns, classes=self.classes, header=np.array(head))
        return path

    @classmethod
    def load(cls, path: str | Path) -> PlacementReference:
        """Read a reference written by `save`; a foreign file is a `DataFormatError`."""
        try:
            z = np.load(Path(path), allow_pickle=False)
        except FileNotFoundError:
            raise ConfigError(f"{path}: placement reference not found") from None
        except (OSError, ValueError) as exc:
            raise DataFormatError(path, f"not a placement reference ({exc})") from None
        if not isinstance(z, np.lib.npyio.NpzFile) or "header" not in z.files:
            raise DataFormatError(path, "not a placement reference (no header)")
        with z:
            try:
                head = json.loads(str(z["header"]))
                patterns, classes = z["patterns"].astype(np.float64), z["classes"]
            except (ValueError, KeyError) as exc:
                raise DataFormatError(path, f"not a placement reference ({exc})") from None
        if not isinstance(head, dict) or head.get("format") != _FORMAT:
            raise DataFormatError(path, "not a placement reference (wrong format field)")
        if patterns.ndim != 2 or classes.shape != (len(patterns),):
            raise DataFormatError(path, f"patterns {patterns.shape} and classes do not match")
        return cls(patterns, classes.astype(np.int64), str(head.get("source", "")))


def make_reference(
    data: Any, fs: float | None = None, labels: Any = None, layout: Layout | None = None
) -> PlacementReference:
    """Summarise recordings made with the armband in place (labelled or not).

    With labels the reference holds one pattern per gesture; without, the patterns of
    (at most `MAX_PROTOTYPES` evenly spaced) active windows.
    """
    s = as_session(data, fs, layout, labels)
    rms, wl = pattern_windows(s)
    rest = rest_level(rms, wl if s.labelled else None)
    classes = _class_patterns(rms, wl, rest)
    if classes:
        codes = np.array(sorted(classes), np.int64)
        return PlacementReference(np.stack([classes[k] for k in codes]), codes, s.name)
    pats = _active_patterns(rms, rest)
    if len(pats) == 0:
        raise ShapeError(f"{s.name}: no active windows; the reference needs some contractions")
    keep = np.unique(np.linspace(0, len(pats) - 1, min(len(pats), MAX_PROTOTYPES)).astype(int))
    return PlacementReference(pats[keep], np.full(len(keep), UNLABELLED, np.int64), s.name)


def rotations(patterns: np.ndarray) -> np.ndarray:
    """``(C, P, C)``: the patterns under each ring rotation ``k`` (`rotate_ring`)."""
    return np.stack([rotate_ring(patterns[:, :, None], k)[:, :, 0] for k in range(len(patterns.T))])


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of centred patterns along the last axis (broadcast)."""
    na = np.linalg.norm(a, axis=-1)
    nb = np.linalg.norm(b, axis=-1)
    return np.sum(a * b, axis=-1) / np.maximum(na * nb, 1e-12)


@dataclass
class Placement:
    """A rotation estimate: ``rotation`` electrodes (0 .. C-1) in the `rotate_ring` sense.

    ``shift`` is the same rotation as the shortest signed turn (``-C/2 < shift <= C/2``);
    ``scores`` the match of every rotation (higher is better); ``margin`` how far the
    best beats the runner-up.
    """

    rotation: int
    n_channels: int
    scores: np.ndarray
    method: str
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def shift(self) -> int:
        c = self.n_channels
        return self.rotation - c if self.rotation > c // 2 else self.rotation

    @property
    def margin(self) -> float:
        top = np.sort(self.scores)[::-1]
        return float(top[0] - top[1]) if len(top) > 1 else 0.0

    @property
    def advice(self) -> str:
        return placement_advice(self.rotation, self.n_channels)

    def to_json(self) -> dict[str, Any]:
        return {
            "rotation": self.rotation,
            "shift": self.shift,
            "method": self.method,
            "reference": self.source,
            "margin": round(self.margin, 4),
            "scores": [round(float(v), 4) for v in self.scores],
            "advice": self.advice,
            **self.extra,
        }


def placement_advice(rotation: int, n_channels: int) -> str:
    """Plain words for a rotation estimate (see `Placement`).

    The armband's channel numbers run round the ring; which way that is relative to the
    thumb depends on the device and on the arm it is worn on, so the advice names
    channels (the data's columns, counting from 0).
    """
    shift = rotation - n_channels if rotation > n_channels // 2 else rotation
    if shift == 0:
        return "the armband sits where the reference had it; no turn needed"
    n = abs(shift)
    way = "increasing" if shift > 0 else "decreasing"
    target = shift % n_channels
    s = "" if n == 1 else "s"
    return (
        f"the armband sits {n} electrode{s} round from the reference: rotate it {n} "
        f"electrode{s} in the direction of {way} channel numbers, so that channel 0 comes "
        f"to where channel {target} is now"
    )


def estimate_rotation(
    data: Any,
    reference: PlacementReference,
    fs: float | None = None,
    labels: Any = None,
    layout: Layout | None = None,
    use_labels: bool = True,
) -> Placement:
    """Estimate the armband's ring rotation relative to ``reference``.

    Labelled when the data carry labels of gestures the reference has (and
    ``use_labels``), else unlabelled (see the module docstring).

    Raises
    ------
    ShapeError
        The reference has another channel count, or the data are too short or have no
        active window.
    """
    s = as_session(data, fs, layout, labels)
    c = s.raw.shape[1]
    if reference.n_channels != c:
        raise ShapeError(
            f"{s.name}: has {c} channels but the placement reference "
            f"{reference.source or ''} has {reference.n_channels}; use a reference of this "
            "armband".replace("  ", " ")
        )
    if s.layout.kind != "ring":
        raise ConfigError(
            f"{s.name}: placement needs a ring layout (an armband), got {s.layout.kind}"
        )
    rms, wl = pattern_windows(s)
    rest = rest_level(rms, wl if use_labels and s.labelled else None)
    rotated = rotations(reference.patterns)  # (C, P, C)
    mine = _class_patterns(rms, wl, rest) if use_labels else {}
    shared = [k for k in mine if k in set(reference.classes.tolist())]
    extra: dict[str, Any]
    if shared:
        rows = [int(np.flatnonzero(reference.classes == k)[0]) for k in shared]
        new = np.stack([mine[k] for k in shared])  # (G, C)
        scores = _corr(rotated[:, rows, :], new[None]).mean(axis=1)
        method, extra = "labelled", {"gestures": [int(k) for k in shared]}
    else:
        pats = _active_patterns(rms, rest)
        if len(pats) == 0:
            raise ShapeError(f"{s.name}: no active windows to estimate the placement from")
        match = _corr(rotated[:, :, None, :], pats[None, None])  # (C, P, W)
        scores = match.max(axis=1).mean(axis=1)
        method, extra = "unlabelled", {"windows": int(len(pats))}
    best = int(np.argmax(scores))  # first maximum: ties go to the smaller rotation
    return Placement(best, c, scores, method, reference.source, extra)
