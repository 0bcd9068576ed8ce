"""Estimators with the scikit-learn contract, training, adaptation and named methods.

* `registry`: every estimator registers by name (`register_estimator`), which method
  files and saved files use;
* `persistence`: one save format (safetensors + JSON) for every estimator, nested ones
  included (`save_estimator`, `load_estimator`);
* `DeepClassifier`, `DeepRegressor`: registered architectures trained by `Trainer`,
  with `adapt` (head / full fine-tuning, AdaBN);
* `FeatureTransformer`, `ClassicalClassifier`: features -> scaler -> LDA/SVM/RF/kNN;
  `ClassicalRegressor`: features -> scaler -> ridge / random forest (joint angles);
* `ProbabilityEnsemble`: soft voting of member estimators;
* `methods`: named pipelines (``lda-td``, ``tcn``, ...) read from ``myoshift/configs/methods``;
* `distributed`: data-parallel training under ``torchrun``.
"""

from myoshift.learn.classical import ClassicalClassifier, ClassicalRegressor, FeatureTransformer
from myoshift.learn.deep import DeepClassifier, DeepRegressor
from myoshift.learn.ensemble import ProbabilityEnsemble
from myoshift.learn.methods import MethodSpec, build_estimator, get_method, method_names
from myoshift.learn.persistence import load_estimator, save_estimator
from myoshift.learn.registry import estimator_names, get_estimator_class, register_estimator
from myoshift.learn.trainer import TrainConfig, Trainer, TrainResult

__all__ = [
    "ClassicalClassifier",
    "ClassicalRegressor",
    "DeepClassifier",
    "DeepRegressor",
    "FeatureTransformer",
    "MethodSpec",
    "ProbabilityEnsemble",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "build_estimator",
    "estimator_names",
    "get_estimator_class",
    "get_method",
    "load_estimator",
    "method_names",
    "register_estimator",
    "save_estimator",
]
