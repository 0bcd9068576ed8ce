"""flexemg: grid mapping, gesture schedule, bad .mat files, and the real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from myoshift.datasets import get_dataset
from myoshift.datasets.flexemg import FlexEMG, gesture_schedule
from myoshift.errors import DataFormatError
from tests.conftest import require_dataset

NAMES = ["Fist", "Raise", "Lower", "Open"]


def _arraymap(root: Path, amap: np.ndarray | None = None) -> Path:
    if amap is None:
        amap = np.arange(1, 65).reshape(16, 4)[::-1]  # reversed rows, like the real map
    path = root / "flexemg" / "arraymap.mat"
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"arraymap": amap.astype(np.uint8)})
    return path


def _trial(
    root: Path,
    folder: str = "002-Session1Train",
    trial: int = 1,
    n: int = 500,
    sequence: tuple[int, ...] = (3, 4, 2, 1),
    names: list[str] = NAMES,
    reps: int = 1,
    gest: int = 100,
    rest: int = 50,
    drop: str | None = None,
) -> Path:
    rng = np.random.default_rng(trial)
    p: dict[str, object] = {
        "lsbmV": 0.5,
        "labelnames": np.array(names, dtype=object),
        "numlabels": len(names),
        "sequence": np.array(sequence, dtype=np.uint8),
        "reps": reps,
        "timegest": gest,
        "timerest": rest,
    }
    if drop:
        del p[drop]
    path = root / "flexemg" / "data" / folder / f"{folder[:3]}-{trial:03d}.mat"
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = rng.integers(0, 20000, size=(n, 96)).astype(np.uint16)
    scipy.io.savemat(path, {"raw": raw, "p": p})
    return path


def _load(root: Path) -> list:
    return list(FlexEMG(data_dir=root, use_cache=False).load(show_progress=False))


def test_schedule_rest_gestures_rest() -> None:
    slot, rep = gesture_schedule(500, np.array([3, 4, 2, 1]), gest=100, rest=50, reps=1)
    assert (slot[:50] == 0).all() and (slot[450:] == 0).all()
    for j in range(4):
        assert (slot[50 + 100 * j : 150 + 100 * j] == j + 1).all()
    assert set(rep[50:450]) == {1} and set(rep[:50]) == {0}
    slot, rep = gesture_schedule(1000, np.array([1, 2]), gest=100, rest=50, reps=2)
    # rest 50, g g (200), rest 50, g g (200), rest
    assert slot[49] == 0 and slot[50] == 1 and slot[249] == 2 and slot[250] == 0
    assert slot[300] == 1 and rep[300] == 2 and slot[500] == 0


def test_parse_grid_labels_and_meta(tmp_path: Path) -> None:
    _arraymap(tmp_path)
    path = _trial(tmp_path, trial=3)
    _trial(tmp_path, folder="002-Session2Test", trial=1)
    recs = get_dataset("flexemg", data_dir=tmp_path, cache_dir=tmp_path / "c").load(
        show_progress=False
    )
    assert len(recs) == 2
    rec = recs.select(split="train")[0]
    assert rec.meta == {
        "dataset": "flexemg",
        "subject": 2,
        "session": 1,
        "split": "train",
        "trial": 3,
        "source": "data/002-Session1Train/002-003.mat",
    }
    assert recs.select(split="test")[0].meta["session"] == 2
    raw = scipy.io.loadmat(path)["raw"]
    np.testing.assert_allclose(rec.emg, raw[:, :64] * 0.5)
    grid = rec.layout.grid_index()
    assert rec.layout.shape == (16, 4) and grid[0, 0] == 60 and grid[15, 3] == 3
    # sequence (3, 4, 2, 1) = Lower, Open, Raise, Fist -> codes 3, 4, 2, 1
    expected = np.repeat([0, 3, 4, 2, 1, 0], [50, 100, 100, 100, 100, 50])
    np.testing.assert_array_equal(rec.labels, expected)
    assert rec.repetition is not None
    assert set(rec.repetition[rec.labels > 0]) == {3} and set(rec.repetition[:50]) == {0}


def test_label_names_are_matched_by_name(tmp_path: Path) -> None:
    _arraymap(tmp_path)
    _trial(tmp_path, names=["open", "lower", "raise", "fist"], sequence=(1, 2, 3, 4))
    (rec,) = _load(tmp_path)
    assert list(rec.labels[50:450:100]) == [4, 3, 2, 1]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"drop": "timegest"}, "lacks field"),
        ({"sequence": (1, 2, 5)}, "p.sequence"),
        ({"n": 300}, "truncated"),
        ({"names": ["Fist", "Raise", "Lower", "Wave"]}, "unknown label name"),
        ({"gest": -5}, "positive"),
    ],
)
def test_bad_trial_files_name_the_file(tmp_path: Path, kwargs: dict, needle: str) -> None:
    _arraymap(tmp_path)
    path = _trial(tmp_path, **kwargs)
    with pytest.raises(DataFormatError) as err:
        _load(tmp_path)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_corrupt_and_missing_variables(tmp_path: Path) -> None:
    _arraymap(tmp_path)
    path = _trial(tmp_path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataFormatError, match="truncated or corrupt") as err:
        _load(tmp_path)
    assert str(path) in str(err.value)
    scipy.io.savemat(path, {"raw": np.zeros((500, 96), np.uint16)})
    with pytest.raises(DataFormatError, match=r"missing variable\(s\) \['p'\]"):
        _load(tmp_path)


def test_bad_or_missing_arraymap(tmp_path: Path) -> None:
    _trial(tmp_path)
    with pytest.raises(DataFormatError, match="arraymap.mat"):
        _load(tmp_path)
    amap = np.arange(1, 65).reshape(16, 4)
    amap[0, 0] = 2  # duplicate channel
    path = _arraymap(tmp_path, amap)
    with pytest.raises(DataFormatError, match="permutation") as err:
        _load(tmp_path)
    assert str(path) in str(err.value)


@pytest.mark.realdata
def test_real_flexemg_counts_and_schedule(tmp_path: Path) -> None:
    root = require_dataset("flexemg")
    rs = get_dataset("flexemg", data_dir=root.parent, cache_dir=tmp_path).load(show_progress=False)
    # README: subject 001, Session1Train (10 trials) and Session2Test (10 trials)
    assert rs.unique("subject") == [1] and len(rs) == 20
    assert rs.unique("session") == [1, 2]
    assert rs.select(session=1).unique("split") == ["train"]
    assert rs.select(session=2).unique("split") == ["test"]
    assert rs.select(session=1).unique("trial") == list(range(1, 11))
    assert rs.class_names == ("rest", "fist", "raise", "lower", "open")
    for rec in rs:
        assert rec.fs == 1000.0 and rec.n_channels == 64 and rec.n_samples == 28000
        assert rec.layout.kind == "grid" and rec.layout.shape == (16, 4)
        # 5 s rest, 4 x 5 s gestures, 3 s rest
        np.testing.assert_array_equal(np.bincount(rec.labels), [8000, 5000, 5000, 5000, 5000])

    # spot-check one file against its raw content read directly
    path = root / "data" / "001-Session2Test" / "001-007.mat"
    d = scipy.io.loadmat(path, simplify_cells=True)
    rec = rs.select(session=2, trial=7)[0]
    np.testing.assert_allclose(rec.emg[::1000], d["raw"][::1000, :64] * d["p"]["lsbmV"], rtol=1e-6)
    names = [str(n).lower() for n in d["p"]["labelnames"]]
    for j, s in enumerate(d["p"]["sequence"]):
        start = 5000 + 5000 * j
        assert rec.class_names[rec.labels[start]] == names[s - 1]
        assert rec.labels[start - 1] != rec.labels[start]
    amap = scipy.io.loadmat(root / "arraymap.mat")["arraymap"]
    np.testing.assert_array_equal(rec.layout.grid_index(), amap - 1)
