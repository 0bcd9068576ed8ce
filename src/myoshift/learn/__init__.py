"""Estimators with the scikit-learn contract, training, adaptation and named methods.

* `DeepClassifier`, `DeepRegressor`: registered architectures trained by `Trainer`,
  with `adapt` (head / full fine-tuning, AdaBN) and safetensors persistence;
* `FeatureTransformer`, `ClassicalClassifier`: features -> scaler -> LDA/SVM/RF/kNN;
  `ClassicalRegressor`: features -> scaler -> ridge / random forest (joint angles);
* `methods`: named pipelines (``lda-td``, ``tcn``, ...) read from ``myoshift/configs/methods``;
* `distributed`: data-parallel training under ``torchrun``.
"""

from myoshift.learn.classical import ClassicalClassifier, ClassicalRegressor, FeatureTransformer
from myoshift.learn.deep import DeepClassifier, DeepRegressor
from myoshift.learn.methods import MethodSpec, build_estimator, get_method, method_names
from myoshift.learn.serialize import load_estimator, save_estimator
from myoshift.learn.trainer import TrainConfig, Trainer, TrainResult

__all__ = [
    "ClassicalClassifier",
    "ClassicalRegressor",
    "DeepClassifier",
    "DeepRegressor",
    "FeatureTransformer",
    "MethodSpec",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "build_estimator",
    "get_method",
    "load_estimator",
    "method_names",
    "save_estimator",
]
