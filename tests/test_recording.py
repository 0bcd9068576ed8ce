import numpy as np
import pytest

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import UNLABELLED, AuxStream, Layout, Recording, RecordingSet
from tests.conftest import make_recording


def test_recording_validates_shapes() -> None:
    with pytest.raises(ShapeError, match="labels"):
        Recording(np.zeros((10, 2)), 100.0, np.zeros(9), Layout.plain(2))
    with pytest.raises(ShapeError, match="layout has 3"):
        Recording(np.zeros((10, 2)), 100.0, np.zeros(10), Layout.plain(3))
    with pytest.raises(ShapeError, match="sampling rate"):
        Recording(np.zeros((10, 2)), 0.0, np.zeros(10), Layout.plain(2))
    with pytest.raises(ShapeError, match="below"):
        Recording(np.zeros((3, 2)), 10.0, np.array([0, -2, 1]), Layout.plain(2))


def test_recording_casts_and_broadcasts() -> None:
    r = Recording(np.ones((5, 2), dtype=np.float64), 10.0, 3, Layout.plain(2), repetition=2)
    assert r.emg.dtype == np.float32
    assert r.labels.tolist() == [3] * 5
    assert r.repetition is not None and r.repetition.tolist() == [2] * 5
    assert r.duration == pytest.approx(0.5)


def test_grid_layout_map() -> None:
    lay = Layout.grid(2, 2, [[3, 2], [1, -1]])
    assert lay.n_channels == 3
    assert lay.grid_index().tolist() == [[3, 2], [1, -1]]
    assert Layout.from_dict(lay.to_dict()) == lay
    with pytest.raises(ShapeError):
        Layout.grid(2, 3, [[0, 1], [2, 3]])


def test_aux_stream_interpolates() -> None:
    s = AuxStream(np.array([[0.0], [10.0]]), fs=1.0)
    assert s.at(np.array([0.5]))[0, 0] == pytest.approx(5.0)


def test_recordingset_select_groupby() -> None:
    rs = RecordingSet(make_recording(100, subject=s, day=d) for s in (1, 2) for d in (1, 2, 3))
    assert len(rs) == 6
    assert rs.meta.shape[0] == 6 and {"subject", "day", "n_samples"} <= set(rs.meta.columns)
    assert len(rs.select(subject=1)) == 3
    assert len(rs.select(day=[1, 3])) == 4
    assert len(rs.select(day=lambda d: d > 1)) == 4
    groups = dict(rs.groupby("day"))
    assert sorted(groups) == [1, 2, 3] and all(len(g) == 2 for g in groups.values())
    with pytest.raises(ConfigError, match="unknown metadata column"):
        rs.select(nope=1)
    assert rs.unique("subject") == [1, 2]
    assert UNLABELLED == -1
