"""Evaluation regimes: what happens inside the folds of a protocol.

A protocol (`myoshift.evaluation.protocols`) cuts a RecordingSet into folds; a *regime*
says how a method meets them. The runner owns everything around it — caching,
resumption, parallel or distributed execution, failure isolation, resource accounting,
saving fitted models — and calls a regime through three methods:

``groups(folds)``
    folds that share one piece of preparation (today: the same training recordings),
    run together as one task;
``prepare(method, folds, seed)``
    the shared work (e.g. fit on the source people); a failure here fails every fold of
    the group with the same message;
``run_fold(method, prepared, fold, seed, vote)``
    one fold's result: a `FoldOutcome` with metrics per test condition and, optionally,
    the model that produced them (saved with ``save_models``).

A regime that cannot honour a protocol says so in `check` (one line naming both). New
regimes (few-shot episodes, sequential days) subclass `Regime` and register with
`register_regime`; the runner is not edited.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from myoshift.errors import ConfigError
from myoshift.evaluation.metrics import classification_metrics, regression_metrics
from myoshift.evaluation.protocols import Fold, Protocol
from myoshift.evaluation.recipes import Method
from myoshift.recording import UNLABELLED

R = TypeVar("R", bound=type)


@dataclass
class FoldOutcome:
    """The result of one fold: metrics per test condition, extra info, the model used."""

    conditions: dict[str, dict[str, Any]]
    n_test: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    model: Any = None


class Regime(ABC):
    """Base class of evaluation regimes (see the module docstring)."""

    name: ClassVar[str] = ""

    def params(self) -> dict[str, Any]:
        """JSON-able parameters (part of the result cache key)."""
        return {}

    def check(self, protocol: Protocol, folds: Sequence[Fold]) -> None:  # noqa: B027
        """Raise `ConfigError` when this regime cannot run on ``protocol``'s folds."""

    def groups(self, folds: Sequence[Fold]) -> list[list[Fold]]:
        """Folds that share one preparation: here, those with the same training set."""
        by_train: dict[tuple[int, ...], list[Fold]] = {}
        for f in folds:
            by_train.setdefault(tuple(map(id, f.train)), []).append(f)
        return list(by_train.values())

    @abstractmethod
    def prepare(self, method: Method, folds: Sequence[Fold], seed: int) -> Any:
        """Shared work of a group of folds (e.g. the fitted model)."""

    @abstractmethod
    def run_fold(
        self, method: Method, prepared: Any, fold: Fold, seed: int, vote: int | None
    ) -> FoldOutcome:
        """Evaluate one fold."""


def score_conditions(model: Any, fold: Fold, vote: int | None) -> FoldOutcome:
    """Metrics of a fitted `MethodChain` on each test condition of ``fold``.

    Classification decides on every window of the test recordings in time order, the
    windows of unlabelled stretches included, as a live system would; the majority
    vote runs over those decisions and only labelled windows are scored (see
    `classification_metrics`). Regression is scored on the labelled windows, per output
    too (``r2[j]``, ``rmse[j]``). An estimator that does both (``predict`` gives classes,
    ``predict_targets`` the regression target of a ``target:`` chain) gets both families
    of metrics in one condition.
    """
    conditions: dict[str, Any] = {}
    n_test = 0
    both = model.target is not None and hasattr(model.estimator_, "predict_targets")
    for cond, test in fold.conditions():
        if model.target is not None and not both:
            w = model.windows(test)
            pred = np.asarray(model.estimator_.predict(w))
            conditions[cond] = regression_metrics(model.targets(w), pred, per_output=True)
            n_test = max(n_test, len(w))
            continue
        w = model.windows(test, drop_unlabelled=False)
        pred = np.asarray(model.estimator_.predict(w))
        scored = w.y != UNLABELLED
        labels = sorted(set(w.y[scored].tolist()) | set(pred[scored].tolist()))
        conditions[cond] = classification_metrics(
            w.y, pred, labels, w.meta["recording"].to_numpy(), vote
        )
        if both:
            angles = np.asarray(model.estimator_.predict_targets(w))[scored]
            truth = model.targets(w)[scored]
            conditions[cond].update(regression_metrics(truth, angles, per_output=True))
        n_test = max(n_test, int(scored.sum()))
    return FoldOutcome(conditions, n_test)


_REGIMES: dict[str, type[Regime]] = {}


def register_regime(cls: R) -> R:
    """Class decorator adding a regime under its ``name``."""
    if not cls.name:  # type: ignore[attr-defined]
        raise ConfigError(f"regime {cls.__name__} needs a name")
    _REGIMES[cls.name] = cls  # type: ignore[attr-defined]
    return cls


def regime_names() -> list[str]:
    return sorted(_REGIMES)


def get_regime(regime: str | Regime, **params: Any) -> Regime:
    """A regime instance by name (or the instance itself)."""
    if isinstance(regime, Regime):
        return regime
    if regime not in _REGIMES:
        raise ConfigError(f"unknown regime {regime!r}; valid: {', '.join(regime_names())}")
    return _REGIMES[regime](**params)


@register_regime
class Transfer(Regime):
    """Fit once on the fold's source data, adapt a copy on the first k calibration
    repetitions of the target (k = the fold's budget; 0: zero-shot), test.

    The method's estimator is calibrated with its own ``adapt`` recipe, on labelled
    calibration windows.
    """

    name = "transfer"

    def prepare(self, method: Method, folds: Sequence[Fold], seed: int) -> Any:
        chain = method.chain(float(folds[0].train[0].fs), seed)
        return chain.fit(folds[0].train)

    def run_fold(
        self, method: Method, prepared: Any, fold: Fold, seed: int, vote: int | None
    ) -> FoldOutcome:
        model = prepared
        info: dict[str, Any] = {}
        if int(fold.info.get("calibration", 0)) > 0:
            model = prepared.copy().adapt(fold.calibration)
            info["n_calibration"] = model.n_adapt_
            info["adapt_mode"] = getattr(model.estimator_, "adapt_mode", None)
            if getattr(model, "placement_", None) is not None:
                info["placement"] = model.placement_.to_json()
        out = score_conditions(model, fold, vote)
        out.info, out.model = info, model
        return out
