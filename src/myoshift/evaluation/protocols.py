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

Names: ``within-session``, ``cross-session``, ``cross-day``, ``loso``,
``leave-group-out:COLUMN``, ``predefined``, ``electrode-shift[:K]`` (`get_protocol`).

A protocol means what its name says or refuses: ``cross-day`` needs a ``day`` column
and never falls back to sessions of one day; the refusal lists the protocols the data
can honour (`available_protocols`). Where a protocol chooses its column (``cross-session``
takes ``session``, else ``series``, else ``day``), ``Fold.info["column"]`` names it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
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
    _varying,
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
from myoshift.evaluation.units import CONTEXT_COLUMNS, sorted_values

__all__ = [
    "CALIBRATION_SAMPLERS",
    "PREDEFINED",
    "PROTOCOLS",
    "WITHIN_SESSION_DEFAULTS",
    "Fold",
    "FoldPlan",
    "Protocol",
    "WindowSplitter",
    "available_protocols",
    "get_protocol",
    "protocol_names",
    "register_protocol",
    "shift_recording",
    "shift_set",
]

log = logging.getLogger(__name__)


# -- protocols ---------------------------------------------------------------------------
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
        values = table[col].tolist()
        whole = np.ones(len(table), dtype=bool)
        for key, m in _groups(table, whole, _varying(table, ["dataset", "subject"])):
            vals = sorted_values([v for v, keep in zip(values, m) if keep and v == v])
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
        for ds in _datasets(table):
            in_ds = _in_dataset(table, ds) & table[col].notna().to_numpy()
            values = sorted_values(table.loc[in_ds, col].tolist())
            if len(values) < 2:
                raise ConfigError(
                    f"{self.label}: {_ds_name(ds)} has {len(values)} distinct {col!r} value(s); "
                    "need at least 2"
                )
            for v in values:
                target = in_ds & _match(table, {col: [v]})
                info = {"subject": _subject(table, target), "test_domain": str(v)}
                name = str(v) if ds is None or len(_datasets(table)) == 1 else f"{ds}/{v}"
                plans.append(FoldPlan(name, info, in_ds & ~target, target, target))
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
