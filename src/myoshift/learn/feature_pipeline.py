"""The shared base of the classical estimators: scikit-learn models by short name,
`FeatureTransformer` (windows -> features) and `_FeaturePipeline` (features -> scaler ->
model, refitting, adaptation data and persistence; see `myoshift.learn.classical`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sklearn.base import (
    BaseEstimator,
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
from myoshift.learn.data import RecordingInput, unpack
from myoshift.learn.nearest_mean import NearestClassMean
from myoshift.learn.persistence import EstimatorState, Persistent, labels_from, labels_json
from myoshift.signal.window_array import WindowArray
from myoshift.signal.windows import Windows

log = logging.getLogger(__name__)

CLASSIFIERS = ("lda", "svm", "rf", "knn", "ncm")
_PROBE = 256  # training rows whose outputs a saved pipeline must reproduce
REGRESSORS = ("ridge", "rf")
#: modes of ``adapt`` (see `_FeaturePipeline._adapt_data`)
ADAPT_MODES = ("target", "pooled")


def make_classifier(name: str, seed: int = 0, **params: Any) -> BaseEstimator:
    """A fresh scikit-learn classifier by short name, seeded where it is random.

    ``lda``: LinearDiscriminantAnalysis (SVD solver); ``svm``: RBF SVC with probability
    estimates (5-fold sigmoid calibration); ``rf``: RandomForestClassifier(100 trees);
    ``knn``: 5 nearest neighbours; ``ncm``: nearest class mean (`NearestClassMean`:
    squared Euclidean, uniform class priors, probabilities a softmax of minus half the
    squared distances). ``params`` override the defaults.
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
    if name == "ncm":
        return NearestClassMean(**params)
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
        arr = X.X if isinstance(X, Windows) else X
        if not isinstance(arr, WindowArray):
            arr, _, _ = unpack(arr)
        # a lazy WindowArray goes straight to the extraction, which gathers it block by
        # block and checks every block for NaN/Inf: windows -> features, never all windows
        feats, names = _signal.extract_features(  # type: ignore[attr-defined]
            arr, self.features, fs=fs, **(self.feature_params or {})
        )
        return np.asarray(feats, dtype=np.float64), list(names)

    def fit(self, X: Any, y: Any = None) -> FeatureTransformer:
        arr, _, _ = unpack(X)  # a lazy WindowArray is checked without materialising it
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
    aux_features: list[str] | None

    def _make_model(self, y: np.ndarray) -> BaseEstimator:
        raise NotImplementedError

    def _transformer(self, X: Any) -> FeatureTransformer:
        """Extractor at rate ``fs``, else the fitted ``fs_``, else ``X``'s (no state change)."""
        fs = self.fs if self.fs is not None else getattr(self, "fs_", None)
        if fs is None and isinstance(X, Windows):
            fs = X.fs
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
        F = ft.fit(X).transform(X)
        blocks = self._aux_blocks(X)
        if not blocks:
            return F
        widths = {k: int(b.shape[1]) for k, b in blocks.items()}
        fitted = getattr(self, "aux_widths_", None)
        if fitted is not None and widths != fitted:
            raise ShapeError(
                f"auxiliary feature blocks have widths {widths}, {type(self).__name__} was "
                f"fitted on {fitted}"
            )
        return np.hstack([F, *blocks.values()])

    def _aux_blocks(self, X: Any) -> dict[str, np.ndarray]:
        """Feature-level fusion: the blocks ``aux_features`` of ``X.aux``, one row per
        window (e.g. the ``imu-features`` step's IMU features), appended to the EMG
        features before the scaler; ``{}`` without ``aux_features``."""
        names = getattr(self, "aux_features", None)
        names = [names] if isinstance(names, str) else names
        if not names:
            return {}
        aux = getattr(X, "aux", None) or {}
        missing = [k for k in names if k not in aux]
        if missing:
            raise ConfigError(
                f"{type(self).__name__}: aux_features {missing} are not among the windows' "
                f"auxiliary blocks ({', '.join(sorted(aux)) or 'none'}); cut the stream "
                "(method 'aux: [imu]') and add the step that makes the block (e.g. "
                "'imu-features')"
            )
        blocks = {k: np.asarray(aux[k].X, dtype=np.float64).reshape(len(aux[k]), -1) for k in names}
        for k, b in blocks.items():
            if not np.isfinite(b).all():
                raise ShapeError(f"auxiliary feature block {k!r} contains NaN or Inf")
        return blocks

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
        self.__dict__.pop("aux_widths_", None)
        self.fs_ = None
        self.fs_ = self._transformer(X).fs  # the rate used now and on every later call
        F = self._features(X)
        if getattr(self, "aux_features", None):
            self.aux_widths_ = {k: int(b.shape[1]) for k, b in self._aux_blocks(X).items()}
        self.n_channels_in_ = int(_window_shape(X)[1])
        self.n_features_in_ = int(F.shape[1])
        return F

    def _adapt_data(
        self, X: Any, y: np.ndarray, mode: str | None
    ) -> tuple[np.ndarray, np.ndarray, str]:
        """Features and targets to refit on for ``adapt``, and the mode used.

        ``target``: the calibration windows alone. ``pooled``: the rows the pipeline
        was last fitted on (the source) plus the calibration windows, each calibration
        row repeated so that the target holds the share ``adapt_weight`` of all rows
        (at least once; ``adapt_weight=None``: once). Repeating rows weights them for
        every model alike (LDA means and covariance, forest bootstraps, neighbours)
        and keeps the stored training rows an exact record of the fitted model.
        """
        mode = self.adapt_mode if mode is None else mode
        if mode not in ADAPT_MODES:
            raise ConfigError(f"unknown adapt mode {mode!r}; valid: {', '.join(ADAPT_MODES)}")
        F = self._features(X)
        if mode == "target":
            return F, y, mode
        share = getattr(self, "adapt_weight", None)
        repeat = 1
        if share is not None:
            if not 0 < share < 1:
                raise ConfigError(f"adapt_weight must be in (0, 1) or None, got {share!r}")
            repeat = max(1, round(share / (1 - share) * len(self.y_train_) / max(len(y), 1)))
        F = np.concatenate([self.features_train_, np.tile(F, (repeat, 1))])
        y = np.concatenate([self.y_train_, np.tile(y, (repeat,) + (1,) * (y.ndim - 1))])
        return F, y, mode

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "pipeline_")

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
        if getattr(self, "aux_widths_", None):
            fitted["aux_widths"] = self.aux_widths_
        y = np.asarray(self.y_train_)
        if is_regressor(self):  # float targets: an array
            arrays["y_train"] = np.ascontiguousarray(y, dtype=np.float64)
        else:  # class labels of any dtype (ints or strings): JSON
            fitted["y_train"] = labels_json(y)
        return EstimatorState(fitted, arrays)

    @classmethod
    def _from_state(cls, params: dict[str, Any], state: EstimatorState, folder: Path) -> Any:
        """Refit from the saved training features after checking every stored shape
        against ``estimator.json``; `ModelFileError` naming the file otherwise."""
        est = cls(**params)
        fitted = state.fitted
        n_channels, n_features = int(fitted["n_channels_in"]), int(fitted["n_features_in"])
        fs = fitted["fs"]
        if n_channels < 1 or not (fs is None or (isinstance(fs, int | float) and fs > 0)):
            raise ModelFileError(
                f"{folder / 'estimator.json'}: n_channels_in={n_channels}, fs={fs!r}; "
                "expected a positive channel count and sampling rate"
            )
        _, columns = _signal.extract_features(  # column names only: no window is computed
            np.zeros((0, n_channels, 1 << 16)), est.features, fs=fs, **(est.feature_params or {})
        )
        aux_widths = {str(k): int(v) for k, v in (fitted.get("aux_widths") or {}).items()}
        if len(columns) + sum(aux_widths.values()) != n_features:
            raise ModelFileError(
                f"{folder / 'estimator.json'}: n_features_in={n_features}, but features "
                f"{est.features!r} of n_channels_in={n_channels} channels give {len(columns)}"
                + (f" and the auxiliary blocks {aux_widths}" if aux_widths else "")
            )
        if aux_widths:
            est.aux_widths_ = aux_widths
        est._refit_saved(state, folder)
        return est

    def _refit_saved(self, state: EstimatorState, folder: Path) -> None:
        """Refit on the saved training rows after checking their shapes against
        ``estimator.json`` and that the refit reproduces the saved probe outputs;
        `ModelFileError` naming the file otherwise."""
        fitted, arrays = state.fitted, state.arrays
        n_channels, n_features = int(fitted["n_channels_in"]), int(fitted["n_features_in"])
        F = arrays["features_train"]
        y = arrays["y_train"] if "y_train" in arrays else labels_from(fitted["y_train"])
        saved = arrays["probe"] if "probe" in arrays else arrays["probe_proba"]  # <= 0.1
        n = len(F) if F.ndim else 0
        outputs = y.shape[1:] if is_regressor(self) else (len(np.unique(y)),)
        for name, arr, shape in (
            ("features_train", F, (n, n_features)),
            ("y_train", y, (n, *y.shape[1:])),
            ("probe", saved, (min(n, _PROBE), *outputs)),
        ):
            if arr.shape != shape:
                where = "weights.safetensors" if name in arrays else "estimator.json"
                raise ModelFileError(
                    f"{folder / where}: {name} has shape {arr.shape}, expected {shape} "
                    f"(n_features_in={n_features} and the rows of features_train)"
                )
        self.n_channels_in_, self.n_features_in_, self.fs_ = n_channels, n_features, fitted["fs"]
        self._refit(F, y)
        if not np.allclose(self._probe(F[:_PROBE]), saved, atol=1e-6):
            raise ModelFileError(
                f"{folder}: the refitted pipeline does not reproduce the saved predictions "
                "(different scikit-learn version?)"
            )

    def transform_features(self, X: Any) -> np.ndarray:
        """Feature matrix of ``X`` (before scaling), as the pipeline sees it."""
        self._check_fitted()
        return self._features(self._as_input(X))

    def predict(self, X: Any) -> np.ndarray:
        F = self.transform_features(X)  # NotFittedError first; outputs shaped as y_train_
        return np.asarray(self.pipeline_.predict(F)).reshape(len(F), *self.y_train_.shape[1:])
