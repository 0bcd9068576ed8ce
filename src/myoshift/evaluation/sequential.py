"""Days in order: the ``sequential`` protocol and the ``sequential`` regime.

The protocol ``sequential[:D]`` makes one fold per person of a dataset with days (or
sessions): train on the person's first ``D`` days (default 1), test on every later day.
The regime fits on the training days, then visits the later days in order; before each
day it may recalibrate (`POLICIES`), and by default the model it leaves a day with is
the one it starts the next day from (``carry=False``: every day restarts from the model
fitted on the training days). Each day is a test condition ``day=3`` whose metrics carry
``day`` (numeric days only) and ``days_since_training`` (the difference to the last
training day; for non-numeric sessions, the rank after it), and ``recalibration_s``
(seconds of EMG the day's recalibration used).

Recalibration policies (``recalibrate``):

``none``
    the training model on every day.
``previous-day``
    the previous day's recordings, labels removed, through ``chain.recalibrate`` (the
    first day after training follows a labelled training day: nothing new to use).
``first-minute``
    the day's first ``first_s`` seconds (60), labels removed, through
    ``chain.recalibrate``; they are not tested. "First" is repetition order
    (`myoshift.evaluation.units`: trial 1 of every gesture, then trial 2...), and time
    order within a recording.
``labelled:K``
    the day's first K repetitions with their labels, through ``chain.adapt`` as the
    ``transfer`` regime calibrates; they are not tested. Here what carries is the
    labelled data: day d's model is the training model adapted on the first K
    repetitions of every test day up to d (``carry=False``: of day d alone). Adapting an
    adapted model would count its earlier calibration as source and weight it again: a
    pooled ``adapt`` (lda-td) then stores four times the rows each day.

The module holds a protocol and a regime, so it is imported by the runner (next to
the regimes), not by ``protocols.py``: it imports ``regimes.py``, which imports
``protocols.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError
from myoshift.evaluation.plan import (
    Fold,
    FoldPlan,
    _datasets,
    _label,
    _subject,
    values_per_person,
)
from myoshift.evaluation.protocol_base import Protocol, register_protocol
from myoshift.evaluation.recipes import Method
from myoshift.evaluation.regimes import FoldOutcome, Transfer, register_regime, score_conditions
from myoshift.evaluation.session_protocols import CrossSession
from myoshift.evaluation.units import _slice, sorted_values, take, unit_table
from myoshift.recording import UNLABELLED, RecordingSet

__all__ = [
    "POLICIES",
    "Sequential",
    "SequentialRegime",
    "day_sets",
    "first_seconds",
    "first_units",
    "parse_policy",
    "without_labels",
]

log = logging.getLogger(__name__)

#: recalibration policies of the sequential regime (K: repetitions, an integer >= 1)
POLICIES = ("none", "previous-day", "first-minute", "labelled:K")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


# -- the protocol ----------------------------------------------------------------------------
@register_protocol
class Sequential(CrossSession):
    """Per person: train on the first ``D`` days (sessions), test on the later ones.

    The column is ``day``, else ``session`` (the first in which a person has several
    values; ``column`` forces one). People with ``D`` days or fewer are left out
    (logged). ``info`` carries ``sequence_column``, ``train_values`` and
    ``test_values`` for the ``sequential`` regime, its default. Calibration budgets
    other than 0 are refused: recalibration is the regime's ``recalibrate`` policy.
    """

    name = "sequential"
    usage = "sequential[:D]"
    prefer: ClassVar[tuple[str, ...]] = ("day", "session")
    noun = "days or sessions"
    cross_domain = False
    default_regime = "sequential"

    @classmethod
    def from_arg(cls, arg: str, **kwargs: Any) -> Protocol:
        if not arg:
            return cls(**kwargs)
        try:
            days = int(arg)
        except ValueError:
            raise ConfigError(
                f"sequential:D needs an integer D (training days), got {arg!r}"
            ) from None
        return cls(train_days=days, **kwargs)

    def __init__(self, train_days: int = 1, column: str | None = None, **kw: Any) -> None:
        super().__init__(column, "first", **kw)
        if int(train_days) < 1:
            raise ConfigError(f"sequential:D needs D >= 1 training days, got {train_days}")
        self.train_days = int(train_days)

    @property
    def label(self) -> str:
        return self.name if self.train_days == 1 else f"{self.name}:{self.train_days}"

    def params(self) -> dict[str, Any]:
        return {**super().params(), "train_days": self.train_days}

    def _budgets(self, calibration: int | Sequence[int] | None) -> list[int]:
        try:
            return super()._budgets(calibration)
        except ConfigError:
            raise ConfigError(
                f"protocol {self.label!r} takes calibration 0 only (got {calibration}): the "
                "sequential regime recalibrates before each day with its policy, e.g. "
                "--regime-param recalibrate=labelled:1"
            ) from None

    def plan(self, table: pd.DataFrame) -> list[FoldPlan]:
        col = self._column(table)
        d = self.train_days
        values = table[col].tolist()
        plans, most = [], 0
        for key, m, vals in values_per_person(table, col):
            most = max(most, len(vals))
            if len(vals) <= d:
                log.info(
                    "%s: %s has %d %s value(s); left out", self.label, _label(key), len(vals), col
                )
                continue
            train_vals, test_vals = vals[:d], vals[d:]
            info = {
                "subject": _subject(table, m),
                "train_domain": f"{col} {', '.join(map(str, train_vals))}",
                "test_domain": f"each later {col}",
                "sequence_column": col,
                "train_values": [_plain(v) for v in train_vals],
                "test_values": [_plain(v) for v in test_vals],
            }
            train = m & np.isin(values, train_vals)
            plans.append(FoldPlan(_label(key), info, train, m & False, m & ~train))
        if not plans:
            names = ", ".join(str(ds) for ds in _datasets(table))
            raise ConfigError(
                f"{self.label}: no person of dataset(s) {names} has more than {d} {col} "
                f"value(s) (at most {most})"
            )
        return plans


# -- pure helpers ---------------------------------------------------------------------------
def parse_policy(text: str) -> tuple[str, int]:
    """``"labelled:2"`` -> ``("labelled", 2)``; the other policies take no number.

    Raises
    ------
    ConfigError
        Unknown policy or a bad K; the message lists `POLICIES`.
    """
    base, _, arg = str(text).partition(":")
    if base == "labelled":
        try:
            k = int(arg)
        except ValueError:
            k = 0
        if k >= 1:
            return base, k
    elif base in POLICIES and not arg:
        return base, 0
    raise ConfigError(
        f"unknown recalibration policy {text!r}; valid: {', '.join(POLICIES)} (K >= 1)"
    )


def day_sets(rset: RecordingSet, column: str) -> list[tuple[Any, RecordingSet]]:
    """``(value, recordings)`` per value of ``column``, in natural order (1, 2, 10)."""
    values = sorted_values([r.meta.get(column) for r in rset])
    return [(v, RecordingSet(r for r in rset if r.meta.get(column) == v)) for v in values]


def first_units(rset: RecordingSet, k: int, where: str) -> tuple[RecordingSet, RecordingSet]:
    """The first ``k`` repetitions of ``rset`` (unit order) and the rest.

    Raises
    ------
    ConfigError
        ``k`` leaves no repetition to test; the message names ``where`` and the count.
    """
    table, per_rec = unit_table(rset)
    units = sorted(set(table["_uorder"].tolist())) if len(table) else []
    if k >= len(units):
        raise ConfigError(
            f"{where}: labelled:{k} takes {k} labelled repetition(s), but it has "
            f"{len(units)}: at most labelled:{max(len(units) - 1, 0)} leaves some to test"
        )
    head = np.isin(table["_uorder"].to_numpy(), units[:k])
    return take(rset, per_rec, table, head), take(rset, per_rec, table, ~head)


def first_seconds(
    rset: RecordingSet, seconds: float, where: str
) -> tuple[RecordingSet, RecordingSet]:
    """The first ``seconds`` of ``rset`` and the rest.

    Recordings are taken in repetition order (their first unit, then their position),
    the last one cut where the time runs out.

    Raises
    ------
    ConfigError
        Nothing is left to test; the message names ``where`` and its length.
    """
    table, _ = unit_table(rset)
    first = table.groupby("_rec")["_uorder"].min()
    order = sorted(range(len(rset)), key=lambda i: (first.get(i, 0), i))
    head, rest = [], []
    left = float(seconds)
    for i in order:
        rec = rset[i]
        n = min(rec.n_samples, int(round(left * rec.fs)))
        if n > 0:
            head.append(rec if n == rec.n_samples else _slice(rec, 0, n))
            left -= n / rec.fs
        if n < rec.n_samples:
            rest.append(rec if n == 0 else _slice(rec, n, rec.n_samples))
    if not rest:
        raise ConfigError(
            f"{where} lasts {rset.total_seconds:.1f} s: first-minute takes the first "
            f"{seconds:g} s and leaves nothing to test"
        )
    return RecordingSet(head), RecordingSet(rest)


def without_labels(rset: RecordingSet) -> RecordingSet:
    """The recordings with every label set to ``UNLABELLED``."""
    return RecordingSet(replace(r, labels=np.full(r.n_samples, UNLABELLED)) for r in rset)


def day_fields(value: Any, rank: int, train_values: Sequence[Any]) -> dict[str, Any]:
    """``days_since_training`` (and ``day`` where numeric) of a test day.

    ``rank`` is the day's position among the test days (1 for the first); it is the
    distance when the values are not numbers (sessions by name).
    """
    last = train_values[-1]
    out: dict[str, Any] = {}
    if _numeric(value) and _numeric(last):
        gap = float(value) - float(last)
        out["days_since_training"] = int(gap) if gap.is_integer() else gap
        out["day"] = _plain(value)
    else:
        out["days_since_training"] = rank
    return out


# -- the regime ------------------------------------------------------------------------------
@register_regime
class SequentialRegime(Transfer):
    """Fit on the training days, then visit the later days in order (module docstring).

    Parameters
    ----------
    recalibrate : str
        One of `POLICIES`: ``none``, ``previous-day``, ``first-minute``, ``labelled:K``.
    carry : bool
        Start each day from the model the previous day left (default) or from the
        model fitted on the training days; ``labelled:K`` carries the labelled
        repetitions of the days so far instead (module docstring).
    first_s : float
        Seconds the ``first-minute`` policy takes (60).
    """

    name = "sequential"

    def __init__(
        self, recalibrate: str = "none", carry: bool = True, first_s: float = 60.0
    ) -> None:
        self.policy, self.k = parse_policy(recalibrate)
        self.recalibrate = str(recalibrate)
        if not isinstance(carry, (bool, np.bool_)):
            raise ConfigError(f"regime 'sequential': carry must be true or false, got {carry!r}")
        self.carry = bool(carry)
        try:
            self.first_s = float(first_s)
        except (TypeError, ValueError):
            self.first_s = float("nan")
        if not self.first_s > 0:
            raise ConfigError(f"regime 'sequential': first_s must be > 0 seconds, got {first_s!r}")

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"recalibrate": self.recalibrate, "carry": self.carry}
        if self.policy == "first-minute":
            out["first_s"] = self.first_s
        return out

    def check(self, protocol: Protocol, folds: Sequence[Fold]) -> None:
        if not all("sequence_column" in f.info for f in folds):
            raise ConfigError(
                f"regime 'sequential' visits days in order and needs protocol 'sequential' "
                f"(got {protocol.label!r})"
            )

    def _split(
        self, day: RecordingSet, previous: RecordingSet | None, where: str
    ) -> tuple[RecordingSet, RecordingSet]:
        """The recordings to recalibrate on before ``day`` and those to test."""
        if self.policy == "previous-day" and previous is not None:
            return without_labels(previous), day
        if self.policy == "first-minute":
            head, rest = first_seconds(day, self.first_s, where)
            return without_labels(head), rest
        if self.policy == "labelled":
            return first_units(day, self.k, where)
        return RecordingSet(), day

    def _recalibrated(self, method: Method, start: Any, data: RecordingSet) -> Any:
        """A copy of ``start`` recalibrated on ``data`` (labels used by ``labelled:K``)."""
        model = start.copy()
        try:
            if self.policy == "labelled":
                return model.adapt(data)
            recalibrate = getattr(model, "recalibrate", None)
            if recalibrate is None:
                raise ConfigError(f"{type(model).__name__} has no recalibrate()")
            recalibrate(data)
        except ConfigError as exc:
            where = f"recalibration policy {self.recalibrate!r}"
            if repr(method.name) not in str(exc):  # the chain's message may name it already
                where = f"method {method.name!r} under {where}"
            raise ConfigError(f"{where}: {exc}") from None
        return model

    def run_fold(
        self, method: Method, prepared: Any, fold: Fold, seed: int, vote: int | None
    ) -> FoldOutcome:
        col = str(fold.info["sequence_column"])
        model, previous, labelled = prepared, None, RecordingSet()
        conditions: dict[str, dict[str, Any]] = {}
        n_test = 0
        for rank, (value, day) in enumerate(day_sets(fold.test, col), start=1):
            recal, test = self._split(day, previous, f"person {fold.name}, {col} {value}")
            start, data = (model if self.carry else prepared), recal
            if self.policy == "labelled" and self.carry:  # the labels carry, not adaptations
                labelled = labelled + recal
                start, data = prepared, labelled
            model = self._recalibrated(method, start, data) if len(data) else start
            scored = score_conditions(model, Fold(fold.name, fold.train, recal, test), vote)
            conditions[f"{col}={value}"] = {
                **scored.conditions[""],
                **day_fields(value, rank, fold.info["train_values"]),
                "recalibration_s": recal.total_seconds,
            }
            n_test += scored.n_test
            previous = day
        info = {"recalibrate": self.recalibrate, "carry": self.carry}
        return FoldOutcome(conditions, n_test, info, model)
