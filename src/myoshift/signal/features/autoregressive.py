"""Autoregressive (AR) and cepstral coefficients, vectorised over windows and channels.

AR coefficients use Burg's method in the form of ``librosa.lpc`` (Marple 1980), which
LibEMG calls: the model is ``x_t = -sum_k a_k x_{t-k} + e_t`` and the features are
``a_1 .. a_p`` (the leading 1 of the polynomial is dropped). Per-channel values are laid
out channel-major: ``ar1_ch0 .. arp_ch0, ar1_ch1, ...`` (LibEMG's order).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from myoshift.errors import ConfigError
from myoshift.signal.features._stats import WindowStats, as_stats
from myoshift.signal.features.registry import register_feature
from myoshift.signal.features.time_domain import check_int

Input = np.ndarray | WindowStats


def burg(x: np.ndarray, order: int) -> np.ndarray:
    """Burg AR polynomial ``[1, a_1, .., a_p]`` along the last axis, shape ``(..., p + 1)``.

    The same recursion as ``librosa.lpc`` (forward/backward prediction errors, reflection
    coefficients with a ``tiny`` bias in the denominator), for every row at once.
    """
    n = x.shape[-1]
    if n <= order:
        raise ConfigError(f"AR order {order} needs windows longer than {order} samples, got {n}")
    lead = x.shape[:-1]
    tiny = np.finfo(np.float64).tiny
    ar = np.zeros((order + 1, *lead))
    ar[0] = 1.0
    ar_prev = ar.copy()
    fwd = x[..., 1:]
    bwd = x[..., :-1]
    den = np.einsum("...k,...k->...", fwd, fwd) + np.einsum("...k,...k->...", bwd, bwd)
    for i in range(order):
        k = -2.0 * np.einsum("...k,...k->...", bwd, fwd) / (den + tiny)
        ar_prev, ar = ar, ar_prev
        for j in range(1, i + 2):
            ar[j] = ar_prev[j] + k * ar_prev[i - j + 1]
        kk = k[..., None]
        fwd, bwd = fwd + kk * bwd, bwd + kk * fwd
        den = (1.0 - k * k) * den - bwd[..., -1] ** 2 - fwd[..., 0] ** 2
        fwd = fwd[..., 1:]
        bwd = bwd[..., :-1]
    return np.moveaxis(ar, 0, -1)


def _ar_labels(params: dict[str, Any]) -> list[str]:
    return [f"ar{j + 1}" for j in range(int(params["order"]))]


def _cc_labels(params: dict[str, Any]) -> list[str]:
    return [f"cc{j + 1}" for j in range(int(params["order"]))]


@register_feature(
    "ar",
    "autoregressive coefficients a_1..a_p (Burg, as librosa.lpc)",
    aliases=("AR",),
    labels=_ar_labels,
    min_samples=2,
)
def ar(windows: Input, order: int = 4) -> np.ndarray:
    """AR coefficients ``a_1 .. a_order`` of each window and channel, ``(n, C, order)``."""
    p = check_int(order, "ar_order")
    return burg(as_stats(windows).x, p)[..., 1:]


def cepstrum_from_ar(a: np.ndarray) -> np.ndarray:
    """Cepstral coefficients ``c_1 .. c_p`` of the all-pole model ``1 / A(z)``.

    ``A(z) = 1 + sum_k a_k z^-k``; ``c_1 = -a_1`` and
    ``c_p = -a_p - sum_{l=1}^{p-1} (1 - l/p) a_l c_{p-l}`` (the LPC-cepstrum recursion).
    """
    p = a.shape[-1]
    c = np.zeros_like(a)
    for n in range(1, p + 1):
        acc = -a[..., n - 1].copy()
        for l in range(1, n):
            acc -= (1.0 - l / n) * a[..., l - 1] * c[..., n - l - 1]
        c[..., n - 1] = acc
    return c


@register_feature(
    "cc",
    "cepstral coefficients c_1..c_p of the AR model",
    aliases=("CC",),
    labels=_cc_labels,
    min_samples=2,
)
def cc(windows: Input, order: int = 4) -> np.ndarray:
    """Cepstral coefficients from the AR model of ``order``, ``(n, C, order)``.

    ``c_1 = -a_1`` equals LibEMG's first CC. The higher orders differ on purpose:
    LibEMG 2.0.3 multiplies by ``a_p`` instead of ``a_l`` in the recursion, uses the
    0-based index ``p`` in the weight ``(1 - l/p)``, and for ``CC_order <= 2`` leaves
    every coefficient after the first at 0. Here the textbook LPC-cepstrum recursion is
    used (for ``A(z) = 1 + a z^-1`` it gives ``c_n = (-a)^n / n``, the series of
    ``-log A``).
    """
    p = check_int(order, "cc_order")
    return cepstrum_from_ar(ar(windows, order=p))
