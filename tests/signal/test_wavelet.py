import numpy as np
import pytest
import pywt

from myoshift.errors import ConfigError, ShapeError
from myoshift.signal.wavelet import cwt_image, wavelet_packet_image

FS = 1000.0


def test_packet_shape_and_energy_conservation() -> None:
    X = np.random.default_rng(0).standard_normal((4, 3, 200)).astype(np.float32)
    img = wavelet_packet_image(X, "db4", level=3)
    assert img.shape == (4, 3, 8, 25) and img.dtype == np.float32
    seg = wavelet_packet_image(X, "db4", level=3, n_segments=5)
    assert seg.shape == (4, 3, 8, 5)
    np.testing.assert_allclose(seg.sum(-1), img.sum(-1), rtol=1e-5)
    # orthogonal wavelet + periodization: node energies sum to the window energy
    total = (X.astype(np.float64) ** 2).sum(-1)
    np.testing.assert_allclose(seg.sum(axis=(2, 3)), total, rtol=1e-4)


def test_packet_nodes_in_frequency_order() -> None:
    t = np.arange(256) / FS
    # level 2 splits 0..500 Hz into 4 bands of 125 Hz
    for band, f in enumerate([40.0, 180.0, 310.0, 440.0]):
        x = np.sin(2 * np.pi * f * t)[None, None]
        energy = wavelet_packet_image(x, "db8", level=2, n_segments=1)[0, 0, :, 0]
        assert energy.argmax() == band


@pytest.mark.parametrize("level", [1, 2, 4])
@pytest.mark.parametrize("mode", ["periodization", "symmetric"])
def test_packet_matches_pywt_per_window(level: int, mode: str) -> None:
    X = np.random.default_rng(1).standard_normal((2, 2, 100))
    img = wavelet_packet_image(X, "db2", level=level, mode=mode)
    wp = pywt.WaveletPacket(X[1, 0], "db2", mode=mode, maxlevel=level)
    ref = np.stack([n.data**2 for n in wp.get_level(level, order="freq")])
    np.testing.assert_allclose(img[1, 0], ref)


def test_packet_localises_burst_in_time() -> None:
    x = np.zeros((1, 1, 256))
    x[0, 0, 192:] = np.random.default_rng(2).standard_normal(64)
    img = wavelet_packet_image(x, level=2, n_segments=4)[0, 0]
    assert img[:, 3].sum() > 0.9 * img.sum()


def test_cwt_shape_and_frequency_response() -> None:
    t = np.arange(500) / FS
    X = np.stack([np.sin(2 * np.pi * 50 * t), np.sin(2 * np.pi * 200 * t)])[None]
    freqs = np.array([25.0, 50.0, 100.0, 200.0, 300.0])
    img = cwt_image(X.astype(np.float32), FS, freqs=freqs)
    assert img.shape == (1, 2, 5, 500) and img.dtype == np.float32
    mid = img[0, :, :, 100:400].mean(-1)
    assert freqs[mid[0].argmax()] == 50.0
    assert freqs[mid[1].argmax()] == 200.0
    assert cwt_image(X, FS, scales=[2.0, 4.0]).shape == (1, 2, 2, 500)
    assert cwt_image(X, FS).shape == (1, 2, 24, 500)


def test_cwt_complex_wavelet_magnitude() -> None:
    x = np.random.default_rng(4).standard_normal((2, 1, 64))
    img = cwt_image(x, FS, freqs=[50.0, 100.0], wavelet="cmor1.5-1.0")
    assert img.shape == (2, 1, 2, 64) and (img >= 0).all()
    with pytest.raises(ConfigError, match="complex"):
        cwt_image(x, FS, freqs=[50.0], wavelet="cmor1.5-1.0", magnitude=False)


def test_cwt_matches_pywt() -> None:
    x = np.random.default_rng(3).standard_normal((1, 1, 128))
    ours = cwt_image(x, FS, scales=[1.5, 3.0, 6.0], magnitude=False, method="conv")
    ref, _ = pywt.cwt(x[0, 0], [1.5, 3.0, 6.0], "morl", 1 / FS, method="conv")
    np.testing.assert_allclose(ours[0, 0], ref)


def test_bad_input() -> None:
    X = np.zeros((1, 2, 64))
    with pytest.raises(ConfigError, match="wavelet"):
        wavelet_packet_image(X, "nope")
    with pytest.raises(ConfigError, match="level"):
        wavelet_packet_image(X, level=0)
    with pytest.raises(ShapeError, match="too short"):
        wavelet_packet_image(np.zeros((1, 1, 4)), level=3)
    with pytest.raises(ConfigError, match="n_segments"):
        wavelet_packet_image(X, level=3, n_segments=100)
    with pytest.raises(ConfigError, match="Nyquist"):
        cwt_image(X, FS, freqs=[100, 600])
    with pytest.raises(ConfigError, match="not both"):
        cwt_image(X, FS, freqs=[100], scales=[2])
    with pytest.raises(ConfigError, match="wavelet"):
        cwt_image(X, FS, wavelet="db4")
    with pytest.raises(ShapeError, match="NaN"):
        cwt_image(np.full((1, 1, 8), np.inf), FS)
    with pytest.raises(ShapeError, match="dtype"):
        cwt_image(np.zeros((1, 1, 8), dtype=complex), FS)
