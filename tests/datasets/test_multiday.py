"""multiday: file names to days and labels, bad input, the cache, the real recordings."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets import get_dataset
from myoshift.datasets.multiday import MultiDay
from myoshift.recording import REST, RecordingSet
from tests.conftest import require_dataset
from tests.datasets.helpers import assert_error_names_file, load_real

FOLDER = "MultiDay"


def _write(root: Path, day: int, cls: int, rows: int = 50, subject: int = 0) -> Path:
    path = root / FOLDER / f"S{subject}_D{day}_C{cls}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(day * 100 + cls).normal(0, 50, size=(rows, 4))
    np.savetxt(path, x, delimiter=" ", fmt="%.18e")
    return path


def _load(tmp_path: Path) -> RecordingSet:
    ds = get_dataset("multiday", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    return ds.load(show_progress=False)


def test_days_labels_and_order(tmp_path: Path) -> None:
    paths = {(d, c): _write(tmp_path, d, c) for d in (2, 10) for c in range(11)}
    rs = _load(tmp_path)
    assert len(rs) == 22 and rs.unique("subject") == [0] and rs.unique("day") == [2, 10]
    # natural order of file names: C0, C1, C2, ..., C10
    assert [int(r.labels[0]) for r in rs.select(day=2)] == list(range(11))
    for rec in rs:
        assert rec.fs == 2048.0 and rec.n_channels == 4 and rec.layout.kind == "plain"
        assert rec.repetition is not None and set(rec.repetition) == {1}
        assert rec.meta["repetition"] == 1 and rec.class_names == MultiDay.class_names
    assert MultiDay.class_names[REST] == "no motion"
    (rec,) = rs.select(day=10, source="S0_D10_C7.csv")
    assert set(rec.labels) == {7} and rec.class_names[7] == "hand open"
    np.testing.assert_allclose(rec.emg, np.loadtxt(paths[(10, 7)]), rtol=1e-6)


def test_a_day_without_every_class_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for c in (0, 3):
        _write(tmp_path, 5, c)
    with caplog.at_level(logging.WARNING, logger="myoshift.datasets.multiday"):
        rs = _load(tmp_path)
    assert len(rs) == 2 and "lacks class(es) [1, 2, 4, 5, 6, 7, 8, 9, 10]" in caplog.text


def test_cache_is_one_entry_per_day(tmp_path: Path) -> None:
    _write(tmp_path, 1, 0)
    _write(tmp_path, 2, 0)
    ds = get_dataset("multiday", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert [r.meta["day"] for r in ds.load(subjects=[0], show_progress=False)] == [1, 2]
    assert len(list((tmp_path / "cache" / "multiday").glob("S0-day*.npz"))) == 2
    again = ds.load(subjects=[0], show_progress=False)
    assert [r.meta["source"] for r in again] == ["S0_D1_C0.csv", "S0_D2_C0.csv"]


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("S0_D1_C11.csv", "1 2 3 4\n", "unknown class code C11"),
        ("S0_D1_C1.csv", "", "empty file"),
        ("S0_D1_C1.csv", "1 2 3 4\n1 2 3\n", "line 2 has 3 fields"),
        ("S0_D1_C1.csv", "1 2 3 4 5\n", "5 columns per line, expected 4"),
        ("S0_D1_C1.csv", "1 2 3 4\n1 nan 3 4\n", "non-finite"),
        ("S0_D1_C1.csv", "1 2 3 4\n1 x 3 4\n", "'x' is not a number"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, name: str, content: str, needle: str) -> None:
    _write(tmp_path, 1, 0)
    bad = tmp_path / FOLDER / name
    bad.write_text(content)
    assert_error_names_file(lambda: _load(tmp_path), bad, needle)


def test_truncated_large_file_names_the_file(tmp_path: Path) -> None:
    bad = _write(tmp_path, 1, 2, rows=3000)  # large enough for the pandas reader
    text = bad.read_text()
    bad.write_text(text[: len(text) // 2 + 7])  # cut inside a line
    assert_error_names_file(lambda: _load(tmp_path), bad, "fields, expected 4")


# -- the real recordings ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> RecordingSet:
    return load_real("multiday", FOLDER, tmp_path_factory)


@pytest.mark.realdata
def test_real_counts_match_the_description(real: RecordingSet) -> None:
    meta = real.meta
    assert real.unique("subject") == [0]  # the single person
    assert real.unique("day") == [1, 2, 3, 4]  # days 1-4 of 121
    assert len(real) == 4 * 11  # one repetition per class per day
    assert set(meta.groupby("day").size()) == {11}
    assert sorted({int(r.labels[0]) for r in real}) == list(range(11))
    assert set(meta.fs) == {2048.0} and set(meta.n_channels) == {4}
    assert meta.n_samples.min() > 2048 * 4  # several seconds each


@pytest.mark.realdata
def test_real_spot_check_against_raw_file(real: RecordingSet) -> None:
    root = require_dataset(FOLDER)
    rel = "S0_D3_C9.csv"
    (rec,) = real.select(source=rel)
    raw = np.loadtxt(root / rel)
    assert raw.shape == (rec.n_samples, 4)
    np.testing.assert_allclose(rec.emg, raw, rtol=1e-6)
    assert set(rec.labels) == {9} and rec.class_names[9] == "key grip" and rec.meta["day"] == 3
