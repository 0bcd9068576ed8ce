import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal as sps

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import AuxStream, Layout, Recording
from myoshift.signal.filters import (
    CausalFilter,
    apply_sos,
    bandpass,
    butter_sos,
    design_filter,
    envelope_lowpass,
    envelope_rms,
    filter_recording,
    highpass,
    lowpass,
    moving_mean,
    notch,
    notch_frequencies,
    rectify,
    resample,
    resample_array,
    resample_recording,
)
from tests.conftest import make_recording, require_dataset

FS = 1000.0


def sine(freq: float, n: int = 4000, fs: float = FS, amp: float = 1.0) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(n) / fs)


def amplitude(x: np.ndarray) -> float:
    """Amplitude of a steady sinusoid from its RMS (middle half, edges excluded)."""
    mid = x[len(x) // 4 : 3 * len(x) // 4]
    return float(np.sqrt(2 * np.mean(mid**2)))


@pytest.mark.parametrize(
    ("freq", "expected"), [(100.0, 1.0), (5.0, 0.0), (480.0, 0.0), (30.0, 1.0)]
)
def test_bandpass_passes_band_and_stops_outside(freq: float, expected: float) -> None:
    y = bandpass(sine(freq), FS, 20, 300, order=4)
    assert amplitude(y) == pytest.approx(expected, abs=0.05)


def test_highpass_lowpass_and_dtype_preserved() -> None:
    x = (sine(2.0) + sine(200.0)).astype(np.float32)
    hp = highpass(x, FS, 20)
    lp = lowpass(x, FS, 20)
    assert hp.dtype == np.float32 and lp.dtype == np.float32
    np.testing.assert_allclose(hp[1000:3000], sine(200.0)[1000:3000], atol=0.02)
    np.testing.assert_allclose(lp[1000:3000], sine(2.0)[1000:3000], atol=0.02)


def test_notch_removes_mains_and_harmonics_only() -> None:
    assert notch_frequencies(1000, 50) == [50, 100, 150, 200, 250, 300, 350, 400, 450]
    assert notch_frequencies(200, 50) == [50]  # 100 Hz is Nyquist: excluded
    assert notch_frequencies(1000, 60, harmonics=2) == [60, 120]
    x = sine(50) + sine(150) + sine(75)
    y = notch(x, FS, 50)
    assert amplitude(y - sine(75)) < 0.05
    # every harmonic's notch is equally narrow (freq / Q): 5 Hz beside 400 Hz survives
    assert amplitude(notch(sine(405), FS, 50)) > 0.95
    assert amplitude(notch(sine(400), FS, 50)) < 0.05


def test_zero_phase_has_no_delay() -> None:
    x = sine(60)
    y = bandpass(x, FS, 20, 300)
    lag = np.argmax(np.correlate(y[1000:3000], x[1000:3000], "full")) - 1999
    assert lag == 0


def test_filters_along_other_axis() -> None:
    x = np.random.default_rng(0).standard_normal((3, 2, 500))
    a = bandpass(x, FS, 20, 300, axis=-1)
    b = bandpass(np.moveaxis(x, -1, 0), FS, 20, 300, axis=0)
    np.testing.assert_allclose(a, np.moveaxis(b, 0, -1))


@settings(max_examples=40, deadline=None)
@given(
    cuts=st.lists(st.integers(0, 600), min_size=0, max_size=8),
    seed=st.integers(0, 1000),
    init=st.sampled_from(["zeros", "steady"]),
)
def test_causal_chunks_equal_one_pass(cuts: list[int], seed: int, init: str) -> None:
    x = np.random.default_rng(seed).standard_normal((600, 3)) + 2.0
    sos = design_filter(FS, bandpass=(20, 450), notch=50)
    f = CausalFilter(sos, init=init)  # type: ignore[arg-type]
    bounds = [0, *sorted(cuts), 600]
    out = np.concatenate([f.process(x[a:b]) for a, b in zip(bounds[:-1], bounds[1:])])
    if init == "zeros":
        ref = sps.sosfilt(sos, x, axis=0)
    else:
        ref, _ = sps.sosfilt(sos, x, axis=0, zi=sps.sosfilt_zi(sos)[:, :, None] * x[0])
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(freq=st.floats(40.0, 250.0), chunk=st.integers(1, 300))
def test_causal_steady_state_magnitude_matches_zero_phase(freq: float, chunk: int) -> None:
    """In steady state the causal filter has gain |H| and zero-phase |H|^2 (filtfilt)."""
    sos = butter_sos(FS, "bandpass", (20, 300), order=4)
    x = sine(freq, n=6000)
    f = CausalFilter(sos)
    causal = np.concatenate([f.process(x[i : i + chunk]) for i in range(0, len(x), chunk)])
    offline = sps.sosfiltfilt(sos, x)
    _, h = sps.sosfreqz(sos, worN=[freq], fs=FS)
    gain = abs(h[0])
    steady = causal[2000:]
    assert amplitude(steady) == pytest.approx(gain, rel=0.02)
    assert amplitude(offline[2000:4000]) == pytest.approx(gain**2, rel=0.02)
    # in the pass band both are close to 1, i.e. causal and zero-phase agree in magnitude
    if 40 <= freq <= 200:
        assert amplitude(steady) == pytest.approx(amplitude(offline[2000:4000]), rel=0.05)


def test_causal_filter_state_shape_checked_and_reset() -> None:
    f = CausalFilter.design(FS, lowpass=100)
    f.process(np.zeros((10, 3)))
    with pytest.raises(ShapeError, match="reset"):
        f.process(np.zeros((10, 4)))
    f.reset()
    assert f.process(np.ones((5, 4))).shape == (5, 4)
    assert f.process(np.zeros((0, 4))).shape == (0, 4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bandpass": (20, 500)},  # high == Nyquist
        {"bandpass": (20, 800)},
        {"bandpass": (300, 200)},
        {"bandpass": (float("nan"), 200)},
        {"bandpass": (-5, 200)},
        {"highpass": float("inf")},
        {"lowpass": 0},
        {"lowpass": 100, "order": 0},
        {"lowpass": 100, "order": 2.5},
        {"lowpass": 100, "order": 40},
        {"notch": 600},
        {"notch": 50, "notch_harmonics": 0},
        {},
    ],
)
def test_bad_filter_settings_raise_config_error(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        design_filter(FS, **kwargs)


def test_bad_rate_raises() -> None:
    with pytest.raises(ConfigError, match="fs"):
        bandpass(np.zeros(100), float("nan"), 10, 20)
    with pytest.raises(ConfigError, match="Nyquist"):
        lowpass(np.zeros(100), 200.0, 150)


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (np.array([1.0, np.nan, 2.0] * 50), "NaN"),
        (np.array(["a"] * 100), "dtype"),
        (np.ones(100, dtype=complex), "dtype"),
        (np.ones(100, dtype=bool), "dtype"),
        (np.zeros(0), "samples"),
        (np.zeros(10), "zero-phase"),  # too short for filtfilt padding
    ],
)
def test_bad_signals_raise_shape_error(x: np.ndarray, match: str) -> None:
    with pytest.raises(ShapeError, match=match):
        bandpass(x, FS, 20, 300)


def test_integer_input_is_accepted() -> None:
    y = lowpass(np.arange(200), FS, 50)
    assert y.dtype == np.float64


def test_rectify_and_envelopes() -> None:
    x = np.r_[np.zeros(1000), sine(100, 2000), np.zeros(1000)].astype(np.float32)
    assert (rectify(x) >= 0).all()
    env = envelope_rms(x, FS, window_ms=50)
    assert env.shape == x.shape and env.dtype == np.float32
    assert env[2000] == pytest.approx(1 / np.sqrt(2), rel=0.01)
    assert env[500] == 0.0
    causal = envelope_rms(x, FS, window_ms=50, causal=True)
    assert causal[1010] < env[1010]  # trailing window lags the onset
    lin = envelope_lowpass(x, FS, cutoff=5)
    assert lin[2000] == pytest.approx(2 / np.pi, rel=0.05)  # mean of |sin|


def test_moving_mean_matches_loop() -> None:
    x = np.random.default_rng(1).standard_normal(23)
    for size in (1, 4, 5):
        for causal in (False, True):
            got = moving_mean(x, size, causal=causal)
            off = size - 1 if causal else (size - 1) // 2
            ref = [x[max(0, t - off) : t - off + size].mean() for t in range(23)]
            np.testing.assert_allclose(got, ref)


def test_resample_array_keeps_sine() -> None:
    x = sine(20, n=2000)
    y = resample_array(x, FS, 250.0)
    assert len(y) == 500
    np.testing.assert_allclose(y[50:450], sine(20, n=500, fs=250.0)[50:450], atol=0.02)
    assert resample_array(x.astype(np.float32), FS, 512.0).dtype == np.float32


def test_resample_recording_labels_repetition_aux() -> None:
    n = 1000
    labels = np.repeat([0, 1, -1, 2], 250)
    rep = np.repeat([0, 1, 0, 2], 250)
    imu = AuxStream(np.ones((50, 3)), 50.0)
    rec = Recording(
        np.random.default_rng(0).standard_normal((n, 4)),
        1000.0,
        labels,
        Layout.ring(4),
        repetition=rep,
        aux={"imu": imu},
        meta={"subject": 3},
    )
    out = resample_recording(rec, 200.0)
    assert out.fs == 200.0 and out.n_samples == 200
    np.testing.assert_array_equal(out.labels, np.repeat([0, 1, -1, 2], 50))
    np.testing.assert_array_equal(out.repetition, np.repeat([0, 1, 0, 2], 50))
    assert out.aux["imu"] is imu and out.meta["subject"] == 3
    assert out.meta["fs_original"] == 1000.0
    near = resample(rec, 200.0, label_method="nearest")
    np.testing.assert_array_equal(near.labels, np.repeat([0, 1, -1, 2], 50))
    up = resample_recording(rec, 2000.0)
    assert up.n_samples == 2000 and (up.labels[::2] == labels).all()
    assert rec.fs == 1000.0 and rec.n_samples == n  # original untouched


def test_resample_recording_bad_input() -> None:
    rec = make_recording(100)
    with pytest.raises(ConfigError, match="label method"):
        resample_recording(rec, 100.0, label_method="mode")
    with pytest.raises(ConfigError):
        resample_recording(rec, -1.0)
    with pytest.raises(ShapeError, match="zero-length"):
        resample_recording(make_recording(0), 100.0)


def test_filter_recording_returns_new_recording() -> None:
    rec = make_recording(2000, n_channels=4, fs=1000.0, subject=7)
    out = filter_recording(rec, bandpass=(20, 450), notch=50)
    assert out is not rec and out.emg.shape == rec.emg.shape
    assert out.emg.dtype == np.float32 and out.meta == rec.meta
    np.testing.assert_array_equal(out.labels, rec.labels)
    ref = bandpass(notch(rec.emg, 1000.0, 50), 1000.0, 20, 450)
    # one cascade vs two passes: equal away from the edges (padding transients differ)
    np.testing.assert_allclose(out.emg[700:1300], ref[700:1300], atol=1e-2)
    exact = apply_sos(design_filter(1000.0, bandpass=(20, 450), notch=50), rec.emg)
    np.testing.assert_array_equal(out.emg, exact)
    with pytest.raises(ConfigError, match="Nyquist"):
        filter_recording(rec, lowpass=600)
    with pytest.raises(ShapeError, match="zero-length"):
        filter_recording(make_recording(0), lowpass=50)


@pytest.mark.realdata
def test_real_3dc_recording_mains_removed_and_streaming_equal() -> None:
    """3DC armband (README: 10 channels at 1000 Hz, recorded in Canada: 60 Hz mains)."""
    folder = require_dataset("3DCDataset")
    path = folder / "Participant1" / "train" / "EMG" / "3dc_EMG_gesture_0_7.txt"
    emg = np.loadtxt(path, delimiter=",")
    assert emg.shape[1] == 10
    rec = Recording(emg, 1000.0, np.ones(len(emg)), Layout.ring(10), meta={"subject": 1})
    # on this armband's nominal 1000 Hz clock the mains line sits near 60.7 Hz, outside
    # the 2 Hz wide default notch (Q = 30): a wider notch (Q = 10) is needed
    clean = filter_recording(rec, bandpass=(20, 450), notch=60, notch_quality=10)
    f, p_raw = sps.welch(rec.emg, 1000.0, nperseg=1000, axis=0)
    _, p_clean = sps.welch(clean.emg, 1000.0, nperseg=1000, axis=0)
    line = (f >= 60.0) & (f <= 61.0)
    assert p_raw[line].mean() > 100 * np.median(p_raw[(f > 20) & (f < 450)])  # strong mains
    assert p_clean[line].mean() < p_raw[line].mean() / 100
    for lo, hi in [(70, 110), (130, 165), (250, 290)]:  # EMG between the notches is kept
        band = (f >= lo) & (f <= hi)
        assert 0.8 < p_clean[band].sum() / p_raw[band].sum() < 1.05
    # the same filter streamed in 40 ms chunks equals one causal pass
    sos = design_filter(1000.0, bandpass=(20, 450), notch=60, notch_quality=10)
    stream = CausalFilter(sos)
    chunks = [stream.process(rec.emg[i : i + 40]) for i in range(0, rec.n_samples, 40)]
    ref = sps.sosfilt(sos, rec.emg.astype(np.float64), axis=0)
    np.testing.assert_allclose(np.concatenate(chunks), ref, rtol=1e-5, atol=1e-3)
    down = resample_recording(clean, 200.0)
    assert down.n_samples == int(np.ceil(rec.n_samples / 5)) and down.fs == 200.0
