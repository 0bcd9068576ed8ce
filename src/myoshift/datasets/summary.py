"""A JSON-serialisable overview of a `RecordingSet`: who, when, which classes, how long."""

from __future__ import annotations

from typing import Any

import numpy as np

from myoshift.recording import UNLABELLED, RecordingSet

__all__ = ["summarize"]


def _plain(value: Any) -> Any:
    """NumPy scalars to Python scalars, recursively (for ``json.dumps``)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _one_or_list(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def summarize(rset: RecordingSet, name: str) -> dict[str, Any]:
    """Summarise a dataset's recordings.

    Parameters
    ----------
    rset : RecordingSet
        The loaded recordings.
    name : str
        The dataset's name (copied into the result).

    Returns
    -------
    dict
        ``name``, ``n_recordings``, ``n_subjects``, ``subjects``, ``sessions``, ``days``
        (empty lists where the dataset has no such field), ``classes`` (names of the
        class codes present, in code order), ``class_seconds`` (seconds per class name),
        ``unlabelled_seconds``, ``fs`` and ``n_channels`` (one value, or the sorted
        distinct values when recordings differ), ``total_seconds``, ``layout`` (kinds),
        ``aux`` (auxiliary stream names) and ``meta_columns``. Only plain Python types,
        so ``json.dumps`` works on it.
    """
    names = rset.class_names
    counts: dict[int, float] = {}
    unlabelled = 0.0
    for r in rset:
        codes, n = np.unique(r.labels, return_counts=True)
        for code, k in zip(codes.tolist(), n.tolist()):
            if code == UNLABELLED:
                unlabelled += k / r.fs
            else:
                counts[code] = counts.get(code, 0.0) + k / r.fs

    def label(code: int) -> str:
        return names[code] if 0 <= code < len(names) else f"class{code}"

    present = sorted(counts)
    columns = [c for c in rset.meta.columns if c not in ("n_samples", "fs", "n_channels")]
    out = {
        "name": name,
        "n_recordings": len(rset),
        "n_subjects": len(rset.unique("subject")),
        "subjects": rset.unique("subject"),
        "sessions": rset.unique("session"),
        "days": rset.unique("day"),
        "classes": [label(c) for c in present],
        "class_seconds": {label(c): round(counts[c], 3) for c in present},
        "unlabelled_seconds": round(unlabelled, 3),
        "fs": _one_or_list(sorted({float(r.fs) for r in rset})),
        "n_channels": _one_or_list(sorted({r.n_channels for r in rset})),
        "total_seconds": round(rset.total_seconds, 3),
        "layout": sorted({r.layout.kind for r in rset}),
        "aux": sorted({k for r in rset for k in r.aux}),
        "meta_columns": [str(c) for c in columns],
    }
    return dict(_plain(out))
