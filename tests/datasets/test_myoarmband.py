"""myoarmband: file layout, labels and cycles, bad input, and the real recordings."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets import get_dataset
from myoshift.datasets.myoarmband import MyoArmband
from myoshift.recording import RecordingSet
from tests.conftest import require_dataset
from tests.datasets.helpers import assert_error_names_file, load_real

FOLDER = "MyoArmbandDataset"


def _write_session(
    root: Path, split: str, person: str, session: str, ks: range | list[int] = range(28)
) -> Path:
    folder = root / FOLDER / split / person / session
    folder.mkdir(parents=True, exist_ok=True)
    for k in ks:
        rng = np.random.default_rng(k)
        data = rng.integers(-128, 128, size=(50 + k, 8)).astype("<i2")
        (folder / f"classe_{k}.dat").write_bytes(data.tobytes())
    return folder


def _load(tmp_path: Path) -> RecordingSet:
    return get_dataset("myoarmband", data_dir=tmp_path, cache_dir=tmp_path / "cache").load(
        show_progress=False
    )


def test_synthetic_layout_labels_cycles_and_meta(tmp_path: Path) -> None:
    _write_session(tmp_path, "PreTrainingDataset", "Male0", "training0")
    for session in ("training0", "Test0"):  # Test1 missing: loads what is there
        _write_session(tmp_path, "EvaluationDataset", "Male0", session)
    rs = _load(tmp_path)
    assert len(rs) == 3 * 28
    # the same folder name in both sets is two different people
    assert rs.unique("subject") == ["eval-Male0", "pre-Male0"]
    assert rs.unique("person") == ["Male0"]
    assert rs.unique("split") == ["evaluation", "pretraining"]
    assert rs.unique("session") == ["Test0", "training0"]
    assert rs.unique("gender") == ["male"]
    for rec in rs:
        k = rec.meta["file_index"]
        assert rec.n_samples == 50 + k and rec.n_channels == 8 and rec.fs == 200.0
        assert set(rec.labels) == {k % 7} and rec.meta["gesture"] == k % 7
        assert rec.repetition is not None and set(rec.repetition) == {k // 7 + 1}
        assert rec.meta["cycle"] == k // 7 + 1
        assert rec.layout.kind == "ring" and rec.class_names == MyoArmband.class_names
    rec = rs.select(subject="pre-Male0", file_index=9)[0]
    raw = np.random.default_rng(9).integers(-128, 128, size=(59, 8))
    np.testing.assert_array_equal(rec.emg, raw)


def test_missing_files_in_a_session_warn_and_load_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write_session(tmp_path, "PreTrainingDataset", "Female4", "training0", ks=[0, 1, 2])
    with caplog.at_level(logging.WARNING, logger="myoshift.datasets.myoarmband"):
        rs = _load(tmp_path)
    assert len(rs) == 3 and rs.unique("gender") == ["female"]
    assert "3 of 28 files" in caplog.text


def test_missing_session_warns_like_a_missing_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An evaluation person without ``Test1/`` loads the other sessions, with a warning
    naming the subject and the session (as a session missing some files does)."""
    for session in ("training0", "Test0"):
        _write_session(tmp_path, "EvaluationDataset", "Male3", session)
    _write_session(tmp_path, "PreTrainingDataset", "Male3", "training0")
    with caplog.at_level(logging.WARNING, logger="myoshift.datasets.myoarmband"):
        rs = _load(tmp_path)
    assert sorted(rs.select(subject="eval-Male3").unique("session")) == ["Test0", "training0"]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1, warned  # the complete pre-training person is silent
    assert "eval-Male3/Test1" in warned[0] and "EvaluationDataset/Male3/Test1/" in warned[0]


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("classe_3.dat", b"", "empty file"),
        ("classe_3.dat", b"\x01\x02\x03", "truncated"),
        ("classe_3.dat", b"\x00" * 18, "truncated"),
        ("classe_28.dat", b"\x00" * 16, "file index 28 outside 0..27"),
        ("classe_x.dat", b"\x00" * 16, "does not match"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, name: str, content: bytes, needle: str) -> None:
    folder = _write_session(tmp_path, "EvaluationDataset", "Female1", "Test1", ks=[0])
    bad = folder / name
    bad.write_bytes(content)
    assert_error_names_file(lambda: _load(tmp_path), bad, needle)


# -- the real recordings ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> RecordingSet:
    return load_real("myoarmband", FOLDER, tmp_path_factory)


@pytest.mark.realdata
def test_real_counts_match_the_description(real: RecordingSet) -> None:
    meta = real.meta
    pre, ev = real.select(split="pretraining"), real.select(split="evaluation")
    assert pre.meta.subject.nunique() == 22 and ev.meta.subject.nunique() == 18
    assert pre.unique("session") == ["training0"]
    assert ev.unique("session") == ["Test0", "Test1", "training0"]
    assert len(pre) == 22 * 28 and len(ev) == 18 * 3 * 28
    assert set(meta.fs) == {200.0} and set(meta.n_channels) == {8}
    assert sorted({int(c) for r in real for c in np.unique(r.labels)}) == list(range(7))
    assert real.unique("cycle") == [1, 2, 3, 4]
    assert set(meta.gender) == {"female", "male"}
    # every (subject, session) holds 4 cycles of each of the 7 gestures
    counts = meta.groupby(["subject", "session", "gesture"]).size()
    assert set(counts) == {4}
    assert 700 < meta.n_samples.min() and meta.n_samples.max() < 1100  # ~5 s at 200 Hz


@pytest.mark.realdata
def test_real_spot_check_against_raw_file(real: RecordingSet) -> None:
    root = require_dataset(FOLDER)
    for rel, k in [
        ("EvaluationDataset/Male3/Test1/classe_19.dat", 19),
        ("PreTrainingDataset/Female0/training0/classe_0.dat", 0),
    ]:
        raw = np.fromfile(root / rel, dtype="<i2").reshape(-1, 8)
        (rec,) = real.select(source=rel)
        np.testing.assert_array_equal(rec.emg, raw.astype(np.float32))
        assert np.abs(raw).max() <= 128
        assert set(rec.labels) == {k % 7}
        assert rec.repetition is not None and set(rec.repetition) == {k // 7 + 1}
        assert rec.meta["file_index"] == k
