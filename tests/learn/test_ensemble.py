"""ProbabilityEnsemble: soft voting of member estimators; fit, adapt, save, build as a method."""

from __future__ import annotations

import json

import numpy as np
import pytest

from myoshift.errors import ConfigError, ModelFileError
from myoshift.learn import ClassicalClassifier, DeepClassifier, load_estimator
from myoshift.learn.ensemble import ProbabilityEnsemble
from myoshift.learn.methods import build_estimator, get_method, spec_from_dict

from .conftest import separable


def _members() -> list[tuple[str, object]]:
    return [
        ("lda", ClassicalClassifier("lda", fs=200.0)),
        ("net", DeepClassifier(model="test-tiny", epochs=3, batch_size=16, threads=1)),
    ]


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return separable(n_per_class=24, n_classes=3, n_channels=4, n_samples=40)


def test_probabilities_are_the_weighted_mean_of_the_members() -> None:
    X, y, groups = _data()
    members = _members()
    ens = ProbabilityEnsemble(members, weights=[3, 1]).fit(X, y, groups=groups)
    lda, net = ens.estimators_
    assert net.get_params()["epochs"] == 3
    assert lda is not members[0][1]  # members are cloned, the given estimators stay unfitted
    assert not hasattr(members[0][1], "pipeline_")
    expected = 0.75 * lda.predict_proba(X) + 0.25 * net.predict_proba(X)
    np.testing.assert_allclose(ens.predict_proba(X), expected, rtol=1e-6)
    assert ens.predict(X).shape == (len(X),)
    assert ens.score(X, y) > 0.9
    np.testing.assert_array_equal(ens.classes_, [0, 1, 2])


def test_adapt_calibrates_every_member() -> None:
    X, y, groups = _data()
    Xt, yt, _ = separable(n_per_class=24, n_classes=3, n_channels=4, n_samples=40, seed=1)
    Xt = np.roll(Xt, 1, axis=1)  # the loud channel of each class moved by one electrode
    ens = ProbabilityEnsemble([("lda", ClassicalClassifier("lda", fs=200.0))])
    ens.fit(X, y, groups=groups)
    before = ens.score(Xt[1::2], yt[1::2])
    assert ens.adapt(Xt[::2], yt[::2]) is ens
    assert ens.score(Xt[1::2], yt[1::2]) > max(before + 0.3, 0.9)


def test_bad_configurations() -> None:
    X, y, _ = _data()
    with pytest.raises(ConfigError, match="at least one member"):
        ProbabilityEnsemble([]).fit(X, y)
    with pytest.raises(ConfigError, match="weights must be 2"):
        ProbabilityEnsemble(_members(), weights=[1.0]).fit(X, y)
    with pytest.raises(ConfigError, match="non-negative"):
        ProbabilityEnsemble(_members(), weights=[1.0, -1.0]).fit(X, y)
    with pytest.raises(ConfigError, match="member 0"):
        ProbabilityEnsemble(["lda-td"]).fit(X, y)  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="unique"):
        ProbabilityEnsemble([("a", ClassicalClassifier()), ("a", ClassicalClassifier())]).fit(X, y)
    with pytest.raises(ConfigError, match="cannot nest"):
        ProbabilityEnsemble([("e", ProbabilityEnsemble(_members()))]).fit(X, y)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ProbabilityEnsemble(_members()).predict(X)


def test_registered_as_a_method() -> None:
    spec = get_method("tcn-lda-ensemble")
    assert spec.kind == "ensemble" and spec.window_ms == 260
    assert [m["method"] for m in spec.params["members"]] == ["tcn-transfer", "lda-tdar"]
    est = build_estimator(spec, fs=200.0, seed=2)
    assert isinstance(est, ProbabilityEnsemble)
    assert [n for n, _ in est.estimators] == ["tcn-transfer", "lda-tdar"]
    assert est.weights == [0.7, 0.3]
    # members are built from their methods with the ensemble's seed, rate and windowing
    tcn, lda = (e for _, e in est.estimators)
    assert (tcn.seed, tcn.window_ms, lda.fs, lda.window_ms) == (2, 260.0, 200.0, 260.0)
    custom = spec_from_dict(
        {
            "name": "x",
            "kind": "ensemble",
            "estimator": "ProbabilityEnsemble",
            "citation": "c",
            "window_ms": 200,
            "params": {"members": [{"method": "lda-td"}, {"method": "tcn-lda-ensemble"}]},
        }
    )
    with pytest.raises(ConfigError, match="cannot nest"):
        build_estimator(custom)
    with pytest.raises(ConfigError, match="only 'weights'"):
        build_estimator(spec, epochs=3)


def test_save_load_round_trip(tmp_path) -> None:
    X, y, groups = _data()
    ens = ProbabilityEnsemble(_members(), weights=[1, 2]).fit(X, y, groups=groups)
    d = ens.save(tmp_path / "ens")
    assert sorted(p.name for p in (d / "children").iterdir()) == ["0", "1"]
    back = load_estimator(d)
    assert isinstance(back, ProbabilityEnsemble)
    np.testing.assert_allclose(back.predict_proba(X), ens.predict_proba(X), atol=1e-6)
    assert back.weights == [1, 2]
    assert [n for n, _ in back.estimators] == ["lda", "net"]
    # a tampered member is refused like any estimator file
    (d / "children" / "1" / "estimator.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        ProbabilityEnsemble.load(d)


def test_old_ensemble_folders_fail_clearly(tmp_path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "ensemble.json").write_text(json.dumps({"format": "myoshift-probability-ensemble/1"}))
    with pytest.raises(ModelFileError, match="0.1 ensemble folder"):
        load_estimator(old)
