"""TD-PSD: time-domain power spectral descriptors (Khushaba et al. 2017), as LibEMG.

Each descriptor ``f`` is computed on the window (``f_ebp``) and on its log power
``log(x^2 + eps)`` (``f_efp``) and combined as ``-2 f_efp f_ebp / (f_efp^2 + f_ebp^2)``.
The spectral moments come from the time domain by Parseval's theorem:
``m0 = (sqrt(sum x^2) / (N-1))^0.1 / 0.1``, ``m2 = (sqrt(sum d^2 / (N-1)))^0.1 / 0.1``,
``m4 = (sqrt(sum dd^2 / (N-1)))^0.1 / 0.1`` with ``d``, ``dd`` the first and second
differences (LibEMG's exact normalisation, including ``m0``'s division outside the root).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from myoshift.signal.features._stats import WindowStats, as_stats
from myoshift.signal.features.registry import register_feature

Input = np.ndarray | WindowStats


def _moments(s: WindowStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n1 = s.n_samples - 1
    m0 = (np.sqrt(s.sq_sum) / n1) ** 0.1 / 0.1
    m2 = np.sqrt(s.diff_sq_sum / n1) ** 0.1 / 0.1
    m4 = np.sqrt(s.diff2_sq_sum / n1) ** 0.1 / 0.1
    return m0, m2, m4


def _combine(s: WindowStats, closure: Callable[[WindowStats], np.ndarray]) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ebp = closure(s)
        efp = closure(s.log_power)
        return -2.0 * efp * ebp / (efp * efp + ebp * ebp)


def _m0(s: WindowStats) -> np.ndarray:
    return np.log(np.abs(_moments(s)[0]))


def _m2(s: WindowStats) -> np.ndarray:
    m0, m2, _ = _moments(s)
    return np.log(np.abs(m0 - m2))


def _m4(s: WindowStats) -> np.ndarray:
    m0, _, m4 = _moments(s)
    return np.log(np.abs(m0 - m4))


def _sparsi(s: WindowStats) -> np.ndarray:
    m0, m2, m4 = _moments(s)
    return np.log(np.abs(np.sqrt(np.abs((m0 - m2) * (m0 - m4))) / m0))


def _irf(s: WindowStats) -> np.ndarray:
    m0, m2, m4 = _moments(s)
    return np.log(np.abs(m2 / np.sqrt(m0 * m4)))


def _wlf(s: WindowStats) -> np.ndarray:
    return np.log(np.abs(np.sqrt(s.abs_diff_sum / s.abs_diff2_sum)))


@register_feature("m0", "TD-PSD zero-order moment (log-normalised)", aliases=("M0",), min_samples=3)
def m0(windows: Input) -> np.ndarray:
    """TD-PSD root squared zero-order moment (LibEMG's M0)."""
    return _combine(as_stats(windows), _m0)


@register_feature("m2", "TD-PSD second-order moment", aliases=("M2",), min_samples=3)
def m2(windows: Input) -> np.ndarray:
    """TD-PSD second-order moment, from ``log|m0 - m2|`` (LibEMG's M2)."""
    return _combine(as_stats(windows), _m2)


@register_feature("m4", "TD-PSD fourth-order moment", aliases=("M4",), min_samples=3)
def m4(windows: Input) -> np.ndarray:
    """TD-PSD fourth-order moment, from ``log|m0 - m4|`` (LibEMG's M4)."""
    return _combine(as_stats(windows), _m4)


@register_feature("sparsi", "TD-PSD sparseness", aliases=("SPARSI",), min_samples=3)
def sparsi(windows: Input) -> np.ndarray:
    """TD-PSD sparseness ``sqrt(|(m0-m2)(m0-m4)|) / m0`` (LibEMG's SPARSI)."""
    return _combine(as_stats(windows), _sparsi)


@register_feature("irf", "TD-PSD irregularity factor", aliases=("IRF",), min_samples=3)
def irf(windows: Input) -> np.ndarray:
    """TD-PSD irregularity factor ``m2 / sqrt(m0 m4)`` (LibEMG's IRF)."""
    return _combine(as_stats(windows), _irf)


@register_feature("wlf", "TD-PSD waveform length factor", aliases=("WLF",), min_samples=3)
def wlf(windows: Input) -> np.ndarray:
    """TD-PSD waveform length ratio ``sqrt(sum|d| / sum|dd|)`` (LibEMG's WLF)."""
    return _combine(as_stats(windows), _wlf)
