"""Feature-level fusion in the classical pipeline: ``aux_features`` blocks after the EMG
features, before the scaler, for any classical estimator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from myoshift.errors import ConfigError, ModelFileError, ShapeError
from myoshift.learn import ClassicalClassifier, ClassicalRegressor, load_estimator
from myoshift.recording import Layout
from myoshift.signal.windows import AuxWindows, Windows


def fused_windows(n_per_class: int = 30, seed: int = 0) -> Windows:
    """EMG noise alike for every class; the class is in the auxiliary block ``"b"`` only."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    X = rng.standard_normal((len(y), 4, 40)).astype(np.float32)
    block = (np.eye(3)[y] * 2.0 + 0.3 * rng.standard_normal((len(y), 3)))[:, :, None]
    meta = pd.DataFrame({"recording": 0, "start": np.arange(len(y)), "repetition": y % 4 + 1})
    aux = {"b": AuxWindows(block.astype(np.float32), 1.0)}
    return Windows(X, y, meta, 200.0, Layout.ring(4), aux=aux)


@pytest.mark.parametrize("classifier", ["lda", "knn", "rf", "ncm"])
def test_aux_block_reaches_any_classifier(classifier: str) -> None:
    w = fused_windows()
    emg_only = ClassicalClassifier(classifier).fit(w)
    fused = ClassicalClassifier(classifier, aux_features=["b"]).fit(w)
    F = fused.transform_features(w)
    assert F.shape == (len(w), 4 * 4 + 3)  # Hudgins TD of 4 channels, then the block
    np.testing.assert_array_equal(F[:, :16], emg_only.transform_features(w))
    np.testing.assert_allclose(F[:, 16:], w.aux["b"].X[:, :, 0], atol=1e-6)
    test = fused_windows(seed=1)  # held-out windows of the same kind
    assert fused.score(test) > 0.85 and fused.score(test) > emg_only.score(test) + 0.3


def test_emg_only_path_is_unchanged_bit_for_bit(tmp_path: Path) -> None:
    w = fused_windows()
    plain = ClassicalClassifier().fit(w)
    none = ClassicalClassifier(aux_features=None).fit(w)
    np.testing.assert_array_equal(plain.predict_proba(w), none.predict_proba(w))
    assert not hasattr(plain, "aux_widths_")
    doc = (plain.save(tmp_path / "m") / "estimator.json").read_text()
    assert "aux_widths" not in doc


def test_missing_or_changed_blocks_are_errors() -> None:
    w = fused_windows()
    with pytest.raises(ConfigError, match=r"aux_features \['c'\] are not among .*\(b\)"):
        ClassicalClassifier(aux_features=["c"]).fit(w)
    with pytest.raises(ConfigError, match=r"aux_features \['b'\] .*\(none\)"):
        ClassicalClassifier(aux_features=["b"]).fit(np.asarray(w.X), w.y)
    est = ClassicalClassifier(aux_features=["b"]).fit(w)
    wider = Windows(
        w.X, w.y, w.meta, w.fs, w.layout, aux={"b": AuxWindows(np.zeros((len(w), 5, 1)), 1.0)}
    )
    with pytest.raises(ShapeError, match="widths {'b': 5}.*fitted on {'b': 3}"):
        est.predict(wider)
    bad = Windows(
        w.X,
        w.y,
        w.meta,
        w.fs,
        w.layout,
        aux={"b": AuxWindows(np.full((len(w), 3, 1), np.nan), 1.0)},
    )
    with pytest.raises(ShapeError, match="'b' contains NaN"):
        est.predict(bad)


def test_save_load_and_adapt_with_an_aux_block(tmp_path: Path) -> None:
    w = fused_windows()
    est = ClassicalClassifier(aux_features=["b"]).fit(w)
    folder = est.save(tmp_path / "fused")
    back = load_estimator(folder)
    assert back.aux_widths_ == {"b": 3}
    np.testing.assert_allclose(back.predict_proba(w), est.predict_proba(w), atol=1e-9)
    back.adapt(w.subset(np.arange(0, len(w), 3)))
    assert back.features_train_.shape[1] == 19
    # a file whose feature count disagrees with features + blocks is refused
    doc = (folder / "estimator.json").read_text().replace('"b": 3', '"b": 4')
    (folder / "estimator.json").write_text(doc)
    with pytest.raises(ModelFileError, match="auxiliary blocks"):
        load_estimator(folder)


def test_regressor_takes_aux_blocks_too() -> None:
    w = fused_windows()
    target = w.aux["b"].X[:, 0, 0].astype(np.float64)
    reg = ClassicalRegressor(aux_features=["b"]).fit(w, target)
    assert np.corrcoef(reg.predict(w), target)[0, 1] > 0.99


def test_ncm_is_the_nearest_class_mean_whatever_the_class_sizes() -> None:
    from sklearn.preprocessing import StandardScaler

    from myoshift.learn.feature_pipeline import make_classifier

    rng = np.random.default_rng(0)
    big = rng.standard_normal((200, 3))  # class 0: many rows around 0
    small = 4.0 + rng.standard_normal((3, 3))  # class 1: three rows around 4
    X, y = np.r_[big, small], np.r_[np.zeros(200), np.ones(3)]
    ncm = make_classifier("ncm").fit(X, y)
    means = np.stack([big.mean(0), small.mean(0)])
    probe = rng.uniform(-2.0, 6.0, (500, 3))
    nearest = ((probe[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(ncm.predict(probe), nearest)  # no prior towards class 0
    proba = ncm.predict_proba(probe)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(proba.argmax(1), nearest)
    # inside ClassicalClassifier the means are taken on standardised features
    w = fused_windows()
    clf = ClassicalClassifier("ncm").fit(w)
    F = StandardScaler().fit_transform(clf.transform_features(w))
    centres = np.stack([F[w.y == c].mean(0) for c in clf.classes_])
    expected = clf.classes_[((F[:, None] - centres[None]) ** 2).sum(-1).argmin(1)]
    np.testing.assert_array_equal(clf.predict(w), expected)
