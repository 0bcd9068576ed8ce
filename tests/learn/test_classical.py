"""FeatureTransformer and ClassicalClassifier: contract, fit/predict, adapt."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn import ClassicalClassifier, FeatureTransformer
from myoshift.learn.classical import CLASSIFIERS

from .conftest import separable


def test_feature_transformer() -> None:
    X, _, _ = separable()
    ft = FeatureTransformer("hudgins-td", fs=200.0)
    F = ft.fit_transform(X)
    assert F.shape[0] == len(X) and F.shape[1] == len(ft.get_feature_names_out())
    assert F.shape[1] % X.shape[1] == 0
    assert clone(ft).get_params() == ft.get_params()


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifiers_fit_predict(name: str) -> None:
    X, y, g = separable()
    Xt, yt, _ = separable(seed=2)
    clf = ClassicalClassifier(classifier=name, fs=200.0).fit(X, y, g)
    assert clf.score(Xt, yt) > 0.8
    proba = clf.predict_proba(Xt)
    assert proba.shape == (len(Xt), 3) and np.allclose(proba.sum(1), 1)
    assert clone(clf).get_params() == clf.get_params()


def test_adapt_target_and_pooled() -> None:
    X, y, _ = separable()
    shifted, ys, _ = separable(seed=7)
    shifted = shifted[:, ::-1].copy()  # channels reversed: a strong domain shift
    clf = ClassicalClassifier(fs=200.0).fit(X, y)
    before = clf.score(shifted, ys)
    n_src = len(clf.features_train_)
    clf.adapt(shifted[::2], ys[::2], mode="target")
    assert len(clf.features_train_) == len(shifted[::2])
    assert clf.score(shifted[1::2], ys[1::2]) > max(before, 0.8)
    pooled = ClassicalClassifier(fs=200.0).fit(X, y).adapt(shifted[::2], ys[::2], mode="pooled")
    assert len(pooled.features_train_) == n_src + len(shifted[::2])
    with pytest.raises(ConfigError, match="unknown to the fitted model"):
        clf.adapt(X, y + 5)
    with pytest.raises(ConfigError, match="unknown adapt mode"):
        clf.adapt(X, y, mode="adabn")  # type: ignore[arg-type]


def test_errors() -> None:
    X, y, _ = separable()
    with pytest.raises(ConfigError, match="unknown classifier"):
        ClassicalClassifier(classifier="xgb").fit(X, y)
    clf = ClassicalClassifier().fit(X, y)
    with pytest.raises(ShapeError, match="channels"):
        clf.predict(X[:, :2])
    with pytest.raises(ShapeError, match="3-D"):
        clf.predict(X[0])
