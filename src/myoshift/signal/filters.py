"""Filters, rectification, envelopes and resampling for EMG.

Every filter is a Butterworth (or notch) design in second-order sections (``sos``).
Offline filtering is zero-phase (``sosfiltfilt``: forward and backward, no delay, the
magnitude response squared); streaming uses `CausalFilter`, which carries the filter
state between chunks so that filtering chunk by chunk gives exactly the result of one
causal pass over the whole signal (``sosfilt``).

Array functions filter along ``axis`` (default 0: time first, like ``Recording.emg``
of shape ``(n_samples, n_channels)``; use ``axis=-1`` for ``(n, C, T)`` windows).
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any, Literal

import numpy as np
from scipy import signal as sps

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import Recording
from myoshift.signal._validation import as_signal, positive
from myoshift.signal.windows import window_codes

log = logging.getLogger(__name__)

MAX_ORDER = 12


# ---------------------------------------------------------------------------------------
# design
# ---------------------------------------------------------------------------------------
def _check_order(order: Any) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
        raise ConfigError(f"filter order must be an integer in 1..{MAX_ORDER}, got {order!r}")
    if not 1 <= int(order) <= MAX_ORDER:
        raise ConfigError(f"filter order must be in 1..{MAX_ORDER}, got {order}")
    return int(order)


def _check_cutoff(value: Any, fs: float, name: str) -> float:
    f = positive(value, name)
    nyq = fs / 2.0
    if f >= nyq:
        raise ConfigError(
            f"{name} = {f} Hz must be below the Nyquist frequency {nyq} Hz (fs = {fs} Hz)"
        )
    return f


def butter_sos(
    fs: float,
    kind: Literal["bandpass", "highpass", "lowpass"],
    cutoff: float | tuple[float, float],
    order: int = 4,
) -> np.ndarray:
    """Butterworth design as second-order sections.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    kind : {"bandpass", "highpass", "lowpass"}
    cutoff : float or (low, high)
        Cut-off frequency in Hz (a pair for band-pass), strictly between 0 and ``fs / 2``.
    order : int
        Filter order (1..12); a band-pass has twice as many poles.

    Raises
    ------
    ConfigError
        Non-finite or non-positive rate or cut-offs, cut-offs at or above Nyquist,
        ``low >= high``, or a bad order.
    """
    fs = positive(fs, "fs")
    order = _check_order(order)
    if kind == "bandpass":
        if not isinstance(cutoff, (tuple, list, np.ndarray)) or len(cutoff) != 2:
            raise ConfigError(f"band-pass cutoff must be a (low, high) pair, got {cutoff!r}")
        low = _check_cutoff(cutoff[0], fs, "low cut-off")
        high = _check_cutoff(cutoff[1], fs, "high cut-off")
        if low >= high:
            raise ConfigError(f"band-pass needs low < high, got low={low}, high={high}")
        wn: Any = [low, high]
    elif kind in ("highpass", "lowpass"):
        wn = _check_cutoff(cutoff, fs, f"{kind} cut-off")
    else:
        raise ConfigError(f"unknown filter kind {kind!r}; valid: bandpass, highpass, lowpass")
    return np.asarray(sps.butter(order, wn, btype=kind, fs=fs, output="sos"))


def notch_frequencies(fs: float, freq: float = 50.0, harmonics: int | None = None) -> list[float]:
    """The mains frequency and its harmonics strictly below Nyquist.

    ``harmonics=None`` takes every multiple of ``freq`` below ``fs / 2``; an integer
    ``h`` takes at most the first ``h`` multiples (1 = the fundamental only).
    """
    fs = positive(fs, "fs")
    freq = _check_cutoff(freq, fs, "notch frequency")
    if harmonics is not None:
        positive(harmonics, "harmonics", integer=True)
    n_max = int(np.ceil(fs / 2.0 / freq))
    out = [k * freq for k in range(1, n_max + 1) if k * freq < fs / 2.0]
    return out if harmonics is None else out[: int(harmonics)]


def notch_sos(
    fs: float, freq: float = 50.0, harmonics: int | None = None, quality: float = 30.0
) -> np.ndarray:
    """Cascade of IIR notches (``iirnotch``) at ``freq`` and its harmonics, as sos.

    ``quality`` is the Q of the notch at the fundamental; harmonic ``k`` gets ``k * Q`` so
    that every notch has the same -3 dB width ``freq / quality`` Hz (a fixed Q would
    widen the notches with frequency and eat the EMG band above a few hundred Hz).
    """
    quality = positive(quality, "quality")
    sections = []
    for k, f in enumerate(notch_frequencies(fs, freq, harmonics), start=1):
        b, a = sps.iirnotch(f, quality * k, fs=fs)
        sections.append(sps.tf2sos(b, a))
    return np.concatenate(sections, axis=0)


def design_filter(
    fs: float,
    bandpass: tuple[float, float] | None = None,
    highpass: float | None = None,
    lowpass: float | None = None,
    notch: float | None = None,
    notch_harmonics: int | None = None,
    notch_quality: float = 30.0,
    order: int = 4,
) -> np.ndarray:
    """One sos cascade combining any of band-pass, high-pass, low-pass and notch.

    Returns
    -------
    ndarray, (n_sections, 6)

    Raises
    ------
    ConfigError
        Nothing to do, or any invalid setting (see `butter_sos`, `notch_sos`).
    """
    parts = []
    if bandpass is not None:
        parts.append(butter_sos(fs, "bandpass", bandpass, order))
    if highpass is not None:
        parts.append(butter_sos(fs, "highpass", highpass, order))
    if lowpass is not None:
        parts.append(butter_sos(fs, "lowpass", lowpass, order))
    if notch is not None:
        parts.append(notch_sos(fs, notch, notch_harmonics, notch_quality))
    if not parts:
        raise ConfigError("design_filter: give at least one of bandpass, highpass, lowpass, notch")
    return np.concatenate(parts, axis=0)


# ---------------------------------------------------------------------------------------
# applying
# ---------------------------------------------------------------------------------------
def apply_sos(sos: np.ndarray, x: Any, zero_phase: bool = True, axis: int = 0) -> np.ndarray:
    """Filter ``x`` along ``axis`` with second-order sections.

    ``zero_phase=True`` uses ``sosfiltfilt`` (offline, no delay); ``False`` one causal
    pass from rest (``sosfilt``). The output keeps the input's float dtype (computation
    in float64).

    Raises
    ------
    ShapeError
        Bad dtype, NaN/Inf, or a signal too short for zero-phase padding.
    """
    arr = as_signal(x, "signal", axis=axis)
    sos = np.asarray(sos, dtype=np.float64)
    if sos.ndim != 2 or sos.shape[1] != 6:
        raise ShapeError(f"sos must have shape (n_sections, 6), got {sos.shape}")
    data = arr.astype(np.float64, copy=False)
    if zero_phase:
        padlen = 3 * (2 * len(sos) + 1 - min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum()))
        if data.shape[axis] <= padlen:
            raise ShapeError(
                f"signal has {data.shape[axis]} samples along axis {axis}; zero-phase "
                f"filtering with this filter needs more than {padlen} (filter causally, "
                "or filter the whole recording before windowing)"
            )
        out = sps.sosfiltfilt(sos, data, axis=axis)
    else:
        out = sps.sosfilt(sos, data, axis=axis)
    return np.asarray(out, dtype=arr.dtype)


def bandpass(
    x: Any,
    fs: float,
    low: float,
    high: float,
    order: int = 4,
    zero_phase: bool = True,
    axis: int = 0,
) -> np.ndarray:
    """Butterworth band-pass between ``low`` and ``high`` Hz (see `apply_sos`)."""
    return apply_sos(butter_sos(fs, "bandpass", (low, high), order), x, zero_phase, axis)


def highpass(
    x: Any, fs: float, cutoff: float, order: int = 4, zero_phase: bool = True, axis: int = 0
) -> np.ndarray:
    """Butterworth high-pass above ``cutoff`` Hz (see `apply_sos`)."""
    return apply_sos(butter_sos(fs, "highpass", cutoff, order), x, zero_phase, axis)


def lowpass(
    x: Any, fs: float, cutoff: float, order: int = 4, zero_phase: bool = True, axis: int = 0
) -> np.ndarray:
    """Butterworth low-pass below ``cutoff`` Hz (see `apply_sos`)."""
    return apply_sos(butter_sos(fs, "lowpass", cutoff, order), x, zero_phase, axis)


def notch(
    x: Any,
    fs: float,
    freq: float = 50.0,
    harmonics: int | None = None,
    quality: float = 30.0,
    zero_phase: bool = True,
    axis: int = 0,
) -> np.ndarray:
    """Remove mains interference at ``freq`` (50 or 60 Hz) and harmonics below Nyquist."""
    return apply_sos(notch_sos(fs, freq, harmonics, quality), x, zero_phase, axis)


class CausalFilter:
    """A causal sos filter for streaming that carries its state between chunks.

    ``f.process(chunk)`` called on consecutive chunks returns exactly (to float
    rounding) what one ``scipy.signal.sosfilt`` pass over the concatenated signal
    returns. Chunks are ``(n_samples, n_channels)`` (time first, ``axis=0``) or any
    array with time along ``axis``; the other dimensions must stay the same.

    Parameters
    ----------
    sos : ndarray, (n_sections, 6)
        e.g. from `design_filter`.
    axis : int
        Time axis of the chunks.
    init : {"zeros", "steady"}
        Initial state: at rest (like ``sosfilt`` without ``zi``), or the steady state of
        a step at the first sample's value (``sosfilt_zi`` scaled), which avoids the
        start-up transient of a DC offset.

    Examples
    --------
    >>> f = CausalFilter.design(fs=1000, bandpass=(20, 450), notch=50)
    >>> for chunk in stream:          # doctest: +SKIP
    ...     y = f.process(chunk)
    """

    def __init__(
        self, sos: np.ndarray, axis: int = 0, init: Literal["zeros", "steady"] = "zeros"
    ) -> None:
        self.sos = np.asarray(sos, dtype=np.float64)
        if self.sos.ndim != 2 or self.sos.shape[1] != 6:
            raise ShapeError(f"sos must have shape (n_sections, 6), got {self.sos.shape}")
        if init not in ("zeros", "steady"):
            raise ConfigError(f"init must be 'zeros' or 'steady', got {init!r}")
        self.axis = axis
        self.init = init
        self.zi: np.ndarray | None = None

    @classmethod
    def design(cls, fs: float, axis: int = 0, init: str = "zeros", **spec: Any) -> CausalFilter:
        """Build from `design_filter` keywords (bandpass=, highpass=, lowpass=, notch=, order=)."""
        return cls(design_filter(fs, **spec), axis=axis, init=init)  # type: ignore[arg-type]

    def reset(self) -> None:
        """Forget the carried state (the next chunk starts from rest)."""
        self.zi = None

    def _initial_state(self, first: np.ndarray, ax: int) -> np.ndarray:
        other = first.shape[:ax] + first.shape[ax + 1 :]
        zi = np.zeros((len(self.sos), 2, *other))
        if self.init == "steady":
            base = sps.sosfilt_zi(self.sos)  # (n_sections, 2), for a unit step
            x0 = np.take(first, 0, axis=ax)
            zi = base.reshape(len(self.sos), 2, *([1] * len(other))) * x0[None, None]
        return zi

    def process(self, chunk: Any) -> np.ndarray:
        """Filter the next chunk; returns an array of the chunk's shape and float dtype."""
        arr = as_signal(chunk, "chunk", min_samples=0, axis=self.axis)
        ax = self.axis % arr.ndim
        if arr.shape[ax] == 0:
            return arr.copy()
        data = arr.astype(np.float64, copy=False)
        if self.zi is None:
            self.zi = self._initial_state(data, ax)
        expected = self.zi.shape[2:]
        got = data.shape[:ax] + data.shape[ax + 1 :]
        if got != expected:
            raise ShapeError(
                f"chunk has non-time shape {got}, the filter's state expects {expected}; "
                "call reset() to start a new stream"
            )
        out, self.zi = sps.sosfilt(self.sos, data, axis=ax, zi=self.zi)
        return np.asarray(out, dtype=arr.dtype)

    __call__ = process


# ---------------------------------------------------------------------------------------
# rectification and envelopes
# ---------------------------------------------------------------------------------------
def rectify(x: Any) -> np.ndarray:
    """Full-wave rectification ``|x|``."""
    return np.abs(as_signal(x, "signal", min_samples=0))


def moving_mean(x: np.ndarray, size: int, axis: int = 0, causal: bool = False) -> np.ndarray:
    """Mean over a centred (or trailing) window of ``size`` samples along ``axis``.

    Same length as the input; the window shrinks to the available samples at the edges.
    Computed with cumulative sums in float64 (one pass, any window length).
    """
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    c = np.concatenate([np.zeros((*x.shape[:-1], 1)), np.cumsum(x, axis=-1)], axis=-1)
    t = np.arange(n)
    first = t - (size - 1) if causal else t - (size - 1) // 2
    lo = np.clip(first, 0, n)
    hi = np.clip(first + size, 0, n)
    out = (c[..., hi] - c[..., lo]) / (hi - lo)
    return np.moveaxis(out, -1, axis)


def envelope_rms(
    x: Any, fs: float, window_ms: float = 100.0, causal: bool = False, axis: int = 0
) -> np.ndarray:
    """Moving RMS envelope, same length as the input.

    The window is centred (``causal=False``) or trailing (``causal=True``, usable
    online); at the edges it shrinks to the available samples.
    """
    arr = as_signal(x, "signal", axis=axis)
    size = max(1, int(round(positive(window_ms, "window_ms") * positive(fs, "fs") / 1000.0)))
    ms = moving_mean(arr.astype(np.float64) ** 2, size, axis, causal)
    return np.sqrt(np.maximum(ms, 0.0)).astype(arr.dtype)


def envelope_lowpass(
    x: Any,
    fs: float,
    cutoff: float = 5.0,
    order: int = 4,
    zero_phase: bool = True,
    axis: int = 0,
) -> np.ndarray:
    """Linear envelope: full-wave rectification followed by a Butterworth low-pass."""
    return lowpass(rectify(x), fs, cutoff, order, zero_phase, axis)


# ---------------------------------------------------------------------------------------
# resampling
# ---------------------------------------------------------------------------------------
def _ratio(fs: float, fs_new: float, max_denominator: int = 1000) -> Fraction:
    fs = positive(fs, "fs")
    fs_new = positive(fs_new, "new sampling rate")
    frac = Fraction(fs_new / fs).limit_denominator(max_denominator)
    if frac == 0:
        raise ConfigError(f"cannot resample from {fs} Hz to {fs_new} Hz (ratio too small)")
    achieved = fs * frac.numerator / frac.denominator
    if abs(achieved - fs_new) > 1e-9 * fs_new:
        log.warning("resampling %s -> %s Hz approximated as %.6f Hz", fs, fs_new, achieved)
    return frac


def resample_array(x: Any, fs: float, fs_new: float, axis: int = 0) -> np.ndarray:
    """Polyphase resampling (``resample_poly``, anti-aliased) from ``fs`` to ``fs_new``.

    The ratio is approximated by a fraction with denominator <= 1000; the output has
    ``ceil(n * up / down)`` samples and keeps the input's float dtype.
    """
    arr = as_signal(x, "signal", axis=axis)
    frac = _ratio(fs, fs_new)
    if frac == 1:
        return arr.copy()
    out = sps.resample_poly(arr.astype(np.float64), frac.numerator, frac.denominator, axis=axis)
    return np.asarray(out, dtype=arr.dtype)


def _resample_codes(codes: np.ndarray, n_new: int, ratio: float, method: str) -> np.ndarray:
    """Per-sample codes at the new rate; ``ratio`` = old samples per new sample."""
    n_old = len(codes)
    if method == "nearest":
        idx = np.clip(np.round(np.arange(n_new) * ratio).astype(np.int64), 0, n_old - 1)
        return codes[idx]
    if method != "majority":
        raise ConfigError(f"label method must be 'nearest' or 'majority', got {method!r}")
    width = max(1, min(n_old, int(round(ratio))))
    centre = np.arange(n_new) * ratio
    starts = np.clip(np.round(centre - (width - 1) / 2).astype(np.int64), 0, n_old - width)
    return window_codes(codes, starts, width, "majority")


def resample_recording(rec: Recording, fs: float, label_method: str = "majority") -> Recording:
    """A copy of ``rec`` resampled to ``fs`` Hz.

    EMG goes through `resample_array`. Labels and repetitions are re-sampled on the new
    clock: ``"nearest"`` takes the old sample nearest in time, ``"majority"`` the most
    frequent code among the old samples a new sample covers (same as nearest when
    upsampling). Auxiliary streams keep their own rate and clock and are left alone;
    ``meta`` gains ``fs_original``.
    """
    if not isinstance(rec, Recording):
        raise ConfigError(f"resample_recording expects a Recording, got {type(rec).__name__}")
    if rec.n_samples == 0:
        raise ShapeError(f"{rec._name()}: cannot resample a zero-length recording")
    frac = _ratio(rec.fs, fs)
    if frac == 1:
        return rec.with_emg(rec.emg.copy())
    fs_new = rec.fs * frac.numerator / frac.denominator
    emg = resample_array(rec.emg, rec.fs, fs_new, axis=0)
    n_new = emg.shape[0]
    ratio = rec.fs / fs_new
    labels = _resample_codes(rec.labels, n_new, ratio, label_method)
    rep = (
        None
        if rec.repetition is None
        else _resample_codes(rec.repetition, n_new, ratio, label_method)
    )
    meta = {**rec.meta, "fs_original": rec.meta.get("fs_original", rec.fs)}
    return rec.with_emg(emg, fs=fs_new, labels=labels, repetition=rep, meta=meta)


def resample(rec: Recording, fs: float, label_method: str = "majority") -> Recording:
    """Alias of `resample_recording` (for arrays use `resample_array`)."""
    return resample_recording(rec, fs, label_method)


# ---------------------------------------------------------------------------------------
# recording-level
# ---------------------------------------------------------------------------------------
def filter_recording(
    rec: Recording,
    bandpass: tuple[float, float] | None = None,
    highpass: float | None = None,
    lowpass: float | None = None,
    notch: float | None = None,
    notch_harmonics: int | None = None,
    notch_quality: float = 30.0,
    order: int = 4,
    zero_phase: bool = True,
) -> Recording:
    """A copy of ``rec`` with filtered EMG (labels, repetition, aux and meta carried over).

    Example: ``filter_recording(rec, bandpass=(20, 450), notch=50)``. The notch's
    ``notch_quality`` Q sets its -3 dB width ``freq / Q`` (30 -> 2 Hz at 60 Hz); lower it
    when the mains line is off its nominal frequency on the recording's clock (on the
    3DC armband's nominal 1000 Hz clock it sits near 60.7 Hz: Q = 10 is needed). Filter the whole
    recording before windowing: zero-phase filtering of short windows distorts them.
    Apply to a set with ``rset.map(lambda r: filter_recording(r, ...))``.
    """
    if not isinstance(rec, Recording):
        raise ConfigError(f"filter_recording expects a Recording, got {type(rec).__name__}")
    sos = design_filter(
        rec.fs,
        bandpass=bandpass,
        highpass=highpass,
        lowpass=lowpass,
        notch=notch,
        notch_harmonics=notch_harmonics,
        notch_quality=notch_quality,
        order=order,
    )
    if rec.n_samples == 0:
        raise ShapeError(f"{rec._name()}: cannot filter a zero-length recording")
    return rec.with_emg(apply_sos(sos, rec.emg, zero_phase=zero_phase, axis=0))
