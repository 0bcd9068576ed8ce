"""FeatureTransformer and ClassicalClassifier: contract, fit/predict, adapt."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn import ClassicalClassifier, ClassicalRegressor, FeatureTransformer
from myoshift.learn.classical import CLASSIFIERS, REGRESSORS

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


def amplitude_targets(seed: int = 0, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Windows whose per-channel amplitudes are the (2-D) targets, plus a constant."""
    rng = np.random.default_rng(seed)
    amp = rng.uniform(0.5, 3.0, (n, 4))
    X = (rng.standard_normal((n, 4, 32)) * amp[:, :, None]).astype(np.float32)
    return X, np.stack([amp[:, 0] + amp[:, 1], 2.0 * amp[:, 3]], axis=1)


@pytest.mark.parametrize("name", REGRESSORS)
def test_regressors_fit_predict(name: str) -> None:
    X, t = amplitude_targets()
    Xt, tt = amplitude_targets(seed=1)
    reg = ClassicalRegressor(regressor=name, fs=200.0).fit(X, t)
    pred = reg.predict(Xt)
    assert pred.shape == tt.shape and reg.score(Xt, tt) > 0.6  # R²
    one = ClassicalRegressor(regressor=name, fs=200.0).fit(X, t[:, 0])
    assert one.predict(Xt).shape == (len(Xt),)  # 1-D targets give 1-D predictions
    assert clone(reg).get_params() == reg.get_params()


def test_regressor_adapt_and_errors() -> None:
    X, t = amplitude_targets()
    Xs, ts = amplitude_targets(seed=3)
    Xs = Xs * 3.0  # a gain change: the source model's scale no longer fits
    reg = ClassicalRegressor(fs=200.0).fit(X, t)
    before = reg.score(Xs[60:], ts[60:])
    reg.adapt(Xs[:60], ts[:60])
    assert len(reg.features_train_) == 60 and reg.score(Xs[60:], ts[60:]) > max(before, 0.6)
    pooled = ClassicalRegressor(fs=200.0).fit(X, t).adapt(Xs[:60], ts[:60], mode="pooled")
    assert len(pooled.features_train_) == len(X) + 60
    with pytest.raises(ConfigError, match="shape"):
        reg.adapt(Xs[:60], ts[:60, :1])
    with pytest.raises(ShapeError, match="NaN"):
        reg.adapt(Xs[:2], np.array([[np.nan, 1.0], [1.0, 1.0]]))
    with pytest.raises(ConfigError, match="unknown regressor"):
        ClassicalRegressor(regressor="lasso").fit(X, t)
    with pytest.raises(ConfigError, match="required"):
        ClassicalRegressor().fit(X)
