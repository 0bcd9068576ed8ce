"""Training tasks: how batches are drawn and what the loss is (the loop is `Trainer`).

A new learning regime is a new `TrainingTask` subclass registered with `register_task`,
never a fork of the trainer::

    @register_task
    class MyTask(TrainingTask):
        name = "my-task"
        ...

    Trainer(TrainConfig(epochs=10)).run(net, MyTask(...))

Built in: ``"supervised"`` (`SupervisedTask`), ``"entropy"`` (`EntropyTask`).
"""

from myoshift.learn.tasks.base import ArrayLike, Batch, EpochPlan, TrainingTask
from myoshift.learn.tasks.batching import (
    Inputs,
    call_net,
    named_inputs,
    predict_batches,
    shuffled_batches,
    take_rows,
)
from myoshift.learn.tasks.contrastive import ContrastiveTask
from myoshift.learn.tasks.entropy import EntropyTask
from myoshift.learn.tasks.episodic import EpisodeSampler, PrototypicalTask, RelationTask
from myoshift.learn.tasks.maml import MAMLTask
from myoshift.learn.tasks.multitask import MultiTaskTask
from myoshift.learn.tasks.registry import get_task, register_task, task_names
from myoshift.learn.tasks.supervised import Augment, SupervisedTask

__all__ = [
    "ArrayLike",
    "Augment",
    "Batch",
    "ContrastiveTask",
    "EntropyTask",
    "EpisodeSampler",
    "EpochPlan",
    "Inputs",
    "MAMLTask",
    "MultiTaskTask",
    "PrototypicalTask",
    "RelationTask",
    "SupervisedTask",
    "TrainingTask",
    "call_net",
    "get_task",
    "named_inputs",
    "predict_batches",
    "register_task",
    "shuffled_batches",
    "take_rows",
    "task_names",
]
