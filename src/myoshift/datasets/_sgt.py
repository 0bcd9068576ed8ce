"""The ``metadata.json`` that LibEMG's screen-guided training (SGT) writes beside its files.

One JSON object per folder: recorder settings (``"continuous": false``, ...) and, per
data file, an object keyed by the recorder's own path
(``data/subject0/sgt/training/R_0_C_2.csv``) with ``rep_idx``, ``class_idx`` and
``class_name``. Read by `libemg_onesubject` and `electrode_shift`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from myoshift.errors import DataFormatError

__all__ = ["METADATA", "SGT_FIELDS", "read_sgt_metadata"]

#: the file's name in every recorded folder
METADATA = "metadata.json"

#: the fields of a file's entry and their types
SGT_FIELDS: dict[str, type] = {"rep_idx": int, "class_idx": int, "class_name": str}


def read_sgt_metadata(path: Path, strict: bool = False) -> dict[str, dict[str, Any]] | None:
    """The per-file entries of one folder's SGT ``metadata.json``.

    Parameters
    ----------
    path : Path
        The ``metadata.json`` of one folder.
    strict : bool
        Every entry must have all of `SGT_FIELDS` (integer indices). Otherwise a field
        that is absent or not of its type is left out of the entry.

    Returns
    -------
    dict or None
        File name (``"R_0_C_2.csv"``: the last part of the recorder's key) -> the
        entry's fields (``{"rep_idx": 0, "class_idx": 2, "class_name": "No_Motion"}``);
        JSON values that are not objects (recorder settings) are skipped. None when
        ``path`` is not a file.

    Raises
    ------
    DataFormatError
        Not valid JSON, not a JSON object, or (``strict``) an incomplete entry.
    """
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(path, f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise DataFormatError(path, "expected a JSON object")
    out: dict[str, dict[str, Any]] = {}
    for key, entry in doc.items():
        if not isinstance(entry, dict):
            continue  # recorder settings: "continuous", "randomize", ...
        fields = {}
        for name, kind in SGT_FIELDS.items():
            value = _as(kind, entry[name]) if name in entry else None
            if value is not None:
                fields[name] = value
        if strict and len(fields) < len(SGT_FIELDS):
            raise DataFormatError(
                path, f"entry {key!r} needs integer rep_idx and class_idx and a class_name"
            )
        out[Path(key).name] = fields
    return out


def _as(kind: type, value: Any) -> Any:
    """``kind(value)``, or None where that fails."""
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None
