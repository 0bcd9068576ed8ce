"""spectrogram-pca: rate scaling, [0, 1] intensities, principal components, errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import signal as sps

from myoshift.errors import ConfigError, ShapeError
from myoshift.signal.represent_spectral import SpectrogramPCA
from myoshift.signal.steps import make_step
from myoshift.signal.windows import Windows, make_windows
from tests.conftest import make_recording


def _windows(fs: float, seed: int = 0, window_ms: float = 200) -> Windows:
    recs = [make_recording(int(2 * fs), 4, fs=fs, label=k, seed=seed + k) for k in range(3)]
    recs = [r.with_emg(r.emg * (1 + k)) for k, r in enumerate(recs)]  # 3 loudness levels
    return make_windows(recs, window_ms, 100)


@pytest.mark.parametrize(
    ("fs", "segments", "frames"),
    [
        (2000.0, (256, 184), 3),
        (200.0, (26, 19), 3),
        (1000.0, (128, 92), 3),
        (2048.0, (262, 188), 3),
    ],
)
def test_segments_scale_with_the_rate(fs: float, segments: tuple[int, int], frames: int) -> None:
    step = SpectrogramPCA()
    assert step.segments(fs) == segments
    n = round(0.2 * fs)
    nper, nover = segments
    assert 1 + (n - nper) // (nper - nover) == frames  # 3 segments in a 200 ms window


def test_output_normalisation_and_components() -> None:
    train = _windows(200.0)
    step = make_step("represent", {"spectrogram-pca": {"n_components": 10}}).fit(train)
    out = step.transform(train)
    assert out.X.shape == (len(train), 4, 10) and out.X.dtype == np.float32
    rows = step._normalised(np.asarray(train.X), train.fs).reshape(len(train), 4, -1)
    assert rows.min(axis=(0, 2)) == pytest.approx(np.zeros(4), abs=1e-12)
    assert rows.max(axis=(0, 2)) == pytest.approx(np.ones(4))
    comps = step.fitted("components")
    np.testing.assert_allclose(comps @ comps.T, np.eye(10), atol=1e-10)
    # one window, one channel, by hand: scipy's Hamming magnitude spectrogram
    x = np.asarray(train.X[5, 2], dtype=np.float64)
    _, _, mag = sps.spectrogram(x, 200.0, "hamming", 26, 19, detrend=False, mode="magnitude")
    low, high = step.fitted("low")[2], step.fitted("high")[2]
    flat = ((mag - low) / (high - low)).ravel()
    expected = (flat - step.fitted("mean")) @ comps.T
    np.testing.assert_allclose(out.X[5, 2], expected, rtol=1e-4, atol=1e-5)


def test_errors_name_the_lengths() -> None:
    with pytest.raises(ShapeError, match="40 samples are shorter than one 128-sample segment"):
        SpectrogramPCA(reference_fs=400.0).fit(_windows(200.0))
    step = SpectrogramPCA(n_components=5).fit(_windows(200.0))
    longer = _windows(200.0, window_ms=300)
    with pytest.raises(ShapeError, match="spectrogram-pca.*fitted on 42"):
        step.transform(longer)
    with pytest.raises(ShapeError, match="3 channels, fitted on 4"):
        step.transform(replace(longer, X=np.zeros((2, 3, 40), np.float32)))
    with pytest.raises(ConfigError, match="n_components = 50 exceeds the 42"):
        SpectrogramPCA(n_components=50).fit(_windows(200.0))
