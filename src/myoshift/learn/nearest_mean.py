"""Nearest class mean: the class whose mean feature vector (or embedding) is nearest.

The decision of prototypical networks and of the few-shot regime's ``nearest-mean``
condition, and the ``ncm`` classifier of the classical pipelines (Mensink et al. 2013,
"Distance-based image classification: generalizing to new classes at near-zero cost",
IEEE TPAMI 35(11)). Squared Euclidean distance, uniform class priors: a class's number
of rows changes its mean, never its weight. Unlike scikit-learn's ``NearestCentroid``,
whose probabilities scale the distances by within-class deviations, the probabilities
here are a softmax of minus half the squared distances, so their argmax is the
prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from myoshift.errors import ConfigError

__all__ = ["NearestClassMean", "nearest_mean"]


class NearestClassMean(ClassifierMixin, BaseEstimator):
    """Each class's mean of the training rows; a row goes to the nearest mean.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    means_ : ndarray (n_classes, n_features)
    """

    def fit(self, X: Any, y: Any) -> NearestClassMean:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if X.ndim != 2 or len(y) != len(X) or len(X) == 0:
            raise ConfigError(
                f"NearestClassMean.fit needs (n, d) rows and one label per row; "
                f"got X {X.shape}, y {y.shape}"
            )
        self.classes_, inv = np.unique(y, return_inverse=True)
        means = np.zeros((len(self.classes_), X.shape[1]))
        np.add.at(means, inv, X)
        self.means_ = means / np.bincount(inv)[:, None]
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Minus half the squared distance to each class mean, ``(n, n_classes)``."""
        check_is_fitted(self, "means_")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ConfigError(
                f"NearestClassMean fitted on {self.n_features_in_} features, got X {X.shape}"
            )
        m = self.means_
        dist = (X**2).sum(1)[:, None] - 2 * X @ m.T + (m**2).sum(1)[None, :]
        return -0.5 * np.maximum(dist, 0.0)

    def predict_proba(self, X: Any) -> np.ndarray:
        d = self.decision_function(X)
        e = np.exp(d - d.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)  # type: ignore[no-any-return]

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.decision_function(X).argmax(1)]  # type: ignore[no-any-return]


def nearest_mean(support_emb: Any, support_y: Any, query_emb: Any) -> np.ndarray:
    """The class of the nearest support class mean (squared Euclidean) for every query.

    Parameters
    ----------
    support_emb : array (n_support, d)
    support_y : array (n_support,)
    query_emb : array (n_query, d)
    """
    s, q = np.asarray(support_emb, dtype=np.float64), np.asarray(query_emb, dtype=np.float64)
    y = np.asarray(support_y)
    if s.ndim != 2 or q.ndim != 2 or s.shape[1] != q.shape[1] or len(y) != len(s):
        raise ConfigError(
            f"nearest_mean needs (n, d) embeddings of one width and one label per support "
            f"row; got support {s.shape}, labels {y.shape}, query {q.shape}"
        )
    return NearestClassMean().fit(s, y).predict(q)
