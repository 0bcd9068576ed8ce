"""contraction-intensity: levels and intensities, labels, bad input, the real recordings."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets import get_dataset
from myoshift.datasets.contraction_intensity import ContractionIntensity, intensity_of
from myoshift.recording import REST, RecordingSet
from myoshift.signal.preprocess import dataset_preprocess
from myoshift.signal.steps import make_steps
from tests.conftest import require_dataset
from tests.datasets.helpers import assert_error_names_file, load_real

FOLDER = "ContractionIntensity"


def _write(root: Path, subject: int, level: str, cls: int, rep: int, rows: int = 40) -> Path:
    path = root / FOLDER / f"S{subject}" / f"S{subject}_{level}_C{cls}_R{rep}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(cls * 10 + rep).normal(0, 0.05, size=(rows, 8))
    np.savetxt(path, x, delimiter=",", fmt="%.8g")
    return path


def _load(tmp_path: Path) -> RecordingSet:
    ds = get_dataset("contraction-intensity", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    return ds.load(show_progress=False)


def test_intensity_of_each_level() -> None:
    assert [intensity_of(v) for v in ("20P", "80P", "MVC")] == [20, 80, 100]
    assert [intensity_of(v) for v in ("Light", "Medium", "Hard", "Ramp")] == [None] * 4
    for bad in ("0P", "120P", "Max", "50"):
        with pytest.raises(ValueError, match="unknown level"):
            intensity_of(bad)


def test_levels_labels_and_repetitions(tmp_path: Path) -> None:
    for level in ("50P", "Ramp", "MVC"):
        for cls in (1, 7):
            _write(tmp_path, 2, level, cls, rep=2)
    _write(tmp_path, 10, "Light", 3, rep=4)
    rs = _load(tmp_path)
    assert rs.unique("subject") == [2, 10] and len(rs) == 7
    by_level = {r.meta["level"]: r.meta["intensity"] for r in rs}
    assert by_level == {"50P": 50, "Ramp": None, "MVC": 100, "Light": None}
    for rec in rs:
        code = int(rec.meta["source"].split("_C")[1][0])
        assert set(rec.labels) == {code - 1}  # C1 no movement -> REST
        assert rec.repetition is not None and set(rec.repetition) == {rec.meta["repetition"]}
        assert rec.fs == 1000.0 and rec.n_channels == 8 and rec.layout.kind == "ring"
    assert ContractionIntensity.class_names[REST] == "no movement"
    assert ContractionIntensity.class_names[6] == "hand open"
    (light,) = rs.select(subject=10)
    assert light.meta["repetition"] == 4 and set(light.labels) == {2}


def test_cache_keeps_missing_intensity(tmp_path: Path) -> None:
    _write(tmp_path, 1, "Hard", 2, rep=1)
    _write(tmp_path, 1, "30P", 2, rep=1)
    first, again = _load(tmp_path), _load(tmp_path)
    assert list((tmp_path / "cache" / "contraction-intensity").glob("*.npz"))
    assert [r.meta["intensity"] for r in again] == [r.meta["intensity"] for r in first]
    assert [r.meta["intensity"] for r in again] == [30, None]


def test_incomplete_levels_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(tmp_path, 1, "MVC", 1, rep=1)
    with caplog.at_level(logging.WARNING, logger="myoshift.datasets.contraction_intensity"):
        _load(tmp_path)
    assert "level MVC has 1 files, expected 14" in caplog.text


def test_declared_preprocessing_removes_the_offset(tmp_path: Path) -> None:
    specs = dataset_preprocess("contraction-intensity")
    assert specs == [{"dc-remove": {"cutoff": 1.0}}]
    path = _write(tmp_path, 1, "20P", 2, rep=1, rows=3000)
    np.savetxt(path, np.loadtxt(path, delimiter=",") - 0.075, delimiter=",", fmt="%.8g")
    (rec,) = _load(tmp_path)
    assert np.abs(rec.emg.mean(axis=0)).min() > 0.07  # loaded as published
    (step,) = make_steps("preprocess", specs)
    out = step.fit(rec).transform(rec)
    assert np.abs(out.emg.mean(axis=0)).max() < 0.01


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("S1_50P_C8_R1.csv", "0,0,0,0,0,0,0,0\n", "unknown class code C8"),
        ("S1_50P_C0_R1.csv", "0,0,0,0,0,0,0,0\n", "unknown class code C0"),
        ("S1_Max_C1_R1.csv", "0,0,0,0,0,0,0,0\n", "unknown level 'Max'"),
        ("S1_50P_C1_R0.csv", "0,0,0,0,0,0,0,0\n", "repetition R0"),
        ("S3_50P_C1_R1.csv", "0,0,0,0,0,0,0,0\n", "subject S3 but lies in folder S1"),
        ("S1_50P_C2_R1.csv", "", "empty file"),
        ("S1_50P_C2_R1.csv", "0,0,0,0,0,0,0,0\n0,0,0\n", "line 2 has 3 fields"),
        ("S1_50P_C2_R1.csv", "0,0,0,0,0,0,0\n", "7 columns per line, expected 8"),
        ("S1_50P_C2_R1.csv", "0,0,0,0,0,0,0,0\n0,0,0,NaN,0,0,0,0\n", "non-finite"),
        ("S1_50P_C2.csv", "0,0,0,0,0,0,0,0\n", "does not match"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, name: str, content: str, needle: str) -> None:
    good = _write(tmp_path, 1, "50P", 1, rep=1)
    bad = good.parent / name
    bad.write_text(content)
    assert_error_names_file(lambda: _load(tmp_path), bad, needle)


# -- the real recordings ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> RecordingSet:
    return load_real("contraction-intensity", FOLDER, tmp_path_factory)


@pytest.mark.realdata
def test_real_counts_match_the_description(real: RecordingSet) -> None:
    meta = real.meta
    assert real.unique("subject") == [1]  # subject S1 of 10
    levels = [f"{p}P" for p in range(20, 90, 10)] + ["Hard", "Light", "Medium", "MVC", "Ramp"]
    assert sorted(real.unique("level")) == sorted(levels)
    # 4 repetitions of each of the 7 classes per level; MVC 2
    per_level = meta.groupby("level")["repetition"].agg(lambda r: sorted(set(r)))
    assert all(v == ([1, 2] if k == "MVC" else [1, 2, 3, 4]) for k, v in per_level.items())
    assert len(real) == 11 * 7 * 4 + 7 * 2
    assert set(meta.groupby(["level", "repetition"]).size()) == {7}
    assert sorted({int(r.labels[0]) for r in real}) == list(range(7))
    assert set(meta.fs) == {1000.0} and set(meta.n_channels) == {8}
    assert meta.n_samples.min() >= 2900  # about 3 s each
    assert sorted(meta.intensity.dropna().unique()) == [20, 30, 40, 50, 60, 70, 80, 100]


@pytest.mark.realdata
def test_real_spot_check_against_raw_file(real: RecordingSet) -> None:
    root = require_dataset(FOLDER)
    rel = "S1/S1_Ramp_C4_R3.csv"
    (rec,) = real.select(source=rel)
    np.testing.assert_allclose(rec.emg, np.loadtxt(root / rel, delimiter=","), rtol=1e-6)
    assert set(rec.labels) == {3} and rec.class_names[3] == "wrist pronation"
    assert rec.meta["level"] == "Ramp" and rec.meta["intensity"] is None
