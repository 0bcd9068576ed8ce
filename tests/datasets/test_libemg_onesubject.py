"""libemg-onesubject: class-code mapping, metadata check, stream, bad input, real files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets import get_dataset
from myoshift.datasets.libemg_onesubject import SOURCE_CLASSES, LibEMGOneSubject, load_stream
from myoshift.errors import DataFormatError, DataNotFoundError
from myoshift.recording import REST, UNLABELLED, RecordingSet
from tests.conftest import require_dataset
from tests.datasets.helpers import assert_error_names_file

FOLDER = "OneSubjectMyoDataset"


def _write(root: Path, trial: int, rep: int, cls: int, rows: int = 40) -> Path:
    path = root / FOLDER / f"trial_{trial}" / f"R_{rep}_C_{cls}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(trial * 100 + rep * 10 + cls).integers(-128, 128, size=(rows, 8))
    np.savetxt(path, x, delimiter=",", fmt="%d")
    return path


def _write_metadata(root: Path, trial: int, names: dict[int, str]) -> Path:
    doc: dict[str, object] = {"continuous": False}
    for cls, name in names.items():
        key = f"data/subject1/sgt/trial_{trial}/R_0_C_{cls}.csv"
        doc[key] = {"rep_idx": 0, "class_idx": cls, "class_name": name}
    path = root / FOLDER / f"trial_{trial}" / "metadata.json"
    path.write_text(json.dumps(doc))
    return path


def _load(tmp_path: Path) -> RecordingSet:
    return get_dataset("libemg-onesubject", data_dir=tmp_path, cache_dir=tmp_path / "c").load(
        show_progress=False
    )


def test_class_codes_map_no_motion_to_rest(tmp_path: Path) -> None:
    for cls in range(5):
        _write(tmp_path, trial=2, rep=1, cls=cls)
    _write_metadata(tmp_path, 2, {c: name for c, (name, _) in SOURCE_CLASSES.items()})
    rs = _load(tmp_path)
    assert len(rs) == 5 and rs.unique("trial") == [2] and rs.unique("subject") == [1]
    by_code = {r.meta["source_class"]: r for r in rs}
    assert set(by_code[2].labels) == {REST}  # C_2 is No_Motion
    assert [int(by_code[c].labels[0]) for c in (0, 1, 3, 4)] == [1, 2, 3, 4]
    for code, rec in by_code.items():
        name, label = SOURCE_CLASSES[code]
        assert rec.class_names[label].replace(" ", "_").lower() == name.lower()
        assert rec.repetition is not None and set(rec.repetition) == {2}  # R_1 -> 2
        assert rec.meta["repetition"] == 2
        assert rec.fs == 200.0 and rec.n_channels == 8 and rec.n_samples == 40


def test_metadata_disagreeing_with_the_mapping_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, trial=1, rep=0, cls=2)
    meta = _write_metadata(tmp_path, 1, {2: "Hand_Open"})
    with pytest.raises(DataFormatError, match="'Hand_Open', expected 'No_Motion'") as err:
        _load(tmp_path)
    assert str(meta) in str(err.value)
    meta.write_text("{not json")
    with pytest.raises(DataFormatError, match="not valid JSON") as err:
        _load(tmp_path)
    assert str(meta) in str(err.value)


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("R_0_C_5.csv", "0,0,0,0,0,0,0,0\n", "unknown class code C_5"),
        ("R_0_C_1.csv", "", "empty file"),
        ("R_0_C_1.csv", "0,0,0,0,0,0,0,0\n0,0,0\n", "line 2 has 3 fields"),
        ("R_0_C_1.csv", "0,0,0,0,0,0,0,0,0\n", "9 columns per line, expected 8"),
        ("R_0_C_1.csv", "0,0,0,0,0,0,0,inf\n", "non-finite"),
        ("R_0_C_1.csv", "0,0,0,0,0,0,0,abc\n", "'abc' is not a number"),
        ("R0C1.csv", "0,0,0,0,0,0,0,0\n", "does not match"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, name: str, content: str, needle: str) -> None:
    good = _write(tmp_path, trial=3, rep=0, cls=0)
    bad = good.parent / name
    bad.write_text(content)
    assert_error_names_file(lambda: _load(tmp_path), bad, needle)


def test_stream_is_unlabelled(tmp_path: Path) -> None:
    _write(tmp_path, trial=1, rep=0, cls=0)
    with pytest.raises(DataNotFoundError, match="raw_emg.csv"):
        load_stream(tmp_path)
    path = tmp_path / FOLDER / "stream" / "raw_emg.csv"
    path.parent.mkdir()
    np.savetxt(path, np.ones((25, 8)), delimiter=",", fmt="%d")
    rec = load_stream(tmp_path)
    assert rec.emg.shape == (25, 8) and rec.fs == 200.0
    assert set(rec.labels) == {UNLABELLED} and rec.meta["kind"] == "stream"


# -- the real recordings ------------------------------------------------------------------


@pytest.mark.realdata
def test_real_counts_match_the_description(tmp_path: Path) -> None:
    root = require_dataset(FOLDER)
    rs = LibEMGOneSubject(data_dir=root.parent, cache_dir=tmp_path).load(show_progress=False)
    meta = rs.meta
    assert rs.unique("subject") == [1]
    assert rs.unique("trial") == [1, 2, 3, 4, 5, 6]
    assert rs.unique("repetition") == [1, 2]
    assert len(rs) == 6 * 2 * 5
    assert sorted({int(r.labels[0]) for r in rs}) == [0, 1, 2, 3, 4]
    assert set(meta.fs) == {200.0} and set(meta.n_channels) == {8}
    assert meta.n_samples.min() >= 590  # about 3 s each
    rel = "trial_4/R_1_C_3.csv"
    (rec,) = rs.select(source=rel)
    np.testing.assert_array_equal(rec.emg, np.loadtxt(root / rel, delimiter=","))
    assert set(rec.labels) == {3} and rec.repetition is not None and set(rec.repetition) == {2}


@pytest.mark.realdata
def test_real_stream() -> None:
    root = require_dataset(FOLDER)
    rec = load_stream(root.parent)
    raw = np.loadtxt(root / "stream" / "raw_emg.csv", delimiter=",")
    assert rec.emg.shape == raw.shape and raw.shape[1] == 8
    np.testing.assert_array_equal(rec.emg, raw)
    assert set(rec.labels) == {UNLABELLED}
