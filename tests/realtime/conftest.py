"""Fitted chains shared by the realtime tests (fitted once per session).

Heavy imports (the method registry, hence torch) happen inside the fixtures, so tests of
this folder that do not use them start fast.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from myoshift.recording import Recording, RecordingSet

#: causal preprocessing streamed by the tests: DC removal then a band-pass (200 Hz data)
CAUSAL = ["dc-remove", {"bandpass": {"low": 20, "high": 90}}]


def fit_chain(method: str, recordings: Any, **overrides: Any) -> Any:
    """``method`` fitted on ``recordings`` (causal preprocessing unless overridden)."""
    from myoshift.evaluation.recipes import resolve_method

    fs = RecordingSet(list(recordings))[0].fs
    params = {"preprocess": CAUSAL, **overrides}
    return resolve_method(method, params).chain(fs, 0).fit(list(recordings))


def chunked(emg: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """``emg`` cut into consecutive chunks of ``sizes`` (cycled), covering it all."""
    out, i, k = [], 0, 0
    while i < len(emg):
        n = sizes[k % len(sizes)]
        out.append(emg[i : i + n])
        i, k = i + n, k + 1
    return out


@pytest.fixture(scope="session")
def synthetic() -> RecordingSet:
    """Subject 1 of the built-in simulator (8 channels, 200 Hz, 6 classes)."""
    from myoshift.datasets import get_dataset

    return get_dataset("synthetic").load([1])


@pytest.fixture(scope="session")
def lda_chain(synthetic: RecordingSet) -> Any:
    """lda-td with causal filters, fitted on the simulator's first 6 recordings."""
    return fit_chain("lda-td", synthetic[:6])


@pytest.fixture(scope="session")
def held_out(synthetic: RecordingSet) -> Recording:
    """A recording the chain was not fitted on (first 2000 samples)."""
    rec = synthetic[8]
    return rec.with_emg(rec.emg[:2000], labels=rec.labels[:2000], repetition=None)
