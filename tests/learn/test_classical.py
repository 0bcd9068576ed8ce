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
    clf.adapt(shifted[::2], ys[::2], mode="target")
    assert len(clf.features_train_) == len(shifted[::2])
    assert clf.score(shifted[1::2], ys[1::2]) > max(before, 0.8)
    with pytest.raises(ConfigError, match="unknown to the fitted model"):
        clf.adapt(X, y + 5)
    with pytest.raises(ConfigError, match="unknown adapt mode"):
        clf.adapt(X, y, mode="adabn")  # type: ignore[arg-type]


def test_pooled_adapt_weights_the_target_and_keeps_every_class() -> None:
    X, y, _ = separable()
    shifted, ys, _ = separable(seed=7)
    shifted = shifted[:, ::-1].copy()
    cal = np.isin(ys, [0, 1])  # calibration without class 2
    source = ClassicalClassifier(fs=200.0).fit(X, y)
    n_src, n_cal = len(source.features_train_), int(cal.sum())
    F_cal = source.transform_features(shifted[cal])
    # plain pooling: every row once, the source rows first and unchanged
    plain = clone(source).fit(X, y).adapt(shifted[cal], ys[cal], mode="pooled")
    assert (plain.adapt_mode, plain.adapt_weight) == ("pooled", 0.75)  # the defaults
    once = ClassicalClassifier(fs=200.0, adapt_weight=None).fit(X, y)
    once.adapt(shifted[cal], ys[cal], mode="pooled")
    assert len(once.features_train_) == n_src + n_cal
    np.testing.assert_array_equal(once.features_train_[:n_src], source.features_train_)
    # a target share of 3/4: the calibration rows repeated round(3 * n_src / n_cal) times
    heavy = ClassicalClassifier(fs=200.0, adapt_mode="pooled", adapt_weight=0.75).fit(X, y)
    heavy.adapt(shifted[cal], ys[cal])
    repeat = round(3 * n_src / n_cal)
    assert len(heavy.features_train_) == n_src + repeat * n_cal
    np.testing.assert_allclose(heavy.features_train_[-n_cal:], F_cal)
    np.testing.assert_array_equal(heavy.y_train_[n_src:], np.tile(ys[cal], repeat))
    # the class missing from calibration is still known, the calibrated ones improve
    assert set(heavy.classes_) == {0, 1, 2}
    assert heavy.score(shifted[cal], ys[cal]) > source.score(shifted[cal], ys[cal])
    assert heavy.score(shifted[cal], ys[cal]) >= plain.score(shifted[cal], ys[cal])
    target = clone(source).fit(X, y).adapt(shifted[cal], ys[cal], mode="target")
    assert set(target.classes_) == {0, 1}
    with pytest.raises(ConfigError, match="adapt_weight must be in"):
        ClassicalClassifier(fs=200.0, adapt_weight=1.0).fit(X, y).adapt(X, y, mode="pooled")


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
    reg.adapt(Xs[:60], ts[:60], mode="target")
    assert len(reg.features_train_) == 60 and reg.score(Xs[60:], ts[60:]) > max(before, 0.6)
    pooled = ClassicalRegressor(fs=200.0, adapt_weight=None).fit(X, t)
    pooled.adapt(Xs[:60], ts[:60], mode="pooled")
    assert len(pooled.features_train_) == len(X) + 60
    half = ClassicalRegressor(fs=200.0, adapt_weight=0.5).fit(X, t).adapt(Xs[:60], ts[:60])
    assert len(half.features_train_) == 2 * len(X)  # the target: half of the rows
    np.testing.assert_allclose(half.y_train_[len(X) :], np.tile(ts[:60], (2, 1)), rtol=1e-6)
    assert half.score(Xs[60:], ts[60:]) > max(before, pooled.score(Xs[60:], ts[60:]))
    with pytest.raises(ConfigError, match="shape"):
        reg.adapt(Xs[:60], ts[:60, :1])
    with pytest.raises(ShapeError, match="NaN"):
        reg.adapt(Xs[:2], np.array([[np.nan, 1.0], [1.0, 1.0]]))
    with pytest.raises(ConfigError, match="unknown regressor"):
        ClassicalRegressor(regressor="lasso").fit(X, t)
    with pytest.raises(ConfigError, match="required"):
        ClassicalRegressor().fit(X)
