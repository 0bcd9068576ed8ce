"""Domain protocols named by a metadata value: ``train-on:COLUMN=VALUE`` and ``next-day``.

``train-on:COLUMN=VALUE``
    Per person: train on the repetitions whose ``COLUMN`` is ``VALUE``, test on each
    other value of that column as its own fold (``"3:before->after"``), calibrating on
    the first repetitions of that target value. ``train-on:placement=before`` is
    electrode-shift's "train before the armband moved, test after";
    ``train-on:level=Ramp`` (or ``=50P``) is contraction-intensity's "train on the ramp
    (one level), test on every other level". Values compare as text, case-insensitively,
    or as numbers (``train-on:day=1``, ``train-on:intensity=50``); rows without a value
    are in no fold.
``next-day[:N]``
    Per person: train on the previous ``N`` days (default: all previous days), test on
    the next day, for every day after the first; calibration comes from that day.
    ``next-day:1`` is ``cross-day``'s consecutive pairs (d -> d+1), which this protocol
    builds on.

Each protocol names what it needs when the data cannot honour it: an unknown column
lists the known ones, an unknown value the values present. `TRAIN_ON_DEFAULTS` is each
dataset's standard ``train-on`` split, the one `available_protocols` lists.

The module is imported at the end of ``protocols.py``; it reaches ``cross-day`` through
the protocol registry, so it never imports ``protocols.py``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError
from myoshift.evaluation.plan import FoldPlan, _datasets, _groups, _label, _subject, _varying
from myoshift.evaluation.protocol_base import PROTOCOLS, Protocol, register_protocol
from myoshift.evaluation.units import sorted_values

__all__ = ["TRAIN_ON_DEFAULTS", "NextDay", "TrainOn"]

log = logging.getLogger(__name__)

#: each dataset's standard ``train-on`` split: dataset name -> (column, training value)
TRAIN_ON_DEFAULTS: dict[str, tuple[str, str]] = {
    "electrode-shift": ("placement", "before"),  # train before the shift, test after
    "contraction-intensity": ("level", "Ramp"),  # train on the 20->80 % ramp
}


def _missing(value: Any) -> bool:
    return value is None or value != value  # None or NaN


def _values_at(values: list[Any], mask: np.ndarray) -> list[Any]:
    """The distinct values present at ``mask``, in natural order (`sorted_values`)."""
    return sorted_values([values[i] for i in np.flatnonzero(mask) if not _missing(values[i])])


def _text(value: Any) -> str:
    """A value as fold names show it (``80.0`` read from a column with gaps -> ``"80"``)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _same(value: Any, wanted: str) -> bool:
    """Whether a metadata value equals the text ``wanted`` (as text or as a number)."""
    if _missing(value):
        return False
    if str(value).strip().lower() == wanted.strip().lower():
        return True
    try:
        return float(value) == float(wanted)
    except (TypeError, ValueError):
        return False


@register_protocol
class TrainOn(Protocol):
    """Train on one value of a metadata column, test on each other value, per person.

    See the module docstring. ``info`` carries ``column``, ``train_domain`` (the value
    trained on, as the data spells it) and ``test_domain`` (the fold's value).
    """

    name = "train-on"
    usage = "train-on:COLUMN=VALUE"

    @classmethod
    def from_arg(cls, arg: str, **kwargs: Any) -> Protocol:
        column, sep, value = arg.partition("=")
        if not (sep and column.strip() and value.strip()):
            given = f"train-on:{arg}" if arg else "train-on"
            raise ConfigError(
                f"protocol train-on needs a column and a value: train-on:COLUMN=VALUE "
                f"(e.g. train-on:placement=before), got {given!r}"
            )
        return cls(column=column.strip(), value=value.strip(), **kwargs)

    def __init__(self, column: str, value: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.column = str(column)
        self.value = str(value)

    @property
    def label(self) -> str:
        return f"{self.name}:{self.column}={self.value}"

    def params(self) -> dict[str, Any]:
        return {**super().params(), "column": self.column, "value": self.value}

    @classmethod
    def candidates(cls, table: pd.DataFrame) -> list[Protocol]:
        """Each dataset's standard split (`TRAIN_ON_DEFAULTS`), where its column exists."""
        wanted = [TRAIN_ON_DEFAULTS.get(str(ds)) for ds in _datasets(table)]
        splits = dict.fromkeys(w for w in wanted if w is not None and w[0] in table.columns)
        return [cls(column=col, value=value) for col, value in splits]

    def plan(self, table: pd.DataFrame) -> list[FoldPlan]:
        col = self.column
        if col not in table.columns:
            known = sorted(c for c in table.columns if not str(c).startswith("_"))
            raise ConfigError(f"{self.label}: unknown metadata column {col!r}; known: {known}")
        values = table[col].tolist()
        present = _values_at(values, np.ones(len(values), dtype=bool))
        if not any(_same(v, self.value) for v in present):
            shown = ", ".join(map(str, present)) or "none"
            raise ConfigError(f"{self.label}: no {col!r} equals {self.value!r}; values: {shown}")
        is_train = np.array([_same(v, self.value) for v in values], dtype=bool)
        plans: list[FoldPlan] = []
        whole = np.ones(len(table), dtype=bool)
        for key, m in _groups(table, whole, _varying(table, ["dataset", "subject"])):
            train = m & is_train
            others = _values_at(values, m & ~is_train)
            if not train.any() or not others:
                log.info("%s: %s lacks %s or another value; left out", self.label, _label(key), col)
                continue
            trained = _text(_values_at(values, train)[0])
            for v in others:
                target = m & np.array([x == v for x in values], dtype=bool)
                info = {
                    "subject": _subject(table, m),
                    "column": col,
                    "train_domain": trained,
                    "test_domain": _text(v),
                }
                name = f"{trained}->{_text(v)}"
                name = f"{_label(key)}:{name}" if _label(key) else name
                plans.append(FoldPlan(name, info, train, target, target))
        if not plans:
            raise ConfigError(
                f"{self.label}: no person has both {col}={self.value} and another {col} value"
            )
        return plans


@register_protocol
class NextDay(Protocol):
    """Per person: the previous ``N`` days (default all) -> the next day.

    Built on ``cross-day``'s consecutive pairs (d -> d+1): each pair's training day is
    widened to the ``N`` days up to it. ``info`` carries ``train_domain`` (``"1..3"``),
    ``test_domain``, ``gap`` (days from the last training day), ``n_train_days`` and
    ``column`` (``day``).
    """

    name = "next-day"
    usage = "next-day[:N]"

    @classmethod
    def from_arg(cls, arg: str, **kwargs: Any) -> Protocol:
        if not arg:
            return cls(**kwargs)
        try:
            window = int(arg)
        except ValueError:
            raise ConfigError(
                f"next-day:N needs an integer N (previous days to train on), got {arg!r}"
            ) from None
        return cls(window=window, **kwargs)

    def __init__(self, window: int | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        if window is not None and int(window) < 1:
            raise ConfigError(f"next-day:N needs N >= 1 previous days, got {window}")
        self.window = None if window is None else int(window)

    @property
    def label(self) -> str:
        return self.name if self.window is None else f"{self.name}:{self.window}"

    def params(self) -> dict[str, Any]:
        return {**super().params(), "window": self.window}

    def plan(self, table: pd.DataFrame) -> list[FoldPlan]:
        try:
            pairs = PROTOCOLS["cross-day"].from_arg("", mode="consecutive").plan(table)
        except ConfigError as exc:  # say which protocol refused
            raise ConfigError(str(exc).replace("cross-day", self.label, 1)) from None
        values = table["day"].tolist()
        keys = _varying(table, ["dataset", "subject"])
        person = [tuple(r) for r in table[keys].itertuples(index=False)] if keys else []
        plans: list[FoldPlan] = []
        for p in pairs:
            who = person[int(np.flatnonzero(p.test)[0])] if person else ()
            same = np.array([k == who for k in person] if person else [True] * len(values))
            last = _values_at(values, p.train)[0]
            days = _values_at(values, same)
            days = days[: days.index(last) + 1][-(self.window or len(days)) :]
            train = same & np.array([v in days for v in values], dtype=bool)
            span = str(days[0]) if len(days) == 1 else f"{days[0]}..{days[-1]}"
            info = {**p.info, "train_domain": span, "n_train_days": len(days)}
            name = f"{span}->{p.info['test_domain']}"
            plans.append(
                FoldPlan(f"{_label(who)}:{name}" if who else name, info, train, p.pool, p.test)
            )
        return plans
