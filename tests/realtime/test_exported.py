"""`ExportedChain`: an export sidecar as a streamable chain, or a clear refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from myoshift.errors import ConfigError
from myoshift.realtime.exported import ExportedChain, is_export_folder
from myoshift.realtime.model import stream_model
from myoshift.signal.preprocess import BandPass


class FakeGraph:
    classes_ = np.array([0, 1, 2])

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.tile([0.2, 0.5, 0.3], (len(X), 1))

    def predict(self, X: Any) -> np.ndarray:
        return np.ones(len(X), dtype=np.int64)


INFO = {
    "task": "classification",
    "window_ms": 200.0,
    "step_ms": 25.0,
    "outside_graph": {
        "preprocess": [
            {"name": "bandpass", "kind": "preprocess", "params": {"low": 20, "high": 90}}
        ],
        "represent": [],
    },
}


def test_sidecar_rebuilds_the_preprocessing_and_streams() -> None:
    chain = ExportedChain(INFO, FakeGraph(), "x")
    assert isinstance(chain.preprocess_[0], BandPass) and chain.preprocess_[0].high == 90
    model = stream_model(chain, 200.0, 8)
    assert (model.window, model.step) == (40, 5)
    starts, labels, proba = model.predict_offline(np.zeros((100, 8), dtype=np.float32))
    assert starts.tolist() == list(range(0, 61, 5)) and set(labels) == {1}
    assert proba.shape == (13, 3)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"outside_graph": {"represent": [{"name": "wavelet-packet"}]}}, "outside the graph"),
        ({"task": "regression"}, "regression export cannot be streamed"),
        ({"window_ms": None}, "exported without its chain"),
    ],
)
def test_exports_that_cannot_stream_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ExportedChain({**INFO, **change}, FakeGraph(), "x")


def test_export_folders_are_told_from_saved_models(tmp_path: Path) -> None:
    (tmp_path / "tcn.json").write_text("{}")
    assert is_export_folder(tmp_path)
    (tmp_path / "estimator.json").write_text("{}")
    assert not is_export_folder(tmp_path)
