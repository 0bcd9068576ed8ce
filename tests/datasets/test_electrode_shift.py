"""electrode-shift: metadata-checked class codes, placement, bad input, the real recordings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets import get_dataset
from myoshift.datasets._sgt import read_sgt_metadata
from myoshift.datasets.electrode_shift import ElectrodeShiftData
from myoshift.datasets.libemg_onesubject import SOURCE_CLASSES
from myoshift.recording import REST, RecordingSet
from tests.conftest import require_dataset
from tests.datasets.helpers import assert_error_names_file, load_real

FOLDER = "CIILData"


def _write(root: Path, subject: int, session: str, rep: int, cls: int, rows: int = 30) -> Path:
    path = root / FOLDER / "ElectrodeShift" / f"subject{subject}" / session / f"R_{rep}_C_{cls}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(rep * 10 + cls).integers(-128, 128, size=(rows, 8))
    np.savetxt(path, x, delimiter=",", fmt="%d")
    return path


def _write_metadata(folder: Path, **override: dict[str, object]) -> Path:
    """``metadata.json`` naming every ``R_*_C_*.csv`` of ``folder`` as the recorder does."""
    doc: dict[str, object] = {"continuous": False, "randomize": False}
    for csv in sorted(folder.glob("R_*_C_*.csv")):
        rep, cls = (int(t) for t in csv.stem.split("_")[1::2])
        name = SOURCE_CLASSES[cls][0] if cls in SOURCE_CLASSES else f"Class_{cls}"
        entry = {"rep_idx": rep, "class_idx": cls, "class_name": name}
        entry.update(override.get(csv.name, {}))
        doc[f"data/{folder.parent.name}/sgt/{folder.name}/{csv.name}"] = entry
    path = folder / "metadata.json"
    path.write_text(json.dumps(doc))
    return path


def _person(root: Path, subject: int, sessions: dict[str, int]) -> None:
    """Every class x ``reps`` repetitions in each session, with its metadata."""
    for session, reps in sessions.items():
        for rep in range(reps):
            for cls in range(5):
                path = _write(root, subject, session, rep, cls)
        _write_metadata(path.parent)


def _load(tmp_path: Path) -> RecordingSet:
    ds = get_dataset("electrode-shift", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    return ds.load(show_progress=False)


def test_sessions_placement_labels_and_repetitions(tmp_path: Path) -> None:
    _person(tmp_path, 3, {"training": 2, "trial_1": 1, "trial_0": 1})
    _person(tmp_path, 12, {"trial_2": 1})
    rs = _load(tmp_path)
    assert rs.unique("subject") == [3, 12] and len(rs) == 5 * (2 + 1 + 1 + 1)
    # training first, then trials by number
    assert list(dict.fromkeys(rs.select(subject=3).meta["session"])) == [
        "training",
        "trial_0",
        "trial_1",
    ]
    for rec in rs:
        before = rec.meta["session"] == "training"
        assert rec.meta["placement"] == ("before" if before else "after")
        name, label = SOURCE_CLASSES[rec.meta["source_class"]]
        assert set(rec.labels) == {label}
        assert rec.class_names[label].replace(" ", "_").lower() == name.lower()
        assert rec.repetition is not None and set(rec.repetition) == {rec.meta["repetition"]}
        assert rec.fs == 200.0 and rec.n_channels == 8 and rec.layout.kind == "ring"
    assert {int(r.labels[0]) for r in rs.select(source_class=2)} == {REST}  # No_Motion
    assert rs.select(subject=3, session="training").unique("repetition") == [1, 2]


def test_cache_returns_the_parsed_recordings(tmp_path: Path) -> None:
    _person(tmp_path, 0, {"training": 1, "trial_1": 1})
    first, again = _load(tmp_path), _load(tmp_path)
    assert list((tmp_path / "cache" / "electrode-shift").glob("*.npz"))
    assert [r.meta for r in first] == [r.meta for r in again]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.emg, b.emg)


def test_metadata_reader_keeps_file_names(tmp_path: Path) -> None:
    _write(tmp_path, 1, "training", 0, 3)
    meta = _write_metadata(tmp_path / FOLDER / "ElectrodeShift" / "subject1" / "training")
    entries = read_sgt_metadata(meta)
    assert entries == {
        "R_0_C_3.csv": {"rep_idx": 0, "class_idx": 3, "class_name": "Wrist_Extension"}
    }


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"class_name": "Wrist_Flexion"}, "'Wrist_Flexion', expected 'Wrist_Extension'"),
        ({"rep_idx": 1}, "rep_idx 1 and class_idx 3; its name says 0 and 3"),
        ({"class_idx": "three"}, "needs integer rep_idx and class_idx"),
    ],
)
def test_metadata_disagreeing_with_a_file_is_an_error(
    tmp_path: Path, override: dict[str, object], needle: str
) -> None:
    folder = _write(tmp_path, 1, "trial_1", 0, 3).parent
    meta = _write_metadata(folder, **{"R_0_C_3.csv": override})
    assert_error_names_file(lambda: _load(tmp_path), meta, needle)


def test_missing_or_broken_metadata_is_an_error(tmp_path: Path) -> None:
    folder = _write(tmp_path, 1, "trial_4", 1, 0).parent
    meta = folder / "metadata.json"
    assert_error_names_file(lambda: _load(tmp_path), meta, "missing: the class and repetition")
    _write_metadata(folder)
    _write(tmp_path, 1, "trial_4", 1, 1)  # a file the metadata does not list
    assert_error_names_file(lambda: _load(tmp_path), meta, "has no entry for R_1_C_1.csv")
    meta.write_text("{not json")
    assert_error_names_file(lambda: _load(tmp_path), meta, "not valid JSON")


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("R_0_C_5.csv", "0,0,0,0,0,0,0,0\n", "unknown class code C_5"),
        ("R_0_C_1.csv", "", "empty file"),
        ("R_0_C_1.csv", "0,0,0,0,0,0,0,0\n0,0,0\n", "line 2 has 3 fields"),
        ("R_0_C_1.csv", "0,0,0,0,0,0,0,0,0\n", "9 columns per line, expected 8"),
        ("R_0_C_1.csv", "0,0,0,0,0,0,0,0\n0,0,NaN,0,0,0,0,0\n", "non-finite"),
        ("R0C1.csv", "0,0,0,0,0,0,0,0\n", "does not match"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, name: str, content: str, needle: str) -> None:
    good = _write(tmp_path, 2, "training", 0, 0)
    bad = good.parent / name
    bad.write_text(content)
    _write_metadata(good.parent)
    assert_error_names_file(lambda: _load(tmp_path), bad, needle)


# -- the real recordings ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> RecordingSet:
    return load_real("electrode-shift", FOLDER, tmp_path_factory)


@pytest.mark.realdata
def test_real_counts_match_the_description(real: RecordingSet) -> None:
    meta = real.meta
    assert real.unique("subject") == list(range(10))  # subjects 0-9 of 21
    assert real.unique("session") == ["training", "trial_1", "trial_2", "trial_3", "trial_4"]
    assert set(meta.fs) == {200.0} and set(meta.n_channels) == {8}
    assert sorted({int(r.labels[0]) for r in real}) == [0, 1, 2, 3, 4]
    # training: 5 repetitions before the move; each trial: 2 after it
    reps = meta.groupby(["subject", "session"])["repetition"].agg(lambda r: sorted(set(r)))
    assert all(v == [1, 2, 3, 4, 5] for (_, s), v in reps.items() if s == "training")
    assert all(v == [1, 2] for (_, s), v in reps.items() if s != "training")
    assert len(real) == 10 * 5 * (5 + 4 * 2)
    assert set(meta.groupby(["subject", "session", "repetition"]).size()) == {5}
    assert dict(meta.groupby("placement").size()) == {"before": 250, "after": 400}
    assert meta.n_samples.min() > 400  # about 3 s each


@pytest.mark.realdata
def test_real_spot_check_against_raw_file(real: RecordingSet) -> None:
    root = require_dataset(FOLDER)
    rel = "ElectrodeShift/subject4/trial_3/R_1_C_3.csv"
    (rec,) = real.select(source=rel)
    np.testing.assert_array_equal(rec.emg, np.loadtxt(root / rel, delimiter=","))
    assert set(rec.labels) == {3} and rec.class_names[3] == "wrist extension"
    assert rec.meta["placement"] == "after" and rec.meta["repetition"] == 2
    assert ElectrodeShiftData.downloads[0].manifest == "electrode-shift.tsv.gz"
