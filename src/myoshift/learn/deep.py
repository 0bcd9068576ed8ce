"""Deep estimators with the scikit-learn contract: `DeepClassifier`, `DeepRegressor`.

They join a registered architecture (`myoshift.models`) to data through `Trainer`:
inputs are standardised per channel with statistics of the training data (kept as
buffers of the network, so they travel with the weights), a validation split is taken
from the training data by group for early stopping, and `adapt` calibrates a fitted
estimator to a new domain (see `myoshift.learn.adaptation`).

Examples
--------
>>> clf = DeepClassifier(model="tcn", epochs=20).fit(X_train, y_train, groups=reps)
>>> clf.adapt(X_calib, y_calib, mode="head", epochs=10)     # doctest: +SKIP
>>> clf.save("tcn-subject3"); DeepClassifier.load("tcn-subject3").predict(X_test)
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import type_of_target

from myoshift.errors import ConfigError
from myoshift.learn.adaptation import AdaptMode
from myoshift.learn.data import (
    check_labels,
    check_targets,
    unpack,
)
from myoshift.learn.deep_base import _DeepEstimator
from myoshift.learn.persistence import (
    EstimatorState,
    labels_from,
    labels_json,
)
from myoshift.learn.registry import register_estimator
from myoshift.learn.standardized_net import StandardizedNet

__all__ = ["AdaptMode", "DeepClassifier", "DeepRegressor", "StandardizedNet"]

log = logging.getLogger(__name__)


@register_estimator(task="classification")
class DeepClassifier(ClassifierMixin, _DeepEstimator):
    """A registered deep architecture trained as a classifier (scikit-learn contract).

    Parameters
    ----------
    model : str
        Registered architecture name (``myoshift models list``).
    model_params : dict or None
        Hyper-parameters of the architecture.
    optimizer : {"adamw", "adam", "sgd"}
        SGD uses momentum 0.9.
    lr, weight_decay : float
    epochs, batch_size : int
    schedule : {"cosine", "step", "constant"}
    warmup_epochs : float
        Linear learning-rate warm-up.
    label_smoothing : float
    class_weight : None, "balanced" or dict label -> weight
    val_fraction : float
        Share of the training groups (repetitions) held out for early stopping; 0
        trains on everything for ``epochs``.
    patience : int or None
        Epochs without validation-loss improvement before stopping.
    augment : callable, list, dict or None
        Applied to each training batch: a callable ``(X, y, rng) -> (X, y)`` (e.g.
        `myoshift.signal.augment.Augmenter`), or the Augmenter's arguments as plain data,
        which method configs can hold and saved estimators keep: a list of steps
        (``[["noise", {"snr_db": [20, 40]}], "scale"]``) or ``{"steps": [...], "p": 0.5}``.
    standardize : bool
        Per-channel z-scoring with training statistics (stored in the weights).
    seed : int
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    threads : int or None
        CPU threads for torch (default: physical cores).
    checkpoint_dir : path or None
        Checkpoint every epoch there and resume from it (see `myoshift.learn.trainer`).
    verbose : bool
        Progress bar and per-epoch log lines.
    adapt_mode, adapt_epochs, adapt_lr, adapt_align
        Defaults of `adapt` (so a method's recipe includes its calibration).
    recalibrate_policy : str, dict or None
        Default policy of `recalibrate` on unlabelled target windows (``adabn``,
        ``self-training``, ``tent``, ``zhai``; see `myoshift.learn.recalibration`).
    window_ms, step_ms : float or None
        Windowing applied when ``X`` is a Recording / RecordingSet (see `RecordingInput`).

    Attributes
    ----------
    classes_ : ndarray
    net_ : StandardizedNet
    alignment_ : dict
        After ``adapt(align="ring")``: the chosen ``rotation`` and the mean ``loss`` of
        every candidate.
    history_ : list of dict
        Per-epoch train/validation loss (and validation accuracy).
    """

    _task = "classification"

    def _encode(self, y: Any) -> tuple[np.ndarray, int]:  # type: ignore[override]
        y = check_labels(y, len(y) if hasattr(y, "__len__") else -1)
        if type_of_target(y) == "continuous":
            raise ConfigError(
                "y has continuous values; DeepClassifier needs class labels "
                "(DeepRegressor fits continuous targets)"
            )
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ConfigError(f"need at least 2 classes to fit a classifier, got {self.classes_}")
        return y_enc.astype(np.int64), len(self.classes_)

    def _encode_adapt(self, y: Any, n: int) -> tuple[np.ndarray, int]:
        y = check_labels(y, n)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ConfigError(
                f"adapt got classes {unknown.tolist()} unknown to the fitted model "
                f"({len(self.classes_)} classes: {self.classes_.tolist()}); the class set "
                "must match between fit and adapt"
            )
        return np.searchsorted(self.classes_, y).astype(np.int64), len(self.classes_)

    def _get_state(self) -> EstimatorState:
        state = super()._get_state()
        state.fitted["classes"] = labels_json(self.classes_)
        return state

    def _restore_targets(self, fitted: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.classes_ = labels_from(fitted["classes"])

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> DeepClassifier:
        """Train on windows ``X`` (n, C, T) or a Windows object.

        ``groups`` (repetition or trial of each window) define the validation split.
        """
        X = self._as_input(X)
        Xa, y, groups = unpack(X, y, groups)
        check_labels(y, len(Xa))
        self._fit(X, y, groups)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` in the order of ``classes_``."""
        return torch.softmax(self._outputs(X), dim=1).numpy()

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits ``(n, n_classes)``; with two classes the log-odds of ``classes_[1]``, ``(n,)``.

        The binary form is scikit-learn's convention (positive means ``classes_[1]``),
        which its scorers (e.g. ROC AUC) expect.
        """
        out = self._outputs(X).numpy()
        return out[:, 1] - out[:, 0] if out.shape[1] == 2 else out

    def predict(self, X: Any) -> np.ndarray:
        out = self._outputs(X)  # NotFittedError first when not fitted
        return self.classes_[out.argmax(1).numpy()]

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        Xa, y, _ = unpack(self._as_input(X), y)
        return float(super().score(Xa, y, sample_weight))


@register_estimator(task="regression")
class DeepRegressor(RegressorMixin, _DeepEstimator):
    """A registered architecture trained with MSE for continuous outputs.

    Same parameters as `DeepClassifier` (``label_smoothing`` and ``class_weight`` are
    ignored). Targets ``(n,)`` or ``(n, k)`` (e.g. glove joint angles at the window's
    end) are standardised with training statistics; predictions are in original units.
    Typical use: ``DeepRegressor(model="rcnn")``.
    """

    _task = "regression"

    def _encode(self, y: Any) -> tuple[np.ndarray, int]:  # type: ignore[override]
        arr = check_targets(y, len(y) if hasattr(y, "__len__") else -1)
        self.y_ndim_ = int(np.ndim(y))
        self.y_mean_ = arr.mean(axis=0).astype(np.float32)
        sd = arr.std(axis=0)
        self.y_std_ = np.where(sd > 1e-8, sd, 1.0).astype(np.float32)
        self.n_outputs_ = arr.shape[1]
        return (arr - self.y_mean_) / self.y_std_, arr.shape[1]

    def _encode_adapt(self, y: Any, n: int) -> tuple[np.ndarray, int]:
        arr = check_targets(y, n)
        if arr.shape[1] != self.n_outputs_:
            raise ConfigError(
                f"adapt got {arr.shape[1]} target columns, the model was fitted on "
                f"{self.n_outputs_}"
            )
        return (arr - self.y_mean_) / self.y_std_, self.n_outputs_

    def _get_state(self) -> EstimatorState:
        state = super()._get_state()
        state.arrays.update(__y_mean=self.y_mean_, __y_std=self.y_std_)
        state.fitted.update(y_ndim=self.y_ndim_, n_outputs=self.n_outputs_)
        return state

    def _restore_targets(self, fitted: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.y_mean_ = np.asarray(arrays.pop("__y_mean"), dtype=np.float32)
        self.y_std_ = np.asarray(arrays.pop("__y_std"), dtype=np.float32)
        self.y_ndim_, self.n_outputs_ = int(fitted["y_ndim"]), int(fitted["n_outputs"])

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> DeepRegressor:
        X = self._as_input(X)
        Xa, y, groups = unpack(X, y, groups)
        check_targets(y, len(Xa))
        self._fit(X, y, groups)
        return self

    def predict(self, X: Any) -> np.ndarray:
        out = self._outputs(X).numpy() * self.y_std_ + self.y_mean_
        return out[:, 0] if self.y_ndim_ == 1 else out

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        Xa, y, _ = unpack(self._as_input(X), y)
        return float(super().score(Xa, y, sample_weight))
