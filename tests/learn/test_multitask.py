"""MultiTaskEstimator: classes and joint angles from one encoder; chains and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from myoshift.errors import ConfigError
from myoshift.learn import MethodChain, MultiTaskEstimator, build_estimator, load_estimator
from myoshift.learn.multitask import labels_and_targets
from myoshift.recording import AuxStream, Layout, RecordingSet
from myoshift.signal.windows import Windows
from tests.evaluation.helpers import make_set

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = {"model": "test-tiny", "epochs": 8, "lr": 0.02, "batch_size": 16, "threads": 1}


def _windows(n: int = 96, seed: int = 0) -> Windows:
    """Class = the loud channel; two targets: the loudness of channels 0 and 1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.standard_normal((n, 4, 32)).astype(np.float32)
    X[np.arange(n), y] *= 4.0
    angles = np.abs(X[:, :2]).mean(axis=2) * 10.0 + 5.0
    meta = pd.DataFrame(
        {"recording": 0, "start": np.arange(n), "repetition": 1 + np.arange(n) // 24}
    )
    return Windows(X, y, meta, 200.0, Layout.ring(4), extra={"glove": angles})


def test_learns_classes_and_targets_and_saves(tmp_path: Path) -> None:
    w = _windows()
    est = MultiTaskEstimator(**FAST).fit(w)
    assert est.n_targets_ == 2 and est.classes_.tolist() == [0, 1, 2]
    assert est.score(w) > 0.9
    angles = est.predict_targets(w)
    assert angles.shape == (len(w), 2) and r2_score(w.extra["glove"], angles) > 0.3
    proba = est.predict_proba(w)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(est.classes_[proba.argmax(1)], est.predict(w))
    back = load_estimator(est.save(tmp_path / "mt"))
    np.testing.assert_allclose(back.predict_targets(w), angles, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(back.predict(w), est.predict(w))


def test_the_loss_weight_matters() -> None:
    w = _windows()
    a = MultiTaskEstimator(**FAST, target_weight=0.0).fit(w)
    b = MultiTaskEstimator(**FAST, target_weight=1.0).fit(w)
    # without weight the angle head is never trained: its outputs stay near the mean
    assert r2_score(w.extra["glove"], b.predict_targets(w)) > r2_score(
        w.extra["glove"], a.predict_targets(w)
    )


def test_labels_and_targets_come_from_the_windows() -> None:
    w = _windows()
    labels, targets = labels_and_targets(w, w.extra["glove"])  # what MethodChain passes
    np.testing.assert_array_equal(labels, w.y)
    assert targets is w.extra["glove"]
    labels, targets = labels_and_targets(np.asarray(w.X), w.y, targets=w.extra["glove"][:, 0])
    assert targets is not None and targets.shape == (len(w),)
    with pytest.raises(ConfigError, match="no regression target 'imu'"):
        labels_and_targets(w, None, None, "imu")


def test_arrays_with_targets_or_without_weight() -> None:
    w = _windows()
    X = np.asarray(w.X)
    est = MultiTaskEstimator(**FAST).fit(X, w.y, targets=w.extra["glove"][:, 0])
    assert est.predict_targets(X).shape == (len(X),)
    with pytest.raises(ConfigError, match="needs regression targets"):
        MultiTaskEstimator(**FAST).fit(X, w.y)
    plain = MultiTaskEstimator(**FAST, target_weight=0.0).fit(X, w.y)
    assert plain.n_targets_ == 0 and plain.score(X, w.y) > 0.9
    with pytest.raises(ConfigError, match="without regression targets"):
        plain.predict_targets(X)


def test_adapt_uses_labels_and_targets() -> None:
    w, target = _windows(), _windows(seed=1)
    est = MultiTaskEstimator(**FAST, adapt_mode="full", adapt_epochs=3).fit(w)
    before = est.predict_targets(target)
    assert est.adapt(target.subset(np.arange(48)), target.extra["glove"][:48]) is est
    assert not np.allclose(est.predict_targets(target), before)
    with pytest.raises(ConfigError, match="needs the regression targets"):
        est.adapt(np.asarray(target.X), target.y)


def _glove_set(with_glove: bool = True) -> RecordingSet:
    rs = make_set(subjects=(1,), reps=4)
    for i, r in enumerate(rs):
        if with_glove:
            t = np.arange(40) / 20.0
            r.aux["glove"] = AuxStream(np.stack([np.sin(t + i), np.cos(t)], 1), fs=20.0)
    return rs


def test_a_method_chain_fits_both_and_refuses_data_without_the_stream() -> None:
    rs = _glove_set()
    chain = MethodChain(MultiTaskEstimator(**FAST), 200, 100, target="glove", name="mt").fit(rs)
    w = chain.windows(rs)
    assert chain.predict(rs).shape == (len(w),)
    assert chain.estimator_.predict_targets(w).shape == (len(w), 2)
    chain.copy().adapt(rs)
    with pytest.raises(ConfigError, match=r"method 'mt'.*no auxiliary stream 'glove'"):
        MethodChain(MultiTaskEstimator(**FAST), 200, 100, target="glove", name="mt").fit(
            _glove_set(with_glove=False)
        )


def test_the_registered_method() -> None:
    est = build_estimator("rcnn-multitask-db1", fs=100.0, seed=3)
    assert isinstance(est, MultiTaskEstimator)
    assert est.model == "rcnn" and est.target_weight == 1.0 and est.seed == 3
