"""kanoga: file names to labels/trials/days, bad input, and the real recordings."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets import get_dataset
from myoshift.datasets.kanoga import PLACEMENT, Kanoga
from myoshift.recording import RecordingSet
from tests.conftest import require_dataset
from tests.datasets.helpers import assert_error_names_file, load_real

FOLDER = "LongTermSEMG_Kanoga"


def _write(root: Path, sub: int, day: int, motion: int, trial: int, rows: int = 300) -> Path:
    path = root / FOLDER / "data" / f"sub{sub}" / f"day{day}" / f"D{day}M{motion}T{trial}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(motion * 10 + trial).normal(0, 0.01, size=(rows, 8))
    np.savetxt(path, x, delimiter=",", fmt="%.8g")
    return path


def _load(tmp_path: Path) -> RecordingSet:
    return get_dataset("kanoga", data_dir=tmp_path, cache_dir=tmp_path / "cache").load(
        show_progress=False
    )


def test_synthetic_labels_trials_days_and_order(tmp_path: Path) -> None:
    paths = {
        m: _write(tmp_path, sub=4, day=3, motion=m, trial=t)
        for m, t in [(10, 2), (1, 1), (22, 4), (2, 1)]
    }
    _write(tmp_path, sub=4, day=12, motion=5, trial=3)
    rs = _load(tmp_path)
    assert len(rs) == 5 and rs.unique("subject") == [4] and rs.unique("day") == [3, 12]
    # natural order of file names: M1, M2, M10, M22 (not M1, M10, M2, M22)
    assert [r.meta["motion"] for r in rs.select(day=3)] == [1, 2, 10, 22]
    for rec in rs:
        assert rec.n_samples == 300 and rec.n_channels == 8 and rec.fs == 200.0
        assert set(rec.labels) == {rec.meta["motion"] - 1}
        assert rec.repetition is not None and set(rec.repetition) == {rec.meta["trial"]}
        assert rec.meta["placement"] == PLACEMENT[rec.meta["day"] - 1]
        assert rec.class_names == Kanoga.class_names and len(rec.class_names) == 22
    (last,) = rs.select(motion=22)
    np.testing.assert_allclose(last.emg, np.loadtxt(paths[22], delimiter=","), rtol=1e-6)
    assert Kanoga.class_names[0] == "rest" and Kanoga.class_names[1] == "wrist flexion"
    assert len(PLACEMENT) == 30 and set(PLACEMENT) == {"N", "I", "O"}


def test_missing_subjects_and_days_load_what_is_there(tmp_path: Path) -> None:
    _write(tmp_path, sub=3, day=7, motion=1, trial=1)
    _write(tmp_path, sub=5, day=30, motion=1, trial=1)
    ds = get_dataset("kanoga", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert ds.subjects() == [3, 5]
    rs = ds.load(subjects=[5], show_progress=False)
    assert len(rs) == 1 and rs[0].meta["day"] == 30


def test_other_row_counts_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(tmp_path, sub=1, day=1, motion=3, trial=2, rows=299)
    with caplog.at_level(logging.WARNING, logger="myoshift.datasets.kanoga"):
        (rec,) = _load(tmp_path)
    assert rec.n_samples == 299 and "299 rows, expected 300" in caplog.text


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("D2M3T1.csv", "", "empty file"),
        ("D2M3T1.csv", "0.1,0.2,0.3,0.4,0.5,0.6,0.7\n", "7 columns per line, expected 8"),
        ("D2M3T1.csv", "0,0,0,0,0,0,0,0\n0,0,0,0,0,0,0\n", "line 2 has 7 fields"),
        ("D2M3T1.csv", "0,0,0,0,0,0,0,0\n0,0,NaN,0,0,0,0,0\n", "non-finite"),
        ("D2M3T1.csv", "0,0,0,0,0,0,0,0\n0,0,0,0,?,0,0,0\n", "'\\?' is not a number"),
        ("D2M23T1.csv", "0,0,0,0,0,0,0,0\n", "unknown motion code M23"),
        ("D2M0T1.csv", "0,0,0,0,0,0,0,0\n", "unknown motion code M0"),
        ("D5M3T1.csv", "0,0,0,0,0,0,0,0\n", "day 5 but lies in folder day2"),
        ("D2M3.csv", "0,0,0,0,0,0,0,0\n", "does not match"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, name: str, content: str, needle: str) -> None:
    good = _write(tmp_path, sub=1, day=2, motion=1, trial=1)
    bad = good.parent / name
    bad.write_text(content)
    assert_error_names_file(lambda: _load(tmp_path), bad, needle)


# -- the real recordings ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> RecordingSet:
    return load_real("kanoga", FOLDER, tmp_path_factory)


@pytest.mark.realdata
def test_real_counts_match_the_description(real: RecordingSet) -> None:
    meta = real.meta
    assert real.unique("subject") == [1]  # subject 1 of 5
    assert real.unique("day") == list(range(1, 16))  # days 1-15 of 30
    assert real.unique("motion") == list(range(1, 23))
    assert real.unique("trial") == [1, 2, 3, 4]
    assert len(real) == 15 * 22 * 4
    assert set(meta.n_samples) == {300}  # 1.5 s at 200 Hz
    assert set(meta.fs) == {200.0} and set(meta.n_channels) == {8}
    assert sorted({int(r.labels[0]) for r in real}) == list(range(22))
    assert set(meta.groupby(["day", "motion"]).size()) == {4}


@pytest.mark.realdata
def test_real_spot_check_against_raw_file(real: RecordingSet) -> None:
    root = require_dataset(FOLDER)
    rel = "data/sub1/day9/D9M17T3.csv"
    (rec,) = real.select(source=rel)
    raw = np.loadtxt(root / rel, delimiter=",")
    assert raw.shape == (300, 8)
    np.testing.assert_allclose(rec.emg, raw, rtol=1e-6)
    assert set(rec.labels) == {16} and rec.repetition is not None and set(rec.repetition) == {3}
    assert rec.meta["day"] == 9 and rec.meta["placement"] == "N"
