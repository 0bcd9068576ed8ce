"""Time-frequency images on a linear frequency axis.

`log_spectrogram` is the speech-style front end without the mel filter bank: short-time
power spectra (Welch-style periodograms of ``nperseg`` samples every
``nperseg - noverlap``) on the linear frequency axis, then a logarithm.
`cepstral_coefficients` takes the type-II DCT of that log spectrum over frequency (the
MFCC recipe with a linear instead of a mel axis). Both are vectorised over windows and
channels: input ``(n, C, T)``, output ``(n, C, F, frames)`` / ``(n, C, n_coeffs, frames)``.
"""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np
from scipy import fft as spfft
from scipy import signal as sps

from myoshift.errors import ConfigError, ShapeError
from myoshift.signal._validation import as_signal, positive


def _segments(n_samples: int, nperseg: Any, noverlap: Any) -> tuple[int, int]:
    nper = int(positive(nperseg, "nperseg", integer=True))
    if nper > n_samples:
        raise ShapeError(f"nperseg = {nper} is longer than the windows ({n_samples} samples)")
    nover = nper // 2 if noverlap is None else int(noverlap)
    if noverlap is not None and (float(noverlap) != nover or not 0 <= nover < nper):
        raise ConfigError(f"noverlap must be an integer in [0, nperseg), got {noverlap!r}")
    return nper, nover


def spectrogram_freqs(fs: float, nperseg: int, fmax: float | None = None) -> np.ndarray:
    """The frequency axis (Hz) `log_spectrogram` returns for these settings."""
    freqs = np.fft.rfftfreq(int(nperseg), d=1.0 / positive(fs, "fs"))
    if fmax is not None:
        freqs = freqs[freqs <= positive(fmax, "fmax")]
    return freqs


@overload
def log_spectrogram(
    X: Any,
    fs: float,
    nperseg: int = ...,
    noverlap: int | None = ...,
    fmax: float | None = ...,
    window: str = ...,
    eps: float = ...,
    return_freqs: Literal[False] = ...,
) -> np.ndarray: ...


@overload
def log_spectrogram(
    X: Any,
    fs: float,
    nperseg: int = ...,
    noverlap: int | None = ...,
    fmax: float | None = ...,
    window: str = ...,
    eps: float = ...,
    *,
    return_freqs: Literal[True],
) -> tuple[np.ndarray, np.ndarray]: ...


def log_spectrogram(
    X: Any,
    fs: float,
    nperseg: int = 32,
    noverlap: int | None = None,
    fmax: float | None = None,
    window: str = "hann",
    eps: float = 1e-10,
    return_freqs: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Log power spectrogram of every window and channel.

    Parameters
    ----------
    X : array, (n, C, T)
    fs : float
        Sampling rate in Hz.
    nperseg, noverlap : int
        Segment length and overlap in samples (``noverlap`` defaults to ``nperseg // 2``).
    fmax : float, optional
        Keep only frequencies ``<= fmax`` Hz.
    window : str
        Taper (any ``scipy.signal.get_window`` name).
    eps : float
        Added to the power before the log (silent channels give ``log(eps)``).
    return_freqs : bool
        Also return the frequency axis.

    Returns
    -------
    S : ndarray, float32 for float32 input, (n, C, F, frames)
    freqs : ndarray, (F,), only with ``return_freqs``
    """
    arr = as_signal(X, "X", ndim=3)
    fs = positive(fs, "fs")
    nper, nover = _segments(arr.shape[2], nperseg, noverlap)
    if fmax is not None and positive(fmax, "fmax") > fs / 2:
        raise ConfigError(f"fmax = {fmax} Hz is above the Nyquist frequency {fs / 2} Hz")
    freqs, _, power = sps.spectrogram(
        arr.astype(np.float64, copy=False),
        fs=fs,
        window=window,
        nperseg=nper,
        noverlap=nover,
        detrend=False,
        scaling="density",
        mode="psd",
        axis=-1,
    )
    if fmax is not None:
        keep = freqs <= fmax
        freqs, power = freqs[keep], power[..., keep, :]
    out = np.log(power + positive(eps, "eps")).astype(arr.dtype)
    return (out, freqs) if return_freqs else out


def cepstral_coefficients(
    X: Any,
    fs: float,
    n_coeffs: int = 13,
    nperseg: int = 32,
    noverlap: int | None = None,
    fmax: float | None = None,
    window: str = "hann",
    eps: float = 1e-10,
) -> np.ndarray:
    """Cepstral coefficients: orthonormal DCT-II of `log_spectrogram` over frequency.

    Returns
    -------
    ndarray, (n, C, n_coeffs, frames)
    """
    spec = log_spectrogram(X, fs, nperseg, noverlap, fmax, window, eps)
    n_freq = spec.shape[2]
    k = int(positive(n_coeffs, "n_coeffs", integer=True))
    if k > n_freq:
        raise ConfigError(f"n_coeffs = {k} exceeds the {n_freq} frequency bins")
    cep = spfft.dct(spec.astype(np.float64), type=2, norm="ortho", axis=2)[:, :, :k, :]
    return cep.astype(spec.dtype)


cepstral = cepstral_coefficients
