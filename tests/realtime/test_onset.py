"""Onset detectors on synthetic bursts: latency, silence at rest, streaming = offline, errors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from myoshift.errors import ConfigError, ShapeError
from myoshift.realtime.events import Event, score_events
from myoshift.realtime.onset import (
    ClassifierDetector,
    CUSUMDetector,
    OnsetDetector,
    RMSThresholdDetector,
    TKEODetector,
)
from myoshift.recording import Layout, Recording

FS = 1000.0
ONSETS = (4000, 8000, 12000, 16000)  # samples; bursts last 1.5 s


class RMSClassifier:
    """A stand-in classifier on windows (n, C, T): P(gesture) rises with the windows' RMS."""

    classes_ = np.array([0, 1])

    def __init__(self, rest_rms: float = 1.0) -> None:
        self.rest_rms = rest_rms

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        rms = np.asarray(X, dtype=np.float64).std(axis=2).mean(axis=1)  # per-window AC RMS
        p = 1.0 / (1.0 + np.exp(-8.0 * (rms / self.rest_rms - 2.5)))
        return np.stack([1 - p, p], axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)


DETECTORS: dict[str, Callable[[float], OnsetDetector]] = {
    "tkeo": lambda fs: TKEODetector(fs),
    "cusum": lambda fs: CUSUMDetector(fs),
    "rms": lambda fs: RMSThresholdDetector(fs),
    "classifier": lambda fs: ClassifierDetector(RMSClassifier(), fs, window_ms=50, step_ms=5),
}
#: worst latency accepted on a 10x burst (the classifier waits for its window to fill)
LATENCY_S = {"tkeo": 0.025, "cusum": 0.025, "rms": 0.025, "classifier": 0.05}


def bursts(seed: int = 0, n: int = 20000, onsets: tuple[int, ...] = ONSETS) -> Recording:
    """4-channel white noise with a DC offset, 10x bursts of 1.5 s at ``onsets``."""
    rng = np.random.default_rng(seed)
    emg = rng.standard_normal((n, 4)) + 3.0
    labels = np.zeros(n, dtype=np.int64)
    for i, start in enumerate(onsets):
        emg[start : start + 1500] = (emg[start : start + 1500] - 3.0) * 10.0 + 3.0
        labels[start : start + 1500] = 1 + i % 2
    return Recording(emg.astype(np.float32), FS, labels, Layout.plain(4))


def streamed(det: OnsetDetector, emg: np.ndarray, sizes: list[int]) -> list[Event]:
    """Events of ``emg`` pushed in chunks of ``sizes`` (cycled) after a reset."""
    det.reset()
    out: list[Event] = []
    pos, k = 0, 0
    while pos < len(emg):
        size = sizes[k % len(sizes)]
        out += det.process(emg[pos : pos + size])
        pos, k = pos + size, k + 1
    return out


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


# ------------------------------------------------------------------------ behaviour
@pytest.mark.parametrize("name", list(DETECTORS))
def test_detects_every_burst_within_a_few_ms(name: str) -> None:
    rec = bursts()
    det = DETECTORS[name](FS).calibrate(rec, seconds=3.0)
    events = det.detect(rec)
    sc = score_events(events, rec.labels, FS, within=slice(3000, None))
    assert (sc.n_gestures, sc.detected, sc.false_activations, sc.extra_onsets) == (4, 4, 0, 0)
    assert np.all(sc.latencies_s >= 0)
    assert sc.latencies_s.max() <= LATENCY_S[name]
    assert [e.kind for e in events] == ["onset", "offset"] * 4
    offsets = np.array([e.sample for e in events if e.kind == "offset"])
    assert np.all(offsets >= np.array(ONSETS) + 1500)  # released only after the burst ends
    assert np.all(offsets <= np.array(ONSETS) + 1500 + 400)
    assert all(e.time == e.sample / FS for e in events)


@pytest.mark.parametrize("name", list(DETECTORS))
@pytest.mark.parametrize("seed", [1, 2])
def test_no_activation_on_a_minute_of_rest_noise(name: str, seed: int) -> None:
    det = DETECTORS[name](FS).calibrate(bursts(seed).emg[:3000])
    rest = bursts(seed + 10, n=60000, onsets=()).emg
    assert det.detect(rest) == []
    assert not det.active


@pytest.mark.parametrize("name", list(DETECTORS))
def test_active_follows_the_burst_and_detect_keeps_calibration(name: str) -> None:
    rec = bursts()
    det = DETECTORS[name](FS).calibrate(rec)
    threshold = det.threshold_
    det.process(rec.emg[: ONSETS[0] + 300])
    assert det.active
    det.process(rec.emg[ONSETS[0] + 300 : ONSETS[0] + 2200])
    assert not det.active
    assert det.detect(rec) == det.detect(rec.emg)
    assert det.threshold_ == threshold


def test_a_channel_silent_at_rest_is_scaled_like_the_others() -> None:
    emg = bursts(n=8000, onsets=()).emg - 3.0
    emg[:, 3] = 0.0
    emg[ONSETS[0] : ONSETS[0] + 1500, 3] = 10.0 * np.sin(np.arange(1500))  # RMS 7
    det = RMSThresholdDetector(FS, highpass_hz=None, combine="max").calibrate(emg[:3000])
    assert det.rest_level_[3] == pytest.approx(np.median(det.rest_level_[:3]))
    events = det.detect(emg)
    assert [e.kind for e in events] == ["onset", "offset"]
    assert 0 <= events[0].sample - ONSETS[0] < 25


def test_pre_rectified_envelopes_skip_the_high_pass() -> None:
    fs = 100.0
    rng = np.random.default_rng(3)
    env = np.abs(rng.normal(1.0, 0.1, (2000, 3)))
    env[1000:1300] *= 20
    det = TKEODetector(fs, highpass_hz=None, lowpass_hz=10.0).calibrate(env[:500])
    events = det.detect(env)
    assert [e.kind for e in events] == ["onset", "offset"]
    assert 0 <= events[0].sample - 1000 <= 5


# ------------------------------------------------------------------------ streaming = offline
@pytest.mark.parametrize("name", list(DETECTORS))
@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=8))
def test_streaming_equals_offline_for_any_chunking(name: str, sizes: list[int]) -> None:
    rec = bursts(5, n=6000, onsets=(1500, 4000))
    det = DETECTORS[name](FS).calibrate(rec, seconds=1.0)
    offline = det.detect(rec)
    assert len(offline) == 4
    assert streamed(det, rec.emg, [max(s, 1) if i == 0 else s for i, s in enumerate(sizes)]) == (
        offline
    )


def test_sample_by_sample_equals_offline() -> None:
    rec = bursts(6, n=4000, onsets=(1500,))
    for name in ("tkeo", "cusum", "classifier"):
        det = DETECTORS[name](FS).calibrate(rec, seconds=1.0)
        assert streamed(det, rec.emg, [1]) == det.detect(rec) != []


def test_a_fitted_method_chain_drives_the_classifier_detector() -> None:
    from myoshift.learn import MethodChain, build_estimator

    fs = 200.0
    rng = np.random.default_rng(0)
    n = 40 * int(fs)
    emg = rng.standard_normal((n, 4)).astype(np.float32)
    labels = np.zeros(n, dtype=np.int64)
    starts = np.arange(600, n - 600, 800)
    for i, s in enumerate(starts):
        emg[s : s + 400, i % 4] *= 10
        labels[s : s + 400] = 1 + i % 4
    rec = Recording(emg, fs, labels, Layout.ring(4))
    chain = MethodChain(build_estimator("lda-td", fs=fs), 200, 25, preprocess=[]).fit(rec)
    det = ClassifierDetector(chain, fs, layout=rec.layout).calibrate(rec, seconds=2.0)
    assert (det.window, det.step) == (40, 5)
    offline = det.detect(rec)
    sc = score_events(offline, labels, fs)
    assert sc.detected == len(starts) and sc.false_activations == 0
    assert streamed(det, emg, [1, 37, 0, 333, 8]) == offline

    with pytest.raises(ConfigError) as exc0:
        ClassifierDetector(chain, fs, window_ms=100)
    assert "its own window_ms" in one_line(exc0)
    refused = MethodChain(build_estimator("lda-td", fs=fs), 200, 25, preprocess=["dc-remove"])
    with pytest.raises(ConfigError) as exc:
        ClassifierDetector(refused.fit(rec), fs)
    assert "preprocess=[]" in one_line(exc)


def test_a_classifier_without_probabilities_uses_its_decisions() -> None:
    class Hard:
        def predict(self, X: np.ndarray) -> np.ndarray:
            return RMSClassifier().predict(X)

    rec = bursts()
    det = ClassifierDetector(Hard(), FS, window_ms=50, step_ms=5).calibrate(rec)
    assert det.threshold_ == 0.5
    sc = score_events(det.detect(rec), rec.labels, FS, within=slice(3000, None))
    assert (sc.detected, sc.false_activations) == (4, 0)


# ------------------------------------------------------------------------ bad input
@pytest.fixture
def calibrated() -> OnsetDetector:
    return TKEODetector(FS).calibrate(bursts().emg[:3000])


def test_nan_chunk_is_refused(calibrated: OnsetDetector) -> None:
    chunk = np.ones((10, 4))
    chunk[3, 1] = np.nan
    with pytest.raises(ShapeError) as exc:
        calibrated.process(chunk)
    assert "NaN" in one_line(exc)


def test_wrong_channel_count_is_refused(calibrated: OnsetDetector) -> None:
    with pytest.raises(ShapeError) as exc:
        calibrated.process(np.ones((10, 3)))
    assert "3 channels" in one_line(exc) and "4" in str(exc.value)
    with pytest.raises(ShapeError):
        calibrated.process(np.ones(10))


def test_wrong_rate_recording_is_refused(calibrated: OnsetDetector) -> None:
    rec = Recording(np.ones((100, 4)), 500.0, np.zeros(100, dtype=int), Layout.plain(4))
    with pytest.raises(ShapeError) as exc:
        calibrated.detect(rec)
    assert "500 Hz" in one_line(exc)


@pytest.mark.parametrize("name", list(DETECTORS))
def test_uncalibrated_detector_refuses_chunks(name: str) -> None:
    with pytest.raises(ConfigError) as exc:
        DETECTORS[name](FS).process(np.ones((10, 4)))
    assert "calibrate" in one_line(exc)


@pytest.mark.parametrize("name", list(DETECTORS))
def test_calibration_without_rest_is_refused(name: str) -> None:
    rec = bursts()
    no_rest = Recording(rec.emg, FS, np.ones(len(rec.labels), dtype=int), rec.layout)
    with pytest.raises(ConfigError) as exc:
        DETECTORS[name](FS).calibrate(no_rest)
    assert "rest" in one_line(exc)
    with pytest.raises(ConfigError) as exc2:
        DETECTORS[name](FS).calibrate(rec.emg[:200])
    assert "at least" in one_line(exc2)


def test_calibration_on_a_flat_signal_is_refused() -> None:
    with pytest.raises(ConfigError) as exc:
        RMSThresholdDetector(FS, highpass_hz=None).calibrate(np.zeros((2000, 4)))
    assert "no channel" in one_line(exc)


@pytest.mark.parametrize(
    "build",
    [
        lambda: TKEODetector(FS, combine="median"),  # type: ignore[arg-type]
        lambda: TKEODetector(FS, min_fraction=0),
        lambda: TKEODetector(FS, h=-1),
        lambda: TKEODetector(FS, lowpass_hz=600),
        lambda: CUSUMDetector(FS, drift=0),
        lambda: RMSThresholdDetector(0.0),
        lambda: ClassifierDetector(RMSClassifier(), FS, k=4, m=3),
        lambda: ClassifierDetector(RMSClassifier(), FS),
        lambda: ClassifierDetector(object(), FS, window_ms=50, step_ms=5),
    ],
)
def test_bad_settings_are_one_line_config_errors(build: Callable[[], object]) -> None:
    with pytest.raises(ConfigError) as exc:
        build()
    one_line(exc)


def test_a_classifier_without_a_rest_class_is_refused() -> None:
    clf = RMSClassifier()
    clf.classes_ = np.array([1, 2])
    with pytest.raises(ConfigError) as exc:
        ClassifierDetector(clf, FS, window_ms=50, step_ms=5).calibrate(bursts().emg[:3000])
    assert "rest class 0" in one_line(exc)
