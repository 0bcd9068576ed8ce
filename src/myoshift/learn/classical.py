"""Classical pipelines: hand-crafted features -> standard scaling -> scikit-learn model.

`FeatureTransformer` wraps `myoshift.signal.extract_features` as a stateless
scikit-learn transformer; `ClassicalClassifier` chains it with a `StandardScaler` and
LDA, SVM, random forest or kNN, the baselines of the EMG literature (Hudgins et al.
1993; Englehart & Hudgins 2003; LibEMG); `ClassicalRegressor` does the same with ridge
or random-forest regression for continuous targets (glove joint angles).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    TransformerMixin,
    is_regressor,
)
from sklearn.calibration import CalibratedClassifierCV
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import myoshift.signal as _signal
from myoshift.errors import ConfigError, ModelFileError, ShapeError
from myoshift.learn.data import RecordingInput, check_labels, check_targets, unpack
from myoshift.learn.persistence import EstimatorState, Persistent, labels_from, labels_json
from myoshift.learn.registry import register_estimator
from myoshift.signal.windows import Windows

log = logging.getLogger(__name__)

CLASSIFIERS = ("lda", "svm", "rf", "knn")
_PROBE = 256  # training rows whose outputs a saved pipeline must reproduce
REGRESSORS = ("ridge", "rf")


def make_classifier(name: str, seed: int = 0, **params: Any) -> BaseEstimator:
    """A fresh scikit-learn classifier by short name, seeded where it is random.

    ``lda``: LinearDiscriminantAnalysis (SVD solver); ``svm``: RBF SVC with probability
    estimates (5-fold sigmoid calibration); ``rf``: RandomForestClassifier(100 trees);
    ``knn``: 5 nearest neighbours.
    ``params`` override the defaults.
    """
    if name == "lda":
        return LinearDiscriminantAnalysis(**params)
    if name == "svm":
        # Platt-style probabilities by 5-fold calibration (SVC(probability=True) is
        # deprecated); deterministic: unshuffled stratified folds, seeded SVC.
        svc = SVC(**{"kernel": "rbf", "random_state": seed, **params})
        return CalibratedClassifierCV(svc, method="sigmoid", cv=5, ensemble=False)
    if name == "rf":
        return RandomForestClassifier(
            **{"n_estimators": 100, "random_state": seed, "n_jobs": 1, **params}
        )
    if name == "knn":
        return KNeighborsClassifier(**{"n_neighbors": 5, **params})
    raise ConfigError(f"unknown classifier {name!r}; valid: {', '.join(CLASSIFIERS)}")


def make_regressor(name: str, seed: int = 0, **params: Any) -> BaseEstimator:
    """A fresh scikit-learn regressor by short name (``ridge`` or ``rf``), seeded."""
    if name == "ridge":
        return Ridge(**{"alpha": 1.0, **params})
    if name == "rf":
        return RandomForestRegressor(
            **{"n_estimators": 100, "random_state": seed, "n_jobs": 1, **params}
        )
    raise ConfigError(f"unknown regressor {name!r}; valid: {', '.join(REGRESSORS)}")


class FeatureTransformer(TransformerMixin, BaseEstimator):
    """Windows ``(n, C, T)`` -> feature matrix ``(n, n_features * C)``.

    Parameters
    ----------
    features : str or list of str
        Feature names or a group (``"hudgins-td"``, ``"td-ar"``, ...; see
        `myoshift.signal.list_features`).
    fs : float or None
        Sampling rate for frequency features; taken from a `Windows` input when None.
    feature_params : dict or None
        Extra keyword arguments of `myoshift.signal.extract_features` (thresholds...).

    Stateless: `fit` only records the input shape and the output column names.
    """

    def __init__(
        self,
        features: str | list[str] = "hudgins-td",
        fs: float | None = None,
        feature_params: dict[str, Any] | None = None,
    ) -> None:
        self.features = features
        self.fs = fs
        self.feature_params = feature_params

    def _extract(self, X: Any) -> tuple[np.ndarray, list[str]]:
        fs = self.fs
        if fs is None and isinstance(X, Windows):
            fs = X.fs
        arr, _, _ = unpack(X)
        feats, names = _signal.extract_features(  # type: ignore[attr-defined]
            arr, self.features, fs=fs, **(self.feature_params or {})
        )
        return np.asarray(feats, dtype=np.float64), list(names)

    def fit(self, X: Any, y: Any = None) -> FeatureTransformer:
        arr, _, _ = unpack(X)
        self.n_channels_in_, self.n_samples_in_ = arr.shape[1:]
        _, self.feature_names_out_ = self._extract(
            arr[:1] if not isinstance(X, Windows) else X.subset([0])
        )
        return self

    def transform(self, X: Any) -> np.ndarray:
        feats, _ = self._extract(X)
        if not np.isfinite(feats).all():
            raise ShapeError("features contain NaN or Inf (constant or empty windows?)")
        return feats

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        self.fit(X)
        return self.transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_out_, dtype=object)


def _window_shape(X: Any) -> tuple[int, ...]:
    """Shape of a window array or `Windows` object, without copying or validating it."""
    return tuple(np.shape(X.X if isinstance(X, Windows) else X))


class _FeaturePipeline(Persistent, RecordingInput, BaseEstimator):
    """Feature extraction, scaling, refitting and persistence of the classical estimators.

    Subclasses define the constructor parameters (``features``, ``fs``,
    ``feature_params``, ``scale``, ``seed``, ``adapt_mode``, ``window_ms``, ``step_ms``)
    and `_make_model`, the scikit-learn model after the scaler.
    """

    features: str | list[str]
    fs: float | None
    feature_params: dict[str, Any] | None
    scale: bool
    seed: int
    adapt_mode: Literal["target", "pooled"]

    def _make_model(self, y: np.ndarray) -> BaseEstimator:
        raise NotImplementedError

    def _transformer(self, X: Any) -> FeatureTransformer:
        fs = self.fs if self.fs is not None else getattr(self, "fs_", None)
        if fs is None and isinstance(X, Windows):
            fs = X.fs
        self.fs_ = fs
        return FeatureTransformer(self.features, fs, self.feature_params)

    def _features(self, X: Any) -> np.ndarray:
        """Feature matrix of windows ``X`` (validated once, by the feature extraction)."""
        ft = self._transformer(X)
        shape = _window_shape(X)
        fitted_channels: int | None = getattr(self, "n_channels_in_", None)
        if fitted_channels is not None and len(shape) == 3 and shape[1] != fitted_channels:
            raise ShapeError(
                f"X has {shape[1]} channels but {type(self).__name__} was fitted on "
                f"{fitted_channels}"
            )
        return ft.fit(X).transform(X)

    def _refit(self, F: np.ndarray, y: np.ndarray) -> None:
        steps: list[tuple[str, Any]] = []
        if self.scale:
            steps.append(("scaler", StandardScaler()))
        steps.append(("model", self._make_model(y)))
        self.pipeline_ = Pipeline(steps).fit(F, y)
        self.features_train_ = np.asarray(F, dtype=np.float64)
        self.y_train_ = np.asarray(y)

    def _fit_features(self, X: Any) -> np.ndarray:
        """Features of the training windows; records the input channel/feature counts."""
        self.__dict__.pop("n_channels_in_", None)
        self.fs_ = None
        F = self._features(X)
        self.n_channels_in_ = int(_window_shape(X)[1])
        self.n_features_in_ = int(F.shape[1])
        return F

    def _adapt_data(
        self, X: Any, y: np.ndarray, mode: str | None
    ) -> tuple[np.ndarray, np.ndarray, str]:
        """Features and targets to refit on for ``adapt`` (``target`` or ``pooled``)."""
        mode = self.adapt_mode if mode is None else mode
        if mode not in ("target", "pooled"):
            raise ConfigError(f"unknown adapt mode {mode!r}; valid: target, pooled")
        F = self._features(X)
        if mode == "pooled":
            F = np.concatenate([self.features_train_, F])
            y = np.concatenate([self.y_train_, y])
        return F, y, mode

    def _check_fitted(self) -> None:
        if not hasattr(self, "pipeline_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first")

    # ------------------------------------------------------------------ persistence
    def _probe(self, F: np.ndarray) -> np.ndarray:
        """Outputs of the pipeline on a few training rows, to check a refit on load."""
        pipe = self.pipeline_
        out = pipe.predict_proba(F) if hasattr(pipe, "predict_proba") else pipe.predict(F)
        return np.asarray(out, dtype=np.float64)

    def _get_state(self) -> EstimatorState:
        """Training features and targets (refitted on load, which is exact and seeded) and
        the outputs on a probe of them (compared after the refit, so a scikit-learn
        version that would change the model is detected instead of silently used)."""
        self._check_fitted()
        F = np.ascontiguousarray(self.features_train_, dtype=np.float64)
        arrays = {"features_train": F, "probe": self._probe(F[:_PROBE])}
        fitted: dict[str, Any] = {
            "n_channels_in": self.n_channels_in_,
            "n_features_in": self.n_features_in_,
            "fs": self.fs_,
        }
        y = np.asarray(self.y_train_)
        if is_regressor(self):  # float targets: an array
            arrays["y_train"] = np.ascontiguousarray(y, dtype=np.float64)
        else:  # class labels of any dtype (ints or strings): JSON
            fitted["y_train"] = labels_json(y)
        return EstimatorState(fitted, arrays)

    @classmethod
    def _from_state(cls, params: dict[str, Any], state: EstimatorState, folder: Path) -> Any:
        est = cls(**params)
        fitted, arrays = state.fitted, state.arrays
        F = arrays["features_train"]
        y = arrays["y_train"] if "y_train" in arrays else labels_from(fitted["y_train"])
        est.n_channels_in_ = int(fitted["n_channels_in"])
        est.n_features_in_ = int(fitted["n_features_in"])
        est.fs_ = fitted["fs"]
        est._refit(F, y)
        probe = est._probe(F[:_PROBE])
        saved = arrays["probe"] if "probe" in arrays else arrays["probe_proba"]  # <= 0.1
        if probe.shape != saved.shape or not np.allclose(probe, saved, atol=1e-6):
            raise ModelFileError(
                f"{folder}: the refitted pipeline does not reproduce the saved predictions "
                "(different scikit-learn version?)"
            )
        return est

    def transform_features(self, X: Any) -> np.ndarray:
        """Feature matrix of ``X`` (before scaling), as the pipeline sees it."""
        self._check_fitted()
        return self._features(self._as_input(X))

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.pipeline_.predict(self.transform_features(X)))


@register_estimator(task="classification")
class ClassicalClassifier(ClassifierMixin, _FeaturePipeline):
    """Features -> StandardScaler -> LDA/SVM/RF/kNN, with the scikit-learn contract.

    Parameters
    ----------
    classifier : {"lda", "svm", "rf", "knn"}
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
        Default mode of `adapt`.
    window_ms, step_ms : float or None
        Windowing applied when ``X`` is a Recording / RecordingSet (see `RecordingInput`).

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
        adapt_mode: Literal["target", "pooled"] = "target",
        window_ms: float | None = None,
        step_ms: float | None = None,
    ) -> None:
        self.window_ms = window_ms
        self.step_ms = step_ms
        self.adapt_mode = adapt_mode
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

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> ClassicalClassifier:
        """Fit on windows ``(n, C, T)`` (or a Windows object) and labels."""
        if self.classifier not in CLASSIFIERS:
            raise ConfigError(
                f"unknown classifier {self.classifier!r}; valid: {', '.join(CLASSIFIERS)}"
            )
        X = self._as_input(X)
        arr, y, _ = unpack(X, y, groups)
        y = check_labels(y, len(arr))
        if len(np.unique(y)) < 2:
            raise ConfigError(f"need at least 2 classes to fit a classifier, got {np.unique(y)}")
        self._refit(self._fit_features(X), y)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.pipeline_.predict_proba(self.transform_features(X)))

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

        ``mode`` None uses ``adapt_mode``. ``target``: refit scaler and classifier on
        the calibration data alone; ``pooled``: refit on the source training features
        plus the calibration data.

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
    features, fs, feature_params, scale, seed, adapt_mode, window_ms, step_ms
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
        adapt_mode: Literal["target", "pooled"] = "target",
        window_ms: float | None = None,
        step_ms: float | None = None,
    ) -> None:
        self.window_ms = window_ms
        self.step_ms = step_ms
        self.adapt_mode = adapt_mode
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
        """Recalibrate on target windows and targets, in place (``target`` or ``pooled``)."""
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
