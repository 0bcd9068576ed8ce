"""Checks shared by the dataset loader tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from myoshift.datasets import get_dataset
from myoshift.errors import DataFormatError
from myoshift.recording import RecordingSet
from tests.conftest import require_dataset


def assert_error_names_file(load: Callable[[], object], bad: Path, needle: str) -> None:
    """``load()`` raises a DataFormatError matching ``needle`` that names ``bad``."""
    with pytest.raises(DataFormatError, match=needle) as err:
        load()
    assert str(bad) in str(err.value)


def load_real(name: str, folder: str, tmp_path_factory: pytest.TempPathFactory) -> RecordingSet:
    """The real dataset from the data directory (skip when absent), with its own cache."""
    root = require_dataset(folder)
    ds = get_dataset(name, data_dir=root.parent, cache_dir=tmp_path_factory.mktemp("cache"))
    return ds.load(show_progress=False)
