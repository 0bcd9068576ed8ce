"""The built-in simulator: structure, determinism, controllable shift, difficulty."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import balanced_accuracy_score

from myoshift.datasets import dataset_names, get_dataset, load_dataset
from myoshift.datasets.synthetic import SyntheticDataset, _emg_noise
from myoshift.errors import ConfigError, DataNotFoundError
from myoshift.recording import REST
from myoshift.signal import make_windows

SMALL = dict(n_subjects=2, n_sessions=2, n_classes=4, n_repetitions=2, rep_seconds=1.0)


def test_registered_and_loads_without_any_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MYOSHIFT_DATA", str(tmp_path / "nothing-here"))
    assert "synthetic" in dataset_names()
    ds = get_dataset("synthetic", **SMALL)
    assert ds.found()
    rs = ds.load(show_progress=False)
    assert len(rs) == 2 * 2 * 2
    assert not (tmp_path / "nothing-here").exists()


def test_default_size_and_metadata():
    rs = load_dataset("synthetic")
    assert len(rs) == 6 * 2 * 5
    assert rs.unique("subject") == [1, 2, 3, 4, 5, 6]
    assert rs.unique("session") == [1, 2]
    assert rs.unique("repetition") == [1, 2, 3, 4, 5]
    meta = rs.meta
    assert (meta["day"] == meta["session"]).all()
    assert set(meta["gender"]) <= {"female", "male"}
    assert set(meta["split"]) == {"pretraining", "evaluation"}
    assert (meta["dataset"] == "synthetic").all()
    assert rs.class_names == ("rest", *(f"gesture{k}" for k in range(1, 6)))
    r = rs[0]
    assert r.fs == 200.0 and r.n_channels == 8 and r.layout.kind == "ring"
    assert r.emg.dtype == np.float32 and np.isfinite(r.emg).all()
    # 5 gestures of ~3 s and 6 rests of ~2 s per cycle
    assert 20 < r.duration < 34


def test_cycle_structure_rest_between_gestures_and_repetition_codes():
    ds = SyntheticDataset(**SMALL, fs=1000.0)
    for r in ds.load(show_progress=False):
        labels = r.labels
        runs = labels[np.r_[True, labels[1:] != labels[:-1]]]
        assert runs.tolist() == [0, 1, 0, 2, 0, 3, 0]
        assert r.repetition is not None
        assert (r.repetition == r.meta["repetition"]).all()
        # a contraction is louder than rest, and gesture segments last ~ rep_seconds
        assert r.emg[labels > 0].std() > 3 * r.emg[labels == REST].std()
        for g in (1, 2, 3):
            seconds = (labels == g).sum() / r.fs
            assert 0.5 < seconds < 1.2
        # onset ramp: the amplitude grows over the first samples of a contraction
        start = int(np.argmax(labels == 1))
        k = int(0.1 * r.fs)
        assert r.emg[start - 2 * k : start - k].std() < r.emg[start + 3 * k : start + 4 * k].std()


def test_deterministic_and_subject_subsets_match():
    a = SyntheticDataset(**SMALL, seed=3).load(show_progress=False)
    b = SyntheticDataset(**SMALL, seed=3).load(subjects=[2], show_progress=False)
    c = SyntheticDataset(**SMALL, seed=4).load(show_progress=False)
    a2 = a.select(subject=2)
    assert len(a2) == len(b)
    for x, y in zip(a2, b):
        np.testing.assert_array_equal(x.emg, y.emg)
        np.testing.assert_array_equal(x.labels, y.labels)
        assert x.meta == y.meta
    assert not np.array_equal(a[0].emg[:100], c[0].emg[:100])


def test_unknown_subject_and_bad_parameters():
    ds = SyntheticDataset(**SMALL)
    with pytest.raises(DataNotFoundError, match="subject"):
        ds.load(subjects=[9])
    for bad in (
        dict(n_classes=1),
        dict(n_subjects=0),
        dict(n_subjects=2.5),
        dict(fs=-1.0),
        dict(shift=float("nan")),
        dict(rep_seconds="3"),
    ):
        with pytest.raises(ConfigError, match="synthetic"):
            SyntheticDataset(**bad)  # type: ignore[arg-type]


def test_session_shift_is_controllable():
    still = SyntheticDataset(shift=0.0)
    np.testing.assert_allclose(still.mixing_matrix(1, 1), still.mixing_matrix(1, 2))
    moved = SyntheticDataset(shift=1.0, seed=0)
    rotations = [moved._make_session(s, 2).rotation for s in range(1, 7)]
    assert any(abs(r) > 0.05 for r in rotations)
    assert not np.allclose(moved.mixing_matrix(1, 1), moved.mixing_matrix(1, 2))
    # a whole-step rotation of the ring is a circular shift of the mixing rows
    sub = moved._make_subject(1)
    ses = moved._make_session(1, 1)
    from dataclasses import replace

    from myoshift.datasets.synthetic import _mixing

    m0 = _mixing(sub, ses, 8)
    m1 = _mixing(sub, replace(ses, rotation=1.0), 8)
    np.testing.assert_allclose(m1, np.roll(m0, -1, axis=0), atol=1e-12)
    # subjects differ in anatomy
    assert not np.allclose(moved.mixing_matrix(1), moved.mixing_matrix(2))


def test_fatigue_compression_lowers_median_frequency():
    rng = np.random.default_rng(0)
    fs = 1000.0

    def mdf(c: float) -> float:
        x = _emg_noise(rng, 20000, 2, fs, c)
        f, p = welch(x, fs=fs, nperseg=512, axis=0)
        cum = np.cumsum(p.mean(axis=1))
        return float(f[np.searchsorted(cum, cum[-1] / 2)])

    fresh, tired = mdf(1.0), mdf(0.7)
    assert 70 < fresh < 140
    assert tired < fresh - 15
    # band-limited: almost no power below 20 Hz or above 450 Hz
    x = _emg_noise(rng, 20000, 1, fs, 1.0)
    f, p = welch(x[:, 0], fs=fs, nperseg=512)
    assert p[(f < 15) | (f > 460)].sum() < 0.01 * p.sum()
    np.testing.assert_allclose(x.std(), 1.0, rtol=1e-6)


def _features(X: np.ndarray) -> np.ndarray:
    """Log RMS, log MAV and log waveform length per channel (computed inline)."""
    eps = 1e-6
    rms = np.sqrt((X**2).mean(axis=2))
    mav = np.abs(X).mean(axis=2)
    wl = np.abs(np.diff(X, axis=2)).sum(axis=2)
    return np.log(np.concatenate([rms, mav, wl], axis=1) + eps)


def test_classifiers_find_within_subject_easy_and_cross_subject_hard():
    """LDA on simple TD features: within-subject >= 90 %, leave-one-subject-out 40-80 %."""
    rs = load_dataset("synthetic").select(session=1)
    w = make_windows(rs, window_ms=200, step_ms=100)
    X = np.asarray(w.X)  # windows are cut on demand; this test wants them all
    F, y, subj, rep = _features(X), w.y, w.meta["subject"].to_numpy(), w.meta["repetition"]
    rep = rep.to_numpy()

    def score(train: np.ndarray, test: np.ndarray) -> float:
        clf = LinearDiscriminantAnalysis().fit(F[train], y[train])
        return float(balanced_accuracy_score(y[test], clf.predict(F[test])))

    subjects = np.unique(subj)
    within = np.mean([score((subj == s) & (rep <= 3), (subj == s) & (rep > 3)) for s in subjects])
    cross = np.mean([score(subj != s, subj == s) for s in subjects])
    assert within >= 0.90, within
    assert 0.40 <= cross <= 0.80, cross
    assert within - cross >= 0.15
