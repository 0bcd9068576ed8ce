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
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError
from myoshift.evaluation.units import (
    CONTEXT_COLUMNS,
    sorted_values,
    take,
    unit_table,
    window_unit_table,
)
from myoshift.recording import Recording, RecordingSet
from myoshift.signal.layouts import rotate_ring, translate_grid

#: within-session default split per dataset (meta['dataset'] name)
WITHIN_SESSION_DEFAULTS: dict[str, dict[str, Any]] = {
    # Atzori et al. 2014: repetitions 1, 3, 4, 6, 8, 9, 10 train / 2, 5, 7 test
    "ninapro-db1": {"train_reps": [1, 3, 4, 6, 8, 9, 10], "test_reps": [2, 5, 7]},
    # Côté-Allard et al. 2019: first 4 repetitions (train) / last 4 (test), same day
    "3dc": {"column": "session", "train": ["train"], "test": ["test"]},
    # Côté-Allard et al. 2019: evaluation set, training0 -> Test0 + Test1
    "myoarmband": {
        "where": {"split": ["evaluation"]},
        "column": "session",
        "train": ["training0"],
        "test": ["Test0", "Test1"],
    },
}

#: each dataset's own source -> target split (protocol ``predefined``)
PREDEFINED: dict[str, dict[str, Any]] = {
    "myoarmband": {
        "source": {"split": ["pretraining"]},
        "target": {"split": ["evaluation"]},
        "calibration": {"session": ["training0"]},
        "test": {"session": ["Test0", "Test1"]},
    },
    # the simulator mirrors the Myo armband dataset's split; calibrate on the first
    # session of each evaluation subject, test on the later ones
    "synthetic": {
        "source": {"split": ["pretraining"]},
        "target": {"split": ["evaluation"]},
        "calibration": "first-session",
        "test": "later-sessions",
    },
}


@dataclass
class Fold:
    """One train / calibration / test split.

    Attributes
    ----------
    name : str
        Fold name, shared by the folds of different calibration budgets.
    train, calibration, test : RecordingSet
        ``calibration`` is empty for zero-shot (budget 0).
    info : dict
        ``protocol``, ``fold``, ``subject`` (target), ``calibration`` (budget k), and
        per protocol ``gap``, ``train_domain``, ``test_domain``, ``test_shifts``,
        ``augment``, ``n_calibration_units``.
    """

    name: str
    train: RecordingSet
    calibration: RecordingSet
    test: RecordingSet
    info: dict[str, Any] = field(default_factory=dict)

    def conditions(self) -> Iterator[tuple[str, RecordingSet]]:
        """Test sets to evaluate: ``("", test)``, or one per electrode shift
        (``"shift=+1"``; ``"shift=+1/aug"`` when training used shift augmentation)."""
        shifts = self.info.get("test_shifts")
        if not shifts:
            yield "", self.test
            return
        suffix = "/aug" if self.info.get("augment") else ""
        for s in shifts:
            yield f"shift={int(s):+d}{suffix}", shift_set(self.test, int(s))


@dataclass
class _Plan:
    """A fold as boolean masks over the rows of a unit table."""

    name: str
    info: dict[str, Any]
    train: np.ndarray
    pool: np.ndarray  # calibration candidates (ordered by unit order)
    test: np.ndarray
    augment_shifts: tuple[int, ...] = ()


# -- electrode shift ---------------------------------------------------------------------
def shift_recording(rec: Recording, k: int) -> Recording:
    """Rotate a ring (armband) by ``k`` electrodes, or translate a grid by ``k`` columns."""
    if k == 0:
        return rec
    x = rec.emg.T[None]  # (1, C, T)
    if rec.layout.kind == "ring":
        shifted = rotate_ring(x, k)
    elif rec.layout.kind == "grid":
        shifted = translate_grid(x, rec.layout, 0, k)
    else:
        raise ConfigError(
            "electrode-shift needs a ring or grid channel layout; "
            f"{rec.meta.get('dataset', 'this dataset')} has a {rec.layout.kind!r} layout"
        )
    return rec.with_emg(np.ascontiguousarray(np.asarray(shifted)[0].T), meta={**rec.meta})


def shift_set(rset: RecordingSet, k: int) -> RecordingSet:
    """`shift_recording` applied to every recording."""
    return RecordingSet(shift_recording(r, k) for r in rset)


# -- helpers ---------------------------------------------------------------------------
def _norm(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _match(table: pd.DataFrame, criteria: dict[str, Sequence[Any]]) -> np.ndarray:
    mask = np.ones(len(table), dtype=bool)
    for col, values in criteria.items():
        if col not in table.columns:
            return np.zeros(len(table), dtype=bool)
        wanted = {_norm(v) for v in values}
        mask &= np.array([_norm(v) in wanted for v in table[col]], dtype=bool)
    return mask


def _datasets(table: pd.DataFrame) -> list[Any]:
    if "dataset" not in table.columns:
        return [None]
    return sorted_values(table["dataset"].tolist())


def _in_dataset(table: pd.DataFrame, ds: Any) -> np.ndarray:
    if ds is None or "dataset" not in table.columns:
        return np.ones(len(table), dtype=bool)
    return (table["dataset"] == ds).to_numpy()


def _groups(table: pd.DataFrame, mask: np.ndarray, cols: Sequence[str]) -> Iterator[Any]:
    """Yield ``(key, mask)`` per distinct value of ``cols`` among rows in ``mask``."""
    cols = [c for c in cols if c in table.columns]
    if not cols:
        yield (), mask
        return
    keys = [tuple(r) for r in table[cols].itertuples(index=False)]
    for key in sorted_values([k for k, m in zip(keys, mask) if m]):
        yield key, mask & np.array([k == key for k in keys], dtype=bool)


def _subject(table: pd.DataFrame, mask: np.ndarray) -> Any:
    if "subject" not in table.columns or not mask.any():
        return None
    vals = sorted_values(table.loc[mask, "subject"].tolist())
    return vals[0] if len(vals) == 1 else ",".join(map(str, vals))


def _label(key: Sequence[Any]) -> str:
    return "/".join(str(k) for k in key if k is not None and k == k)


def _varying(table: pd.DataFrame, cols: Sequence[str]) -> list[str]:
    """The columns of ``cols`` worth naming a fold by: those that vary within a subject
    (or, for ``dataset``, at all), skipping one that merely repeats an earlier one."""
    keep: list[str] = []
    for c in cols:
        if c not in table.columns:
            continue
        if c == "dataset":
            if table[c].nunique() > 1:
                keep.append(c)
            continue
        if c != "subject" and "subject" in table.columns:
            if (table.groupby("subject")[c].nunique() <= 1).all():
                continue
        codes = pd.factorize(table[c])[0]
        if any((pd.factorize(table[k])[0] == codes).all() for k in keep):
            continue
        keep.append(c)
    return keep


def _ds_name(ds: Any) -> str:
    return "this dataset" if ds is None else f"dataset {ds!r}"


# -- base class ----------------------------------------------------------------------------
class Protocol:
    """Base class of protocols; subclasses implement `plan` over a unit table."""

    name: ClassVar[str] = ""
    #: whether a calibration budget (target data for ``adapt``) makes sense
    cross_domain: ClassVar[bool] = True

    def __init__(self, same_test: bool = True) -> None:
        self.same_test = same_test

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @property
    def label(self) -> str:
        """Name as given to `get_protocol` (with its argument, if any)."""
        return self.name

    def plan(self, table: pd.DataFrame) -> list[_Plan]:  # pragma: no cover - abstract
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """JSON-able parameters (part of the result cache key)."""
        return {"same_test": self.same_test}

    # -- calibration budget ---------------------------------------------------------------
    def _budgets(self, calibration: int | Sequence[int] | None) -> list[int]:
        ks = (
            [0]
            if calibration is None
            else [calibration]
            if isinstance(calibration, int)
            else list(calibration)
        )
        ks = sorted({int(k) for k in ks})
        if any(k < 0 for k in ks):
            raise ConfigError(f"calibration budgets must be >= 0, got {ks}")
        if not self.cross_domain and ks != [0]:
            raise ConfigError(
                f"protocol {self.label!r} has no target domain to calibrate on; "
                f"use calibration 0 (got {ks})"
            )
        return ks

    def _budget(
        self, table: pd.DataFrame, p: _Plan, k: int, kmax: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the calibration units (first k per target subject) and of the test."""
        order = table["_uorder"].to_numpy()
        cal = np.zeros(len(table), dtype=bool)
        excluded = np.zeros(len(table), dtype=bool)
        drop = kmax if self.same_test else k
        for key, m in _groups(table, p.pool, ["subject"]):
            units = sorted(set(order[m].tolist()))
            if k > len(units) or (drop >= len(units) and (p.test & m).any()):
                raise ConfigError(
                    f"{self.label}: fold {p.name!r}: calibration budget {max(k, drop)} needs "
                    f"more repetitions than subject {_label(key) or '?'} has ({len(units)})"
                )
            cal |= m & np.isin(order, units[:k])
            excluded |= m & np.isin(order, units[:drop])
        test = p.test & ~excluded
        if not test.any():
            raise ConfigError(f"{self.label}: fold {p.name!r} has no test data left")
        return cal, test

    # -- public API -------------------------------------------------------------------
    def split(self, rset: RecordingSet, calibration: int | Sequence[int] | None = 0) -> list[Fold]:
        """Folds of ``rset``, one per (fold, calibration budget).

        Raises
        ------
        ConfigError
            Protocol impossible for the data (one day for cross-day, one subject for
            LOSO, ...), an empty side, or a budget larger than the target's repetitions.
        """
        ks = self._budgets(calibration)
        if len(rset) == 0:
            raise ConfigError(f"{self.label}: the recording set is empty")
        table, per_rec = unit_table(rset)
        plans = self._checked_plans(table)
        folds: list[Fold] = []
        for p in plans:
            train = take(rset, per_rec, table, p.train)
            if p.augment_shifts:
                extra = [shift_recording(r, s) for s in p.augment_shifts for r in train]
                train = RecordingSet([*train, *extra])
            for k in ks:
                cal, test = self._budget(table, p, k, max(ks))
                info = {
                    **p.info,
                    "protocol": self.label,
                    "fold": p.name,
                    "calibration": k,
                    "n_calibration_units": int(len(set(table.loc[cal, "_uorder"]))),
                }
                folds.append(
                    Fold(
                        p.name,
                        train,
                        take(rset, per_rec, table, cal),
                        take(rset, per_rec, table, test),
                        info,
                    )
                )
        return folds

    def _checked_plans(self, table: pd.DataFrame) -> list[_Plan]:
        plans = self.plan(table)
        if not plans:
            names = ", ".join(str(d) for d in _datasets(table))
            raise ConfigError(f"protocol {self.label!r} gives no folds for dataset(s) {names}")
        for p in plans:
            if not p.train.any():
                raise ConfigError(f"{self.label}: fold {p.name!r} has no training data")
            if not p.test.any():
                raise ConfigError(f"{self.label}: fold {p.name!r} has no test data")
        return plans

    def cv(
        self, meta: pd.DataFrame, y: np.ndarray | None = None, calibration: int = 0
    ) -> WindowSplitter:
        """A scikit-learn cross-validator over the windows described by ``meta``."""
        return WindowSplitter(self, meta, y, calibration)


class WindowSplitter:
    """scikit-learn cross-validator view of a protocol over windows.

    ``meta`` is a `Windows.meta` frame (``recording``, ``start``, ``repetition`` and the
    recordings' metadata). ``split`` yields ``(train_idx, test_idx)``;
    ``split_with_calibration`` yields ``(train_idx, calibration_idx, test_idx)``.
    """

    def __init__(
        self,
        protocol: Protocol,
        meta: pd.DataFrame,
        y: np.ndarray | None = None,
        calibration: int = 0,
    ) -> None:
        if isinstance(protocol, ElectrodeShift):
            raise ConfigError("electrode-shift changes the test signals; use protocol.split()")
        self.protocol = protocol
        self.meta = meta
        self.y = y
        self.calibration = protocol._budgets(calibration)[0]
        self._table = window_unit_table(meta, y)
        self._plans = protocol._checked_plans(self._table)

    def _idx(self, mask: np.ndarray) -> np.ndarray:
        parts = self._table.loc[mask, "_windows"].tolist()
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def split_with_calibration(
        self, X: Any = None, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        k = self.calibration
        for p in self._plans:
            cal, test = self.protocol._budget(self._table, p, k, k)
            yield self._idx(p.train), self._idx(cal), self._idx(test)

    def split(
        self, X: Any = None, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for train, _cal, test in self.split_with_calibration(X, y, groups):
            yield train, test

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return len(self._plans)

    @property
    def fold_names(self) -> list[str]:
        return [p.name for p in self._plans]


# -- protocols ---------------------------------------------------------------------------
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

    def plan(self, table: pd.DataFrame) -> list[_Plan]:
        plans: list[_Plan] = []
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
    ) -> list[_Plan]:
        col = rule["column"]
        train_m = in_ds & _match(table, {col: rule["train"]})
        test_m = in_ds & _match(table, {col: rule["test"]})
        plans = []
        for key, m in _groups(table, in_ds, _varying(table, ["dataset", "subject"])):
            if (m & train_m).any() and (m & test_m).any():
                info = {"subject": _subject(table, m), "train_domain": ",".join(rule["train"])}
                info["test_domain"] = ",".join(rule["test"])
                plans.append(_Plan(_label(key), info, m & train_m, m & False, m & test_m))
        if not plans:
            raise ConfigError(
                f"within-session: {_ds_name(ds)} has no subject with both {col} "
                f"{rule['train']} and {rule['test']}"
            )
        return plans

    def _by_repetition(
        self, table: pd.DataFrame, in_ds: np.ndarray, rule: dict[str, Any], ds: Any
    ) -> list[_Plan]:
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
                plans.append(_Plan(_label(key), info, train, m & False, test))
        if not plans:
            raise ConfigError(
                f"within-session: {_ds_name(ds)} has no session with at least two repetitions "
                "to split"
            )
        return plans


class CrossSession(Protocol):
    """Train on an earlier session (or day), test on a later one of the same subject.

    ``mode="first"``: first -> each later; ``"consecutive"``: d -> d+1; ``"both"``.
    ``info["gap"]`` is the difference of the values when numeric (days), else of ranks.
    The calibration units come from the later (target) session.
    """

    name = "cross-session"
    prefer: ClassVar[tuple[str, ...]] = ("session", "day")

    def __init__(self, column: str | None = None, mode: str = "both", **kw: Any) -> None:
        super().__init__(**kw)
        if mode not in ("first", "consecutive", "both"):
            raise ConfigError(f"mode must be first, consecutive or both, got {mode!r}")
        self.column = column
        self.mode = mode

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
        raise ConfigError(
            f"{self.name}: dataset(s) {ds} have no subject recorded in two or more "
            f"{' or '.join(f'{c}s' for c in cands)}; use within-session or loso"
        )

    def plan(self, table: pd.DataFrame) -> list[_Plan]:
        col = self._column(table)
        plans = []
        values = table[col].tolist()
        whole = np.ones(len(table), dtype=bool)
        for key, m in _groups(table, whole, _varying(table, ["dataset", "subject"])):
            vals = sorted_values([v for v, keep in zip(values, m) if keep and v == v])
            if len(vals) < 2:
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
                plans.append(_Plan(name, info, train, target, target))
        return plans


class CrossDay(CrossSession):
    """`CrossSession` over the ``day`` column (kanoga: day 1 -> each day, d -> d+1)."""

    name = "cross-day"
    prefer = ("day", "session")


class LeaveGroupOut(Protocol):
    """Leave one value of a metadata column out (``leave-group-out:gender``, ...).

    The calibration units are the first repetitions of each held-out subject.
    """

    name = "leave-group-out"

    def __init__(self, column: str = "subject", **kw: Any) -> None:
        super().__init__(**kw)
        self.column = column

    @property
    def label(self) -> str:
        return f"{self.name}:{self.column}"

    def params(self) -> dict[str, Any]:
        return {**super().params(), "column": self.column}

    def plan(self, table: pd.DataFrame) -> list[_Plan]:
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
                plans.append(_Plan(name, info, in_ds & ~target, target, target))
        return plans


class LeaveOneSubjectOut(LeaveGroupOut):
    """Leave one subject out (cross-subject)."""

    name = "loso"

    def __init__(self, **kw: Any) -> None:
        super().__init__(column="subject", **kw)

    @property
    def label(self) -> str:
        return self.name


class Predefined(Protocol):
    """The dataset's own source -> target split (`PREDEFINED`), one fold per target subject.

    myoarmband: train on the pre-training set; per evaluation subject, calibrate on the
    first k ``training0`` cycles and test on ``Test0`` + ``Test1``.
    """

    name = "predefined"

    def plan(self, table: pd.DataFrame) -> list[_Plan]:
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
                plans.append(_Plan(_label(key), info, source, pool, test))
        return plans


class ElectrodeShift(Protocol):
    """Rotate ring electrodes (translate grids) by -k..+k at test time.

    Built on the within-session split; every fold is run twice, without (``noaug``) and
    with (``aug``) shift augmentation in training (the training recordings plus copies
    shifted by every non-zero shift in -k..k). Results carry a ``shift=+1`` (or
    ``shift=+1/aug``) condition.
    """

    name = "electrode-shift"
    cross_domain = False

    def __init__(self, shifts: int = 1, augment: Sequence[bool] = (False, True), **kw: Any) -> None:
        super().__init__(**kw)
        if shifts < 1:
            raise ConfigError(f"electrode-shift needs shifts >= 1, got {shifts}")
        self.shifts = int(shifts)
        self.augment = tuple(bool(a) for a in augment)
        self.base = WithinSession()

    @property
    def label(self) -> str:
        return self.name if self.shifts == 1 else f"{self.name}:{self.shifts}"

    def params(self) -> dict[str, Any]:
        return {**super().params(), "shifts": self.shifts, "augment": list(self.augment)}

    def plan(self, table: pd.DataFrame) -> list[_Plan]:
        shifts = list(range(-self.shifts, self.shifts + 1))
        plans = []
        for p in self.base.plan(table):
            for aug in self.augment:
                info = {**p.info, "test_shifts": shifts, "augment": aug}
                aug_shifts = tuple(s for s in shifts if s != 0) if aug else ()
                name = f"{p.name}:{'aug' if aug else 'noaug'}"
                plans.append(_Plan(name, info, p.train, p.pool, p.test, aug_shifts))
        return plans


PROTOCOLS: dict[str, type[Protocol]] = {
    "within-session": WithinSession,
    "cross-session": CrossSession,
    "cross-day": CrossDay,
    "loso": LeaveOneSubjectOut,
    "leave-group-out": LeaveGroupOut,
    "predefined": Predefined,
    "electrode-shift": ElectrodeShift,
}


def protocol_names() -> list[str]:
    """Valid protocol names (``leave-group-out`` takes ``:COLUMN``)."""
    return [
        "within-session",
        "cross-session",
        "cross-day",
        "loso",
        "leave-group-out:COLUMN",
        "predefined",
        "electrode-shift[:K]",
    ]


def get_protocol(name: str | Protocol, **kwargs: Any) -> Protocol:
    """A protocol by name: ``"loso"``, ``"leave-group-out:gender"``, ``"electrode-shift:2"``.

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
    if cls is LeaveGroupOut:
        if not arg:
            raise ConfigError("protocol leave-group-out needs a column: leave-group-out:COLUMN")
        return LeaveGroupOut(column=arg, **kwargs)
    if cls is ElectrodeShift and arg:
        try:
            return ElectrodeShift(shifts=int(arg), **kwargs)
        except ValueError:
            raise ConfigError(f"electrode-shift:K needs an integer K, got {arg!r}") from None
    if arg:
        raise ConfigError(f"protocol {base!r} takes no argument (got {name!r})")
    return cls(**kwargs)
