"""Decision-level fusion: fitted weights, the three rules, out-of-fold stacking, methods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from myoshift.errors import ConfigError
from myoshift.learn import (
    ClassicalClassifier,
    ClassicalRegressor,
    ClassifierRegressorFusion,
    DecisionFusion,
    DeepClassifier,
    build_estimator,
    get_method,
    load_estimator,
    method_names,
)
from myoshift.learn.fusion import inner_splits
from myoshift.learn.fusion_rules import combine, fit_meta
from myoshift.recording import Layout
from myoshift.signal.windows import Windows

from .conftest import separable

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FUSION_METHODS = [
    n
    for n in method_names()
    if get_method(n).estimator in ("DecisionFusion", "ClassifierRegressorFusion")
]
_SEEN: list[dict[str, set[float]]] = []


class Noise(ClassifierMixin, BaseEstimator):
    """Random class probabilities (a useless member); records what it fits and predicts."""

    def fit(self, X: Any, y: Any, groups: Any = None) -> Noise:
        self.classes_ = np.unique(y)
        self.seen_ = {"fit": set(_ids(X)), "pred": set()}
        _SEEN.append(self.seen_)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        self.seen_["pred"] |= set(_ids(X))
        X = np.asarray(getattr(X, "X", X))
        rng = np.random.default_rng(np.abs(X[:, 0, :3] * 1e4).astype(np.int64).sum(1) % 2**31)
        return rng.dirichlet(np.ones(len(self.classes_)), size=len(X))

    def adapt(self, X: Any, y: Any = None) -> Noise:
        return self


def _ids(X: Any) -> list[float]:
    """A window's first sample identifies it."""
    return np.asarray(getattr(X, "X", X))[:, 0, 0].tolist()  # type: ignore[no-any-return]


def _lda() -> ClassicalClassifier:
    return ClassicalClassifier("lda", fs=200.0)


def _data(seed: int = 0, **kw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y, g = separable(n_per_class=32, n_classes=3, n_channels=4, n_samples=32, seed=seed, **kw)
    X += np.random.default_rng(seed + 7).normal(0.0, 5.0, X.shape).astype(np.float32)  # harder
    return X, y, g


@pytest.mark.parametrize("rule", ["soft-vote", "product"])
def test_fitted_weights_favour_the_better_member(rule: str) -> None:
    X, y, g = _data()
    fused = DecisionFusion([("noise", Noise()), ("lda", _lda())], rule=rule).fit(X, y, g)
    w_noise, w_lda = fused.weights_
    assert w_lda > 3 * w_noise
    if rule == "soft-vote":
        assert w_lda + w_noise == pytest.approx(1.0)
    scores = fused.inner_scores_
    assert scores["lda"] > scores["noise"] + 0.2 and scores["fusion"] >= scores["lda"] - 0.05
    Xt, yt, _ = _data(seed=1)
    assert fused.score(Xt, yt) >= fused.estimators_[1].score(Xt, yt) - 0.05


def test_product_and_soft_vote_on_hand_made_probabilities() -> None:
    confident = np.array([[0.99, 0.01]])
    doubtful = np.array([[0.2, 0.8]])
    equal = np.full(3, 1 / 3)
    soft = combine("soft-vote", [confident, doubtful, doubtful], equal)
    np.testing.assert_allclose(soft, [[(0.99 + 0.4) / 3, (0.01 + 1.6) / 3]])
    prod = combine("product", [confident, doubtful, doubtful], np.ones(3))
    p0, p1 = 0.99 * 0.2 * 0.2, 0.01 * 0.8 * 0.8
    np.testing.assert_allclose(prod, [[p0 / (p0 + p1), p1 / (p0 + p1)]])
    assert soft.argmax() == 1 and prod.argmax() == 0  # the sum is outvoted, the product vetoed
    # a weight is an exponent of the product
    half = combine("product", [confident, doubtful], np.array([1.0, 0.5]))
    q0, q1 = 0.99 * 0.2**0.5, 0.01 * 0.8**0.5
    np.testing.assert_allclose(half, [[q0 / (q0 + q1), q1 / (q0 + q1)]])


def test_stacking_learns_only_from_out_of_fold_outputs() -> None:
    X, y, g = _data()
    _SEEN.clear()
    fused = DecisionFusion([("noise", Noise()), ("lda", _lda())], rule="stacking").fit(X, y, g)
    inner = [s for s in _SEEN if s["pred"]]
    assert len(inner) == 3  # cv=3: three inner clones, then the refit on all windows
    for seen in inner:
        assert seen["pred"] and not seen["pred"] & seen["fit"]
    assert set().union(*(s["pred"] for s in inner)) == set(X[:, 0, 0].tolist())
    assert fused.meta_coef_.shape == (3, 6) and fused.weights_.size == 0
    assert fused.score(*_data(seed=1)[:2]) > 0.6


def test_meta_classifier_is_one_linear_map() -> None:
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((60, 4)) * [1, 10, 100, 0.1]
    codes = (feats[:, 0] > 0).astype(int) + 2 * (feats[:, 1] > 5)
    coef, intercept = fit_meta(feats, codes, n_classes=4, meta="logistic")
    from sklearn.linear_model import LogisticRegression

    z = (feats - feats.mean(0)) / feats.std(0)
    ref = LogisticRegression(max_iter=1000).fit(z, codes).predict_proba(z)
    proba = combine("stacking", [feats], np.zeros(0), coef, intercept)
    present = np.unique(codes)
    np.testing.assert_allclose(proba[:, present], ref, atol=1e-6)
    assert np.allclose(proba[:, np.setdiff1d(np.arange(4), present)], 0.0)


def test_inner_splits_never_split_a_group() -> None:
    codes = np.repeat(np.arange(3), 40)
    groups = np.tile(np.repeat(np.arange(8), 5), 3)
    folds = inner_splits(groups, codes, 4, 0, "m")
    assert len(folds) == 4
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(120))
    for tr, te in folds + inner_splits(groups, codes, 0.25, 0, "m"):
        assert not set(groups[tr]) & set(groups[te])
    ((tr, te),) = inner_splits(groups, codes, 0.25, 0, "m")
    assert len(set(groups[te])) == 2 and len(tr) + len(te) == 120
    blocks = inner_splits(None, codes, 2, 0, "m")  # no groups: contiguous halves per class
    first = [*range(20), *range(40, 60), *range(80, 100)]
    assert sorted(te.tolist() for _, te in blocks) == [first, [i + 20 for i in first]]


def test_too_little_data_for_the_inner_split_names_the_method() -> None:
    X, y, _ = _data()
    few = np.arange(len(y)) % 2  # two repetitions
    with pytest.raises(ConfigError, match=r"method 'stk': too little data .* 2 group\(s\)"):
        DecisionFusion([("lda", _lda())], rule="stacking", name="stk").fit(X, y, few)
    with pytest.raises(ConfigError, match=r"1 group\(s\).*at least 2"):
        DecisionFusion([("lda", _lda())], cv=0.25).fit(X, y, np.zeros(len(y)))
    est = build_estimator("soft-vote-stacked", fs=200.0)
    with pytest.raises(ConfigError, match="method 'soft-vote-stacked': too little data"):
        est.fit(X, y, np.zeros(len(y)))


def test_bad_configurations() -> None:
    X, y, g = _data()
    for kw, msg in (
        ({"rule": "max"}, "rule must be one of"),
        ({"cv": 1}, "cv must be"),
        ({"cv": 1.5}, "cv must be"),
        ({"meta": "svm"}, "meta must be one of"),
        ({"rule": "stacking", "weights": [1.0]}, "weights must be 'fit'"),
        ({"weights": "best"}, "weights must be 'fit', None or numbers"),
    ):
        with pytest.raises(ConfigError, match=msg):
            DecisionFusion([("lda", _lda())], **kw).fit(X, y, g)
    with pytest.raises(ConfigError, match="regressor member 'ridge' needs rule 'stacking'"):
        DecisionFusion([("lda", _lda()), ("ridge", ClassicalRegressor())]).fit(X, y, g)


def test_given_weights_reproduce_soft_voting() -> None:
    X, y, g = _data()
    fused = DecisionFusion([("noise", Noise()), ("lda", _lda())], weights=[1, 3]).fit(X, y, g)
    np.testing.assert_allclose(fused.weights_, [0.25, 0.75])
    noise, lda = fused.estimators_
    expected = 0.25 * noise.predict_proba(X) + 0.75 * lda.predict_proba(X)
    np.testing.assert_allclose(fused.predict_proba(X), expected)


@pytest.mark.parametrize("rule", ["soft-vote", "product", "stacking"])
def test_save_and_load(rule: str, tmp_path: Path) -> None:
    X, y, g = _data()
    net = DeepClassifier(model="test-tiny", epochs=2, batch_size=16, threads=1)
    fused = DecisionFusion([("lda", _lda()), ("net", net)], rule=rule, cv=0.5).fit(X, y, g)
    back = load_estimator(fused.save(tmp_path / rule))
    assert isinstance(back, DecisionFusion) and back.rule == rule
    np.testing.assert_allclose(back.predict_proba(X), fused.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(back.weights_, fused.weights_)
    assert back.inner_scores_ == fused.inner_scores_


def test_adapt_calibrates_members_and_can_refit_the_weights() -> None:
    X, y, g = _data()
    Xt, yt, gt = _data(seed=1)
    Xt = np.roll(Xt, 1, axis=1)  # the target person: every class's loud channel moved
    members = [
        ("noise", Noise()),
        ("lda", ClassicalClassifier("lda", fs=200.0, adapt_mode="target")),
    ]
    fused = DecisionFusion(members).fit(X, y, g)
    before = fused.score(Xt[1::2], yt[1::2])
    fused.adapt(Xt[::2], yt[::2])
    assert fused.score(Xt[1::2], yt[1::2]) > before + 0.2
    refit = DecisionFusion(members, refit_on_adapt=True, cv=2).fit(X, y, g)
    w_source = refit.weights_.copy()
    calib = pd.DataFrame({"recording": 0, "start": np.arange(len(yt)), "repetition": gt + 1})
    refit.adapt(Windows(Xt, yt, calib, 200.0, Layout.ring(4)))
    assert not np.allclose(refit.weights_, w_source) and refit.weights_[1] > refit.weights_[0]
    one_cycle = Windows(Xt, yt, calib.assign(repetition=1), 200.0, Layout.ring(4))
    with pytest.raises(ConfigError, match=r"too little data .* 1 group\(s\)"):
        refit.adapt(one_cycle)


def _glove_windows(seed: int = 0) -> Windows:
    X, y, g = _data(seed=seed)
    angles = np.abs(X[:, :2]).mean(axis=2) * 10.0
    meta = pd.DataFrame({"recording": 0, "start": np.arange(len(y)), "repetition": g + 1})
    return Windows(X, y, meta, 200.0, Layout.ring(4), extra={"glove": angles})


def test_classifier_regressor_fusion_stacks_angles_with_probabilities(tmp_path: Path) -> None:
    w = _glove_windows()
    members = [("lda", _lda()), ("ridge", ClassicalRegressor("ridge", fs=200.0))]
    fused = ClassifierRegressorFusion(members).fit(w, w.extra["glove"])  # as a chain calls it
    assert fused.meta_coef_.shape == (3, 3 + 2)  # 3 probabilities + 2 angles
    assert fused.predict(w).shape == (len(w),) and fused.score(w, w.y) > 0.6
    np.testing.assert_allclose(fused.predict_targets(w), fused.estimators_[1].predict(w))
    back = load_estimator(fused.save(tmp_path / "crf"))
    np.testing.assert_allclose(back.predict_proba(w), fused.predict_proba(w), atol=1e-6)
    with pytest.raises(ConfigError, match="needs windows with a regression target"):
        ClassifierRegressorFusion(members).fit(np.asarray(w.X), w.y, w.groups)
    fused.adapt(w.subset(np.arange(60)), w.extra["glove"][:60])  # members: labels / angles


@pytest.mark.parametrize("name", FUSION_METHODS)
def test_fusion_methods_build_and_fit(name: str) -> None:
    spec = get_method(name)
    est = build_estimator(spec, fs=200.0, seed=1)
    assert est.name == name and est.seed == 1 and spec.params.get("weights", "fit") == "fit"
    assert [m for m, _ in est.estimators] == [m["method"] for m in spec.params["members"]]
    for _, member in est.estimators:  # a quick recipe for each member
        quick = {"epochs": 1, "threads": 1, "batch_size": 16}
        member.set_params(**{k: v for k, v in quick.items() if k in member.get_params()})
    X, y, g = separable(n_per_class=16, n_channels=8, n_samples=52)
    meta = pd.DataFrame({"recording": 0, "start": np.arange(len(y)), "repetition": g + 1})
    angles = np.abs(X[:, :3]).mean(axis=2)
    extra = {spec.target: angles} if spec.target else {}
    w = Windows(X, y, meta, 200.0, Layout.ring(8), extra=extra)
    est.fit(w, angles if spec.target else None)
    assert est.predict(w).shape == (len(y),) and set(est.inner_scores_) >= {"fusion"}
    if spec.target:
        assert est.predict_targets(w).shape == (len(y), 3)


def test_soft_vote_fitted_is_the_round_one_ensemble_without_its_weights() -> None:
    fitted, reference = get_method("soft-vote-fitted"), get_method("tcn-lda-ensemble")
    assert fitted.params["members"] == reference.params["members"]
    assert reference.params["weights"] == [0.7, 0.3] and fitted.params["weights"] == "fit"
    assert (fitted.window_ms, fitted.step_ms) == (reference.window_ms, reference.step_ms)
