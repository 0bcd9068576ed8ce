"""ProbabilityEnsemble: soft voting of named methods, fitted, adapted and built as a method."""

from __future__ import annotations

import numpy as np
import pytest

from myoshift.errors import ConfigError
from myoshift.learn.ensemble import ProbabilityEnsemble
from myoshift.learn.methods import build_estimator, get_method, spec_from_dict

from .conftest import separable

MEMBERS = [{"method": "lda-td"}, {"method": "test-tiny", "params": {"epochs": 3}}]


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return separable(n_per_class=24, n_classes=3, n_channels=4, n_samples=40)


def test_probabilities_are_the_weighted_mean_of_the_members() -> None:
    X, y, groups = _data()
    ens = ProbabilityEnsemble(MEMBERS, weights=[3, 1], fs=200.0).fit(X, y, groups=groups)
    lda, net = ens.estimators_
    assert net.get_params()["epochs"] == 3  # member overrides reach the estimator
    expected = 0.75 * lda.predict_proba(X) + 0.25 * net.predict_proba(X)
    np.testing.assert_allclose(ens.predict_proba(X), expected, rtol=1e-6)
    assert ens.predict(X).shape == (len(X),)
    assert ens.score(X, y) > 0.9
    np.testing.assert_array_equal(ens.classes_, [0, 1, 2])


def test_adapt_calibrates_every_member() -> None:
    X, y, groups = _data()
    Xt, yt, _ = separable(n_per_class=24, n_classes=3, n_channels=4, n_samples=40, seed=1)
    Xt = np.roll(Xt, 1, axis=1)  # the loud channel of each class moved by one electrode
    ens = ProbabilityEnsemble([{"method": "lda-td"}], fs=200.0).fit(X, y, groups=groups)
    before = ens.score(Xt[1::2], yt[1::2])
    assert ens.adapt(Xt[::2], yt[::2]) is ens
    assert ens.score(Xt[1::2], yt[1::2]) > max(before + 0.3, 0.9)


def test_bad_configurations() -> None:
    X, y, _ = _data()
    with pytest.raises(ConfigError, match="at least one member"):
        ProbabilityEnsemble([]).fit(X, y)
    with pytest.raises(ConfigError, match="weights must be 2"):
        ProbabilityEnsemble(MEMBERS, weights=[1.0]).fit(X, y)
    with pytest.raises(ConfigError, match="non-negative"):
        ProbabilityEnsemble(MEMBERS, weights=[1.0, -1.0]).fit(X, y)
    with pytest.raises(ConfigError, match="member 0"):
        ProbabilityEnsemble(["lda-td"]).fit(X, y)  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="unknown method"):
        ProbabilityEnsemble([{"method": "nope"}]).fit(X, y)
    with pytest.raises(ConfigError, match="cannot nest"):
        ProbabilityEnsemble([{"method": "tcn-lda-ensemble"}]).fit(X, y)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ProbabilityEnsemble(MEMBERS).predict(X)


def test_registered_as_a_method() -> None:
    spec = get_method("tcn-lda-ensemble")
    assert spec.kind == "ensemble" and spec.window_ms == 260
    assert [m["method"] for m in spec.params["members"]] == ["tcn-transfer", "lda-tdar"]
    est = build_estimator(spec, fs=200.0, seed=2)
    assert isinstance(est, ProbabilityEnsemble)
    assert (est.fs, est.seed, est.window_ms, est.step_ms) == (200.0, 2, 260.0, 25.0)
    custom = spec_from_dict(
        {
            "name": "x",
            "kind": "ensemble",
            "estimator": "ProbabilityEnsemble",
            "citation": "c",
            "window_ms": 200,
            "params": {"members": MEMBERS},
        }
    )
    X, y, groups = _data()
    ens = build_estimator(custom, fs=200.0).fit(X, y, groups=groups)
    # the ensemble's windowing is imposed on its members
    assert all(e.get_params()["window_ms"] == 200.0 for e in ens.estimators_)


def test_save_load_round_trip(tmp_path) -> None:
    X, y, groups = _data()
    ens = ProbabilityEnsemble(MEMBERS, weights=[1, 2], fs=200.0).fit(X, y, groups=groups)
    back = ProbabilityEnsemble.load(ens.save(tmp_path / "ens"))
    np.testing.assert_allclose(back.predict_proba(X), ens.predict_proba(X), atol=1e-6)
    assert back.get_params() == ens.get_params()
    (tmp_path / "ens" / "ensemble.json").write_text("{not json")
    from myoshift.errors import ModelFileError

    with pytest.raises(ModelFileError, match="not a saved ensemble"):
        ProbabilityEnsemble.load(tmp_path / "ens")
