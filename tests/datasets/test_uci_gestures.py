"""uci-gestures: timing reconstruction, label codes, bad input, and the real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets import get_dataset
from myoshift.datasets.uci_gestures import UCIGestures, derive_repetitions, resample_held
from myoshift.errors import DataFormatError
from myoshift.recording import UNLABELLED
from tests.conftest import require_dataset

HEADER = "time\t" + "\t".join(f"channel{i}" for i in range(1, 9)) + "\tclass\n"


def _write(path: Path, rows: list[list[float]], header: str = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join("\t".join(f"{v:g}" for v in row) + "\n" for row in rows)
    path.write_text(header + body)
    return path


def _held_rows(n_myo: int, hold: int = 5, cls: int = 1, seed: int = 0) -> list[list[float]]:
    """A 200 Hz stream held on a 1 kHz clock: each value repeated ``hold`` times."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_myo):
        x = rng.integers(-128, 128, size=8) * 1e-5
        for h in range(hold):
            rows.append([1 + k * hold + h, *x, cls])
    return rows


def test_resample_held_recovers_the_slow_stream() -> None:
    t = np.arange(0, 100, dtype=float)  # 1 kHz clock, 100 ms
    slow = np.arange(20, dtype=float)  # a 200 Hz ramp, held for 5 ticks each
    x = np.repeat(slow, 5)[:, None]
    grid, y, rate = resample_held(t, x, 200.0)
    np.testing.assert_allclose(grid, np.arange(0, 100, 5))
    np.testing.assert_allclose(y[:, 0], slow)  # run onsets sit exactly on the grid
    assert rate == pytest.approx(20 / 0.099)


def test_resample_held_interpolates_irregular_times() -> None:
    t = np.array([0.0, 3.0, 4.0, 11.0, 20.0])
    x = np.array([[0.0], [3.0], [3.0], [11.0], [20.0]])  # value = time: linear in t
    grid, y, _ = resample_held(t, x, 200.0)
    np.testing.assert_allclose(grid, [0, 5, 10, 15, 20])
    np.testing.assert_allclose(y[:, 0], [0, 5, 10, 15, 20])


def test_derive_repetitions_counts_occurrences_per_class() -> None:
    labels = np.array([-1, 0, 0, -1, 1, 1, -1, 0, -1, 1, 2])
    np.testing.assert_array_equal(derive_repetitions(labels), [0, 1, 1, 0, 1, 1, 0, 2, 0, 2, 1])


def test_parse_synthetic_file_codes_and_rate(tmp_path: Path) -> None:
    rows = _held_rows(40, cls=0) + [
        [r[0] + 200, *r[1:9], 2] for r in _held_rows(40, seed=1)
    ]  # 200 ms unmarked, then 200 ms of class 2 (fist)
    _write(tmp_path / "UCI_EMG_data_for_gestures" / "07" / "1_raw_data_x.txt", rows)
    ds = get_dataset("uci-gestures", data_dir=tmp_path, cache_dir=tmp_path / "c")
    (rec,) = ds.load(show_progress=False)
    assert rec.fs == 200.0 and rec.n_channels == 8
    assert rec.meta["subject"] == 7 and rec.meta["series"] == 1
    assert rec.meta["distinct_rate_hz"] == pytest.approx(200, rel=0.01)
    assert rec.n_samples == 80
    assert set(rec.labels[:40]) == {UNLABELLED} and set(rec.labels[40:]) == {1}
    assert rec.repetition is not None and set(rec.repetition[40:]) == {1}


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty file"),
        ("time\tch1\tclass\n1\t0\t1\n", "header"),
        (HEADER + "1\t0\t0\t0\t0\t0\t0\t0\t0\t9\n2\t0\t0\t0\t0\t0\t0\t0\t0\t9\n", "class code 9"),
        (HEADER + "1\t0\t0\t0\t0\t0\t0\t0\t1\n2\t0\t0\t0\t0\t0\t0\t0\t1\n", "column"),
        (HEADER + "1\t0\t0\tnan\t0\t0\t0\t0\t0\t1\n2\t0\t0\t0\t0\t0\t0\t0\t0\t1\n", "NaN"),
        (HEADER + "5\t0\t0\t0\t0\t0\t0\t0\t0\t1\n2\t0\t0\t0\t0\t0\t0\t0\t0\t1\n", "backwards"),
        (HEADER + "1\t0\t0\t0\t0\t0\t0\t0\t0\t1\n", "only 1 data row"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "UCI_EMG_data_for_gestures" / "01" / "2_raw_data_bad.txt"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    ds = UCIGestures(data_dir=tmp_path, use_cache=False)
    with pytest.raises(DataFormatError) as err:
        ds.load(show_progress=False)
    assert str(path) in str(err.value)
    assert needle.lower() in str(err.value).lower()


@pytest.mark.realdata
def test_real_uci_counts_and_labels(tmp_path: Path) -> None:
    root = require_dataset("UCI_EMG_data_for_gestures")
    ds = get_dataset("uci-gestures", data_dir=root.parent, cache_dir=tmp_path)
    rs = ds.load(show_progress=False)
    # README: subjects 01-05, two series each, series 1 of subject 02 absent.
    assert rs.unique("subject") == [1, 2, 3, 4, 5]
    assert len(rs) == 9
    assert rs.select(subject=2).unique("series") == [2]
    assert rs.unique("series") == [1, 2]
    assert {r.fs for r in rs} == {200.0} and {r.n_channels for r in rs} == {8}
    assert rs.class_names[0] == "rest" and len(rs.class_names) == 7
    for rec in rs:
        # ~1 kHz held clock: 92-109 distinct samples/s measured on these subjects
        assert 80 < rec.meta["distinct_rate_hz"] < 130
        # rest + 6 gestures (no extended palm here), unmarked kept as UNLABELLED
        assert set(np.unique(rec.labels)) == {UNLABELLED, 0, 1, 2, 3, 4, 5}
        # each class performed twice per series, numbered 1 and 2
        assert rec.repetition is not None
        for code in range(6):
            assert set(np.unique(rec.repetition[rec.labels == code])) == {1, 2}
        assert 45 < rec.duration < 70


@pytest.mark.realdata
def test_real_uci_labels_match_raw_file(tmp_path: Path) -> None:
    root = require_dataset("UCI_EMG_data_for_gestures")
    path = root / "01" / "1_raw_data_13-12_22.03.16.txt"
    raw = np.loadtxt(path, skiprows=1, delimiter="\t")
    rec = UCIGestures(data_dir=root.parent, use_cache=False).parse_file(path)
    # grid point k is at raw time t0 + 5 k ms; its label is the last raw row at/before it
    t0 = raw[0, 0]
    for k in (0, 1000, 2345, 5000, rec.n_samples - 1):
        row = np.searchsorted(raw[:, 0], t0 + 5 * k, side="right") - 1
        expected = {0: UNLABELLED}.get(int(raw[row, 9]), int(raw[row, 9]) - 1)
        assert rec.labels[k] == expected
    # the first gesture segment in the file is rest (class 1), then fist (class 2)
    seg = rec.labels[rec.labels != UNLABELLED]
    assert seg[0] == 0 and seg[np.flatnonzero(seg != 0)[0]] == 1
    # the EMG values stay within the raw file's range (interpolation between samples)
    assert rec.emg.min() >= raw[:, 1:9].min() - 1e-9 and rec.emg.max() <= raw[:, 1:9].max() + 1e-9
