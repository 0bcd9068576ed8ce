"""Preprocess steps: `Recording` -> `Recording`, applied to each recording of a set.

Every step takes a `Recording` or a `RecordingSet` and returns the same type, with
labels, repetitions, layout, auxiliary streams and metadata carried over. The filters
are causal by default (``causal=True``): one pass of `myoshift.signal.filters.CausalFilter`
from its steady state at the first sample, so filtering a recording offline gives
exactly what the same filter gives streaming it chunk by chunk (`FilterStep.stream`),
and a DC offset causes no start-up transient. ``causal=False`` filters zero-phase
(forward and backward: no delay, offline only).

A dataset declares the preprocessing its raw signal needs in
`myoshift.datasets.base.Dataset.preprocess`; `dataset_preprocess` reads it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from myoshift.datasets import dataset_names, get_dataset
from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import Recording, RecordingSet
from myoshift.signal.filters import (
    CausalFilter,
    apply_sos,
    butter_sos,
    notch_sos,
    resample_recording,
)
from myoshift.signal.steps import (
    Step,
    StepKind,
    check_choice,
    check_number,
    make_steps,
    register_step,
)

__all__ = [
    "BandPass",
    "DCRemove",
    "FilterStep",
    "HighPass",
    "LowPass",
    "Notch",
    "PreprocessStep",
    "Resample",
    "ScaleSubject",
    "dataset_preprocess",
]

_MAX_ORDER = 12


class PreprocessStep(Step):
    """Base of the preprocess steps: per-recording `apply`, mapped over a set."""

    kind: ClassVar[StepKind] = "preprocess"

    def check_input(self, data: Any) -> None:
        if not isinstance(data, (Recording, RecordingSet)):
            raise self.error(f"expects a Recording or RecordingSet, got {type(data).__name__}")

    def transform(self, data: Any) -> Any:
        """The step applied to a `Recording`, or to every recording of a `RecordingSet`."""
        self.check_input(data)
        if isinstance(data, Recording):
            return self.apply(data)
        return self.apply_set(data)

    def apply(self, rec: Recording) -> Recording:
        """The step on one recording."""
        raise NotImplementedError

    def apply_set(self, rset: RecordingSet) -> RecordingSet:
        """The step on a set (default: `apply` to each recording)."""
        return rset.map(self.apply)


class FilterStep(PreprocessStep):
    """A linear filter designed per recording's rate (see `design`)."""

    def __init__(self, causal: bool = True) -> None:
        super().__init__()
        self.causal = check_choice(self.name, "causal", causal, (True, False))

    def _check_order(self, order: Any) -> int:
        return int(check_number(self.name, "order", order, low=1, high=_MAX_ORDER, integer=True))

    @property
    def is_causal(self) -> bool:
        """True when ``causal=True`` (the step then equals its streaming filter)."""
        return bool(self.causal)

    def sos(self, fs: float) -> np.ndarray:
        """The filter as second-order sections for rate ``fs`` (subclasses)."""
        raise NotImplementedError

    def design(self, fs: float) -> np.ndarray:
        """`sos` with a cut-off at or above Nyquist reported as this step's error."""
        try:
            return self.sos(float(fs))
        except ConfigError as exc:
            raise self.error(f"cannot filter data sampled at {fs:g} Hz: {exc}") from None

    def stream(self, fs: float) -> CausalFilter:
        """A fresh streaming filter (time first) equal to the causal offline step."""
        if not self.causal:
            raise self.error("causal=False (zero-phase) cannot run on a stream")
        return CausalFilter(self.design(fs), axis=0, init="steady")

    def apply(self, rec: Recording) -> Recording:
        if rec.n_samples == 0:
            raise ShapeError(f"step {self.name!r}: {rec._name()} has no samples to filter")
        if self.causal:
            return rec.with_emg(self.stream(rec.fs).process(rec.emg))
        return rec.with_emg(apply_sos(self.design(rec.fs), rec.emg, zero_phase=True, axis=0))


@register_step
class BandPass(FilterStep):
    """Butterworth band-pass between ``low`` and ``high`` Hz (order per edge).

    Causal when ``causal=True`` (the default).
    """

    name = "bandpass"

    def __init__(
        self, low: float = 20.0, high: float = 450.0, order: int = 4, causal: bool = True
    ) -> None:
        super().__init__(causal)
        self.order = self._check_order(order)
        self.low = check_number(self.name, "low", low, low=0, open_low=True)
        self.high = check_number(self.name, "high", high, low=0, open_low=True)
        if self.low >= self.high:
            raise self.error(f"needs low < high, got low={low}, high={high}")

    def sos(self, fs: float) -> np.ndarray:
        return butter_sos(fs, "bandpass", (self.low, self.high), self.order)


@register_step
class HighPass(FilterStep):
    """Butterworth high-pass above ``cutoff`` Hz. Causal when ``causal=True``."""

    name = "highpass"

    def __init__(self, cutoff: float = 20.0, order: int = 4, causal: bool = True) -> None:
        super().__init__(causal)
        self.order = self._check_order(order)
        self.cutoff = check_number(self.name, "cutoff", cutoff, low=0, open_low=True)

    def sos(self, fs: float) -> np.ndarray:
        return butter_sos(fs, "highpass", self.cutoff, self.order)


@register_step
class LowPass(FilterStep):
    """Butterworth low-pass below ``cutoff`` Hz. Causal when ``causal=True``."""

    name = "lowpass"

    def __init__(self, cutoff: float = 450.0, order: int = 4, causal: bool = True) -> None:
        super().__init__(causal)
        self.order = self._check_order(order)
        self.cutoff = check_number(self.name, "cutoff", cutoff, low=0, open_low=True)

    def sos(self, fs: float) -> np.ndarray:
        return butter_sos(fs, "lowpass", self.cutoff, self.order)


@register_step
class Notch(FilterStep):
    """Mains notch at ``freq`` (50 or 60 Hz) and its harmonics below Nyquist.

    ``harmonics`` caps the number of multiples (None: all below Nyquist); ``quality``
    is the Q of the fundamental's notch (width ``freq / quality`` Hz for every notch,
    see `myoshift.signal.filters.notch_sos`). Causal when ``causal=True``.
    """

    name = "notch"

    def __init__(
        self,
        freq: float = 50.0,
        harmonics: int | None = None,
        quality: float = 30.0,
        causal: bool = True,
    ) -> None:
        super().__init__(causal)
        self.freq = check_number(self.name, "freq", freq, low=0, open_low=True)
        self.harmonics = (
            None
            if harmonics is None
            else check_number(self.name, "harmonics", harmonics, low=1, integer=True)
        )
        self.quality = check_number(self.name, "quality", quality, low=0, open_low=True)

    def sos(self, fs: float) -> np.ndarray:
        return notch_sos(fs, self.freq, self.harmonics, self.quality)


@register_step
class DCRemove(FilterStep):
    """DC and drift removal: a first-order causal Butterworth high-pass at ``cutoff`` Hz.

    Chosen over subtracting each recording's mean because it runs on a stream and
    also follows an offset that drifts during the recording; started from its steady
    state, the initial offset is removed from the first sample. Always causal.
    """

    name = "dc-remove"

    def __init__(self, cutoff: float = 1.0) -> None:
        super().__init__(causal=True)
        self.cutoff = check_number(self.name, "cutoff", cutoff, low=0, open_low=True)

    def sos(self, fs: float) -> np.ndarray:
        return butter_sos(fs, "highpass", self.cutoff, 1)


@register_step
class ScaleSubject(PreprocessStep):
    """Unsupervised per-subject normalisation: divide by a per-channel robust scale.

    The recordings of each subject (grouped by the metadata field ``by``; recordings
    without it form one group) are divided, channel by channel, by that subject's own
    robust scale, computed on all of its samples at transform time: the median
    absolute deviation times 1.4826 (equal to the standard deviation for Gaussian data).
    No labels and no training statistics are used, so a new person is normalised by
    their own data; channels with a scale below ``eps`` are left unscaled. Not causal:
    it needs the subject's data before the first sample is output.
    """

    name = "scale-subject"

    def __init__(self, by: str = "subject", eps: float = 1e-8) -> None:
        super().__init__()
        if not isinstance(by, str) or not by:
            raise self.error(f"by must be a metadata field name, got {by!r}")
        self.by = by
        self.eps = check_number(self.name, "eps", eps, low=0, open_low=True)

    @property
    def is_causal(self) -> bool:
        return False

    def robust_scale(self, recs: list[Recording]) -> np.ndarray:
        """Per-channel MAD-based scale of the pooled samples of ``recs``."""
        n_ch = {r.n_channels for r in recs}
        if len(n_ch) != 1:
            raise ShapeError(
                f"step {self.name!r}: one {self.by}'s recordings have channel "
                f"counts {sorted(n_ch)}; expected one"
            )
        scale = np.ones(n_ch.pop())
        for c in range(len(scale)):  # one channel at a time: no pooled copy of all data
            x = np.concatenate([r.emg[:, c] for r in recs]).astype(np.float64)
            if x.size:
                scale[c] = 1.4826 * np.median(np.abs(x - np.median(x)))
        return np.where(scale > self.eps, scale, 1.0)

    def _scaled(self, recs: list[Recording]) -> list[Recording]:
        scale = self.robust_scale(recs).astype(np.float32)
        return [r.with_emg(r.emg / scale) for r in recs]

    def apply(self, rec: Recording) -> Recording:
        return self._scaled([rec])[0]

    def apply_set(self, rset: RecordingSet) -> RecordingSet:
        groups: dict[Any, list[int]] = {}
        for i, r in enumerate(rset):
            groups.setdefault(r.meta.get(self.by), []).append(i)
        out: list[Recording | None] = [None] * len(rset)
        for idx in groups.values():
            for i, rec in zip(idx, self._scaled([rset[i] for i in idx])):
                out[i] = rec
        return RecordingSet(r for r in out if r is not None)


@register_step
class Resample(PreprocessStep):
    """Polyphase resampling to ``fs`` Hz (`myoshift.signal.filters.resample_recording`).

    Labels and repetitions follow on the new clock by ``label_method`` ("majority" or
    "nearest"). Not causal (a centred anti-aliasing filter).
    """

    name = "resample"

    def __init__(self, fs: float = 1000.0, label_method: str = "majority") -> None:
        super().__init__()
        self.fs = check_number(self.name, "fs", fs, low=0, open_low=True)
        self.label_method = check_choice(
            self.name, "label_method", label_method, ("majority", "nearest")
        )

    @property
    def is_causal(self) -> bool:
        return False

    def apply(self, rec: Recording) -> Recording:
        return resample_recording(rec, self.fs, self.label_method)


def dataset_preprocess(source: str | Recording | Iterable[Recording]) -> list[Any]:
    """The preprocessing a dataset declares for its raw signal, as step specs.

    Parameters
    ----------
    source : str, Recording or iterable of Recording (e.g. a RecordingSet)
        A registered dataset name, or recordings whose ``meta["dataset"]`` names one
        (recordings of unregistered datasets, e.g. from a folder, declare nothing).

    Returns
    -------
    list
        The dataset's `Dataset.preprocess` specs (``[]`` when none), checked with
        `make_steps`; pass them to ``make_steps("preprocess", ...)``.

    Raises
    ------
    ConfigError
        An unknown dataset name, recordings of datasets that declare different
        preprocessing, or a dataset whose declared steps are invalid.
    """
    if isinstance(source, str):
        specs = copy.deepcopy(list(type(get_dataset(source)).preprocess))  # callers may edit
        make_steps("preprocess", specs, where=f"dataset {source!r} preprocess")
        return specs
    recs = [source] if isinstance(source, Recording) else list(source)
    names = sorted({str(r.meta["dataset"]) for r in recs if "dataset" in r.meta})
    registered = set(dataset_names())
    declared = {n: dataset_preprocess(n) if n in registered else [] for n in names}
    distinct = {repr(v) for v in declared.values()}
    if len(distinct) > 1:
        raise ConfigError(
            f"recordings of datasets {names} declare different preprocessing; "
            "preprocess each dataset separately"
        )
    return next(iter(declared.values()), [])
