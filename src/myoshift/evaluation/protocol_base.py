"""The protocol base class, the protocol registry and the cross-validator view.

See `myoshift.evaluation.protocols` for the protocols themselves and
`myoshift.evaluation.plan` for folds and fold plans. A protocol the data cannot honour
(cross-day without a ``day`` column, LOSO on one person...) is a `ConfigError` that
names the protocols the same data can honour (`honoured_protocols`), never a quiet
substitute.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError
from myoshift.evaluation.plan import Fold, FoldPlan, _datasets, _groups, _label, shift_recording
from myoshift.evaluation.units import take, unit_table, window_unit_table
from myoshift.recording import RecordingSet

#: how calibration repetitions are chosen: the first k (recording order) or k at random
CALIBRATION_SAMPLERS = ("first", "random")

P = TypeVar("P", bound=type)

#: registered protocol classes by name (`register_protocol`; `get_protocol` reads it)
PROTOCOLS: dict[str, type[Protocol]] = {}


def register_protocol(cls: P) -> P:
    """Class decorator adding a protocol under its ``name``."""
    name = getattr(cls, "name", "")
    if not name:
        raise ConfigError(f"protocol {cls.__name__} needs a name")
    PROTOCOLS[name] = cls  # type: ignore[assignment]
    return cls


def honoured_protocols(table: pd.DataFrame) -> list[str]:
    """The registered protocols that give folds on a unit table (`units.unit_table`).

    Each entry is a protocol label, with the metadata column it splits by where it
    chooses one (``"cross-session (by series)"``).
    """
    out: list[str] = []
    for cls in PROTOCOLS.values():
        for proto in cls.candidates(table):
            try:
                proto._plans(table)
            except ConfigError:
                continue
            out.append(proto.label + proto.describe(table))
    return out


def available_protocols(rset: RecordingSet) -> list[str]:
    """The protocols ``rset`` can honour, each with the column it splits by where it
    chooses one (e.g. ``["within-session", "cross-session (by series)", "loso"]``)."""
    if len(rset) == 0:
        return []
    table, _ = unit_table(rset)
    return honoured_protocols(table)


# -- base class ----------------------------------------------------------------------------
class Protocol:
    """Base class of protocols; subclasses implement `plan` over a unit table."""

    name: ClassVar[str] = ""
    #: whether a calibration budget (target data for ``adapt``) makes sense
    cross_domain: ClassVar[bool] = True
    #: whether test signals are transformed (then there is no window-index view)
    changes_signals: ClassVar[bool] = False
    #: the regime run when the caller names none (`myoshift.evaluation.regimes`)
    default_regime: ClassVar[str] = "transfer"
    #: how the name is written with its argument, if it takes one (``"loso"``,
    #: ``"leave-group-out:COLUMN"``): what `protocol_names` lists
    usage: ClassVar[str] = ""

    @classmethod
    def from_arg(cls, arg: str, **kwargs: Any) -> Protocol:
        """The protocol named ``NAME:ARG`` (``arg`` is ``""`` without a colon).

        Protocols that take an argument override this and parse it; a bad one is a
        `ConfigError` naming the protocol, the argument and the expected form.
        """
        if arg:
            raise ConfigError(f"protocol {cls.name!r} takes no argument (got {cls.name}:{arg})")
        return cls(**kwargs)

    def __init__(
        self, same_test: bool = True, calibration_sampler: str = "first", sampler_seed: int = 0
    ) -> None:
        if calibration_sampler not in CALIBRATION_SAMPLERS:
            raise ConfigError(
                f"unknown calibration sampler {calibration_sampler!r}; valid: "
                f"{', '.join(CALIBRATION_SAMPLERS)}"
            )
        self.same_test = same_test
        self.calibration_sampler = calibration_sampler
        self.sampler_seed = int(sampler_seed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @property
    def label(self) -> str:
        """Name as given to `get_protocol` (with its argument, if any)."""
        return self.name

    def plan(self, table: pd.DataFrame) -> list[FoldPlan]:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def candidates(cls, table: pd.DataFrame) -> list[Protocol]:
        """Instances worth trying on ``table`` for `honoured_protocols` (default: one)."""
        return [cls()]

    def describe(self, table: pd.DataFrame) -> str:
        """What `honoured_protocols` adds to the label (e.g. the column split by)."""
        return ""

    def params(self) -> dict[str, Any]:
        """JSON-able parameters (part of the result cache key)."""
        out: dict[str, Any] = {"same_test": self.same_test}
        if self.calibration_sampler != "first":  # earlier cache keys stay valid
            out.update(sampler=self.calibration_sampler, sampler_seed=self.sampler_seed)
        return out

    def _calibration_order(self, units: list[Any], p: FoldPlan, key: Any) -> list[Any]:
        """The target's repetitions in the order calibration takes them (see `split`)."""
        if self.calibration_sampler == "first":
            return units
        seed = [self.sampler_seed, *map(ord, f"{p.name}|{_label(key)}")]
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        return [units[i] for i in rng.permutation(len(units))]

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
        self, table: pd.DataFrame, p: FoldPlan, k: int, kmax: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the calibration units (first k per target subject) and of the test."""
        order = table["_uorder"].to_numpy()
        cal = np.zeros(len(table), dtype=bool)
        excluded = np.zeros(len(table), dtype=bool)
        drop = kmax if self.same_test else k
        for key, m in _groups(table, p.pool, ["subject"]):
            units = self._calibration_order(sorted(set(order[m].tolist())), p, key)
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

    def _checked_plans(self, table: pd.DataFrame) -> list[FoldPlan]:
        """`plan` checked for empty sides; a refusal names what the data can honour."""
        try:
            return self._plans(table)
        except ConfigError as exc:
            others = [p for p in honoured_protocols(table) if p.split(" ")[0] != self.label]
            names = ", ".join(str(d) for d in _datasets(table))
            can = ", ".join(others) if others else "none of the registered protocols"
            raise ConfigError(f"{exc}; protocols that {names} can honour: {can}") from None

    def _plans(self, table: pd.DataFrame) -> list[FoldPlan]:
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
        if protocol.changes_signals:
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
