"""Frequency-domain features from LibEMG's power spectrum.

The spectrum is LibEMG's: ``P_k = |FFT(x, nfft)_k / N|^2`` for ``k < nfft/2`` with
``nfft`` the next power of two >= N and bin frequencies ``f_k = k fs / nfft`` (the
Nyquist bin is not included). Features that need frequencies require ``fs``.
"""

from __future__ import annotations

import numpy as np

from myoshift.errors import ConfigError
from myoshift.signal.features._stats import WindowStats, as_stats, safe_divide
from myoshift.signal.features.registry import register_feature
from myoshift.signal.features.time_domain import check_int

Input = np.ndarray | WindowStats


def check_fs(fs: float | None, feature: str) -> float:
    """A finite sampling rate > 0, else `ConfigError` naming the feature."""
    if fs is None:
        raise ConfigError(f"feature {feature!r} needs the sampling rate: pass fs=<Hz>")
    try:
        v = float(fs)
    except (TypeError, ValueError):
        raise ConfigError(f"fs must be a number of Hz, got {fs!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise ConfigError(f"fs must be finite and > 0, got {fs!r}")
    return v


@register_feature("mnf", "mean frequency: sum(P f) / sum(P)", aliases=("MNF",))
def mnf(windows: Input, fs: float | None = None) -> np.ndarray:
    """Mean frequency (Hz), ``sum(P_k f_k) / sum(P_k)``; 0 for an all-zero window."""
    f = check_fs(fs, "mnf")
    s = as_stats(windows)
    p = s.power
    return safe_divide(p @ s.freqs(f), p.sum(axis=2))


@register_feature(
    "mdf", "median frequency: first f where cumulative power > half", aliases=("MDF",)
)
def mdf(windows: Input, fs: float | None = None) -> np.ndarray:
    """Median frequency (Hz): the first bin whose cumulative power exceeds half the total.

    As LibEMG (``argwhere(cumP > total/2)[0]`` scaled to Hz). An all-zero window gives 0
    Hz (LibEMG raises an IndexError).
    """
    f = check_fs(fs, "mdf")
    s = as_stats(windows)
    cum = np.cumsum(s.power, axis=2)
    idx = np.argmax(cum > cum[..., -1:] / 2.0, axis=2)
    return idx * (f / s.nfft)


@register_feature("mnp", "mean power: mean of the power spectrum", aliases=("MNP",))
def mnp(windows: Input) -> np.ndarray:
    """Mean power, ``sum(P_k) / (nfft / 2)`` (needs no ``fs``)."""
    p = as_stats(windows).power
    return p.sum(axis=2) / p.shape[2]


@register_feature("pkf", "peak frequency: frequency of the largest power bin", aliases=("PKF",))
def pkf(windows: Input, fs: float | None = None) -> np.ndarray:
    """Peak frequency (Hz): ``f_k`` of the largest ``P_k`` (LibEMG has no such feature)."""
    f = check_fs(fs, "pkf")
    s = as_stats(windows)
    return np.argmax(s.power, axis=2) * (f / s.nfft)


@register_feature("sm", "spectral moment: sum(P f^order)", aliases=("SM",))
def sm(windows: Input, order: int = 2, fs: float | None = None) -> np.ndarray:
    """Spectral moment of ``order`` (Hz^order units), ``sum(P_k f_k^order)`` (LibEMG's SM)."""
    k = check_int(order, "sm_order", minimum=0)
    f = check_fs(fs, "sm")
    s = as_stats(windows)
    return s.power @ (s.freqs(f) ** k)
