"""The Dataset contract: registry, data-dir resolution, subject filtering, errors.

`TinyDataset` (a loader over small ``.npy`` files written by the tests) is also used by
``test_cache.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from myoshift.datasets import base
from myoshift.datasets.base import Dataset, Unit, get_dataset, load_dataset, register_dataset
from myoshift.datasets.paths import resolve_cache_dir, resolve_data_dir
from myoshift.errors import ConfigError, DataNotFoundError
from myoshift.recording import AuxStream, Layout, Recording


class TinyDataset(Dataset):
    """``Tiny/s<subject>/r<k>.npy``: (n, 5) float arrays, 4 EMG channels + a label column."""

    name = "test-tiny"
    folder = "Tiny"
    url = "https://example.org/tiny"
    fs = 100.0
    n_channels = 4
    class_names = ("rest", "open", "close")
    parse_calls: ClassVar[list[str]] = []

    def units(self, root: Path) -> list[Unit]:
        out = []
        for d in sorted(root.glob("s*")):
            files = tuple(sorted(d.glob("r*.npy")))
            if files:
                out.append(Unit(d.name, int(d.name[1:]), files))
        return out

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        type(self).parse_calls.append(unit.key)
        recs = []
        for f in unit.files:
            a = np.load(f)
            n = len(a)
            recs.append(
                Recording(
                    a[:, :4],
                    self.fs,
                    a[:, 4].astype(np.int64),
                    Layout.grid(2, 2, [[1, 0], [3, 2]]),
                    repetition=(np.arange(n) // 10) % 3,
                    aux={"imu": AuxStream(a[::2, :3] * 2, self.fs / 2, ("x", "y", "z"), 0.01)},
                    meta={
                        "dataset": self.name,
                        "subject": unit.subject,
                        "trial": int(f.stem[1:]),
                        "gain": np.float64(1.5),
                        "left": True,
                        "source": str(f),
                    },
                    class_names=self.class_names,
                )
            )
        return recs


def write_tiny(data_dir: Path, subjects: tuple[int, ...] = (1, 2), n_files: int = 2) -> Path:
    """Write a small TinyDataset under ``data_dir`` and return its folder."""
    rng = np.random.default_rng(0)
    root = data_dir / "Tiny"
    for s in subjects:
        d = root / f"s{s}"
        d.mkdir(parents=True, exist_ok=True)
        for k in range(1, n_files + 1):
            n = 200 + 10 * k + s
            a = rng.standard_normal((n, 5)).astype(np.float32)
            a[:, 4] = rng.integers(-1, 3, n)
            np.save(d / f"r{k}.npy", a)
    return root


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    TinyDataset.parse_calls.clear()
    write_tiny(tmp_path / "data")
    return tmp_path / "data"


def test_data_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MYOSHIFT_DATA", raising=False)
    assert resolve_data_dir() == tmp_path / "xdg" / "myoshift" / "data"
    monkeypatch.setenv("MYOSHIFT_DATA", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert TinyDataset().data_dir == tmp_path / "env"
    assert TinyDataset(data_dir=tmp_path / "explicit").data_dir == tmp_path / "explicit"
    # the parsed cache lives apart from the (possibly read-only) data
    monkeypatch.delenv("MYOSHIFT_CACHE", raising=False)
    assert resolve_cache_dir() == tmp_path / "xdg" / "myoshift" / "parsed"
    monkeypatch.setenv("MYOSHIFT_CACHE", str(tmp_path / "c"))
    assert resolve_cache_dir() == tmp_path / "c"
    assert resolve_cache_dir(tmp_path / "c2") == tmp_path / "c2"


def test_missing_dataset_error_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("MYOSHIFT_DATA", str(tmp_path / "env"))
    ds = TinyDataset()
    assert not ds.found()
    with pytest.raises(DataNotFoundError) as err:
        ds.load()
    msg = str(err.value)
    assert str(tmp_path / "env" / "Tiny") in msg
    assert "MYOSHIFT_DATA" in msg and "https://example.org/tiny" in msg
    assert isinstance(err.value, FileNotFoundError)


def test_empty_folder_and_missing_subjects(tiny, tmp_path):
    ds = TinyDataset(data_dir=tiny, use_cache=False)
    assert ds.subjects() == [1, 2]
    rs = ds.load(subjects=[2], show_progress=False)
    assert len(rs) == 2 and rs.unique("subject") == [2]
    with pytest.raises(DataNotFoundError, match=r"\[7\].*present: \[1, 2\]"):
        ds.load(subjects=[2, 7])
    (tmp_path / "empty" / "Tiny").mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match="no recordings found"):
        TinyDataset(data_dir=tmp_path / "empty").load()


def test_subjects_compare_by_value_whatever_their_type(tiny):
    """A subject typed as text ("1", "01", " 2") finds the subject parsed as a number."""
    ds = TinyDataset(data_dir=tiny, use_cache=False)
    for wanted in (["1"], ["01"], [np.int64(1)], "1", 1):
        assert ds.load(subjects=wanted, show_progress=False).unique("subject") == [1]
    assert ds.load(subjects=[" 2", 1], show_progress=False).unique("subject") == [1, 2]
    with pytest.raises(DataNotFoundError, match=r"\['x1'\] not found.*present: \[1, 2\]"):
        ds.load(subjects=["x1", "2"])
    assert base.subject_key("eval-Male0") == "eval-Male0" and base.subject_key("-3") == -3
    assert base.subject_key(True) is True  # a bool is not the subject 1


def test_partial_download_loads_what_is_there(tmp_path):
    write_tiny(tmp_path, subjects=(3,))
    rs = TinyDataset(data_dir=tmp_path, use_cache=False).load(show_progress=False)
    assert rs.unique("subject") == [3] and len(rs) == 2


def test_registry(monkeypatch, tiny):
    monkeypatch.setitem(base._REGISTRY, TinyDataset.name, TinyDataset)
    assert register_dataset(TinyDataset) is TinyDataset  # re-registering the same class is fine

    class Other(TinyDataset):
        pass

    with pytest.raises(ConfigError, match="registered twice"):
        register_dataset(Other)
    ds = get_dataset("test-tiny", data_dir=tiny, use_cache=False)
    assert isinstance(ds, TinyDataset)
    assert len(load_dataset("test-tiny", subjects=[1], data_dir=tiny, use_cache=False)) == 2
    with pytest.raises(ConfigError, match="valid names: .*test-tiny"):
        get_dataset("tiny")
    info = TinyDataset.info()
    assert info["name"] == "test-tiny" and info["classes"] == ["rest", "open", "close"]
