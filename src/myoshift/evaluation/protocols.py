"""Evaluation protocols: splitters over a RecordingSet's metadata.

A protocol turns a `RecordingSet` into `Fold` objects — ``train``, ``calibration`` and
``test`` RecordingSets plus an ``info`` dict (subject, fold, gap, calibration, ...). It
never splits shuffled windows: whole repetition units (see `myoshift.evaluation.units`)
go to one side, so windows of one repetition never sit on both sides.

Calibration budget (cross-domain protocols): ``calibration=k`` gives the first ``k``
repetitions/cycles of each target subject (or target session) to ``adapt``. Test data
never contains them; by default (``same_test=True``) the test set of every budget
excludes the first ``max(k)`` repetitions, so accuracies for budgets 0, 1, 4 are measured
on the very same windows.

Every protocol is also a scikit-learn style cross-validator over windows:
``protocol.cv(windows.meta, windows.y).split(X)`` yields ``(train_idx, test_idx)``.

Names: ``within-session``, ``cross-session``, ``cross-day`` (`session_protocols`),
``leave-group-out:COLUMN``, ``loso``, ``predefined``, ``electrode-shift[:K]`` (here),
``train-on:COLUMN=VALUE``, ``next-day[:N]`` (`domain_protocols`), ``few-shot:N,K``
(`few_shot`); `get_protocol` finds each by name.

A protocol means what its name says or refuses: ``cross-day`` needs a ``day`` column
and never falls back to sessions of one day; the refusal lists the protocols the data
can honour (`available_protocols`). Where a protocol chooses its column (``cross-session``
takes ``session``, else ``series``, else ``day``), ``Fold.info["column"]`` names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from myoshift.errors import ConfigError
from myoshift.evaluation.plan import (
    PREDEFINED,
    WITHIN_SESSION_DEFAULTS,
    Fold,
    FoldPlan,
    _datasets,
    _ds_name,
    _groups,
    _in_dataset,
    _label,
    _match,
    _subject,
    held_out_values,
    shift_recording,
    shift_set,
)
from myoshift.evaluation.protocol_base import (
    CALIBRATION_SAMPLERS,
    PROTOCOLS,
    Protocol,
    WindowSplitter,
    available_protocols,
    register_protocol,
)

# registers within-session, cross-session and cross-day first (the registry's order is
# the order `protocol_names` and `available_protocols` list); sequential.py subclasses
# CrossSession from here
from myoshift.evaluation.session_protocols import CrossSession, WithinSession
from myoshift.evaluation.units import CONTEXT_COLUMNS, sorted_values

__all__ = [
    "CALIBRATION_SAMPLERS",
    "PREDEFINED",
    "PROTOCOLS",
    "WITHIN_SESSION_DEFAULTS",
    "CrossSession",
    "Fold",
    "FoldPlan",
    "Protocol",
    "WindowSplitter",
    "WithinSession",
    "available_protocols",
    "get_protocol",
    "protocol_names",
    "register_protocol",
    "shift_recording",
    "shift_set",
]


@register_protocol
class LeaveGroupOut(Protocol):
    """Leave one value of a metadata column out (``leave-group-out:gender``, ...).

    The calibration units are the first repetitions of each held-out subject.
    """

    name = "leave-group-out"
    usage = "leave-group-out:COLUMN"

    @classmethod
    def from_arg(cls, arg: str, **kwargs: Any) -> Protocol:
        if not arg:
            raise ConfigError("protocol leave-group-out needs a column: leave-group-out:COLUMN")
        return cls(column=arg, **kwargs)

    def __init__(self, column: str = "subject", **kw: Any) -> None:
        super().__init__(**kw)
        self.column = column

    @property
    def label(self) -> str:
        return f"{self.name}:{self.column}"

    def params(self) -> dict[str, Any]:
        return {**super().params(), "column": self.column}

    @classmethod
    def candidates(cls, table: pd.DataFrame) -> list[Protocol]:
        """One per domain column: a context column (`CONTEXT_COLUMNS`) or a per-subject
        attribute (gender, arm...), other than the subject itself (that is ``loso``)."""
        out: list[Protocol] = []
        per_subject = "subject" in table.columns
        seen = [pd.factorize(table["subject"])[0]] if per_subject else []
        for col in table.columns:
            if col.startswith("_") or col in ("subject", "dataset", "source"):
                continue
            try:
                if table[col].nunique() < 2 or pd.api.types.is_float_dtype(table[col]):
                    continue
                codes = pd.factorize(table[col])[0]
            except TypeError:  # unhashable values (lists...): no grouping column
                continue
            if any((codes == c).all() for c in seen):  # the same grouping by another name
                continue
            attribute = per_subject and (table.groupby("subject")[col].nunique() <= 1).all()
            if col in CONTEXT_COLUMNS or attribute:
                seen.append(codes)
                out.append(cls(column=col))
        return out

    def plan(self, table: pd.DataFrame) -> list[FoldPlan]:
        col = self.column
        if col not in table.columns:
            known = sorted(c for c in table.columns if not c.startswith("_"))
            raise ConfigError(f"{self.label}: unknown metadata column {col!r}; known: {known}")
        plans = []
        several = len(_datasets(table)) > 1
        for h in held_out_values(table, col, self.label):
            info = {"subject": _subject(table, h.held), "test_domain": str(h.value)}
            name = f"{h.dataset}/{h.value}" if several else str(h.value)
            plans.append(FoldPlan(name, info, h.rows & ~h.held, h.held, h.held))
        return plans


@register_protocol
class LeaveOneSubjectOut(LeaveGroupOut):
    """Leave one subject out (cross-subject)."""

    name = "loso"
    usage = ""

    @classmethod
    def from_arg(cls, arg: str, **kwargs: Any) -> Protocol:
        # no column argument, unlike leave-group-out
        return super(LeaveGroupOut, cls).from_arg(arg, **kwargs)

    def __init__(self, **kw: Any) -> None:
        super().__init__(column="subject", **kw)

    @property
    def label(self) -> str:
        return self.name

    @classmethod
    def candidates(cls, table: pd.DataFrame) -> list[Protocol]:
        return [cls()]


@register_protocol
class Predefined(Protocol):
    """The dataset's own source -> target split (`PREDEFINED`), one fold per target subject.

    myoarmband: train on the pre-training set; per evaluation subject, calibrate on the
    first k ``training0`` cycles and test on ``Test0`` + ``Test1``.
    """

    name = "predefined"

    def plan(self, table: pd.DataFrame) -> list[FoldPlan]:
        plans = []
        for ds in _datasets(table):
            rule = PREDEFINED.get(str(ds))
            if rule is None:
                raise ConfigError(
                    f"protocol 'predefined' is not defined for {_ds_name(ds)}; "
                    f"defined for: {', '.join(sorted(PREDEFINED))}"
                )
            in_ds = _in_dataset(table, ds)
            source = in_ds & _match(table, rule["source"])
            target = in_ds & _match(table, rule["target"])
            for key, m in _groups(table, target, ["subject"]):
                if rule["calibration"] == "first-session" and "session" in table.columns:
                    sessions = sorted_values(table.loc[m, "session"].tolist())
                    pool = m & _match(table, {"session": sessions[:1]})
                    test = m & _match(table, {"session": sessions[1:] or sessions})
                else:
                    pool = m & _match(table, rule["calibration"])
                    test = m & _match(table, rule["test"])
                info = {"subject": _subject(table, m), "train_domain": "source"}
                info["test_domain"] = "target"
                plans.append(FoldPlan(_label(key), info, source, pool, test))
        return plans


@register_protocol
class ElectrodeShift(Protocol):
    """Rotate ring electrodes (translate grids) by -k..+k at test time.

    Built on the within-session split; every fold is run twice, without (``noaug``) and
    with (``aug``) shift augmentation in training (the training recordings plus copies
    shifted by every non-zero shift in -k..k). Results carry a ``shift=+1`` (or
    ``shift=+1/aug``) condition.
    """

    name = "electrode-shift"
    usage = "electrode-shift[:K]"
    cross_domain = False
    changes_signals = True

    def __init__(self, shifts: int = 1, augment: Sequence[bool] = (False, True), **kw: Any) -> None:
        super().__init__(**kw)
        if shifts < 1:
            raise ConfigError(f"electrode-shift needs shifts >= 1, got {shifts}")
        self.shifts = int(shifts)
        self.augment = tuple(bool(a) for a in augment)
        self.base = WithinSession()

    @classmethod
    def from_arg(cls, arg: str, **kwargs: Any) -> Protocol:
        if not arg:
            return cls(**kwargs)
        try:
            return cls(shifts=int(arg), **kwargs)
        except ValueError:
            raise ConfigError(f"electrode-shift:K needs an integer K, got {arg!r}") from None

    @property
    def label(self) -> str:
        return self.name if self.shifts == 1 else f"{self.name}:{self.shifts}"

    def params(self) -> dict[str, Any]:
        return {**super().params(), "shifts": self.shifts, "augment": list(self.augment)}

    def plan(self, table: pd.DataFrame) -> list[FoldPlan]:
        if "_layout" in table.columns:
            kinds = sorted(set(table["_layout"]) - {"ring", "grid"})
            if kinds:
                names = ", ".join(str(d) for d in _datasets(table))
                raise ConfigError(
                    f"electrode-shift needs a ring or grid channel layout; {names} has a "
                    f"{' / '.join(map(repr, kinds))} layout"
                )
        shifts = list(range(-self.shifts, self.shifts + 1))
        plans = []
        for p in self.base.plan(table):
            for aug in self.augment:
                info = {**p.info, "test_shifts": shifts, "augment": aug}
                aug_shifts = tuple(s for s in shifts if s != 0) if aug else ()
                name = f"{p.name}:{'aug' if aug else 'noaug'}"
                plans.append(FoldPlan(name, info, p.train, p.pool, p.test, aug_shifts))
        return plans


def protocol_names() -> list[str]:
    """Valid protocol names, with the argument of those that take one."""
    return [cls.usage or name for name, cls in PROTOCOLS.items()]


def get_protocol(name: str | Protocol, **kwargs: Any) -> Protocol:
    """A protocol by name: ``"loso"``, ``"leave-group-out:gender"``, ``"electrode-shift:2"``.

    The part after the colon is parsed by the protocol class itself (`Protocol.from_arg`).

    Raises
    ------
    ConfigError
        Unknown name (the message lists the valid ones) or a bad argument.
    """
    if isinstance(name, Protocol):
        return name
    base, _, arg = str(name).partition(":")
    cls = PROTOCOLS.get(base)
    if cls is None:
        raise ConfigError(f"unknown protocol {name!r}; valid: {', '.join(protocol_names())}")
    return cls.from_arg(arg, **kwargs)


# registers train-on and next-day (the module imports protocol_base, never this one)
from myoshift.evaluation import domain_protocols  # noqa: E402, F401  isort: skip
from myoshift.evaluation import few_shot  # noqa: E402, F401  isort: skip  (registers few-shot)
