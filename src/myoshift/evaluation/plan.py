"""Folds and fold plans: what a protocol hands to a regime.

A `Fold` holds the ``train``, ``calibration`` and ``test`` RecordingSets of one split and
its ``info``. A `FoldPlan` is the same split before any data is cut: boolean masks over
the rows of a repetition-unit table (`myoshift.evaluation.units.unit_table`), one row
per repetition of a recording. Protocols (`myoshift.evaluation.protocols`) implement
``plan(table) -> list[FoldPlan]``; the base class turns plans into folds for every
calibration budget. The table helpers and the datasets' standard splits below are
shared by every protocol.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError
from myoshift.evaluation.units import sorted_values
from myoshift.recording import Recording, RecordingSet
from myoshift.signal.layouts import rotate_ring, translate_grid


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
class FoldPlan:
    """A fold as boolean masks over the rows of a unit table (one row per repetition).

    Attributes
    ----------
    name : str
        The fold's name (e.g. the held-out subject).
    info : dict
        What the fold's `Fold.info` starts from (subject, domains, gap...).
    train, pool, test : ndarray of bool
        Rows used for training, the target rows calibration may take from (in unit
        order; the protocol's calibration sampler picks k of them), and the test rows.
    augment_shifts : tuple of int
        Electrode shifts added to the training recordings (electrode-shift protocol).
    """

    name: str
    info: dict[str, Any]
    train: np.ndarray
    pool: np.ndarray  # calibration candidates (ordered by unit order)
    test: np.ndarray
    augment_shifts: tuple[int, ...] = ()


class HeldOut(NamedTuple):
    """One value of a column held out (`held_out_values`): masks over a unit table."""

    dataset: Any  #: the dataset (None: the table has no ``dataset`` column)
    value: Any  #: the held-out value
    rows: np.ndarray  #: the dataset's rows that have a value in the column
    held: np.ndarray  #: the rows with this value


# -- dataset split rules ------------------------------------------------------------------
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


# -- held-out values -------------------------------------------------------------------
def held_out_values(table: pd.DataFrame, column: str, label: str, why: str = "") -> list[HeldOut]:
    """Each value of ``column`` held out in turn, dataset by dataset.

    Parameters
    ----------
    table : DataFrame
        A unit table with ``column`` (the caller checks that it exists).
    column : str
        The column whose values are held out; rows without a value are in no `HeldOut`.
    label : str
        The protocol's label, for the error message.
    why : str
        Appended to the error message (why two values are needed).

    Returns
    -------
    list of HeldOut
        Per dataset (`_datasets` order), per value in natural order (`sorted_values`).

    Raises
    ------
    ConfigError
        A dataset with fewer than two values in ``column``.
    """
    out: list[HeldOut] = []
    for ds in _datasets(table):
        rows = _in_dataset(table, ds) & table[column].notna().to_numpy()
        values = sorted_values(table.loc[rows, column].tolist())
        if len(values) < 2:
            raise ConfigError(
                f"{label}: {_ds_name(ds)} has {len(values)} distinct {column!r} value(s); "
                f"need at least 2{why}"
            )
        out += [HeldOut(ds, v, rows, rows & _match(table, {column: [v]})) for v in values]
    return out


def values_per_person(
    table: pd.DataFrame, column: str
) -> Iterator[tuple[Any, np.ndarray, list[Any]]]:
    """Yield ``(key, mask, values)`` per person (dataset × subject, where they vary):
    the person's rows and the distinct values of ``column`` they have, in natural order
    (`sorted_values`; missing values left out)."""
    values = table[column].tolist()
    whole = np.ones(len(table), dtype=bool)
    for key, m in _groups(table, whole, _varying(table, ["dataset", "subject"])):
        yield key, m, sorted_values([v for v, keep in zip(values, m) if keep and v == v])


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
