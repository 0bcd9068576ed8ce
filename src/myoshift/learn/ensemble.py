"""Soft voting: the weighted mean of the class probabilities of several estimators.

`ProbabilityEnsemble` is handed its member estimators (as scikit-learn's
``VotingClassifier``), fits each on the same training data, calibrates each with its own
recipe in `adapt`, and predicts the class of highest weighted mean probability. Typical
use: a network pre-trained on many people and fine-tuned on the new one, averaged with a
classical model trained on the new person's calibration data alone. Named methods build
the members from method names (`myoshift.learn.methods`).

Examples
--------
>>> ens = ProbabilityEnsemble(
...     [("tcn", DeepClassifier(model="tcn")), ("lda", ClassicalClassifier("lda"))],
...     weights=[0.7, 0.3],
... )  # doctest: +SKIP
>>> ens.fit(windows).adapt(calibration_windows).predict(test_windows)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import Tags, get_tags

from myoshift.errors import ConfigError
from myoshift.learn.persistence import EstimatorState, Persistent, labels_from, labels_json
from myoshift.learn.registry import register_estimator


def fit_estimator(est: Any, X: Any, y: Any = None, groups: Any = None) -> Any:
    """``est.fit(X, y)``, passing ``groups`` only to estimators whose ``fit`` takes them."""
    try:
        takes_groups = "groups" in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        takes_groups = False
    if groups is not None and takes_groups:
        return est.fit(X, y, groups=groups)
    return est.fit(X, y)


@register_estimator(task="classification")
class ProbabilityEnsemble(Persistent, ClassifierMixin, BaseEstimator):
    """Weighted mean of the members' ``predict_proba`` (soft voting).

    Parameters
    ----------
    estimators : list of (str, estimator)
        Named member classifiers with ``predict_proba`` (cloned on `fit`).
    weights : list of float or None
        One non-negative weight per member (normalised to sum 1); None: equal weights.

    Attributes
    ----------
    estimators_ : list
        The fitted members.
    classes_ : ndarray
        Class labels (every member must have the same).
    """

    _child_params = ("estimators",)

    def __init__(
        self,
        estimators: list[tuple[str, Any]] | None = None,
        weights: list[float] | None = None,
    ) -> None:
        self.estimators = estimators
        self.weights = weights

    def _members(self) -> list[tuple[str, Any]]:
        members = list(self.estimators or [])
        if not members:
            raise ConfigError("ProbabilityEnsemble needs at least one member estimator")
        for i, m in enumerate(members):
            if not (isinstance(m, tuple | list) and len(m) == 2 and isinstance(m[0], str)):
                raise ConfigError(
                    f"ProbabilityEnsemble member {i}: expected a (name, estimator) pair, got {m!r}"
                )
            if not hasattr(m[1], "fit"):
                raise ConfigError(f"ProbabilityEnsemble member {m[0]!r} has no fit()")
            if isinstance(m[1], ProbabilityEnsemble):
                raise ConfigError(f"ProbabilityEnsemble member {m[0]!r}: ensembles cannot nest")
        names = [m[0] for m in members]
        if len(set(names)) != len(names):
            raise ConfigError(f"ProbabilityEnsemble member names must be unique, got {names}")
        return [(str(n), e) for n, e in members]

    def _weights(self) -> np.ndarray:
        n = len(self._members())
        if self.weights is None:
            return np.full(n, 1.0 / n)
        w = np.asarray(self.weights, dtype=float)
        if w.shape != (n,) or (w < 0).any() or w.sum() <= 0:
            raise ConfigError(
                f"ProbabilityEnsemble: weights must be {n} non-negative numbers "
                f"with a positive sum, got {self.weights!r}"
            )
        return w / w.sum()

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> ProbabilityEnsemble:
        """Fit a clone of every member on ``X, y`` (``groups`` to members that take them)."""
        self._weights()
        fitted = [fit_estimator(clone(est), X, y, groups) for _, est in self._members()]
        classes = [np.asarray(e.classes_) for e in fitted]
        for c in classes[1:]:
            if not np.array_equal(c, classes[0]):
                raise ConfigError(
                    f"ProbabilityEnsemble members disagree on the classes: "
                    f"{[cl.tolist() for cl in classes]}"
                )
        self.estimators_ = fitted
        self.classes_ = classes[0]
        return self

    def __sklearn_tags__(self) -> Tags:
        """Input tags of the members (all must accept an input); windows without members."""
        tags = super().__sklearn_tags__()
        given = self.estimators if isinstance(self.estimators, list | tuple) else []
        members = [m[-1] for m in given if isinstance(m, tuple | list) and len(m) == 2]
        inputs = [get_tags(e).input_tags for e in members if isinstance(e, BaseEstimator)]
        tags.input_tags.two_d_array = bool(inputs) and all(t.two_d_array for t in inputs)
        tags.input_tags.three_d_array = all(t.three_d_array for t in inputs)
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return getattr(self, "estimators_", None) is not None

    def _check_fitted(self) -> list[Any]:
        est = getattr(self, "estimators_", None)
        if est is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("ProbabilityEnsemble is not fitted yet; call fit first")
        return est  # type: ignore[no-any-return]

    def adapt(self, X: Any, y: Any = None) -> ProbabilityEnsemble:
        """Calibrate every member on target windows with its own recipe, in place."""
        estimators = self._check_fitted()
        for (name, _), est in zip(self._members(), estimators):
            if not hasattr(est, "adapt"):
                raise ConfigError(f"ProbabilityEnsemble member {name!r} has no adapt()")
            est.adapt(X, y)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Weighted mean of the members' probabilities, ``(n_windows, n_classes)``."""
        estimators = self._check_fitted()
        w = self._weights()
        proba = sum(
            wi * np.asarray(e.predict_proba(X), dtype=float) for wi, e in zip(w, estimators)
        )
        return np.asarray(proba)

    def predict(self, X: Any) -> np.ndarray:
        """The class of highest mean probability per window."""
        proba = self.predict_proba(X)  # raises NotFittedError first when not fitted
        return np.asarray(self.classes_[np.argmax(proba, axis=1)])

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> EstimatorState:
        estimators = self._check_fitted()
        names = [n for n, _ in self._members()]
        children = {str(i): e for i, e in enumerate(estimators)}
        return EstimatorState({"names": names, "classes": labels_json(self.classes_)}, {}, children)

    @classmethod
    def _from_state(cls, params: dict[str, Any], state: EstimatorState, folder: Path) -> Any:
        fitted = [state.children[str(i)] for i in range(len(state.fitted["names"]))]
        ens = cls(estimators=list(zip(state.fitted["names"], fitted)), **params)
        ens.estimators_ = fitted
        ens.classes_ = labels_from(state.fitted["classes"])
        return ens
