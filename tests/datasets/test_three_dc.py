"""3dc: EMG + IMU alignment, short files, repetitions, bad input, and the real recordings."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets import get_dataset
from myoshift.datasets.three_dc import MIN_SECONDS, SHORT_SECONDS, ThreeDC, imu_stream
from myoshift.recording import RecordingSet
from tests.conftest import require_dataset
from tests.datasets.helpers import assert_error_names_file, load_real

FOLDER = "3DCDataset"


def _emg_path(root: Path, participant: int, session: str, rep: int, cls: int) -> Path:
    return (
        root / FOLDER / f"Participant{participant}" / session / "EMG"
        f"/3dc_EMG_gesture_{rep}_{cls}.txt"
    )


def _write_pair(
    root: Path,
    participant: int = 2,
    session: str = "train",
    rep: int = 1,
    cls: int = 3,
    n_emg: int = 1500,
    n_imu: int = 75,
    imu: bool = True,
) -> Path:
    """An EMG file (n_emg × 10 ints) and its IMU file (zero row + quaternions)."""
    emg = _emg_path(root, participant, session, rep, cls)
    emg.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n_emg + cls)
    x = rng.integers(-2000, 2000, size=(n_emg, 10))
    emg.write_text("\n".join(",".join(str(v) for v in row) for row in x))  # no final newline
    if imu:
        path = emg.parent.parent / "IMU" / emg.name.replace("_EMG_", "_IMU_")
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = ["(0, 0, 0, 0)"] + [
            f"({0.5 + i * 1e-3}, {-0.01 * i}, 0.25, 0.75)" for i in range(1, n_imu)
        ]
        path.write_text("\n".join(rows))
    return emg


def _load(tmp_path: Path) -> RecordingSet:
    return get_dataset("3dc", data_dir=tmp_path, cache_dir=tmp_path / "cache").load(
        show_progress=False
    )


def test_imu_stream_drops_leading_zero_rows_and_keeps_times() -> None:
    quat = np.vstack([np.zeros((2, 4)), np.ones((48, 4))])
    s = imu_stream(quat, emg_seconds=1.0)  # 50 rows over 1 s of EMG -> 50 Hz
    assert s.fs == pytest.approx(50.0) and s.data.shape == (48, 4)
    assert s.start == pytest.approx(2 / 50)
    assert s.times()[-1] == pytest.approx(49 / 50)


def test_synthetic_pair_alignment_labels_and_repetitions(tmp_path: Path) -> None:
    emg_path = _write_pair(tmp_path, session="train", rep=1, cls=3)
    _write_pair(tmp_path, session="test", rep=2, cls=0, n_emg=1200, n_imu=61)
    rs = _load(tmp_path)
    assert len(rs) == 2 and rs.unique("subject") == [2]
    train = rs.select(session="train")[0]
    assert train.n_channels == 10 and train.fs == 1000.0 and train.n_samples == 1500
    assert train.layout.kind == "ring" and train.class_names == ThreeDC.class_names
    assert set(train.labels) == {3} and train.meta["gesture"] == 3
    assert train.repetition is not None and set(train.repetition) == {2}  # rep 1 -> 2
    raw = np.loadtxt(emg_path, delimiter=",")
    np.testing.assert_array_equal(train.emg, raw)
    imu = train.aux["imu"]
    assert imu.names == ("qw", "qx", "qy", "qz")
    assert imu.fs == pytest.approx(75 / 1.5) and train.meta["imu_fs"] == pytest.approx(50.0)
    assert imu.data.shape == (74, 4) and imu.start == pytest.approx(1 / 50)
    assert imu.times()[-1] < train.duration  # the IMU spans the EMG interval
    np.testing.assert_allclose(imu.data[0], [0.501, -0.01, 0.25, 0.75], rtol=1e-6)
    test = rs.select(session="test")[0]
    assert set(test.labels) == {0} and test.meta["repetition"] == 7  # test rep 2 -> 7
    assert test.meta["file_rep"] == 2 and test.meta["short"]  # 1.2 s < SHORT_SECONDS


def test_short_files_skipped_or_flagged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tiny = int(MIN_SECONDS * 1000) - 1
    short = int(SHORT_SECONDS * 1000) - 1
    _write_pair(tmp_path, rep=0, cls=1, n_emg=tiny, n_imu=40)
    _write_pair(tmp_path, rep=0, cls=2, n_emg=short, n_imu=150)
    _write_pair(tmp_path, rep=0, cls=4, n_emg=4800, n_imu=240)
    with caplog.at_level(logging.WARNING, logger="myoshift.datasets.three_dc"):
        rs = _load(tmp_path)
    assert sorted(rs.meta.gesture) == [2, 4]
    assert rs.select(gesture=2)[0].meta["short"] and not rs.select(gesture=4)[0].meta["short"]
    assert "skipped" in caplog.text and "3dc_EMG_gesture_0_1.txt" in caplog.text
    assert "is short" in caplog.text and "3dc_EMG_gesture_0_2.txt" in caplog.text


def test_missing_imu_file_loads_emg_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write_pair(tmp_path, imu=False)
    with caplog.at_level(logging.WARNING, logger="myoshift.datasets.three_dc"):
        (rec,) = _load(tmp_path)
    assert rec.aux == {} and "no IMU file" in caplog.text


def test_missing_participants_load_what_is_there(tmp_path: Path) -> None:
    _write_pair(tmp_path, participant=7)
    _write_pair(tmp_path, participant=12)
    ds = get_dataset("3dc", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert ds.subjects() == [7, 12]
    assert len(ds.load(subjects=[12], show_progress=False)) == 1


@pytest.mark.parametrize(
    ("target", "content", "needle"),
    [
        ("emg", "", "empty file"),
        ("emg", "1,2,3,4,5,6,7,8,9\n1,2,3,4,5,6,7,8,9", "9 columns per line, expected 10"),
        ("emg", "1,2,3,4,5,6,7,8,9,10\n1,2,3,4,5,6,7,8,9", "line 2 has 9 fields"),
        ("emg", "1,2,3,4,5,6,7,8,9,10\n1,2,3,4,nan,6,7,8,9,10", "non-finite"),
        ("emg", "1,2,3,4,5,6,7,8,9,10\n1,2,3,4,five,6,7,8,9,10", "'five' is not a number"),
        ("imu", "(0, 0, 0, 0)\n(0.5, 0.1, 0.2)", "line 2 has 3 fields"),
        ("imu", "(0, 0, 0, 0)\n(0.5, 0.1, 0.2, inf)", "non-finite"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, target: str, content: str, needle: str) -> None:
    emg = _write_pair(tmp_path)
    bad = emg if target == "emg" else emg.parent.parent / "IMU" / emg.name.replace("EMG", "IMU")
    bad.write_text(content)
    assert_error_names_file(lambda: _load(tmp_path), bad, needle)


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("3dc_EMG_gesture_0_11.txt", "unknown class code 11"),
        ("3dc_EMG_gesture_4_1.txt", "unknown repetition 4"),
        ("3dc_EMG_gesture_a_1.txt", "does not match"),
    ],
)
def test_bad_file_names(tmp_path: Path, name: str, needle: str) -> None:
    emg = _write_pair(tmp_path)
    bad = emg.parent / name
    bad.write_text(emg.read_text())
    assert_error_names_file(lambda: _load(tmp_path), bad, needle)


# -- the real recordings ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> RecordingSet:
    return load_real("3dc", FOLDER, tmp_path_factory)


@pytest.mark.realdata
def test_real_counts_match_the_description(real: RecordingSet) -> None:
    root = require_dataset(FOLDER)
    n_files = len(list(root.glob("Participant*/*/EMG/*.txt")))
    n_participants = len(list(root.glob("Participant*")))
    meta = real.meta
    assert meta.subject.nunique() == n_participants == 3  # participants 1-3 of 22
    assert real.unique("session") == ["test", "train"]
    assert set(meta.fs) == {1000.0} and set(meta.n_channels) == {10}
    assert sorted({int(r.labels[0]) for r in real}) == list(range(11))
    assert real.unique("repetition") == list(range(1, 9))
    # 11 classes x 4 repetitions x 2 halves per person; files under 1 s are skipped
    assert n_files == 3 * 2 * 44
    n_tiny = int((meta.n_samples < MIN_SECONDS * 1000).sum())
    assert n_tiny == 0 and len(real) == n_files - 1  # one 363-sample file skipped
    assert int(meta.short.sum()) == 5
    assert all("imu" in r.aux for r in real)
    assert 35 < meta.imu_fs.min() and meta.imu_fs.max() < 65  # "about 50 Hz"


@pytest.mark.realdata
def test_real_spot_check_against_raw_files(real: RecordingSet) -> None:
    root = require_dataset(FOLDER)
    rel = "Participant2/test/EMG/3dc_EMG_gesture_3_6.txt"
    (rec,) = real.select(source=rel)
    raw = np.loadtxt(root / rel, delimiter=",")
    np.testing.assert_array_equal(rec.emg, raw.astype(np.float32))
    assert set(rec.labels) == {6} and rec.meta["session"] == "test"
    assert rec.repetition is not None and set(rec.repetition) == {3 + 5}
    imu_rel = rel.replace("EMG", "IMU")
    lines = (root / imu_rel).read_text().split("\n")
    quat = np.array([[float(v) for v in ln.strip("()").split(",")] for ln in lines if ln])
    first = int(np.flatnonzero(np.any(quat != 0, axis=1))[0])
    np.testing.assert_allclose(rec.aux["imu"].data, quat[first:], rtol=1e-6)
    assert rec.aux["imu"].fs == pytest.approx(len(quat) / rec.duration)


def test_cache_round_trip_keeps_the_imu_stream(tmp_path: Path) -> None:
    _write_pair(tmp_path, rep=0, cls=5)
    zero = _write_pair(tmp_path, rep=1, cls=5, n_imu=3)
    imu = zero.parent.parent / "IMU" / zero.name.replace("_EMG_", "_IMU_")
    imu.write_text("(0, 0, 0, 0)\n(0, 0, 0, 0)")  # the IMU never produced an orientation
    first = _load(tmp_path)
    assert any(p.is_file() for p in (tmp_path / "cache").rglob("*"))
    second = _load(tmp_path)  # from the cache
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.emg, b.emg)
        assert a.meta == b.meta
        sa, sb = a.aux["imu"], b.aux["imu"]
        np.testing.assert_array_equal(sa.data, sb.data)
        assert (sa.fs, sa.start, sa.names) == (sb.fs, sb.start, sb.names)
    empty = first.select(file_rep=1)[0].aux["imu"]
    assert empty.data.shape == (0, 4) and empty.fs == pytest.approx(2 / 1.5)
