"""Repetition units of samples: the one definition shared by windows, splits and protocols.

A *unit* is one repetition (cycle, trial) of one recording. The unit of every sample is
found, in this order, from

1. the recording's per-sample ``repetition`` array (rest samples coded 0 between two
   repetitions belong to the repetition before them, leading rest to the first one);
2. a ``repetition``, ``cycle``, ``trial`` or ``rep`` metadata field (the whole recording
   is one unit, e.g. one myoarmband ``classe_K.dat`` file or one kanoga CSV file);
3. the gesture runs of the labels, when a class occurs more than once: the n-th run of a
   class is repetition n (rest and unlabelled samples join the run before them);
4. otherwise unknown (``None``): protocols then rank the recording among those of its
   subject and session (`myoshift.evaluation.units`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from myoshift.recording import REST, UNLABELLED, Recording

#: metadata fields that hold a whole-recording repetition, in order of preference
REP_KEYS = ("repetition", "cycle", "trial", "rep")

#: per-sample units (int64 array), one unit for the whole recording (int), or unknown
SampleUnits = np.ndarray | int | None


def fill_rest(rep: np.ndarray) -> np.ndarray:
    """Give samples coded 0 the repetition before them (leading ones the first).

    Parameters
    ----------
    rep : ndarray (n,)
        Per-sample repetition codes, 0 = none (rest between repetitions).

    Returns
    -------
    ndarray, int64, (n,)
        Unchanged when no code is > 0.
    """
    rep = np.asarray(rep, dtype=np.int64)
    nz = rep > 0
    if not nz.any():
        return rep
    idx = np.where(nz, np.arange(len(rep)), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = int(np.flatnonzero(nz)[0])
    return rep[idx]


def infer_from_labels(labels: np.ndarray) -> np.ndarray | None:
    """Repetition per sample from gesture runs, or None when no class repeats.

    The n-th run of a gesture class is repetition n; rest and unlabelled samples join
    the run before them (leading ones the first run).
    """
    labels = np.asarray(labels)
    if labels.size == 0:
        return None
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(labels)]])
    counts: dict[int, int] = {}
    run_rep = np.zeros(len(starts), dtype=np.int64)
    for j, s in enumerate(starts):
        c = int(labels[s])
        if c in (REST, UNLABELLED):
            continue
        counts[c] = counts.get(c, 0) + 1
        run_rep[j] = counts[c]
    if not counts or max(counts.values()) < 2:
        return None
    return fill_rest(np.repeat(run_rep, ends - starts))


def meta_repetition(meta: Mapping[str, Any]) -> int | None:
    """The first integer ``repetition``/``cycle``/``trial``/``rep`` field of ``meta``.

    None when no such field holds an integer (missing, NaN or not a number).
    """
    for key in REP_KEYS:
        v = meta.get(key)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        try:
            return int(v)
        except (TypeError, ValueError):
            continue
    return None


def sample_units(rec: Recording) -> SampleUnits:
    """Repetition unit of every sample of ``rec`` (see the module docstring).

    Returns
    -------
    ndarray (n_samples,) int64, int or None
        Per-sample units, one unit for the whole recording, or None when unknown.
    """
    if rec.repetition is not None and (rec.repetition > 0).any():
        return fill_rest(rec.repetition)
    rep = meta_repetition(rec.meta)
    if rep is not None:
        return rep
    return infer_from_labels(rec.labels)
