"""Shared fixtures: the real-data directory (skip when absent) and small synthetic data."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from myoshift.recording import Layout, Recording

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"

# Code under test finds the data where `require_dataset` looked (the README's test command
# works without setting MYOSHIFT_DATA), and caches of the CLI go to a temporary folder,
# never the user's.
os.environ.setdefault("MYOSHIFT_DATA", str(DEFAULT_DATA))
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="myoshift-test-cache-")


def real_data_dir() -> Path:
    """``$MYOSHIFT_DATA`` if set, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("MYOSHIFT_DATA") or DEFAULT_DATA)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return real_data_dir()


def require_dataset(folder: str) -> Path:
    """Path of a real dataset folder, or skip the test saying what is missing."""
    path = real_data_dir() / folder
    if not path.is_dir():
        pytest.skip(f"real data {folder}/ not found in {real_data_dir()} (set MYOSHIFT_DATA)")
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test session writes parsed-recording caches to a temporary folder."""
    if "MYOSHIFT_CACHE" not in os.environ:
        monkeypatch.setenv("MYOSHIFT_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("MYOSHIFT_PROGRESS", "0")


def make_recording(
    n_samples: int = 1000,
    n_channels: int = 8,
    fs: float = 200.0,
    label: int | np.ndarray = 1,
    seed: int = 0,
    **meta: object,
) -> Recording:
    """A small random recording for unit tests."""
    rng = np.random.default_rng(seed)
    emg = rng.standard_normal((n_samples, n_channels)).astype(np.float32)
    return Recording(
        emg,
        fs,
        np.broadcast_to(np.asarray(label), (n_samples,)).copy(),
        Layout.ring(n_channels),
        meta={"dataset": "test", **meta},
    )


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Torch on one thread for the test (small batches; no contention on busy machines).

    Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
