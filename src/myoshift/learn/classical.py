"""Classical pipelines: hand-crafted features -> standard scaling -> scikit-learn model.

`FeatureTransformer` wraps `myoshift.signal.extract_features` as a stateless
scikit-learn transformer; `ClassicalClassifier` chains it with a `StandardScaler` and
LDA, SVM, random forest or kNN, the baselines of the EMG literature (Hudgins et al.
1993; Englehart & Hudgins 2003; LibEMG); `ClassicalRegressor` does the same with ridge
or random-forest regression for continuous targets (glove joint angles).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
)
from sklearn.calibration import CalibratedClassifierCV

from myoshift.errors import ConfigError
from myoshift.learn.data import check_labels, check_targets, unpack
from myoshift.learn.feature_pipeline import (
    CLASSIFIERS,
    REGRESSORS,
    FeatureTransformer,
    _FeaturePipeline,
    make_classifier,
    make_regressor,
)
from myoshift.learn.recalibration import ClassicalRecalibration
from myoshift.learn.registry import register_estimator

__all__ = [
    "CLASSIFIERS",
    "REGRESSORS",
    "ClassicalClassifier",
    "ClassicalRegressor",
    "FeatureTransformer",
    "make_classifier",
    "make_regressor",
]

log = logging.getLogger(__name__)


@register_estimator(task="classification")
class ClassicalClassifier(ClassifierMixin, ClassicalRecalibration, _FeaturePipeline):
    """Features -> StandardScaler -> LDA/SVM/RF/kNN/NCM, with the scikit-learn contract.

    Parameters
    ----------
    classifier : {"lda", "svm", "rf", "knn", "ncm"}
    features : str or list of str
        Feature names or group for `FeatureTransformer` (default Hudgins' TD set).
    fs : float or None
        Sampling rate (taken from a `Windows` input when None).
    feature_params : dict or None
    classifier_params : dict or None
        Overrides of the classifier's defaults (see `make_classifier`).
    scale : bool
        Standardise features with training statistics.
    seed : int
    adapt_mode : {"target", "pooled"}
        Default mode of `adapt`: ``pooled`` refits on the source training windows and
        the calibration windows together, ``target`` on the calibration windows alone.
    adapt_weight : float or None
        ``pooled``: the share of the refit's rows given to the calibration windows (by
        repeating them; see `adapt`); None: each window once.
    window_ms, step_ms : float or None
        Windowing applied when ``X`` is a Recording / RecordingSet (see `RecordingInput`).
    aux_features : list of str or None
        Feature-level fusion: auxiliary blocks of a `Windows` input (``X.aux[name]``,
        e.g. the ``imu-features`` or ``instantaneous`` step's block) flattened per window
        and appended to the EMG features before the scaler; None: EMG features only.
    recalibrate_policy : str, dict or None
        Default policy of `recalibrate` on unlabelled target windows: ``lda-means``
        (LDA only; see `myoshift.learn.recalibration`).

    Attributes
    ----------
    classes_ : ndarray
    features_train_, y_train_ : ndarray
        Feature matrix and labels the pipeline was last fitted on (for ``pooled``
        adaptation and for saving).
    pipeline_ : sklearn Pipeline (scaler + classifier) on features.
    """

    def __init__(
        self,
        classifier: str = "lda",
        features: str | list[str] = "hudgins-td",
        fs: float | None = None,
        feature_params: dict[str, Any] | None = None,
        classifier_params: dict[str, Any] | None = None,
        scale: bool = True,
        seed: int = 0,
        adapt_mode: Literal["target", "pooled"] = "pooled",
        adapt_weight: float | None = 0.75,
        window_ms: float | None = None,
        step_ms: float | None = None,
        aux_features: list[str] | None = None,
        recalibrate_policy: str | dict[str, Any] | None = None,
    ) -> None:
        self.window_ms = window_ms
        self.step_ms = step_ms
        self.adapt_mode = adapt_mode
        self.adapt_weight = adapt_weight
        self.aux_features = aux_features
        self.recalibrate_policy = recalibrate_policy
        self.classifier = classifier
        self.features = features
        self.fs = fs
        self.feature_params = feature_params
        self.classifier_params = classifier_params
        self.scale = scale
        self.seed = seed

    def _make_model(self, y: np.ndarray) -> BaseEstimator:
        clf = make_classifier(self.classifier, self.seed, **(self.classifier_params or {}))
        if isinstance(clf, CalibratedClassifierCV):
            smallest = int(np.unique(y, return_counts=True)[1].min())
            if smallest < 2:
                raise ConfigError("svm needs at least 2 windows of every class")
            clf.set_params(cv=min(5, smallest))
        return clf

    def _refit(self, F: np.ndarray, y: np.ndarray) -> None:
        super()._refit(F, y)
        self.classes_ = self.pipeline_.classes_

    def _fit_input(self, X: Any, y: Any, groups: Any) -> tuple[Any, Any, np.ndarray, Any]:
        """``(input, windows, labels, groups)`` of `fit`, checked: a known classifier,
        labels of at least 2 classes (recordings cut into windows once)."""
        if self.classifier not in CLASSIFIERS:
            raise ConfigError(
                f"unknown classifier {self.classifier!r}; valid: {', '.join(CLASSIFIERS)}"
            )
        X = self._as_input(X)
        arr, y, groups = unpack(X, y, groups)
        y = check_labels(y, len(arr))
        if len(np.unique(y)) < 2:
            raise ConfigError(f"need at least 2 classes to fit a classifier, got {np.unique(y)}")
        return X, arr, y, groups

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> ClassicalClassifier:
        """Fit on windows ``(n, C, T)`` (or a Windows object) and labels."""
        X, _, y, _ = self._fit_input(X, y, groups)
        self._refit(self._fit_features(X), y)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        F = self.transform_features(X)  # NotFittedError first when not fitted
        return np.asarray(self.pipeline_.predict_proba(F))

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Accuracy on windows ``X`` (labels from a Windows object when ``y`` is None)."""
        X = self._as_input(X)
        _, y, _ = unpack(X, y)
        pred = self.predict(X)
        y = check_labels(y, len(pred))
        w = None if sample_weight is None else np.asarray(sample_weight)
        return float(np.average(pred == y, weights=w))

    def adapt(
        self, X: Any, y: Any = None, mode: Literal["target", "pooled"] | None = None
    ) -> ClassicalClassifier:
        """Recalibrate with labelled target windows, in place.

        ``mode`` None uses ``adapt_mode``. ``pooled``: refit scaler and classifier on
        the rows the model was last fitted on (the source) plus the calibration
        windows, repeated so that they hold the share ``adapt_weight`` of the rows: the
        target pulls the class means, covariance, trees or neighbours towards itself
        while classes it lacks stay known. ``target``: refit on the calibration windows
        alone (classes they lack can no longer be predicted).

        Raises
        ------
        ConfigError
            Unknown mode, missing labels, or classes unknown to the fitted model.
        """
        self._check_fitted()
        X = self._as_input(X)
        arr, y, _ = unpack(X, y)
        if y is None:
            raise ConfigError("ClassicalClassifier.adapt needs labels y for the target windows")
        y = check_labels(y, len(arr))
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ConfigError(
                f"adapt got classes {unknown.tolist()} unknown to the fitted model "
                f"({len(self.classes_)} classes: {self.classes_.tolist()})"
            )
        F, y, used = self._adapt_data(X, y, mode)
        if used == "target":
            missing = np.setdiff1d(self.classes_, y)
            if len(missing):
                log.warning(
                    "calibration data lacks classes %s; they can no longer be predicted", missing
                )
            if len(np.unique(y)) < 2:
                raise ConfigError("target-only adaptation needs at least 2 classes in y")
        self._refit(F, y)
        return self


@register_estimator(task="regression")
class ClassicalRegressor(RegressorMixin, _FeaturePipeline):
    """Features -> StandardScaler -> ridge or random-forest regression of continuous targets.

    The classical baseline of EMG-to-kinematics regression (e.g. glove joint angles from
    Ninapro; Hudgins TD or TD-AR features with a linear or forest regressor). Targets
    are ``(n,)`` or ``(n, k)``; predictions have the same shape.

    Parameters
    ----------
    regressor : {"ridge", "rf"}
        ``ridge``: `sklearn.linear_model.Ridge` (alpha 1.0 on standardised features);
        ``rf``: RandomForestRegressor (100 trees, seeded).
    regressor_params : dict or None
        Overrides of the regressor's defaults.
    features, fs, feature_params, scale, seed, adapt_mode, adapt_weight, window_ms, step_ms
    aux_features
        As in `ClassicalClassifier`.
    """

    def __init__(
        self,
        regressor: str = "ridge",
        features: str | list[str] = "hudgins-td",
        fs: float | None = None,
        feature_params: dict[str, Any] | None = None,
        regressor_params: dict[str, Any] | None = None,
        scale: bool = True,
        seed: int = 0,
        adapt_mode: Literal["target", "pooled"] = "pooled",
        adapt_weight: float | None = 0.75,
        window_ms: float | None = None,
        step_ms: float | None = None,
        aux_features: list[str] | None = None,
    ) -> None:
        self.window_ms = window_ms
        self.step_ms = step_ms
        self.adapt_mode = adapt_mode
        self.adapt_weight = adapt_weight
        self.aux_features = aux_features
        self.regressor = regressor
        self.features = features
        self.fs = fs
        self.feature_params = feature_params
        self.regressor_params = regressor_params
        self.scale = scale
        self.seed = seed

    def _make_model(self, y: np.ndarray) -> BaseEstimator:
        return make_regressor(self.regressor, self.seed, **(self.regressor_params or {}))

    def _targets(self, y: Any, n: int) -> np.ndarray:
        arr = check_targets(y, n).astype(np.float64)
        return arr[:, 0] if np.ndim(y) == 1 else arr

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> ClassicalRegressor:
        """Fit on windows ``(n, C, T)`` and targets ``(n,)`` or ``(n, k)``."""
        if self.regressor not in REGRESSORS:
            raise ConfigError(
                f"unknown regressor {self.regressor!r}; valid: {', '.join(REGRESSORS)}"
            )
        X = self._as_input(X)
        arr, _, _ = unpack(X, y, groups)
        targets = self._targets(y, len(arr))
        self._refit(self._fit_features(X), targets)
        return self

    def adapt(
        self, X: Any, y: Any = None, mode: Literal["target", "pooled"] | None = None
    ) -> ClassicalRegressor:
        """Recalibrate on target windows and targets, in place (``target`` or ``pooled``,
        as in `ClassicalClassifier.adapt`)."""
        self._check_fitted()
        X = self._as_input(X)
        arr, _, _ = unpack(X, y)
        targets = self._targets(y, len(arr))
        if targets.shape[1:] != self.y_train_.shape[1:]:
            raise ConfigError(
                f"adapt got targets of shape {targets.shape[1:]} per window, the model was "
                f"fitted on {self.y_train_.shape[1:]}"
            )
        F, targets, _ = self._adapt_data(X, targets, mode)
        self._refit(F, targets)
        return self
