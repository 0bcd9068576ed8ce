"""Reading one file of a `FolderDataset` into its EMG, label and repetition columns.

`read_roles` reads a ``.csv``, ``.tsv`` or ``.txt`` file of numbers (delimiter and header
line guessed unless given), a ``.npy`` 2-D array or a ``.mat`` (v5) file, and picks the
columns (or variables) of each role ``"emg"``, ``"label"`` and ``"repetition"`` as a
``column_map`` says, by index or by header or variable name; without one every column
is EMG (for ``.mat``: the variable ``emg``, else the file's only 2-D numeric one). Every
problem raises `DataFormatError` naming the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from myoshift.datasets._io import check_finite, read_mat, read_numeric_text
from myoshift.errors import ConfigError, DataFormatError

ColumnSpec = int | str | Sequence[int] | Sequence[str]


def read_roles(
    path: Path,
    column_map: Mapping[str, ColumnSpec],
    delimiter: str | None,
    skip_header: int | None,
) -> dict[str, np.ndarray]:
    """The ``"emg"`` (2-D), ``"label"`` and ``"repetition"`` columns of one file.

    ``column_map``, ``delimiter`` and ``skip_header`` are those of `FolderDataset`;
    raises `DataFormatError` naming the file when it does not fit them.
    """
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return _read_mat(path, column_map)
    if suffix == ".npy":
        table, header = _read_npy(path), None
    else:
        table, header = _read_text(path, delimiter, skip_header)
    out: dict[str, np.ndarray] = {}
    used: list[int] = []
    for role in ("label", "repetition", "emg"):
        if role not in column_map:
            continue
        cols = _columns(path, column_map[role], header, table.shape[1])
        out[role] = table[:, cols]
        used += cols
    if "emg" not in out:
        rest = [c for c in range(table.shape[1]) if c not in used]
        out["emg"] = table[:, rest]
    for role in ("label", "repetition"):
        if role in out:
            if out[role].shape[1] != 1:
                raise DataFormatError(path, f"column_map[{role!r}] must name one column")
            out[role] = out[role][:, 0]
    return out


def _read_text(
    path: Path, delimiter: str | None, skip_header: int | None
) -> tuple[np.ndarray, list[str] | None]:
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    if not first.strip():
        raise DataFormatError(path, "empty file or empty first line; expected rows of numbers")
    delim = delimiter
    if delim is None:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            delim = ","
        elif suffix == ".tsv" or "\t" in first:
            delim = "\t"
        elif "," in first:
            delim = ","
    tokens = [t.strip() for t in first.strip().split(delim)]
    skip = skip_header
    if skip is None:
        skip = 0 if all(_is_number(t) for t in tokens) else 1
    header = tokens if skip >= 1 else None
    table = read_numeric_text(path, None, delim, skip_header=skip)
    return table, header


def _columns(path: Path, spec: ColumnSpec, header: list[str] | None, width: int) -> list[int]:
    items: list[Any] = [spec] if isinstance(spec, (int, str)) else list(spec)
    cols: list[int] = []
    for item in items:
        if isinstance(item, str):
            if header is None or item not in header:
                raise DataFormatError(path, f"no column named {item!r}; header: {header or 'none'}")
            cols.append(header.index(item))
        else:
            if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
                raise ConfigError(f"column_map entry {item!r} is not a column index or name")
            if not -width <= int(item) < width:
                raise DataFormatError(path, f"column {item} out of range; the file has {width}")
            cols.append(int(item) % width)
    return cols


def _read_mat(path: Path, column_map: Mapping[str, ColumnSpec]) -> dict[str, np.ndarray]:
    names = {r: str(v) for r, v in column_map.items() if isinstance(v, str)}
    if "emg" in names:
        data = read_mat(path, list(dict.fromkeys(names.values())))
        main_name = names["emg"]
    else:
        data = _all_variables(path)
        missing = sorted(set(names.values()) - set(data))
        if missing:
            raise DataFormatError(
                path, f"missing variable(s) {missing}; the file has {sorted(data)}"
            )
        two_d = sorted(
            k
            for k, v in data.items()
            if k not in names.values()
            and np.asarray(v).ndim == 2
            and np.issubdtype(np.asarray(v).dtype, np.number)
            and min(np.asarray(v).shape) > 0
        )
        if "emg" in two_d:
            main_name = "emg"
        elif len(two_d) == 1:
            main_name = two_d[0]
        else:
            raise DataFormatError(
                path,
                f"cannot tell which variable is the EMG among {two_d or 'none'}; "
                'set column_map={"emg": "<variable>"}',
            )
    main = _numeric_2d(path, data[main_name], main_name)
    out: dict[str, np.ndarray] = {}
    for role, spec in column_map.items():
        if isinstance(spec, str):
            value = _numeric_2d(path, data[spec], spec)
            if role != "emg":
                if 1 not in value.shape:
                    raise DataFormatError(
                        path, f"variable {spec!r} has shape {value.shape}; expected a vector"
                    )
                value = value.reshape(-1)
            out[role] = value
        else:
            cols = _columns(path, spec, None, main.shape[1])
            out[role] = main[:, cols] if role == "emg" else main[:, cols[0]]
    if "emg" not in out:
        used = [
            c
            for r, s in column_map.items()
            if not isinstance(s, str)
            for c in _columns(path, s, None, main.shape[1])
        ]
        out["emg"] = main[:, [c for c in range(main.shape[1]) if c not in used]]
    n = out["emg"].shape[0]
    for role, value in out.items():
        if value.shape[0] != n:
            raise DataFormatError(path, f"{role} has {value.shape[0]} samples but the EMG has {n}")
    check_finite(out["emg"].astype(np.float64, copy=False), path, "EMG samples")
    return out


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _read_npy(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataFormatError(path, f"not a readable .npy array ({exc})") from None
    return _numeric_2d(path, arr, "array")


def _numeric_2d(path: Path, value: Any, what: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number):
        raise DataFormatError(
            path,
            f"{what} has shape {arr.shape} and dtype {arr.dtype}; expected a 2-D numeric array",
        )
    out = arr.astype(np.float64, copy=False)
    check_finite(out, path, f"values in {what}")
    return out


def _all_variables(path: Path) -> dict[str, Any]:
    import scipy.io

    try:
        names = [name for name, _, _ in scipy.io.whosmat(path)]
    except Exception as exc:  # scipy raises many types on corrupt input
        raise DataFormatError(path, f"truncated or corrupt MATLAB file ({exc})") from None
    return read_mat(path, names)
