"""Wear checks: each fault found on the channel it was put on, clean data pass, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from myoshift.datasets.synthetic import SyntheticDataset
from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import Layout, Recording
from myoshift.signal.quality import (
    ANALYSIS_WINDOW_S,
    CHECKS,
    FAULT_NAMES,
    baseline_score,
    check_recording,
    clipping_score,
    flat_score,
    mains_score,
    neighbours,
)
from tests.conftest import require_dataset


def _session(fs: float = 200.0, seed: int = 0) -> list[Recording]:
    """Two cycles of rest and 5 gestures on an 8-electrode ring (about 55 s)."""
    ds = SyntheticDataset(n_subjects=1, n_sessions=1, n_repetitions=2, fs=fs, seed=seed)
    return ds.generate_subject(1)


@pytest.fixture(scope="module")
def session() -> list[Recording]:
    return _session()


@pytest.fixture(scope="module")
def emg(session: list[Recording]) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([r.emg for r in session]).astype(np.float64)
    return x, np.concatenate([r.labels for r in session])


def _faults(x: np.ndarray, y: np.ndarray, fs: float = 200.0) -> set[tuple[int, str]]:
    report = check_recording(x, fs, Layout.ring(x.shape[1]), y)
    return {(f.channel, f.fault) for f in report.faults}


def _sine(n: int, fs: float, f0: float) -> np.ndarray:
    return np.sin(2 * np.pi * f0 * np.arange(n) / fs)


def test_fault_list_is_documented() -> None:
    assert {"flat", "clipping", "mains", "baseline", "noisy", "low_snr"} <= set(FAULT_NAMES)
    assert all(c.message and np.isfinite(c.threshold) for c in CHECKS.values())


def test_clean_recording_passes(session: list[Recording]) -> None:
    report = check_recording(session)
    assert report.ok and report.faults == []
    assert report.n_channels == 8 and report.seconds == pytest.approx(
        sum(r.duration for r in session)
    )
    assert set(report.scores) == set(FAULT_NAMES)


def test_recording_and_array_agree(session: list[Recording]) -> None:
    rec = session[0]
    a = check_recording(rec).scores
    b = check_recording(rec.emg, rec.fs, rec.layout, rec.labels).scores
    for name in FAULT_NAMES:
        np.testing.assert_array_equal(a[name], b[name])


def test_recordings_join_without_a_step(session: list[Recording]) -> None:
    """Each recording's own offset is taken off: a DC jump between files is no fault."""
    shifted = [session[0], session[1].with_emg(session[1].emg + 50 * session[1].emg.std())]
    assert check_recording(shifted).ok
    joined = np.concatenate([r.emg for r in shifted])
    assert not check_recording(joined, 200.0, Layout.ring(8)).ok  # as one array: a step


def test_flat_channel(emg: tuple) -> None:
    x, y = emg
    x = x.copy()
    x[:, 3] = 7.0  # stuck at a constant
    report = check_recording(x, 200.0, Layout.ring(8), y)
    assert [(f.channel, f.fault) for f in report.faults] == [(3, "flat")]
    assert "channel 3" in report.faults[0].message and "re-seat" in report.faults[0].message
    assert np.isnan(report.scores["noisy"][3])  # a flat channel is not scored further


def test_clipping(emg: tuple) -> None:
    x, y = emg
    x = x.copy()
    level = np.quantile(np.abs(x[:, 5]), 0.97)
    x[:, 5] = np.clip(x[:, 5], -level, level)
    assert _faults(x, y) == {(5, "clipping")}
    assert clipping_score(x)[5] == pytest.approx(0.03, abs=0.005)


def test_clipping_needs_a_pile_at_the_rail() -> None:
    rng = np.random.default_rng(0)
    quiet = rng.integers(-1, 2, size=(2000, 1)).astype(float)  # quantised noise
    assert clipping_score(quiet)[0] == 0.0
    given = clipping_score(np.clip(rng.normal(0, 1, (2000, 1)), -1, 1), rails=(-1.0, 1.0))
    assert given[0] > 0.25


@pytest.mark.parametrize("f0", [50.0, 60.0])
def test_mains_hum(emg: tuple, f0: float) -> None:
    x, y = emg
    x = x.copy()
    x[:, 2] += x[:, 2].std() * np.sqrt(2) * _sine(len(x), 200.0, f0)  # 0 dB SNR
    report = check_recording(x, 200.0, Layout.ring(8), y)
    assert {f.channel for f in report.faults} == {2}  # the hum also raises its noise floor
    (hum,) = [f for f in report.faults if f.fault == "mains"]
    assert f"{int(f0)} Hz" in hum.message


def test_mains_score_finds_the_line_and_its_frequency() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (4000, 2))
    x[:, 1] += 0.5 * _sine(4000, 1000.0, 60.0)
    score, line = mains_score(x, 1000.0)
    assert score[0] < CHECKS["mains"].threshold < score[1] and line[1] == 60.0


def test_baseline_wander(emg: tuple) -> None:
    x, y = emg
    x = x.copy()
    x[:, 6] += 2 * x[:, 6].std() * _sine(len(x), 200.0, 0.7)
    found = _faults(x, y)
    assert (6, "baseline") in found and {c for c, _ in found} == {6}
    assert baseline_score(x, 200.0)[6] > 0.5


def test_noisy_channel(emg: tuple) -> None:
    x, y = emg
    x = x.copy()
    x[:, 1] += np.random.default_rng(2).normal(0, x[:, 1].std(), len(x))  # 0 dB white noise
    assert (1, "noisy") in _faults(x, y)


def test_loose_contact(emg: tuple) -> None:
    x, y = emg
    x = x.copy()
    peak = np.abs(x[:, 4]).max()
    for start in range(100, len(x) - 100, 400):  # every 2 s: a drop-out, then a spike
        x[start : start + 30, 4] = 0.0
        x[start + 200 : start + 206, 4] += 3 * peak
    assert (4, "contact") in _faults(x, y)


def test_low_snr(emg: tuple) -> None:
    x, y = emg
    x = x.copy()
    rest_level = x[y == 0, 0].std()
    x[:, 0] = np.random.default_rng(3).normal(0, rest_level, len(x))  # no muscle under it
    assert (0, "low_snr") in _faults(x, y)
    unlabelled = check_recording(x, 200.0, Layout.ring(8))  # activity found without labels
    assert (0, "low_snr") in {(f.channel, f.fault) for f in unlabelled.faults}


def test_low_snr_not_assessed_without_contraction(emg: tuple) -> None:
    x, y = emg
    report = check_recording(x[y == 0], 200.0, Layout.ring(8))
    assert np.isnan(report.scores["low_snr"]).all() and "low_snr" in report.notes[0]


def test_to_json_is_the_documented_form(emg: tuple) -> None:
    x, y = emg
    x = x.copy()
    x[:, 3] = 0.0
    doc = check_recording(x, 200.0, Layout.ring(8), y).to_json()
    assert set(doc) == {"ok", "faults", "placement"} and doc["ok"] is False
    (fault,) = doc["faults"]
    assert set(fault) == {"channel", "fault", "score", "message"}
    assert fault["channel"] == 3 and fault["fault"] in FAULT_NAMES
    assert isinstance(fault["score"], float) and doc["placement"] == {}
    json.dumps(doc)


def test_threshold_override(emg: tuple) -> None:
    x, y = emg
    strict = check_recording(x, 200.0, Layout.ring(8), y, thresholds={"low_snr": 100.0})
    assert {f.fault for f in strict.faults} == {"low_snr"} and len(strict.faults) == 8
    with pytest.raises(ConfigError, match="unknown quality checks"):
        check_recording(x, 200.0, thresholds={"wobble": 1.0})


def test_flat_score_is_relative() -> None:
    x = np.random.default_rng(4).normal(0, 1, (1000, 4)) * [1, 1, 1, 0.01]
    s = flat_score(x)
    assert s[3] < CHECKS["flat"].threshold < s[:3].min()
    assert flat_score(np.ones((100, 2))).tolist() == [0.0, 0.0]


def test_neighbours_follow_the_layout() -> None:
    ring = neighbours(Layout.ring(8))
    assert sorted(ring[0].tolist()) == [1, 2, 6, 7]
    grid = neighbours(Layout.grid(2, 3))  # 0 1 2 / 3 4 5
    assert sorted(grid[4].tolist()) == [1, 3, 5] and sorted(grid[0].tolist()) == [1, 3]
    assert sorted(neighbours(Layout.plain(3))[1].tolist()) == [0, 2]


def test_shorter_than_the_analysis_window() -> None:
    n = int(ANALYSIS_WINDOW_S * 200) - 100
    with pytest.raises(ShapeError, match=r"short\.csv: 1\.50 s .* shorter than the 2 s"):
        check_recording(np.zeros((n, 8)), 200.0, name="short.csv")


def test_nan_and_missing_rate() -> None:
    x = np.random.default_rng(5).normal(0, 1, (1000, 4))
    x[10, 2] = np.nan
    with pytest.raises(ShapeError, match=r"rec\.npy: NaN or Inf in channel\(s\) \[2\]"):
        check_recording(x, 200.0, name="rec.npy")
    with pytest.raises(ConfigError, match="sampling rate"):
        check_recording(np.zeros((1000, 4)))
    with pytest.raises(ShapeError, match="numeric array of samples x channels"):
        check_recording(np.array([["a", "b"]]), 200.0)


def test_real_myoarmband_flat_channel_found() -> None:
    root = require_dataset("MyoArmbandDataset")
    from myoshift.datasets import load_dataset

    rs = load_dataset("myoarmband", subjects=["eval-Female1"], data_dir=root.parent)
    cycle = list(rs.select(session="Test0", cycle=1))
    x = np.concatenate([r.emg for r in cycle])
    clean = check_recording(cycle)
    assert not {f.fault for f in clean.faults} & {"flat", "contact", "baseline"}
    x[:, 6] = 0.0
    hit = check_recording(x, 200.0, Layout.ring(8), np.concatenate([r.labels for r in cycle]))
    assert (6, "flat") in {(f.channel, f.fault) for f in hit.faults}
