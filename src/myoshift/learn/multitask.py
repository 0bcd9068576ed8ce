"""`MultiTaskEstimator`: gesture classes and joint angles from one network, trained jointly.

Any registered EMG model is the shared encoder (``model``); `myoshift.models.multitask`
puts a gesture head and a joint-angle head on its embedding, and
`myoshift.learn.tasks.multitask.MultiTaskTask` trains both with
``CE + target_weight * MSE`` on standardised targets. ``predict`` gives the classes,
``predict_targets`` the joint angles (original units).

The labels come with the windows; the regression targets are a stream sampled at each
window's end (`Windows.extra`, what a method's ``target: glove`` cuts). In a method
file::

    estimator: MultiTaskEstimator
    target: glove
    params: {model: rcnn, target_weight: 1.0}

The estimator is registered as a regression estimator because, like one, it needs that
``target:`` stream; the benchmark then scores its classes and its targets in one report.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from myoshift.errors import ConfigError
from myoshift.learn.data import check_labels, check_targets, class_weights, unpack
from myoshift.learn.deep import DeepClassifier
from myoshift.learn.persistence import EstimatorState
from myoshift.learn.registry import keyword_init, register_estimator
from myoshift.learn.standardized_net import StandardizedNet
from myoshift.learn.tasks.batching import take_rows
from myoshift.learn.tasks.multitask import MultiTaskTask
from myoshift.learn.trainer import TrainConfig, Trainer, TrainResult
from myoshift.models import build_model, get_model_class
from myoshift.signal.augment import as_augmenter

__all__ = ["MultiTaskEstimator", "labels_and_targets"]


def labels_and_targets(
    X: Any, y: Any = None, targets: Any = None, stream: str | None = None
) -> tuple[Any, np.ndarray | None]:
    """``(labels, regression targets or None)`` for an estimator that learns both.

    Targets: ``targets`` if given, else the window stream ``stream`` of a `Windows`
    object's ``extra`` (None: its only stream). Labels: ``y``, else the windows' own.
    A ``y`` equal to those targets is what `MethodChain` passes for a ``target:``
    method (its regression target); the labels then come from the windows.
    """
    extra = getattr(X, "extra", None) or {}
    if targets is None and extra:
        if stream is None and len(extra) > 1:
            raise ConfigError(f"the windows carry several target streams {sorted(extra)}; name one")
        name = stream if stream is not None else next(iter(extra))
        if name not in extra:
            raise ConfigError(
                f"the windows carry no regression target {name!r} (streams: {sorted(extra)})"
            )
        targets = extra[name]
        if y is not None and (y is targets or np.array_equal(np.asarray(y), targets)):
            y = None
    if y is None and hasattr(X, "extra"):
        y = X.y
    return y, None if targets is None else np.asarray(targets)


@register_estimator(task="regression")
@keyword_init
class MultiTaskEstimator(DeepClassifier):
    """Classes and regression targets from one encoder with two heads (multi-task).

    Parameters
    ----------
    target_weight : float
        ``w`` in the loss ``CE + w * MSE`` (targets standardised with training
        statistics). 0 without targets: the encoder as a plain classifier.
    target : str or None
        The `Windows.extra` stream to regress (None: the only one the windows carry).
    **kwargs
        Every `DeepClassifier` parameter (keyword only); ``model`` names the shared
        encoder (e.g. ``"rcnn"``), ``model_params`` its hyper-parameters.

    Attributes
    ----------
    classes_ : ndarray
    n_targets_ : int
        Regression outputs (0 when fitted without targets).
    target_mean_, target_std_ : ndarray
        Training statistics of the targets.
    """

    _task = "multitask"
    target_weight: float
    target: str | None

    def __init__(self, *, target_weight: float = 1.0, target: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.target_weight = target_weight
        self.target = target

    # ------------------------------------------------------------------ fitting
    def _resolve(self, X: Any, y: Any, targets: Any) -> tuple[Any, np.ndarray | None]:
        labels, tar = labels_and_targets(X, y, targets, self.target)
        if tar is None and self.target_weight != 0:
            raise ConfigError(
                f"MultiTaskEstimator (target_weight {self.target_weight}) needs regression "
                "targets: windows with a target stream (a method's 'target:', e.g. glove) or "
                "targets=...; none were given"
            )
        return labels, tar

    def fit(  # type: ignore[override]
        self, X: Any, y: Any = None, groups: Any = None, targets: Any = None
    ) -> MultiTaskEstimator:
        """Train on windows with labels ``y`` (or the windows' own) and regression
        ``targets`` (or the windows' target stream). ``groups``: repetition of each window."""
        if not (isinstance(self.target_weight, int | float) and self.target_weight >= 0):
            raise ConfigError(f"target_weight must be a number >= 0, got {self.target_weight!r}")
        X = self._as_input(X)
        labels, tar = self._resolve(X, y, targets)
        Xa, labels, groups = unpack(X, labels, groups)
        check_labels(labels, len(Xa))
        if tar is not None:
            check_targets(tar, len(Xa), name="targets")
        self._fit(X, (labels, tar), groups)
        return self

    def _encode(self, y: Any) -> tuple[np.ndarray, int]:  # type: ignore[override]
        labels, tar = y
        codes, n_classes = super()._encode(labels)
        if tar is None:
            self.target_ndim_, self.n_targets_ = 2, 0
            self.target_mean_ = np.zeros(0, dtype=np.float32)
            self.target_std_ = np.ones(0, dtype=np.float32)
            return codes[:, None].astype(np.float32), n_classes
        arr = check_targets(tar, len(codes), name="targets")
        self.target_ndim_, self.n_targets_ = int(np.ndim(tar)), arr.shape[1]
        self.target_mean_ = arr.mean(axis=0).astype(np.float32)
        sd = arr.std(axis=0)
        self.target_std_ = np.where(sd > 1e-8, sd, 1.0).astype(np.float32)
        std = (arr - self.target_mean_) / self.target_std_
        return np.column_stack([codes.astype(np.float32), std]), n_classes + arr.shape[1]

    def _encode_adapt(self, y: Any, n: int) -> tuple[np.ndarray, int]:
        labels, tar = y
        codes, n_classes = super()._encode_adapt(labels, n)
        if self.n_targets_ == 0:
            return codes[:, None].astype(np.float32), n_classes
        if tar is None:
            raise ConfigError("adapt of a multi-task model needs the regression targets too")
        arr = check_targets(tar, n, name="targets")
        if arr.shape[1] != self.n_targets_:
            raise ConfigError(
                f"adapt got {arr.shape[1]} target columns, the model was fitted on "
                f"{self.n_targets_}"
            )
        std = (arr - self.target_mean_) / self.target_std_
        return np.column_stack([codes.astype(np.float32), std]), n_classes + self.n_targets_

    def _build(
        self, n_channels: int, n_samples: int, n_outputs: int, params: dict[str, Any] | None = None
    ) -> StandardizedNet:
        if "classification" not in get_model_class(self.model).tasks:
            raise ConfigError(f"model {self.model!r} cannot be the encoder of a classifier")
        hp = self.model_params if params is None else params
        with torch.random.fork_rng(devices=[]):  # initial weights from the seed alone
            torch.default_generator.manual_seed(self.seed)
            net = build_model(
                "multitask",
                n_channels,
                n_samples,
                n_outputs,
                encoder=self.model,
                encoder_params=hp or None,
                n_targets=self.n_targets_,
            )
        return StandardizedNet(net, n_channels)

    @staticmethod
    def _task_for(inputs: Any, y_enc: np.ndarray, idx: np.ndarray | None = None) -> Any:
        """``(inputs, labels, targets)`` of rows ``idx`` (all when None) for a task."""
        if idx is None:
            return inputs, y_enc[:, 0].astype(np.int64), y_enc[:, 1:]
        return take_rows(inputs, idx), y_enc[idx, 0].astype(np.int64), y_enc[idx, 1:]

    def _train(
        self,
        net: StandardizedNet,
        inputs: Any,
        y_enc: np.ndarray,
        tr: np.ndarray,
        va: np.ndarray,
        weights: np.ndarray | None,
    ) -> TrainResult:
        x_tr, lab_tr, t_tr = self._task_for(inputs, y_enc, tr)
        val = self._task_for(inputs, y_enc, va) if len(va) else (None, None, None)
        task = MultiTaskTask(
            x_tr,
            lab_tr,
            t_tr,
            *val,
            target_weight=float(self.target_weight),
            class_weight=class_weights(
                lab_tr, len(self.classes_), self.class_weight, self.classes_
            ),
            label_smoothing=self.label_smoothing,
            augment=as_augmenter(self.augment),
        )
        return Trainer(self._config(self._train_config())).run(net, task, run_id=self._run_id())

    def _fine_tune(self, cfg: TrainConfig, inputs: Any, y_enc: Any, weights: Any, **kw: Any) -> Any:
        x, labels, tar = self._task_for(inputs, y_enc)
        task = MultiTaskTask(
            x,
            labels,
            tar,
            target_weight=float(self.target_weight),
            class_weight=class_weights(
                labels, len(self.classes_), self.class_weight, self.classes_
            ),
        )
        return Trainer(self._config(cfg)).run(self.net_, task, **kw)

    @staticmethod
    def _config(cfg: TrainConfig) -> TrainConfig:
        cfg.task = "classification"  # the loop's own check; the loss is the task's
        return cfg

    def _align_loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        k = self.n_targets_
        ce = F.cross_entropy(out[:, : out.shape[1] - k], target[:, 0].long())
        if not k:
            return ce
        return ce + float(self.target_weight) * F.mse_loss(out[:, -k:], target[:, 1:].to(out.dtype))

    def adapt(  # type: ignore[override]
        self, X: Any, y: Any = None, mode: Any = None, targets: Any = None, **kwargs: Any
    ) -> MultiTaskEstimator:
        """As `DeepClassifier.adapt` (``epochs``, ``lr``, ``batch_size``, ``align``), on
        both losses; labels and targets found as in `fit`."""
        self._check_fitted()
        X = self._as_input(X)
        labels, tar = labels_and_targets(X, y, targets, self.target)
        super().adapt(X, (labels, tar), mode, **kwargs)
        return self

    # ------------------------------------------------------------------ prediction
    def _split(self, X: Any) -> tuple[torch.Tensor, torch.Tensor]:
        out = self._outputs(X)
        k = self.n_targets_
        return out[:, : out.shape[1] - k], out[:, out.shape[1] - k :]

    def predict_proba(self, X: Any) -> np.ndarray:
        return torch.softmax(self._split(X)[0], dim=1).numpy()

    def decision_function(self, X: Any) -> np.ndarray:
        out = self._split(X)[0].numpy()
        return out[:, 1] - out[:, 0] if out.shape[1] == 2 else out

    def predict(self, X: Any) -> np.ndarray:
        logits = self._split(X)[0]  # NotFittedError first when not fitted
        return self.classes_[logits.argmax(1).numpy()]

    def predict_targets(self, X: Any) -> np.ndarray:
        """The regression outputs in original units, ``(n,)`` or ``(n, k)`` as fitted."""
        self._check_fitted()
        if self.n_targets_ == 0:
            raise ConfigError("this MultiTaskEstimator was fitted without regression targets")
        out = self._split(X)[1].numpy() * self.target_std_ + self.target_mean_
        return out[:, 0] if self.target_ndim_ == 1 else out

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Accuracy on the labels (found as in `fit`)."""
        X = self._as_input(X)
        labels, _ = labels_and_targets(X, y, None, self.target)
        return float(np.mean(self.predict(X) == np.asarray(labels)))

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> EstimatorState:
        state = super()._get_state()
        state.arrays.update(__target_mean=self.target_mean_, __target_std=self.target_std_)
        state.fitted.update(n_targets=self.n_targets_, target_ndim=self.target_ndim_)
        return state

    def _restore_targets(self, fitted: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        super()._restore_targets(fitted, arrays)
        self.target_mean_ = np.asarray(arrays.pop("__target_mean"), dtype=np.float32)
        self.target_std_ = np.asarray(arrays.pop("__target_std"), dtype=np.float32)
        self.n_targets_, self.target_ndim_ = int(fitted["n_targets"]), int(fitted["target_ndim"])
