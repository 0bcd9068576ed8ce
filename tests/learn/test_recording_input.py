"""Estimators take recordings directly when given window settings."""

from __future__ import annotations

import numpy as np
import pytest

from myoshift.errors import ConfigError
from myoshift.learn import ClassicalClassifier, DeepClassifier, build_estimator
from myoshift.recording import Layout, Recording, RecordingSet
from myoshift.signal import make_windows


def _set(seed: int) -> RecordingSet:
    """Three classes told apart by per-channel amplitude, two repetitions each."""
    rng = np.random.default_rng(seed)
    recs = []
    for rep in (1, 2):
        for c in range(3):
            gain = np.ones(4)
            gain[c] = 4.0
            emg = rng.standard_normal((400, 4)) * gain
            recs.append(Recording(emg, 200.0, c, Layout.ring(4), repetition=rep, meta={"rep": rep}))
    return RecordingSet(recs)


@pytest.mark.parametrize(
    "est",
    [
        ClassicalClassifier("lda", window_ms=200, step_ms=100),
        DeepClassifier("tcn", epochs=1, batch_size=16, window_ms=200, step_ms=100, val_fraction=0),
    ],
    ids=["classical", "deep"],
)
def test_fit_score_adapt_on_recordings(est) -> None:  # type: ignore[no-untyped-def]
    train, test = _set(0), _set(1)
    est.fit(train)
    w = make_windows(test, 200, 100)
    np.testing.assert_array_equal(est.predict(test), est.predict(w))
    assert est.score(test) == pytest.approx(est.score(w.X, w.y))
    if isinstance(est, ClassicalClassifier):  # (one epoch of the deep model learns little)
        assert est.score(test) > 0.6
    est.adapt(test.select(rep=1))


def test_recordings_without_window_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="window_ms and step_ms"):
        ClassicalClassifier("lda").fit(_set(0))


def test_methods_carry_their_windowing() -> None:
    est = build_estimator("lda-td", fs=200.0)
    assert est.window_ms is not None and est.step_ms is not None
