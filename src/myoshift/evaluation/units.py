"""Repetition units: the smallest pieces of data a protocol may put on one side of a split.

A *unit* is one repetition (cycle, trial) of one recording. Protocols assign whole units
to train, calibration or test, so overlapping windows of one repetition can never sit on
both sides. The unit of every sample is found by `myoshift.signal.repetitions.sample_units`
(per-sample ``repetition`` array, a whole-recording ``repetition``/``cycle``/``trial``/
``rep`` field, or the gesture runs of the labels); where none applies, the recording's
rank among the recordings of its subject and session is its unit.

A repetition is identified by its *context* (split, session, day, series, exercise,
posture), the recording's trial/cycle/repetition field where it has one, and the unit
above. Repetitions are ordered by that key ("train" sessions before "test" ones, numbers
naturally), so "the first k repetitions" of a subject is well defined.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError
from myoshift.recording import AuxStream, Recording, RecordingSet
from myoshift.signal.repetitions import (
    REP_KEYS,
    SampleUnits,
    fill_rest,
    infer_from_labels,
    meta_repetition,
    sample_units,
)

__all__ = [
    "CONTEXT_COLUMNS",
    "REP_KEYS",
    "SampleUnits",
    "infer_from_labels",
    "order_key",
    "sample_units",
    "sorted_values",
    "take",
    "unit_table",
    "window_unit_table",
]

CONTEXT_COLUMNS = ("split", "session", "day", "series", "exercise", "posture")


def order_key(value: Any) -> tuple[Any, ...]:
    """Sort key for metadata values: numbers naturally, "train" before "test" labels."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (3, ())
    if isinstance(value, (bool, np.bool_)):
        return (1, ((0, float(value), ""),))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return (1, ((0, float(value), ""),))
    s = str(value).lower()
    rank = 0 if "train" in s else 2 if "test" in s else 1
    parts = tuple(
        (0, float(t), "") if t.isdigit() else (1, 0.0, t) for t in re.findall(r"\d+|\D+", s)
    )
    return (rank, parts)


def sorted_values(values: Sequence[Any]) -> list[Any]:
    """Distinct values sorted with `order_key`."""
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return sorted(out, key=order_key)


def _context(row: dict[str, Any], columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row.get(c) for c in columns)


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    """Fill unknown units by recording rank; add ``_uorder`` (global unit order)."""
    columns = [c for c in CONTEXT_COLUMNS if c in table.columns]
    group_cols = [c for c in ("dataset", "subject", *columns) if c in table.columns]
    missing = table["_rep"].isna()
    if missing.any():
        ranks = np.zeros(len(table), dtype=np.int64)
        keys = [tuple(r) for r in table[group_cols].itertuples(index=False)]
        seen: dict[tuple[Any, ...], int] = {}
        for i in np.flatnonzero(missing.to_numpy()):
            seen[keys[i]] = seen.get(keys[i], 0) + 1
            ranks[i] = seen[keys[i]]
        table.loc[missing, "_rep"] = ranks[missing.to_numpy()]
    table["_rep"] = table["_rep"].astype(np.int64)
    # a trial/cycle field joins the key: files of one session can all be "repetition 1"
    columns += [c for c in REP_KEYS if c in table.columns]
    ukeys = [
        (*_context({str(k): v for k, v in r.items()}, columns), r["_rep"])
        for r in table[[*columns, "_rep"]].to_dict("records")
    ]
    distinct = sorted(set(ukeys), key=lambda k: tuple(order_key(v) for v in k))
    rank = {k: i for i, k in enumerate(distinct)}
    table["_uorder"] = [rank[k] for k in ukeys]
    return table


def unit_table(rset: RecordingSet) -> tuple[pd.DataFrame, list[SampleUnits]]:
    """One row per (recording, unit): the recording's metadata plus ``_rec``, ``_rep``
    and ``_layout`` (the channel layout's kind: ring, grid, plain).

    Returns the table and the per-recording sample units used by `take`.
    """
    rows: list[dict[str, Any]] = []
    per_rec: list[SampleUnits] = []
    for i, rec in enumerate(rset):
        u = sample_units(rec)
        per_rec.append(u)
        base = {**rec.meta, "_rec": i, "_layout": rec.layout.kind}
        if isinstance(u, np.ndarray):
            for r in np.unique(u):
                rows.append({**base, "_rep": int(r)})
        else:
            rows.append({**base, "_rep": u if u is not None else np.nan})
    table = pd.DataFrame(rows)
    if table.empty:
        return table, per_rec
    return _finish(table), per_rec


def window_unit_table(meta: pd.DataFrame, y: np.ndarray | None = None) -> pd.DataFrame:
    """Unit table for windows (a `Windows.meta` frame, one row per window).

    Same columns as `unit_table` plus ``_windows``: the window positions of each unit.
    """
    if "recording" not in meta.columns:
        raise ConfigError("window meta needs a 'recording' column (as made by make_windows)")
    reps = np.zeros(len(meta), dtype=float)
    reps[:] = np.nan
    starts = np.asarray(meta["start"] if "start" in meta.columns else np.arange(len(meta)))
    for _, idx in meta.groupby("recording", sort=False).indices.items():
        pos = np.asarray(idx)[np.argsort(starts[idx], kind="stable")]
        rep = meta["repetition"].to_numpy()[pos] if "repetition" in meta.columns else None
        if rep is not None and (rep > 0).any():
            reps[pos] = fill_rest(rep)
            continue
        first = meta.iloc[int(pos[0])].to_dict()
        mrep = meta_repetition({str(k): v for k, v in first.items() if k != "repetition"})
        if mrep is not None:
            reps[pos] = mrep
            continue
        if y is not None:
            inferred = infer_from_labels(np.asarray(y)[pos])
            if inferred is not None:
                reps[pos] = inferred
    work = meta.drop(columns=[c for c in ("repetition",) if c in meta.columns]).copy()
    work["_rep"] = reps
    work["_rec"] = meta["recording"].to_numpy()
    work["_pos"] = np.arange(len(meta))
    key = work["_rep"].fillna(-1)
    groups = work.assign(_k=key).groupby(["_rec", "_k"], sort=False)
    first_rows = groups.head(1).drop(columns=["_pos"]).reset_index(drop=True)
    first_rows["_windows"] = pd.Series(
        [np.asarray(v) for v in groups["_pos"].agg(list)], dtype=object
    )
    first_rows = first_rows.drop(columns=["_k"])
    return _finish(first_rows)


def _slice(rec: Recording, a: int, b: int) -> Recording:
    aux = {k: AuxStream(s.data, s.fs, s.names, s.start - a / rec.fs) for k, s in rec.aux.items()}
    return Recording(
        rec.emg[a:b],
        rec.fs,
        rec.labels[a:b],
        rec.layout,
        None if rec.repetition is None else rec.repetition[a:b],
        aux,
        {**rec.meta, "segment_start": int(a)},
        rec.class_names,
    )


def take(
    rset: RecordingSet, per_rec: list[SampleUnits], table: pd.DataFrame, mask: np.ndarray
) -> RecordingSet:
    """The recordings (or contiguous pieces of them) of the units selected by ``mask``."""
    sel = table.loc[np.asarray(mask, dtype=bool), ["_rec", "_rep"]]
    out: list[Recording] = []
    for rec_key, reps in sel.groupby("_rec", sort=True)["_rep"]:
        rec_i = int(rec_key)  # type: ignore[arg-type]
        rec = rset[rec_i]
        u = per_rec[rec_i]
        if not isinstance(u, np.ndarray):
            out.append(rec)
            continue
        keep = np.isin(u, reps.to_numpy())
        if keep.all():
            out.append(rec)
            continue
        edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2]):
            out.append(_slice(rec, int(a), int(b)))
    return RecordingSet(out)
