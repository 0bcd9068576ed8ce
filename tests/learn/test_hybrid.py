"""EmbeddingClassifier: deep features -> classical decision, adapt, few-shot, k-means store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from myoshift.errors import ConfigError
from myoshift.learn import (
    ClassicalClassifier,
    DeepClassifier,
    EmbeddingClassifier,
    load_estimator,
)
from myoshift.learn.hybrid import kmeans_store

from .conftest import separable

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NET = {"model": "test-tiny", "epochs": 3, "lr": 0.02, "batch_size": 16, "threads": 1}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return separable(n_per_class=24)


@pytest.fixture(scope="module")
def fitted(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> EmbeddingClassifier:
    X, y, g = data
    return EmbeddingClassifier(DeepClassifier(**NET), "lda").fit(X, y, g)


def test_classical_decision_on_the_embedding(
    fitted: EmbeddingClassifier, data: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    X, y, _ = data
    emb = fitted.deep_.embed(X)
    np.testing.assert_array_equal(fitted.embed(X), emb)
    np.testing.assert_allclose(fitted.features_train_, emb)
    lda = fitted.pipeline_.named_steps["model"]
    scaled = fitted.pipeline_.named_steps["scaler"].transform(emb)
    np.testing.assert_array_equal(fitted.predict(X), lda.predict(scaled))
    assert (fitted.predict(X) == y).mean() > 0.8
    assert fitted.deep.__sklearn_is_fitted__() is False  # the parameter is left unfitted


def test_adapt_refits_only_the_classical_part(
    fitted: EmbeddingClassifier, data: tuple[np.ndarray, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, y, _ = data
    est = EmbeddingClassifier.load(fitted.save(tmp_path / "lda"))
    np.testing.assert_allclose(est.predict_proba(X), fitted.predict_proba(X), atol=1e-6)
    weights = {k: v.clone() for k, v in est.deep_.net_.state_dict().items()}
    n, cal = len(est.y_train_), np.r_[0:2, 24:26, 48:50]
    est.adapt(X[cal], y[cal])  # pooled: calibration rows repeated to 3/4 of the refit
    repeat = round(0.75 / 0.25 * n / 6)
    assert len(est.y_train_) == n + 6 * repeat
    est.adapt(X[cal], y[cal], mode="target")
    assert len(est.y_train_) == 6
    for k, v in est.deep_.net_.state_dict().items():
        assert (v == weights[k]).all(), k
    with pytest.raises(ConfigError, match="unknown to the fitted model"):
        est.adapt(X[:6], np.full(6, 7))


def test_few_shot_leaves_the_estimator_unchanged(
    fitted: EmbeddingClassifier, data: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    X, y, _ = data
    before = fitted.predict_proba(X)
    support = np.concatenate([np.flatnonzero(y == c)[:3] for c in (1, 2)])
    pred = fitted.few_shot((X[support], y[support]), X)
    assert set(pred) <= {1, 2} and (pred[y > 0] == y[y > 0]).mean() > 0.8
    np.testing.assert_array_equal(fitted.predict_proba(X), before)
    with pytest.raises(ConfigError, match=">= 2 classes"):
        fitted.few_shot((X[:3], y[:3]), X)


def test_kmeans_store_keeps_n_prototypes_per_class(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, y, g = data
    est = EmbeddingClassifier(DeepClassifier(**NET), "knn", store="kmeans", n_prototypes=4)
    est.fit(X, y, g)
    assert np.bincount(est.y_train_).tolist() == [4, 4, 4]
    assert est.pipeline_.named_steps["model"].n_neighbors == 4  # capped at the class size
    assert (est.predict(X) == y).mean() > 0.8
    est.adapt(X[:30], y[:30])
    assert np.bincount(est.y_train_).tolist() == [4, 4, 4]  # still bounded after adapt
    back = load_estimator(est.save(tmp_path / "knn"))
    np.testing.assert_allclose(back.predict_proba(X), est.predict_proba(X))
    F = np.arange(20.0)[:, None]
    small, labels = kmeans_store(F, np.repeat([0, 1], 10), 10)
    np.testing.assert_array_equal(small, F)  # no class above n_prototypes: unchanged
    assert len(kmeans_store(F, np.repeat([0, 1], 10), 3)[0]) == 6
    with pytest.raises(ConfigError, match="n_prototypes"):
        kmeans_store(F, np.repeat([0, 1], 10), 0)


def test_a_method_name_as_the_deep_part(tmp_path: Path) -> None:
    X, y, g = separable(n_per_class=8, n_channels=8, n_samples=52)
    est = EmbeddingClassifier("tcn-transfer", "svm", deep_params={"epochs": 1, "threads": 1})
    est.fit(X, y, g)
    assert isinstance(est.deep_, DeepClassifier) and est.deep_.epochs == 1
    back = EmbeddingClassifier.load(est.save(tmp_path / "svm"))
    assert back.deep == "tcn-transfer" and back.deep_params == {"epochs": 1, "threads": 1}
    np.testing.assert_allclose(back.predict_proba(X), est.predict_proba(X), atol=1e-6)


def test_bad_settings(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    X, y, _ = data
    with pytest.raises(ConfigError, match="has no embed"):
        EmbeddingClassifier(ClassicalClassifier("lda")).fit(X, y)
    with pytest.raises(ConfigError, match="method name or an estimator"):
        EmbeddingClassifier(3).fit(X, y)
    with pytest.raises(ConfigError, match="unknown store"):
        EmbeddingClassifier(DeepClassifier(**NET), store="faiss").fit(X, y)
    with pytest.raises(ConfigError, match="unknown classifier"):
        EmbeddingClassifier(DeepClassifier(**NET), "xgb").fit(X, y)
