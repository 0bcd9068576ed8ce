"""Protocols within a person's sessions: ``within-session``, ``cross-session``, ``cross-day``.

``within-session`` splits each session's repetitions (each dataset's standard split,
`WITHIN_SESSION_DEFAULTS`, else the first two thirds train); ``cross-session`` trains on
one session of a person and tests on a later one, ``cross-day`` the same over the
``day`` column only. See `myoshift.evaluation.protocols` for what every protocol shares.

Imported (and so registered, first of all protocols) by ``protocols.py``; this module
imports `protocol_base` and `plan`, never ``protocols.py``.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError
from myoshift.evaluation.plan import (
    WITHIN_SESSION_DEFAULTS,
    FoldPlan,
    _datasets,
    _ds_name,
    _groups,
    _in_dataset,
    _label,
    _match,
    _subject,
    _varying,
    values_per_person,
)
from myoshift.evaluation.protocol_base import Protocol, register_protocol
from myoshift.evaluation.units import CONTEXT_COLUMNS

__all__ = ["CrossDay", "CrossSession", "WithinSession"]

log = logging.getLogger(__name__)


@register_protocol
class WithinSession(Protocol):
    """Train/test by repetition inside each subject's session.

    Each dataset's standard split is the default (`WITHIN_SESSION_DEFAULTS`): Ninapro
    repetitions 1,3,4,6,8,9,10 / 2,5,7; 3DC ``train`` -> ``test`` session; myoarmband
    evaluation set ``training0`` -> ``Test0`` + ``Test1``. Any other dataset: the first
    ``train_fraction`` (2/3) of the repetitions of each subject and session train.
    """

    name = "within-session"
    cross_domain = False

    def __init__(
        self, rule: dict[str, Any] | None = None, train_fraction: float = 2 / 3, **kw: Any
    ) -> None:
        super().__init__(**kw)
        if not 0 < train_fraction < 1:
            raise ConfigError(f"train_fraction must be in (0, 1), got {train_fraction}")
        self.rule = rule
        self.train_fraction = train_fraction

    def params(self) -> dict[str, Any]:
        return {**super().params(), "rule": self.rule, "train_fraction": self.train_fraction}

    def plan(self, table: pd.DataFrame) -> list[FoldPlan]:
        plans: list[FoldPlan] = []
        for ds in _datasets(table):
            in_ds = _in_dataset(table, ds)
            rule = self.rule or WITHIN_SESSION_DEFAULTS.get(str(ds), {})
            if "where" in rule:
                in_ds = in_ds & _match(table, rule["where"])
            if "column" in rule:
                plans += self._by_column(table, in_ds, rule, ds)
            else:
                plans += self._by_repetition(table, in_ds, rule, ds)
        return plans

    def _by_column(
        self, table: pd.DataFrame, in_ds: np.ndarray, rule: dict[str, Any], ds: Any
    ) -> list[FoldPlan]:
        col = rule["column"]
        train_m = in_ds & _match(table, {col: rule["train"]})
        test_m = in_ds & _match(table, {col: rule["test"]})
        plans = []
        for key, m in _groups(table, in_ds, _varying(table, ["dataset", "subject"])):
            if (m & train_m).any() and (m & test_m).any():
                info = {"subject": _subject(table, m), "train_domain": ",".join(rule["train"])}
                info["test_domain"] = ",".join(rule["test"])
                plans.append(FoldPlan(_label(key), info, m & train_m, m & False, m & test_m))
        if not plans:
            raise ConfigError(
                f"within-session: {_ds_name(ds)} has no subject with both {col} "
                f"{rule['train']} and {rule['test']}"
            )
        return plans

    def _by_repetition(
        self, table: pd.DataFrame, in_ds: np.ndarray, rule: dict[str, Any], ds: Any
    ) -> list[FoldPlan]:
        cols = _varying(table, ["dataset", "subject", *CONTEXT_COLUMNS])
        plans = []
        reps = table["_rep"].to_numpy()
        order = table["_uorder"].to_numpy()
        for key, m in _groups(table, in_ds, cols):
            if "train_reps" in rule:
                train = m & np.isin(reps, rule["train_reps"])
                test = m & np.isin(reps, rule["test_reps"])
            else:
                units = sorted(set(order[m].tolist()))
                if len(units) < 2:
                    continue
                n_train = min(len(units) - 1, max(1, round(self.train_fraction * len(units))))
                train = m & np.isin(order, units[:n_train])
                test = m & np.isin(order, units[n_train:])
            if train.any() and test.any():
                info = {"subject": _subject(table, m)}
                plans.append(FoldPlan(_label(key), info, train, m & False, test))
        if not plans:
            raise ConfigError(
                f"within-session: {_ds_name(ds)} has no session with at least two repetitions "
                "to split"
            )
        return plans


@register_protocol
class CrossSession(Protocol):
    """Train on an earlier session, test on a later one of the same subject.

    The session is the first of `prefer` in which some subject has two or more values:
    ``session``, else ``series`` (uci-gestures' two series), else ``day`` (each day the
    armband is put on anew, so a day is a session); ``column`` forces one.
    ``info["column"]`` names the column used. Subjects recorded in one session only are
    left out (logged).

    ``mode="first"``: first -> each later; ``"consecutive"``: d -> d+1; ``"both"``.
    ``info["gap"]`` is the difference of the values when numeric (days), else of ranks.
    The calibration units come from the later (target) session.
    """

    name = "cross-session"
    prefer: ClassVar[tuple[str, ...]] = ("session", "series", "day")
    #: what the error message calls the values of `prefer`
    noun: ClassVar[str] = "sessions"

    def __init__(self, column: str | None = None, mode: str = "both", **kw: Any) -> None:
        super().__init__(**kw)
        if mode not in ("first", "consecutive", "both"):
            raise ConfigError(f"mode must be first, consecutive or both, got {mode!r}")
        self.column = column
        self.mode = mode

    def describe(self, table: pd.DataFrame) -> str:
        """The column chosen, where there was a choice (`prefer`)."""
        return "" if self.column or len(self.prefer) < 2 else f" (by {self._column(table)})"

    def params(self) -> dict[str, Any]:
        return {**super().params(), "column": self.column, "mode": self.mode}

    def _column(self, table: pd.DataFrame) -> str:
        cands = [self.column] if self.column else list(self.prefer)
        for col in cands:
            if col in table.columns:
                per_subject = (
                    table.groupby("subject")[col].nunique()
                    if "subject" in table.columns
                    else pd.Series([table[col].nunique()])
                )
                if (per_subject > 1).any():
                    return col
        ds = ", ".join(str(d) for d in _datasets(table))
        have = [c for c in cands if c in table.columns]
        why = (
            f"one value per subject in {', '.join(map(repr, have))}"
            if have
            else f"no {' or '.join(map(repr, cands))} column"
        )
        raise ConfigError(
            f"{self.name}: dataset(s) {ds} have no subject recorded in two or more "
            f"{self.noun} ({why})"
        )

    def plan(self, table: pd.DataFrame) -> list[FoldPlan]:
        col = self._column(table)
        plans = []
        for key, m, vals in values_per_person(table, col):
            if len(vals) < 2:
                log.info("%s: %s recorded in one %s only; left out", self.label, _label(key), col)
                continue
            pairs: list[tuple[int, int]] = []
            if self.mode in ("first", "both"):
                pairs += [(0, j) for j in range(1, len(vals))]
            if self.mode in ("consecutive", "both"):
                pairs += [(j, j + 1) for j in range(len(vals) - 1) if (j, j + 1) not in pairs]
            for i, j in pairs:
                a, b = vals[i], vals[j]
                numeric = all(isinstance(v, (int, float, np.integer, np.floating)) for v in (a, b))
                gap = float(b) - float(a) if numeric else j - i
                train = m & _match(table, {col: [a]})
                target = m & _match(table, {col: [b]})
                info = {
                    "subject": _subject(table, m),
                    "train_domain": str(a),
                    "test_domain": str(b),
                    "gap": int(gap) if float(gap).is_integer() else gap,
                    "column": col,
                }
                name = f"{_label(key)}:{a}->{b}"
                plans.append(FoldPlan(name, info, train, target, target))
        return plans


@register_protocol
class CrossDay(CrossSession):
    """`CrossSession` over the ``day`` column (kanoga: day 1 -> each day, d -> d+1).

    Only a ``day`` column makes folds: sessions of one day (3dc's ``train``/``test``)
    are not days apart, so such data is refused, not split by session.
    """

    name = "cross-day"
    prefer = ("day",)
    noun = "days"

    def __init__(self, column: str | None = None, mode: str = "both", **kw: Any) -> None:
        if column not in (None, "day"):
            raise ConfigError(
                f"cross-day splits by the 'day' column, got column={column!r}; "
                "use cross-session with that column"
            )
        super().__init__(column, mode, **kw)
