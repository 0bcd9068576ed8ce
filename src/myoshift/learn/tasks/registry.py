"""Training tasks by name (like `myoshift.models.register_model`)."""

from __future__ import annotations

from typing import TypeVar

from myoshift.errors import ConfigError
from myoshift.learn.tasks.base import TrainingTask

T = TypeVar("T", bound=type[TrainingTask])

_TASKS: dict[str, type[TrainingTask]] = {}


def register_task(cls: T) -> T:
    """Class decorator adding a `TrainingTask` to the registry under ``cls.name``."""
    if not cls.name:
        raise ConfigError(f"{cls.__name__} has no name; set the class attribute `name`")
    if _TASKS.get(cls.name, cls) is not cls:
        raise ConfigError(f"training task name {cls.name!r} registered twice")
    _TASKS[cls.name] = cls
    return cls


def task_names() -> list[str]:
    """Names of the registered training tasks, sorted."""
    return sorted(_TASKS)


def get_task(name: str) -> type[TrainingTask]:
    """The task class registered as ``name``; `ConfigError` listing valid names if none."""
    try:
        return _TASKS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown training task {name!r}; valid names: {', '.join(task_names())}"
        ) from None
