import numpy as np
import pytest
from scipy import fft as spfft
from scipy import signal as sps

from myoshift.errors import ConfigError, ShapeError
from myoshift.signal.spectral import (
    cepstral,
    cepstral_coefficients,
    log_spectrogram,
    spectrogram_freqs,
)

FS = 1000.0


def tones(freqs: list[float], n: int = 3, c: int = 2, t: int = 256) -> np.ndarray:
    tt = np.arange(t) / FS
    x = np.zeros((n, c, t))
    for i, f in enumerate(freqs):
        x[:, i % c] += np.sin(2 * np.pi * f * tt)
    return x


def test_shape_axis_and_peak() -> None:
    X = tones([125.0, 250.0])
    S, f = log_spectrogram(X, FS, nperseg=64, noverlap=32, return_freqs=True)
    frames = (256 - 64) // 32 + 1
    assert S.shape == (3, 2, 33, frames)
    np.testing.assert_allclose(f, np.arange(33) * FS / 64)
    np.testing.assert_allclose(f, spectrogram_freqs(FS, 64))
    assert f[S[0, 0, :, 2].argmax()] == 125.0
    assert f[S[0, 1, :, 2].argmax()] == 250.0


def test_matches_scipy_per_window_and_fmax() -> None:
    X = np.random.default_rng(0).standard_normal((4, 3, 200)).astype(np.float32)
    S = log_spectrogram(X, FS, nperseg=50, noverlap=25, fmax=200)
    assert S.dtype == np.float32
    f, _, P = sps.spectrogram(
        X[2, 1].astype(np.float64), FS, "hann", nperseg=50, noverlap=25, detrend=False
    )
    keep = f <= 200
    assert S.shape[2] == keep.sum()
    np.testing.assert_allclose(S[2, 1], np.log(P[keep] + 1e-10), rtol=1e-5, atol=1e-5)


def test_silent_channel_gives_log_eps() -> None:
    X = np.zeros((1, 1, 64))
    np.testing.assert_allclose(log_spectrogram(X, FS, nperseg=32, eps=1e-6), np.log(1e-6))


def test_cepstral_is_dct_of_log_spectrum() -> None:
    X = np.random.default_rng(1).standard_normal((2, 2, 128))
    S = log_spectrogram(X, FS, nperseg=32)
    C = cepstral_coefficients(X, FS, n_coeffs=5, nperseg=32)
    assert C.shape == (2, 2, 5, S.shape[3])
    np.testing.assert_allclose(C, spfft.dct(S, norm="ortho", axis=2)[:, :, :5])
    assert cepstral is cepstral_coefficients
    # c0 is proportional to the mean log power: scaling the signal shifts only c0
    C2 = cepstral_coefficients(3 * X, FS, n_coeffs=5, nperseg=32)
    np.testing.assert_allclose(C2[:, :, 1:], C[:, :, 1:], atol=1e-3)  # up to eps
    assert (C2[:, :, 0] > C[:, :, 0]).all()


def test_bad_input() -> None:
    X = np.zeros((2, 2, 64))
    with pytest.raises(ShapeError, match="longer"):
        log_spectrogram(X, FS, nperseg=128)
    with pytest.raises(ConfigError, match="noverlap"):
        log_spectrogram(X, FS, nperseg=32, noverlap=32)
    with pytest.raises(ConfigError, match="Nyquist"):
        log_spectrogram(X, FS, nperseg=32, fmax=600)
    with pytest.raises(ConfigError, match="fs"):
        log_spectrogram(X, 0, nperseg=32)
    with pytest.raises(ShapeError, match="3-D"):
        log_spectrogram(np.zeros((2, 64)), FS)
    with pytest.raises(ShapeError, match="NaN"):
        log_spectrogram(np.full((1, 1, 64), np.nan), FS)
    with pytest.raises(ConfigError, match="n_coeffs"):
        cepstral_coefficients(X, FS, n_coeffs=40, nperseg=32)
