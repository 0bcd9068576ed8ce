"""The fusion methods end to end through their chains: IMU windows beside the EMG,
feature-level and model-level fusion, and their bad input (a missing stream, an IMU of
another duration than the EMG)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets import load_dataset
from myoshift.errors import ConfigError
from myoshift.evaluation.recipes import resolve_method
from myoshift.learn import load_estimator
from myoshift.recording import AuxStream, Layout, Recording, RecordingSet
from tests.conftest import real_data_dir, require_dataset

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FS, IMU_FS = 200.0, 50.0
QUICK = {"window_ms": 200, "step_ms": 50}
DEEP = {
    **QUICK,
    "epochs": 2,
    "batch_size": 32,
    "threads": 1,
    "model_params": {"encoder_params": {"width": 8, "dilations": [1, 2]}, "imu_width": 4},
}


def roll(angle: np.ndarray) -> np.ndarray:
    """Quaternions (w, x, y, z) of a roll about the sensor's x axis."""
    z = np.zeros_like(angle)
    return np.stack([np.cos(angle / 2), np.sin(angle / 2), z, z], axis=1)


def imu_recordings(
    subjects: tuple[int, ...] = (1,),
    reps: int = 3,
    imu_seconds: float | None = None,
    imu_fs: float = IMU_FS,
) -> RecordingSet:
    """One 2 s recording per (subject, repetition, class): EMG noise alike for every class,
    the forearm's roll (the IMU) telling the class apart (as pronation / supination)."""
    out, seed = [], 0
    for s in subjects:
        for r in range(1, reps + 1):
            for c in range(3):
                seed += 1
                rng = np.random.default_rng(seed)
                n = int(2 * FS)
                m = int((imu_seconds or 2.0) * imu_fs)
                angle = (c - 1) * 1.0 + 0.05 * rng.standard_normal(m)
                out.append(
                    Recording(
                        rng.standard_normal((n, 4)).astype(np.float32),
                        FS,
                        np.full(n, c),
                        Layout.ring(4),
                        aux={"imu": AuxStream(roll(angle), imu_fs, ("qw", "qx", "qy", "qz"))},
                        meta={"subject": s, "repetition": r, "source": f"s{s}/r{r}_c{c}.txt"},
                        class_names=("rest", "pronation", "supination"),
                    )
                )
    return RecordingSet(out)


def split(rs: RecordingSet) -> tuple[RecordingSet, RecordingSet]:
    train = RecordingSet([r for r in rs if r.meta["repetition"] < 3])
    return train, RecordingSet([r for r in rs if r.meta["repetition"] == 3])


def test_feature_level_fusion_and_the_imu_only_baseline(tmp_path: Path) -> None:
    train, test = split(imu_recordings())
    scores = {}
    for name in ("lda-td", "lda-td+imu", "imu-only-lda"):
        chain = resolve_method(name, QUICK).chain(FS, 0).fit(train)
        scores[name] = chain.score(test)
    assert scores["lda-td+imu"] > 0.95 and scores["imu-only-lda"] > 0.95
    assert scores["lda-td"] < 0.7  # the EMG carries no class information here
    chain = resolve_method("lda-td+imu", QUICK).chain(FS, 0).fit(train)
    w = chain.windows(test)
    assert w.aux["imu-features"].X.shape[1:] == (5, 1)  # gravity, rotation, speed
    assert chain.estimator_.n_features_in_ == 4 * 4 + 5
    back = load_estimator(chain.save(tmp_path / "lda-td+imu"))
    np.testing.assert_allclose(back.predict_proba(test), chain.predict_proba(test), atol=1e-9)


def test_instantaneous_plus_window_features_through_the_chain() -> None:
    train, test = split(imu_recordings())
    chain = resolve_method("lda-td+inst", QUICK).chain(FS, 0).fit(train)
    assert chain.estimator_.n_features_in_ == 4 * 4 + 4 * 4  # TD + (|x| last, max, min, ptp)
    assert chain.predict(test).shape == (len(chain.windows(test)),)


def test_two_stream_network_is_sized_from_the_imu_windows(tmp_path: Path) -> None:
    train, test = split(imu_recordings())
    chain = resolve_method("tcn-imu-fusion", DEEP).chain(FS, 0).fit(train)
    net = chain.estimator_.net_
    assert net.input_names == ["emg", "imu"]
    assert net.model.config()["imu_shape"] == [4, 10]  # 4 dimensions, 200 ms at 50 Hz
    assert tuple(net.mean_imu.shape) == (1, 4, 1) and float(net.std_imu.min()) > 0
    proba = chain.predict_proba(test)
    assert proba.shape == (len(chain.windows(test)), 3)
    back = load_estimator(chain.save(tmp_path / "tcn-imu-fusion"))
    np.testing.assert_allclose(back.predict_proba(test), proba, atol=1e-6)
    chain.adapt(test)  # the recipe's full fine-tuning works on two inputs
    # a person whose IMU runs slower (3DC: 41-59 Hz) gives fewer points per window
    slow = imu_recordings(imu_fs=40.0)
    assert chain.windows(slow).aux["imu"].X.shape[2] == 8
    assert chain.predict(slow).shape == (len(chain.windows(slow)),)


@pytest.mark.parametrize("name", ["lda-td+imu", "imu-only-lda", "tcn-imu-fusion"])
def test_a_fusion_method_on_data_without_the_stream(name: str) -> None:
    rs = imu_recordings()
    for r in rs:
        r.aux.clear()
    chain = resolve_method(name, DEEP if name.startswith("tcn") else QUICK).chain(FS, 0)
    with pytest.raises(
        ConfigError,
        match=rf"method '{re.escape(name)}': recording s1/r1_c0.txt has no auxiliary stream 'imu'",
    ):
        chain.fit(rs)


def test_imu_and_emg_of_mismatched_duration() -> None:
    rs = imu_recordings(imu_seconds=1.5)  # the IMU stops half a second before the EMG
    chain = resolve_method("lda-td+imu", QUICK).chain(FS, 0)
    with pytest.raises(
        ConfigError,
        match=r"method 'lda-td\+imu': recording s1/r1_c0.txt: auxiliary stream 'imu' covers "
        r"0.00-1.48 s but the EMG 0-2.00 s",
    ):
        chain.fit(rs)
    # within the tolerance (one IMU sample short, as 3DC's files are) it is accepted
    resolve_method("lda-td+imu", QUICK).chain(FS, 0).fit(imu_recordings(imu_seconds=1.98))


def test_real_3dc_imu_features_and_fusion() -> None:
    """3DC participant 1, first session: its IMU covers every EMG file (no duration
    error) and feature-level fusion fits and decides."""
    require_dataset("3DCDataset")
    rs = load_dataset("3dc", subjects=[1], data_dir=real_data_dir())
    train = RecordingSet([r for r in rs if r.meta["session"] == "train"])
    fit = RecordingSet([r for r in train if r.meta["repetition"] < 4])
    test = RecordingSet([r for r in train if r.meta["repetition"] == 4])
    chain = resolve_method("lda-td+imu", {"step_ms": 100}).chain(1000.0, 0).fit(fit)
    w = chain.windows(test)
    assert w.aux["imu"].X.shape[1:] == (4, 10)  # 200 ms at the ~50 Hz median rate
    assert w.aux["imu-features"].X.shape[1:] == (5, 1)
    assert chain.score(test) > 0.5  # 11 classes: chance is 0.09
