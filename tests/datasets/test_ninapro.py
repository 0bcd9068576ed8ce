"""ninapro-db1: exercise label offsets, glove stream, bad .mat files, and the real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from myoshift.datasets import get_dataset
from myoshift.datasets.ninapro import EXERCISE_MOVEMENTS, LABEL_OFFSETS, NinaproDB1
from myoshift.errors import DataFormatError
from tests.conftest import require_dataset


def _mat(root: Path, subject: int, exercise: int, labels: np.ndarray, **override: object) -> Path:
    n = len(labels)
    rng = np.random.default_rng(subject * 10 + exercise)
    variables: dict[str, object] = {
        "emg": rng.random((n, 10)),
        "restimulus": labels.astype(np.uint8)[:, None],
        "rerepetition": (labels > 0).astype(np.uint8)[:, None],
        "stimulus": labels.astype(np.uint8)[:, None],
        "glove": rng.random((n, 22)),
        "subject": np.uint8(subject),
        "exercise": np.uint8(exercise),
    }
    for k, v in override.items():
        if v is None:
            del variables[k]
        else:
            variables[k] = v
    path = root / "NinaproDB1" / f"s{subject}" / f"S{subject}_A1_E{exercise}.mat"
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, variables)
    return path


def _local_labels(exercise: int) -> np.ndarray:
    n_moves = len(EXERCISE_MOVEMENTS[exercise])
    return np.repeat(np.r_[0, np.arange(1, n_moves + 1)], 5)


def test_class_table_has_52_movements_in_ninapro_order() -> None:
    names = NinaproDB1.class_names
    assert len(names) == 53 and names[0] == "rest"
    assert names[1] == "index flexion" and names[12] == "thumb extension"
    assert names[13] == "thumb up" and names[29] == "wrist extension with closed hand"
    assert names[30] == "large diameter grasp" and names[52] == "cut something"
    assert LABEL_OFFSETS == {1: 0, 2: 12, 3: 29}


@pytest.mark.parametrize("exercise", [1, 2, 3])
def test_exercise_offsets_and_glove(tmp_path: Path, exercise: int) -> None:
    labels = _local_labels(exercise)
    _mat(tmp_path, 5, exercise, labels)
    (rec,) = get_dataset("ninapro-db1", data_dir=tmp_path, cache_dir=tmp_path / "c").load(
        show_progress=False
    )
    offset = LABEL_OFFSETS[exercise]
    expected = np.where(labels == 0, 0, labels + offset)
    np.testing.assert_array_equal(rec.labels, expected)
    assert rec.meta["subject"] == 5 and rec.meta["exercise"] == exercise
    assert rec.aux["glove"].data.shape == (len(labels), 22) and rec.aux["glove"].fs == 100.0
    assert rec.class_names[rec.labels.max()] == EXERCISE_MOVEMENTS[exercise][-1]
    assert rec.repetition is not None and rec.repetition.max() == 1


def test_globally_numbered_file_is_kept(tmp_path: Path) -> None:
    local = _local_labels(2)
    glob = np.where(local == 0, 0, local + 12)
    _mat(tmp_path, 1, 2, glob)
    (rec,) = NinaproDB1(data_dir=tmp_path, use_cache=False).load(show_progress=False)
    np.testing.assert_array_equal(rec.labels, glob)


def test_missing_glove_loads_without_aux(tmp_path: Path) -> None:
    _mat(tmp_path, 1, 1, _local_labels(1), glove=None)
    (rec,) = NinaproDB1(data_dir=tmp_path, use_cache=False).load(show_progress=False)
    assert "glove" not in rec.aux


def _bad_cases(tmp_path: Path) -> list[tuple[Path, str]]:
    labels = _local_labels(1)
    n = len(labels)
    out = []
    out.append((_mat(tmp_path / "a", 1, 1, labels, restimulus=None), "missing variable"))
    out.append((_mat(tmp_path / "b", 1, 1, labels, emg=np.ones((n, 8))), "shape"))
    nan_emg = np.ones((n, 10))
    nan_emg[3, 2] = np.nan
    out.append((_mat(tmp_path / "c", 1, 1, labels, emg=nan_emg), "nan"))
    out.append((_mat(tmp_path / "d", 1, 1, np.r_[labels, 40]), "unknown movement code 40"))
    out.append(
        (_mat(tmp_path / "e", 1, 1, labels, rerepetition=np.zeros((n - 3, 1))), "rerepetition")
    )
    good = _mat(tmp_path / "f", 1, 1, labels)
    good.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    out.append((good, "truncated or corrupt"))
    empty = _mat(tmp_path / "g", 1, 1, labels)
    empty.write_bytes(b"")
    out.append((empty, "empty"))
    return out


@pytest.mark.parametrize(("exercise", "expected"), [(1, "1..12"), (2, "1..17 (or 13..29)")])
def test_unknown_code_message_says_each_range_once(
    tmp_path: Path, exercise: int, expected: str
) -> None:
    path = _mat(tmp_path, 1, exercise, np.r_[_local_labels(exercise), 40])
    with pytest.raises(DataFormatError) as err:
        NinaproDB1(data_dir=tmp_path, use_cache=False).load(show_progress=False)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    assert message.endswith(f"expected 0 (rest) and {expected}")


def test_bad_files_name_the_file(tmp_path: Path) -> None:
    for path, needle in _bad_cases(tmp_path):
        ds = NinaproDB1(data_dir=path.parents[2], use_cache=False)
        with pytest.raises(DataFormatError) as err:
            ds.load(show_progress=False)
        assert str(path) in str(err.value), needle
        assert needle in str(err.value).lower(), (needle, str(err.value))


@pytest.mark.realdata
def test_real_ninapro_counts(tmp_path: Path) -> None:
    root = require_dataset("NinaproDB1")
    rs = get_dataset("ninapro-db1", data_dir=root.parent, cache_dir=tmp_path).load(
        show_progress=False
    )
    # README: exercise 1 only, subjects 1-4 and 7-12
    assert rs.unique("subject") == [1, 2, 3, 4, 7, 8, 9, 10, 11, 12]
    assert len(rs) == 10 and rs.unique("exercise") == [1]
    for rec in rs:
        assert rec.fs == 100.0 and rec.n_channels == 10 and rec.layout.kind == "plain"
        assert set(np.unique(rec.labels)) == set(range(13))  # rest + 12 finger movements
        assert rec.repetition is not None
        assert set(np.unique(rec.repetition)) == set(range(11))  # 0 (rest) + 10 reps
        assert rec.aux["glove"].data.shape == (rec.n_samples, 22)
        assert 900 < rec.duration < 1100  # ~16-17 minutes of exercise 1


@pytest.mark.realdata
def test_real_ninapro_labels_match_raw_file() -> None:
    root = require_dataset("NinaproDB1")
    path = root / "s3" / "S3_A1_E1.mat"
    raw = scipy.io.loadmat(path, variable_names=["restimulus", "rerepetition", "emg"])
    rec = NinaproDB1(data_dir=root.parent, use_cache=False).parse_file(path, exercise=1)
    np.testing.assert_array_equal(rec.labels, raw["restimulus"].ravel())
    np.testing.assert_array_equal(rec.repetition, raw["rerepetition"].ravel())
    np.testing.assert_allclose(rec.emg[::997], raw["emg"][::997], rtol=1e-6)
    # movement 5 (ring flexion), repetition 7: one contiguous block
    idx = np.flatnonzero((rec.labels == 5) & (rec.repetition == 7))
    assert len(idx) > 50 and np.all(np.diff(idx) == 1)
