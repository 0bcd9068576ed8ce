"""FolderDataset: patterns, file formats, column maps, labels, cache, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from myoshift.datasets.folder import FolderDataset, pattern_to_regex
from myoshift.errors import ConfigError, DataFormatError, DataNotFoundError
from myoshift.recording import UNLABELLED, Layout
from tests.conftest import require_dataset
from tests.datasets.helpers import assert_error_names_file

LIBEMG_CLASSES = ("no motion", "hand close", "hand open", "wrist extension", "wrist flexion")
LIBEMG_MAP = {2: 0, 0: 1, 1: 2, 3: 3, 4: 4}


def _csv(path: Path, data: np.ndarray, header: str = "", delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [header] if header else []
    lines += [delimiter.join(f"{v:g}" for v in row) for row in data]
    path.write_text("\n".join(lines) + "\n")
    return path


def _libemg_tree(root: Path) -> None:
    rng = np.random.default_rng(0)
    for trial in (1, 2):
        for rep in (0, 1):
            for cls in range(5):
                _csv(root / f"trial_{trial}" / f"R_{rep}_C_{cls}.csv", rng.integers(-9, 9, (30, 8)))
    (root / "trial_1" / "metadata.json").write_text("{}")  # ignored: no match


def test_pattern_to_regex() -> None:
    rx = pattern_to_regex("{subject}/trial_{trial}/R_{repetition}_C_{class}.csv")
    m = rx.fullmatch("s01/trial_3/R_0_C_12.csv")
    assert m is not None and m.groupdict() == {
        "subject": "s01",
        "trial": "3",
        "repetition": "0",
        "class": "12",
    }
    assert rx.fullmatch("s01/trial_3/R_0_C_12.csvx") is None
    assert rx.fullmatch("a/b/trial_3/R_0_C_1.csv") is None  # a field never spans folders
    assert pattern_to_regex("x.{a}(1).txt").fullmatch("x.7(1).txt") is not None
    assert pattern_to_regex("x.{a}(1).txt").fullmatch("xx7(1).txt") is None
    assert pattern_to_regex("{a}/*_{a}.npy").fullmatch("3/any_3.npy") is not None
    assert pattern_to_regex("{a}/*_{a}.npy").fullmatch("3/any_4.npy") is None
    with pytest.raises(ConfigError):
        pattern_to_regex("{a/{b}.csv")


def test_libemg_layout_with_label_map_and_cache(tmp_path: Path) -> None:
    root = tmp_path / "OneSubject"
    _libemg_tree(root)
    kwargs = dict(
        root=root,
        pattern="trial_{trial}/R_{repetition}_C_{class}.csv",
        fs=200,
        n_channels=8,
        layout=Layout.ring(8),
        class_names=LIBEMG_CLASSES,
        label_map=LIBEMG_MAP,
        cache_dir=tmp_path / "cache",
    )
    rs = FolderDataset(**kwargs).load(show_progress=False)  # type: ignore[arg-type]
    assert len(rs) == 20 and rs.unique("trial") == [1, 2]
    rec = rs.select(trial=2, repetition=1, **{"class": 2})[0]
    assert rec.meta["source"] == "trial_2/R_1_C_2.csv" and rec.meta["dataset"] == "OneSubject"
    assert set(rec.labels) == {0} and set(rec.repetition) == {1}  # type: ignore[arg-type]
    assert rec.fs == 200.0 and rec.layout.kind == "ring" and rec.class_names == LIBEMG_CLASSES
    np.testing.assert_array_equal(
        rec.emg, np.loadtxt(root / "trial_2" / "R_1_C_2.csv", delimiter=",")
    )
    assert list((tmp_path / "cache" / "folder").glob("*.npz"))
    again = FolderDataset(**kwargs).load(show_progress=False)  # type: ignore[arg-type]
    assert [r.meta for r in again] == [r.meta for r in rs]
    np.testing.assert_array_equal(again[5].emg, rs[5].emg)
    # another setting of the same files is another cache entry, not a stale hit
    other = FolderDataset(**{**kwargs, "fs": 100}).load(show_progress=False)  # type: ignore[arg-type]
    assert other[0].fs == 100.0


def test_subjects_become_units(tmp_path: Path) -> None:
    for s in (1, 2, 3):
        _csv(tmp_path / f"S{s}" / "rest.csv", np.ones((10, 4)) * s)
        _csv(tmp_path / f"S{s}" / "fist.csv", np.ones((10, 4)) * s)
    ds = FolderDataset(
        tmp_path, "S{subject}/{class}.csv", fs=1000, class_names=("rest", "fist"), use_cache=False
    )
    assert ds.subjects() == [1, 2, 3]
    rs = ds.load(subjects=[2], show_progress=False)
    assert len(rs) == 2 and rs.unique("subject") == [2]
    assert {r.meta["class"]: int(r.labels[0]) for r in rs} == {"rest": 0, "fist": 1}


def test_text_with_header_and_label_column(tmp_path: Path) -> None:
    data = np.c_[np.arange(6), np.ones((6, 3)), [1, 1, 2, 2, 0, 0]]
    _csv(tmp_path / "a" / "s1.txt", data, header="time\tc1\tc2\tc3\tclass", delimiter="\t")
    rs = FolderDataset(
        tmp_path,
        "a/s{session}.txt",
        fs=500,
        column_map={"emg": ["c1", "c2", "c3"], "label": "class"},
        label_map={0: UNLABELLED, 1: 0, 2: 1},
        use_cache=False,
    ).load(show_progress=False)
    rec = rs[0]
    assert rec.n_channels == 3 and rec.meta["session"] == 1
    np.testing.assert_array_equal(rec.labels, [0, 0, 1, 1, -1, -1])
    # default: every column not given a role is EMG; unlabelled without a class field
    (rec2,) = FolderDataset(
        tmp_path,
        "a/s{session}.txt",
        fs=500,
        column_map={"label": 4},
        label_map={0: -1, 1: 0, 2: 1},
        use_cache=False,
    ).load(show_progress=False)
    assert rec2.n_channels == 4
    np.testing.assert_array_equal(rec2.emg[:, 0], np.arange(6))


def test_npy_and_mat_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    emg = rng.standard_normal((50, 6))
    (tmp_path / "p1").mkdir()
    np.save(tmp_path / "p1" / "C_1.npy", emg)
    scipy.io.savemat(tmp_path / "p1" / "C_2.mat", {"data": emg, "note": "x"})
    scipy.io.savemat(
        tmp_path / "p1" / "C_3.mat", {"emg": emg, "lab": np.ones(50), "other": np.ones((50, 2))}
    )
    rs = FolderDataset(tmp_path, "p{subject}/C_{class}.*", fs=100, n_channels=6, use_cache=False)
    recs = {r.meta["class"]: r for r in rs.load(show_progress=False)}
    for cls in (1, 2, 3):
        np.testing.assert_allclose(recs[cls].emg, emg, rtol=1e-6)
        assert set(recs[cls].labels) == {cls}
    (named,) = FolderDataset(
        tmp_path,
        "p1/C_3.mat",
        fs=100,
        column_map={"emg": "other", "label": "lab"},
        use_cache=False,
    ).load(show_progress=False)
    assert named.n_channels == 2 and set(named.labels) == {1}


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("empty.csv", "", "empty"),
        ("ragged.csv", "1,2,3\n4,5\n", "line 2"),
        ("nan.csv", "1,2,3\n4,nan,6\n", "NaN"),
        ("text.csv", "1,2,3\n4,abc,6\n", "not a number"),
        ("wide.csv", "1,2,3,4\n5,6,7,8\n", "4 EMG channels, expected n_channels=3"),
    ],
)
def test_bad_text_files_name_the_file(tmp_path: Path, name: str, content: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    ds = FolderDataset(tmp_path, name, fs=100, n_channels=3, use_cache=False)
    with pytest.raises(DataFormatError) as err:
        ds.load(show_progress=False)
    assert str(path) in str(err.value) and needle in str(err.value)


@pytest.mark.parametrize("use_cache", [False, True])
def test_a_file_with_fewer_columns_than_the_others_is_named(
    tmp_path: Path, use_cache: bool
) -> None:
    """Without n_channels, a 7-column file among 8-column ones fails at load, naming it
    and the count the other files have (not later, in windowing)."""
    rng = np.random.default_rng(0)
    for subject, cls in ((1, 0), (1, 1), (2, 0)):
        _csv(tmp_path / f"s{subject}" / f"C_{cls}.csv", rng.normal(size=(20, 8)))
    bad = _csv(tmp_path / "s2" / "C_1.csv", rng.normal(size=(20, 7)))
    ds = FolderDataset(
        tmp_path, "s{subject}/C_{class}.csv", fs=100, cache_dir=tmp_path / "c", use_cache=use_cache
    )
    for _ in range(2):  # a second load (per-file cache entries written) still refuses
        with pytest.raises(DataFormatError) as err:
            ds.load(show_progress=False)
        message = str(err.value)
        assert message.startswith(f"{bad}: 7 EMG channels, expected 8 like 3 of the 4 files")
        assert "\n" not in message
    # the subjects given as text find the subjects parsed from the names as numbers
    assert ds.load(subjects=["1"], show_progress=False).unique("subject") == [1]
    # with n_channels the file is checked as it is read, whichever it is
    with pytest.raises(DataFormatError, match="7 EMG channels, expected n_channels=8"):
        FolderDataset(tmp_path, "s2/C_{class}.csv", fs=100, n_channels=8, use_cache=False).load(
            show_progress=False
        )
    # a label column named in column_map: the EMG is the rest, checked the same way
    _csv(tmp_path / "lab" / "a.csv", np.c_[rng.normal(size=(20, 8)), np.zeros(20)])
    short = _csv(tmp_path / "lab" / "b.csv", np.c_[rng.normal(size=(20, 7)), np.zeros(20)])
    _csv(tmp_path / "lab" / "c.csv", np.c_[rng.normal(size=(20, 8)), np.zeros(20)])
    labelled = FolderDataset(
        tmp_path / "lab", "{name}.csv", fs=100, column_map={"label": -1}, use_cache=False
    )
    assert_error_names_file(
        lambda: labelled.load(show_progress=False), short, "7 EMG channels, expected 8"
    )


def test_bad_labels_and_binary_files(tmp_path: Path) -> None:
    _csv(tmp_path / "C_9.csv", np.ones((5, 2)))
    with pytest.raises(DataFormatError, match=r"C_9.csv: unknown label code 9"):
        FolderDataset(
            tmp_path, "C_{class}.csv", fs=1, class_names=("rest", "fist"), use_cache=False
        ).load(show_progress=False)
    with pytest.raises(DataFormatError, match=r"C_9.csv: unknown label 9"):
        FolderDataset(
            tmp_path, "C_{class}.csv", fs=1, label_map={0: 0, 1: 1}, use_cache=False
        ).load(show_progress=False)
    (tmp_path / "x.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataFormatError, match=r"x.npy: not a readable .npy"):
        FolderDataset(tmp_path, "x.npy", fs=1, use_cache=False).load(show_progress=False)
    scipy.io.savemat(tmp_path / "two.mat", {"a": np.ones((5, 2)), "b": np.ones((5, 3))})
    with pytest.raises(DataFormatError, match=r"two.mat: cannot tell which variable"):
        FolderDataset(tmp_path, "two.mat", fs=1, use_cache=False).load(show_progress=False)
    with pytest.raises(DataFormatError, match=r"two.mat: missing variable\(s\) \['emg'\]"):
        FolderDataset(tmp_path, "two.mat", fs=1, column_map={"emg": "emg"}, use_cache=False).load(
            show_progress=False
        )
    (tmp_path / "bad.mat").write_bytes(b"MATLAB 5.0 MAT-file" + b"\0" * 40)
    with pytest.raises(DataFormatError, match=r"bad.mat: truncated or corrupt"):
        FolderDataset(tmp_path, "bad.mat", fs=1, use_cache=False).load(show_progress=False)


def test_arguments_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fs"):
        FolderDataset(tmp_path, "{a}.csv", fs=0)
    with pytest.raises(ConfigError, match="column_map"):
        FolderDataset(tmp_path, "{a}.csv", fs=1, column_map={"emgs": [0]})
    with pytest.raises(DataNotFoundError, match="no file under"):
        FolderDataset(tmp_path, "{a}.csv", fs=1).load(show_progress=False)
    with pytest.raises(DataNotFoundError, match="not found"):
        FolderDataset(tmp_path / "nope", "{a}.csv", fs=1).load(show_progress=False)


@pytest.mark.realdata
def test_real_libemg_onesubject_via_folder(tmp_path: Path) -> None:
    root = require_dataset("OneSubjectMyoDataset")
    ds = FolderDataset(
        root,
        "trial_{trial}/R_{repetition}_C_{class}.csv",
        fs=200,
        n_channels=8,
        layout=Layout.ring(8),
        class_names=LIBEMG_CLASSES,
        label_map=LIBEMG_MAP,
        cache_dir=tmp_path,
    )
    rs = ds.load(show_progress=False)
    # README: one person, 6 trials, 5 classes; 2 repetitions of each class per trial
    assert len(rs) == 60 and rs.unique("trial") == [1, 2, 3, 4, 5, 6]
    assert rs.unique("repetition") == [0, 1] and rs.unique("class") == [0, 1, 2, 3, 4]
    assert {int(r.labels[0]) for r in rs} == {0, 1, 2, 3, 4}
    rec = rs.select(trial=4, repetition=1, **{"class": 3})[0]
    raw = np.loadtxt(root / "trial_4" / "R_1_C_3.csv", delimiter=",")
    np.testing.assert_array_equal(rec.emg, raw)
    assert set(rec.labels) == {3}
