"""Armband placement: rotation estimates (labelled and not), advice, references on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets.synthetic import SyntheticDataset
from myoshift.errors import ConfigError, DataFormatError, ShapeError
from myoshift.recording import Layout, Recording
from myoshift.signal.layouts import rotate_ring
from myoshift.signal.placement import (
    PlacementReference,
    estimate_rotation,
    make_reference,
    placement_advice,
)
from myoshift.signal.quality import check_recording
from tests.conftest import require_dataset


@pytest.fixture(scope="module")
def cycles() -> list[Recording]:
    """Three cycles of rest and 5 gestures of one synthetic person (one donning)."""
    ds = SyntheticDataset(n_subjects=1, n_sessions=1, n_repetitions=3, seed=3)
    return ds.generate_subject(1)


@pytest.fixture(scope="module")
def reference(cycles: list[Recording]) -> PlacementReference:
    return make_reference(cycles[:2])


def _rotated(rec: Recording, k: float) -> np.ndarray:
    """The recording as if the armband sat ``k`` electrodes round (`rotate_ring`)."""
    return rotate_ring(rec.emg.T[None], k)[0].T


@pytest.mark.parametrize("k", range(8))
def test_labelled_rotation_is_exact(cycles: list[Recording], reference, k: int) -> None:
    new = cycles[2]
    est = estimate_rotation(_rotated(new, k), reference, new.fs, new.labels, new.layout)
    assert est.method == "labelled" and est.rotation == k
    assert est.shift == (k - 8 if k > 4 else k) and est.margin > 0


@pytest.mark.parametrize("k", [0, 3, 6])
def test_unlabelled_rotation(cycles: list[Recording], reference, k: int) -> None:
    new = cycles[2]
    est = estimate_rotation(_rotated(new, k), reference, new.fs, layout=new.layout)
    assert est.method == "unlabelled" and est.rotation == k and est.extra["windows"] > 10


def test_unlabelled_reference(cycles: list[Recording]) -> None:
    ref = make_reference(np.concatenate([r.emg for r in cycles[:2]]), 200.0)
    assert not ref.labelled and ref.patterns.shape[1] == 8
    new = cycles[2]
    assert estimate_rotation(_rotated(new, 2), ref, 200.0, layout=Layout.ring(8)).rotation == 2


def test_one_gesture_and_rest_suffice(cycles: list[Recording], reference) -> None:
    new = cycles[2]
    keep = np.isin(new.labels, [0, 3])
    x, y = _rotated(new, 5)[keep], new.labels[keep]
    est = estimate_rotation(x, reference, 200.0, y, Layout.ring(8))
    assert est.rotation == 5 and est.extra["gestures"] == [3]


def test_fractional_rotation_reads_the_nearest(cycles: list[Recording], reference) -> None:
    new = cycles[2]
    est = estimate_rotation(_rotated(new, 1.3), reference, 200.0, new.labels, Layout.ring(8))
    assert est.rotation == 1


def test_advice_in_plain_words() -> None:
    assert "no turn needed" in placement_advice(0, 8)
    two = placement_advice(2, 8)
    assert "rotate it 2 electrodes in the direction of increasing channel numbers" in two
    assert "channel 0 comes to where channel 2 is now" in two
    back = placement_advice(7, 8)  # rotation 7 of 8 is one electrode the other way
    assert "1 electrode in the direction of decreasing" in back and "channel 7 is now" in back


def test_placement_in_the_quality_report(cycles: list[Recording], reference) -> None:
    new = cycles[2]
    report = check_recording(_rotated(new, 1), 200.0, Layout.ring(8), new.labels, reference)
    assert report.faults == [] and not report.ok  # rotated: not worn as in the reference
    doc = report.to_json()["placement"]
    assert doc["rotation"] == 1 and doc["shift"] == 1 and "rotate it 1 electrode" in doc["advice"]
    assert check_recording(new, reference=reference).ok


def test_save_and_load(tmp_path: Path, reference: PlacementReference) -> None:
    path = reference.save(tmp_path / "ref.npz")
    back = PlacementReference.load(path)
    np.testing.assert_array_equal(back.patterns, reference.patterns)
    np.testing.assert_array_equal(back.classes, reference.classes)
    np.save(tmp_path / "other.npy", np.zeros(3))
    (tmp_path / "other.npz").write_bytes((tmp_path / "other.npy").read_bytes())
    with pytest.raises(DataFormatError, match="other.npz: not a placement reference"):
        PlacementReference.load(tmp_path / "other.npz")
    with pytest.raises(ConfigError, match="missing.npz: placement reference not found"):
        PlacementReference.load(tmp_path / "missing.npz")


def test_refuses_another_channel_count(reference: PlacementReference) -> None:
    x = np.random.default_rng(0).normal(0, 1, (2000, 10))
    with pytest.raises(ShapeError, match="has 10 channels but the placement reference .* has 8"):
        estimate_rotation(x, reference, 200.0, layout=Layout.ring(10))


def test_needs_a_ring_and_activity(reference: PlacementReference) -> None:
    x = np.random.default_rng(1).normal(0, 1, (2000, 8))
    with pytest.raises(ConfigError, match="placement needs a ring layout"):
        estimate_rotation(x, reference, 200.0, layout=Layout.plain(8))
    with pytest.raises(ShapeError, match="no active windows"):
        make_reference(x, 200.0)  # steady noise: nothing rises above rest
    with pytest.raises(ShapeError, match="too short for placement"):
        estimate_rotation(x[:50], reference, 200.0, layout=Layout.ring(8))


def test_real_myoarmband_sessions_agree() -> None:
    """A person's Test0 cycle against their training0 session: unrotated, then rotated."""
    root = require_dataset("MyoArmbandDataset")
    from myoshift.datasets import load_dataset

    rs = load_dataset("myoarmband", subjects=["eval-Male3"], data_dir=root.parent)
    ref = make_reference(list(rs.select(session="training0")))
    cycle = list(rs.select(session="Test0", cycle=2))
    x = np.concatenate([r.emg for r in cycle])
    y = np.concatenate([r.labels for r in cycle])
    for k in (0, 3):
        for labels in (y, None):
            est = estimate_rotation(np.roll(x, k, axis=1), ref, 200.0, labels, Layout.ring(8))
            assert est.rotation == k
