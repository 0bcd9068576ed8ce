"""Estimators with the scikit-learn contract, training, adaptation and named methods.

* `registry`: every estimator registers by name (`register_estimator`), which method
  files and saved files use;
* `persistence`: one save format (safetensors + JSON) for every estimator, nested ones
  included (`save_estimator`, `load_estimator`);
* `tasks`: what a training run optimises (`SupervisedTask`; new regimes register new
  tasks with `register_task`); `Trainer` owns only the loop;
* `DeepClassifier`, `DeepRegressor`: registered architectures trained by `Trainer`,
  with `adapt` (head / full fine-tuning, AdaBN);
* `FeatureTransformer`, `ClassicalClassifier`: features -> scaler -> LDA/SVM/RF/kNN/NCM;
  `ClassicalRegressor`: features -> scaler -> ridge / random forest (joint angles);
* `ProbabilityEnsemble`: soft voting of member estimators;
* `MethodChain`: recordings in, decisions out (preprocess -> windows -> represent ->
  estimator), what the benchmark runner fits and saves;
* `methods`: named pipelines (``lda-td``, ``tcn``, ...) read from ``myoshift/configs/methods``;
* `distributed`: data-parallel training under ``torchrun``.
"""

from myoshift.learn.chain import MethodChain
from myoshift.learn.classical import ClassicalClassifier, ClassicalRegressor, FeatureTransformer
from myoshift.learn.deep import DeepClassifier, DeepRegressor
from myoshift.learn.ensemble import ProbabilityEnsemble
from myoshift.learn.fusion import ClassifierRegressorFusion, DecisionFusion
from myoshift.learn.hybrid import EmbeddingClassifier
from myoshift.learn.meta import MetaClassifier
from myoshift.learn.methods import MethodSpec, build_estimator, get_method, method_names
from myoshift.learn.multitask import MultiTaskEstimator
from myoshift.learn.persistence import load_estimator, save_estimator
from myoshift.learn.pretrain import ContrastiveEncoder
from myoshift.learn.registry import estimator_names, get_estimator_class, register_estimator
from myoshift.learn.tasks import SupervisedTask, TrainingTask, get_task, register_task, task_names
from myoshift.learn.trainer import TrainConfig, Trainer, TrainResult

__all__ = [
    "ClassicalClassifier",
    "ClassicalRegressor",
    "ClassifierRegressorFusion",
    "ContrastiveEncoder",
    "DecisionFusion",
    "DeepClassifier",
    "DeepRegressor",
    "EmbeddingClassifier",
    "FeatureTransformer",
    "MetaClassifier",
    "MethodChain",
    "MethodSpec",
    "MultiTaskEstimator",
    "ProbabilityEnsemble",
    "SupervisedTask",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingTask",
    "build_estimator",
    "estimator_names",
    "get_estimator_class",
    "get_method",
    "get_task",
    "load_estimator",
    "method_names",
    "register_estimator",
    "register_task",
    "save_estimator",
    "task_names",
]
