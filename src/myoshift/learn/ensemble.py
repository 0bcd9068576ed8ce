"""Weighted averaging of the class probabilities of several named methods.

`ProbabilityEnsemble` builds one estimator per member method (``myoshift.learn.methods``)
with a shared windowing, fits each on the same training data, calibrates each with its
own recipe in `adapt`, and predicts the class of highest weighted mean probability.
Typical use: a network pre-trained on many people and fine-tuned on the new one,
averaged with a classical model trained on the new person's calibration data alone.

Examples
--------
>>> ens = ProbabilityEnsemble(
...     members=[{"method": "tcn-transfer"}, {"method": "lda-tdar"}], weights=[0.7, 0.3]
... )  # doctest: +SKIP
>>> ens.fit(X_source, y_source).adapt(X_calib, y_calib).predict(X_test)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from myoshift.errors import ConfigError, ModelFileError

ENSEMBLE_JSON = "ensemble.json"
ENSEMBLE_FORMAT = "myoshift-probability-ensemble/1"


class ProbabilityEnsemble(ClassifierMixin, BaseEstimator):
    """Weighted mean of the ``predict_proba`` of member methods (soft voting).

    Parameters
    ----------
    members : list of dict
        One ``{"method": NAME, "params": {...}}`` per member: a registered method name
        and estimator parameters overriding the method's (``params`` optional).
    weights : list of float or None
        One non-negative weight per member (normalised to sum 1); None: equal weights.
    fs : float or None
        Sampling rate, passed to members that take one (feature extraction).
    window_ms, step_ms : float or None
        Windowing of recording input, imposed on every member so that all of them
        see the same windows.
    seed : int
        Seed of every member.

    Attributes
    ----------
    estimators_ : list
        The fitted member estimators.
    classes_ : ndarray
        Class labels (every member must have the same).
    """

    def __init__(
        self,
        members: list[dict[str, Any]] | None = None,
        weights: list[float] | None = None,
        fs: float | None = None,
        window_ms: float | None = None,
        step_ms: float | None = None,
        seed: int = 0,
    ) -> None:
        self.members = members
        self.weights = weights
        self.fs = fs
        self.window_ms = window_ms
        self.step_ms = step_ms
        self.seed = seed

    def _weights(self) -> np.ndarray:
        members = self.members or []
        if not members:
            raise ConfigError("ProbabilityEnsemble needs at least one member method")
        if self.weights is None:
            return np.full(len(members), 1.0 / len(members))
        w = np.asarray(self.weights, dtype=float)
        if w.shape != (len(members),) or (w < 0).any() or w.sum() <= 0:
            raise ConfigError(
                f"ProbabilityEnsemble: weights must be {len(members)} non-negative numbers "
                f"with a positive sum, got {self.weights!r}"
            )
        return w / w.sum()

    def _build_members(self) -> list[Any]:
        from myoshift.learn.methods import build_estimator, get_method

        out = []
        for i, m in enumerate(self.members or []):
            if not isinstance(m, dict) or not isinstance(m.get("method"), str):
                raise ConfigError(
                    f"ProbabilityEnsemble member {i}: expected {{'method': NAME, 'params': "
                    f"{{...}}}}, got {m!r}"
                )
            spec = get_method(m["method"])
            if spec.estimator == type(self).__name__:
                raise ConfigError(f"ProbabilityEnsemble member {i}: ensembles cannot nest")
            params = dict(m.get("params") or {})
            if self.window_ms is not None:
                params.setdefault("window_ms", self.window_ms)
            if self.step_ms is not None:
                params.setdefault("step_ms", self.step_ms)
            out.append(build_estimator(spec, self.fs, self.seed, **params))
        return out

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> ProbabilityEnsemble:
        """Fit every member on ``X, y`` (``groups`` go to members that take them)."""
        self._weights()
        estimators = self._build_members()
        for est in estimators:
            if groups is not None and "groups" in inspect.signature(est.fit).parameters:
                est.fit(X, y, groups=groups)
            else:
                est.fit(X, y)
        classes = [np.asarray(e.classes_) for e in estimators]
        for c in classes[1:]:
            if not np.array_equal(c, classes[0]):
                raise ConfigError(
                    f"ProbabilityEnsemble members disagree on the classes: "
                    f"{[cl.tolist() for cl in classes]}"
                )
        self.estimators_ = estimators
        self.classes_ = classes[0]
        return self

    def _check_fitted(self) -> list[Any]:
        est = getattr(self, "estimators_", None)
        if est is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("ProbabilityEnsemble is not fitted yet; call fit first")
        return est  # type: ignore[no-any-return]

    def adapt(self, X: Any, y: Any = None) -> ProbabilityEnsemble:
        """Calibrate every member on target windows with its own recipe, in place."""
        estimators = self._check_fitted()
        for i, est in enumerate(estimators):
            if not hasattr(est, "adapt"):
                raise ConfigError(
                    f"ProbabilityEnsemble member {i} ({type(est).__name__}) has no adapt"
                )
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
    def save(self, path: str | Path) -> Path:
        """Write ``path/ensemble.json`` and each member to ``path/member<i>/`` (no pickle)."""
        from myoshift.learn.serialize import save_estimator

        estimators = self._check_fitted()
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        for i, est in enumerate(estimators):
            save_estimator(est, root / f"member{i}")
        meta = {"format": ENSEMBLE_FORMAT, "params": self.get_params(deep=False)}
        (root / ENSEMBLE_JSON).write_text(json.dumps(meta, indent=1))
        return root

    @classmethod
    def load(cls, path: str | Path) -> ProbabilityEnsemble:
        """Load an ensemble written by `save`; `ModelFileError` if a file is missing or bad."""
        from myoshift.learn.serialize import load_estimator

        root = Path(path)
        try:
            meta = json.loads((root / ENSEMBLE_JSON).read_text())
            if meta.get("format") != ENSEMBLE_FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, expected {ENSEMBLE_FORMAT!r}")
            ens = cls(**meta["params"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelFileError(f"{root / ENSEMBLE_JSON}: not a saved ensemble ({exc})") from None
        ens.estimators_ = [
            load_estimator(root / f"member{i}") for i in range(len(ens.members or []))
        ]
        ens.classes_ = np.asarray(ens.estimators_[0].classes_)
        return ens
