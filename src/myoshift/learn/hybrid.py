"""`EmbeddingClassifier`: a fitted network's embedding as the features of a classical decision.

Deep features followed by a classical classifier (Côté-Allard et al. 2020, "Interpreting
deep learning features for myoelectric control: a comparison with handcrafted
features", Front. Bioeng. Biotechnol. 8:158): the deep estimator (a method name such as
``"tcn-transfer"`` or an estimator with ``embed``) is fitted on the training windows,
and its ``embed`` replaces the hand-crafted features of `ClassicalClassifier`
(scaler -> LDA / SVM / kNN / random forest). Everything else is the classical
estimator's: `adapt` refits the classical part on the calibration embeddings (pooled
with the training ones, weighted by ``adapt_weight``, or alone), the network untouched.

Recognition as a query: with ``classifier="knn"`` the stored training embeddings are
the memory a window is matched against; ``store="kmeans"`` keeps at most
``n_prototypes`` k-means centroids per class (also after `adapt`), so the memory stays
small however many windows are seen. `few_shot` fits the classical part on a support
set alone and predicts queries without changing the fitted estimator.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.cluster import KMeans
from sklearn.neighbors import KNeighborsClassifier

from myoshift.errors import ConfigError
from myoshift.learn.classical import ClassicalClassifier
from myoshift.learn.data import check_labels, unpack
from myoshift.learn.ensemble import fit_estimator
from myoshift.learn.methods import build_estimator
from myoshift.learn.persistence import EstimatorState
from myoshift.learn.registry import register_estimator

log = logging.getLogger(__name__)

STORES = ("all", "kmeans")


def kmeans_store(
    F: np.ndarray, y: np.ndarray, n_prototypes: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of each class with more than ``n_prototypes`` rows replaced by that many
    k-means centroids (seeded); classes in sorted order."""
    if not (isinstance(n_prototypes, int) and n_prototypes >= 1):
        raise ConfigError(f"n_prototypes must be a positive int, got {n_prototypes!r}")
    rows, labels = [], []
    for c in np.unique(y):
        members = F[y == c]
        if len(members) > n_prototypes:
            distinct = np.unique(members, axis=0)  # repeated rows (weights) add no centroid
            if len(distinct) <= n_prototypes:
                members = distinct
            else:
                km = KMeans(n_prototypes, n_init=3, random_state=seed).fit(members)
                members = km.cluster_centers_
        rows.append(members)
        labels.append(np.full(len(members), c, dtype=y.dtype))
    return np.concatenate(rows), np.concatenate(labels)


@register_estimator(task="classification")
class EmbeddingClassifier(ClassicalClassifier):
    """Deep estimator's ``embed`` -> StandardScaler -> LDA / SVM / kNN / random forest.

    Parameters
    ----------
    deep : str or estimator
        A method name (built with `myoshift.learn.methods.build_estimator`, seeded with
        ``seed``) or an unfitted estimator with ``fit`` and ``embed``; cloned on `fit`.
    deep_params : dict or None
        Parameters replacing the deep estimator's (e.g. ``{"epochs": 5}``).
    classifier : {"lda", "svm", "rf", "knn", "ncm"}
    classifier_params : dict or None
        Overrides of the classifier's defaults (`make_classifier`); kNN's ``n_neighbors``
        is capped at the smallest class's row count.
    store : {"all", "kmeans"}
        The training rows kept: every embedding, or at most ``n_prototypes`` k-means
        centroids per class.
    n_prototypes : int
    scale, seed, adapt_mode, adapt_weight, window_ms, step_ms
        As in `ClassicalClassifier`.

    Attributes
    ----------
    deep_ : the fitted deep estimator
    features_train_, y_train_ : ndarray
        The stored training embeddings (or centroids) and their labels.
    pipeline_, classes_
        As in `ClassicalClassifier`.
    """

    _child_params = ("deep",)

    def __init__(
        self,
        deep: Any = "tcn-transfer",
        classifier: str = "lda",
        deep_params: dict[str, Any] | None = None,
        classifier_params: dict[str, Any] | None = None,
        store: str = "all",
        n_prototypes: int = 32,
        scale: bool = True,
        seed: int = 0,
        adapt_mode: Literal["target", "pooled"] = "pooled",
        adapt_weight: float | None = 0.75,
        window_ms: float | None = None,
        step_ms: float | None = None,
    ) -> None:
        self.deep = deep
        self.classifier = classifier
        self.deep_params = deep_params
        self.classifier_params = classifier_params
        self.store = store
        self.n_prototypes = n_prototypes
        self.scale = scale
        self.seed = seed
        self.adapt_mode = adapt_mode
        self.adapt_weight = adapt_weight
        self.window_ms = window_ms
        self.step_ms = step_ms

    # ------------------------------------------------------------------ building blocks
    def _deep_estimator(self) -> Any:
        """A fresh, unfitted deep estimator from ``deep`` and ``deep_params``."""
        extra = dict(self.deep_params or {})
        if isinstance(self.deep, str):
            est = build_estimator(self.deep, None, self.seed, **extra)
        elif isinstance(self.deep, BaseEstimator) and hasattr(self.deep, "fit"):
            est = clone(self.deep).set_params(**extra)
        else:
            raise ConfigError(
                f"deep must be a method name or an estimator with fit and embed, got {self.deep!r}"
            )
        if not hasattr(est, "embed") or isinstance(est, EmbeddingClassifier):
            raise ConfigError(
                f"deep={self.deep!r} builds a {type(est).__name__}, which has no embed(); "
                "give a deep method (e.g. 'tcn-transfer') or estimator"
            )
        return est

    def _make_model(self, y: np.ndarray) -> BaseEstimator:
        clf = super()._make_model(y)
        if isinstance(clf, KNeighborsClassifier):
            smallest = int(np.unique(y, return_counts=True)[1].min())
            clf.set_params(n_neighbors=max(1, min(clf.n_neighbors, smallest)))
        return clf

    def _refit(self, F: np.ndarray, y: np.ndarray) -> None:
        if self.store not in STORES:
            raise ConfigError(f"unknown store {self.store!r}; valid: {', '.join(STORES)}")
        if self.store == "kmeans":
            F, y = kmeans_store(
                np.asarray(F, dtype=np.float64), np.asarray(y), self.n_prototypes, self.seed
            )
        super()._refit(F, y)

    def _features(self, X: Any) -> np.ndarray:
        """The fitted network's embedding of windows ``X`` (float64)."""
        return np.asarray(self.deep_.embed(X), dtype=np.float64)

    # ------------------------------------------------------------------ public API
    def fit(self, X: Any, y: Any = None, groups: Any = None) -> EmbeddingClassifier:
        """Fit the deep estimator on windows ``X`` (labels ``y``, repetition ``groups``),
        then the classical decision on its embedding of the same windows."""
        X, arr, y, groups = self._fit_input(X, y, groups)
        self.deep_ = fit_estimator(self._deep_estimator(), X, y, groups)
        F = self._features(X)
        self.n_channels_in_, self.n_features_in_, self.fs_ = int(arr.shape[1]), F.shape[1], None
        self._refit(F, y)
        return self

    def embed(self, X: Any) -> np.ndarray:
        """The deep estimator's embedding ``(n_windows, embed_dim)`` of windows ``X``."""
        return self.transform_features(X)

    def few_shot(self, support: Any, query: Any) -> np.ndarray:
        """Predicted labels of ``query`` windows by the classical part fitted on the
        embeddings of ``support`` alone (a `Windows` object or ``(X, y)``); the
        estimator itself is not changed."""
        self._check_fitted()
        Xs, ys = support if isinstance(support, tuple) else (support, None)
        Xs = self._as_input(Xs)
        arr, ys, _ = unpack(Xs, ys, name="support")
        ys = check_labels(ys, len(arr), name="support labels")
        if len(np.unique(ys)) < 2:
            raise ConfigError(
                f"few_shot needs support windows of >= 2 classes, got {np.unique(ys)}"
            )
        episode = copy.copy(self)  # shares the network; refits only its own classical part
        episode._refit(self._features(Xs), ys)
        return np.asarray(episode.predict(query))

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> EstimatorState:
        state = super()._get_state()
        state.fitted["deep"] = self.deep if isinstance(self.deep, str) else None
        state.children["deep"] = self.deep_
        return state

    @classmethod
    def _from_state(cls, params: dict[str, Any], state: EstimatorState, folder: Path) -> Any:
        """Rebuild from the stored embeddings and the nested network (no refit of it)."""
        fitted, net = state.fitted, state.children["deep"]
        deep = fitted["deep"] if fitted.get("deep") is not None else clone(net)
        est = cls(deep=deep, **params)
        est.deep_ = net
        est._refit_saved(state, folder)
        return est
