"""Wavelet images: wavelet-packet energies and continuous wavelet transforms (PyWavelets).

Both take windows ``(n, C, T)`` and transform every window and channel at once (PyWavelets
works along the last axis of N-D arrays).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pywt

from myoshift.errors import ConfigError, ShapeError
from myoshift.signal._validation import as_signal, positive


def _wavelet(name: str, continuous: bool) -> Any:
    kind = "continuous" if continuous else "discrete"
    try:
        return pywt.ContinuousWavelet(name) if continuous else pywt.Wavelet(name)
    except (ValueError, TypeError):
        raise ConfigError(
            f"unknown {kind} wavelet {name!r}; see pywt.wavelist(kind={kind!r})"
        ) from None


def wavelet_packet_image(
    X: Any,
    wavelet: str = "db4",
    level: int = 3,
    n_segments: int | None = None,
    mode: str = "periodization",
) -> np.ndarray:
    """Wavelet-packet energy image of every window and channel.

    The window is decomposed to ``level`` (``2 ** level`` terminal nodes, in natural
    frequency order: node 0 is the lowest band). Each node's coefficients are split into
    ``n_segments`` consecutive time segments and the energy (sum of squares) of each is
    taken; ``n_segments=None`` keeps one column per coefficient (finest time resolution).

    Parameters
    ----------
    X : array, (n, C, T)
    wavelet : str
        Discrete wavelet name (``pywt.wavelist(kind="discrete")``).
    level : int
        Decomposition depth (at least one coefficient per node is required).
    n_segments : int, optional
        Time segments per node.
    mode : str
        Signal extension mode; ``periodization`` keeps ``ceil(T / 2**level)``
        coefficients per node, aligned with time.

    Returns
    -------
    ndarray, (n, C, 2 ** level, segments)
    """
    arr = as_signal(X, "X", ndim=3)
    wav = _wavelet(wavelet, continuous=False)
    lev = int(positive(level, "level", integer=True))
    if mode not in pywt.Modes.modes:
        raise ConfigError(f"unknown extension mode {mode!r}; valid: {pywt.Modes.modes}")
    if arr.shape[2] < 2**lev:
        raise ShapeError(f"windows of {arr.shape[2]} samples are too short for level {lev}")
    data = arr[:, :, None, :]  # (n, C, nodes, L); pywt keeps float32 / float64
    for _ in range(lev):  # every node of a level in one dwt call
        approx, detail = pywt.dwt(data, wav, mode=mode, axis=-1)
        data = np.stack([approx, detail], axis=3).reshape(*arr.shape[:2], -1, approx.shape[-1])
    # natural order (a = 0, d = 1 per level) -> frequency order: the Gray code j ^ (j >> 1)
    freq_order = [j ^ (j >> 1) for j in range(2**lev)]
    energy = np.square(data[:, :, freq_order, :])
    if n_segments is None:
        return energy.astype(arr.dtype)
    seg = int(positive(n_segments, "n_segments", integer=True))
    length = energy.shape[-1]
    if seg > length:
        raise ConfigError(f"n_segments = {seg} exceeds the {length} coefficients per node")
    bounds = np.linspace(0, length, seg + 1).astype(np.int64)[:-1]
    return np.add.reduceat(energy, bounds, axis=-1).astype(arr.dtype)


def cwt_image(
    X: Any,
    fs: float,
    freqs: Any = None,
    scales: Any = None,
    wavelet: str = "morl",
    magnitude: bool = True,
    method: str = "fft",
) -> np.ndarray:
    """Continuous wavelet transform image (``pywt.cwt``) of every window and channel.

    Give either ``freqs`` (Hz, each in ``(0, fs / 2)``) or ``scales``; by default 24
    log-spaced frequencies from ``fs / 50`` to ``fs / 2.5``.

    Returns
    -------
    ndarray, (n, C, n_scales, T)
        ``|coefficients|`` (``magnitude=True``) or the raw real coefficients (real
        wavelets only).
    """
    arr = as_signal(X, "X", ndim=3)
    fs = positive(fs, "fs")
    wav = _wavelet(wavelet, continuous=True)
    if freqs is not None and scales is not None:
        raise ConfigError("give freqs or scales, not both")
    if scales is None:
        f = np.geomspace(fs / 50.0, fs / 2.5, 24) if freqs is None else np.asarray(freqs, float)
        if f.ndim != 1 or f.size == 0 or not np.isfinite(f).all() or (f <= 0).any():
            raise ConfigError("freqs must be a non-empty 1-D array of positive frequencies")
        if (f >= fs / 2).any():
            raise ConfigError(f"freqs must be below the Nyquist frequency {fs / 2} Hz")
        sc = pywt.frequency2scale(wav, f / fs)
    else:
        sc = np.asarray(scales, dtype=float)
        if sc.ndim != 1 or sc.size == 0 or not np.isfinite(sc).all() or (sc <= 0).any():
            raise ConfigError("scales must be a non-empty 1-D array of positive numbers")
    if method not in ("fft", "conv"):
        raise ConfigError(f"method must be 'fft' or 'conv', got {method!r}")
    coefs, _ = pywt.cwt(arr.astype(np.float64), sc, wav, 1.0 / fs, method=method, axis=-1)
    coefs = np.moveaxis(coefs, 0, -2)  # (n, C, S, T)
    if magnitude:
        coefs = np.abs(coefs)
    elif np.iscomplexobj(coefs):
        raise ConfigError(f"wavelet {wavelet!r} is complex; use magnitude=True")
    return np.asarray(coefs, dtype=arr.dtype)
