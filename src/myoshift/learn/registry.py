"""The estimator registry: every estimator class myoshift can build, save and load by name.

An estimator class registers itself with `register_estimator` (as architectures do with
`myoshift.models.register_model`). Method files name estimators by these names
(``estimator: DeepClassifier``) and saved files record them, so loading never imports a
class named in a file: it only looks the name up here.

Examples
--------
>>> @register_estimator(task="classification")            # doctest: +SKIP
... class MyClassifier(Persistent, ClassifierMixin, BaseEstimator): ...
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from myoshift.errors import ConfigError

Task = Literal["classification", "regression"]
T = TypeVar("T", bound=type)

_ESTIMATORS: dict[str, type] = {}
_TASKS: dict[str, Task] = {}


def register_estimator(
    cls: T | None = None, *, name: str | None = None, task: Task = "classification"
) -> Any:
    """Class decorator adding an estimator to the registry under ``name`` (default: class name).

    ``task`` says what its ``predict`` returns: class labels or continuous targets.
    Registering another class under a taken name is an error.
    """

    def add(c: T) -> T:
        key = name or c.__name__
        old = _ESTIMATORS.get(key)
        if old is not None and (old.__module__, old.__qualname__) != (
            c.__module__,
            c.__qualname__,
        ):
            raise ConfigError(f"estimator name {key!r} is already registered by {old.__name__}")
        if task not in ("classification", "regression"):
            raise ConfigError(f"estimator {key!r}: task must be classification or regression")
        _ESTIMATORS[key] = c
        _TASKS[key] = task
        c.estimator_name = key  # type: ignore[attr-defined]
        return c

    return add(cls) if cls is not None else add


def estimator_names(task: Task | None = None) -> list[str]:
    """Sorted names of the registered estimators (of one ``task`` if given)."""
    return sorted(n for n in _ESTIMATORS if task is None or _TASKS[n] == task)


def get_estimator_class(name: str) -> type:
    """The class registered as ``name``; `ConfigError` listing the valid names otherwise."""
    try:
        return _ESTIMATORS[name]
    except KeyError:
        raise ConfigError(
            f"unknown estimator {name!r}; valid: {', '.join(estimator_names())}"
        ) from None


def estimator_task(name: str) -> Task:
    """``"classification"`` or ``"regression"`` for a registered estimator."""
    get_estimator_class(name)
    return _TASKS[name]


def name_of(est: Any) -> str:
    """The registered name of an estimator instance or class; `ConfigError` if unregistered."""
    cls = est if isinstance(est, type) else type(est)
    key: str | None = getattr(cls, "estimator_name", None)
    if key is None or _ESTIMATORS.get(key) is not cls:
        raise ConfigError(
            f"{cls.__name__} is not a registered estimator (decorate it with "
            "myoshift.learn.register_estimator)"
        )
    return key


def build(name: str, **params: Any) -> Any:
    """An unfitted estimator of registered class ``name`` with ``params``."""
    factory: Callable[..., Any] = get_estimator_class(name)
    return factory(**params)


def keyword_signature(cls: type) -> inspect.Signature:
    """``cls.__init__``'s own parameters plus every parameter of its base's ``__init__``,
    keyword-only: what scikit-learn's ``get_params`` and `build_estimator` introspect for
    an ``__init__`` that forwards ``**kwargs`` to the base (which may gain parameters)."""
    own = inspect.signature(vars(cls)["__init__"]).parameters.values()
    base = inspect.signature(cls.__mro__[1].__init__).parameters.values()  # type: ignore[misc]
    params = [p for p in own if p.kind is p.POSITIONAL_OR_KEYWORD][:1]  # self
    names = {"self"}
    for p in [*own, *base]:
        if p.name in names or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        names.add(p.name)
        params.append(p.replace(kind=p.KEYWORD_ONLY))
    return inspect.Signature(params)


def keyword_init(cls: T) -> T:
    """Class decorator: ``cls.__init__``, which takes its own parameters and forwards
    ``**kwargs`` to its base's, is shown with the full `keyword_signature`."""
    vars(cls)["__init__"].__signature__ = keyword_signature(cls)
    return cls
