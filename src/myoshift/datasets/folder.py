"""Load your own EMG files: one recording per file, metadata from the file names.

`FolderDataset` walks a folder, keeps the files whose path (relative to the folder)
matches a pattern such as ``"{subject}/trial_{trial}/R_{repetition}_C_{class}.csv"``,
and reads each into a `Recording`. Fields in braces become metadata (digits are parsed
as ``int``); the ``class`` field (``label_field``) labels every sample of the file and
``repetition`` fills the per-sample repetition. Supported files: ``.csv``, ``.tsv``,
``.txt`` (numbers, optional header line), ``.npy`` (2-D array) and ``.mat`` (v5). This
module holds the dataset, its patterns (`pattern_to_regex`) and its label coding; reading
a file's columns is ``_folder_files``.

Example: LibEMG's ``OneSubjectMyoDataset`` (``trial_<T>/R_<rep>_C_<class>.csv``, 8 Myo
channels at 200 Hz, no header; its class 2 is "No_Motion", which becomes rest)::

    from myoshift.datasets.folder import FolderDataset
    from myoshift.recording import Layout

    ds = FolderDataset(
        "OneSubjectMyoDataset",
        "trial_{trial}/R_{repetition}_C_{class}.csv",
        fs=200,
        n_channels=8,
        layout=Layout.ring(8),
        class_names=("no motion", "hand close", "hand open", "wrist extension",
                     "wrist flexion"),
        label_map={2: 0, 0: 1, 1: 2, 3: 3, 4: 4},
    )
    recordings = ds.load()          # 60 recordings; meta: trial, repetition, class
    recordings.select(trial=[1, 2])

A continuous file with per-sample labels in a column (e.g. ``time, ch1..ch8, class``
with a header line) uses ``column_map``::

    FolderDataset(root, "{subject}/{session}.csv", fs=1000,
                  column_map={"emg": [1, 2, 3, 4, 5, 6, 7, 8], "label": "class"})

Parsed files are cached like the built-in datasets (keyed by the files and by every
argument above), so a second ``load()`` is fast.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from myoshift.datasets._folder_files import ColumnSpec, read_roles
from myoshift.datasets._io import check_finite
from myoshift.datasets.base import Dataset, Unit
from myoshift.errors import ConfigError, DataFormatError, DataNotFoundError
from myoshift.recording import UNLABELLED, Layout, Recording

log = logging.getLogger(__name__)

__all__ = ["FolderDataset", "pattern_to_regex"]

SUFFIXES = (".csv", ".tsv", ".txt", ".npy", ".mat")
_FIELD = re.compile(r"\{([A-Za-z_]\w*)\}")
_INT = re.compile(r"[+-]?\d+")
_ROLES = ("emg", "label", "repetition")


def pattern_to_regex(pattern: str) -> re.Pattern[str]:
    """Compile a file-name pattern into a regular expression with named groups.

    ``{name}`` matches one or more characters other than ``/`` (a field repeated later
    must repeat the same text), ``*`` matches any run of characters other than ``/``,
    everything else is literal. Paths use ``/`` whatever the operating system.

    >>> pattern_to_regex("{subject}/R_{rep}_C_{class}.csv").fullmatch("s1/R_0_C_3.csv")["class"]
    '3'
    """
    if not _FIELD.search(pattern) and "*" not in pattern:
        log.debug("pattern %r has no {field}: every matching file gets the same metadata", pattern)
    out: list[str] = []
    seen: set[str] = set()
    pos = 0
    for m in _FIELD.finditer(pattern):
        out.append(_literal(pattern[pos : m.start()]))
        name = m[1]
        out.append(f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+?)")
        seen.add(name)
        pos = m.end()
    out.append(_literal(pattern[pos:]))
    try:
        return re.compile("".join(out))
    except re.error as exc:
        raise ConfigError(f"invalid file-name pattern {pattern!r}: {exc}") from None


def _literal(text: str) -> str:
    if "{" in text or "}" in text:
        raise ConfigError(f"unbalanced or invalid {{field}} in pattern near {text!r}")
    return "[^/]*".join(re.escape(part) for part in text.split("*"))


def _convert(value: str) -> int | str:
    return int(value) if _INT.fullmatch(value) else value


class FolderDataset(Dataset):
    """A folder of your own recordings, one file each, metadata from file names.

    Parameters
    ----------
    root : path
        The folder holding the files.
    pattern : str
        Path of a file relative to ``root`` with ``{field}`` placeholders (see
        `pattern_to_regex`), e.g. ``"{subject}/trial_{trial}/R_{repetition}_C_{class}.csv"``.
        Files that do not match are ignored.
    fs : float
        Sampling rate of every file, in Hz.
    n_channels : int, optional
        Expected number of EMG channels; a file with another number raises
        `DataFormatError`. Default: whatever each file has.
    layout : Layout, optional
        Electrode layout (default ``Layout.plain(n_channels)``).
    class_names : sequence of str
        Name of each label code ``0 .. n-1`` (0 should be rest). Codes are checked
        against it, and a text label equal to a class name gets its index.
    label_field : str
        Pattern field holding the class of the whole file (default ``"class"``). Files
        with neither this field nor a label column are ``UNLABELLED``.
    label_map : mapping, optional
        Source label (as parsed: ``int`` or ``str``) to label code, e.g.
        ``{2: 0, 0: 1, 1: 2}``. A label missing from it raises `DataFormatError`.
    delimiter : str, optional
        Field separator of text files; default ``","`` for ``.csv``, tab for ``.tsv``
        and, for ``.txt``, tab or comma if the first line has one, else whitespace.
    column_map : mapping, optional
        Where the roles ``"emg"``, ``"label"``, ``"repetition"`` are in each file: a
        column index or list of indices (0-based), or a header name (text files) or a
        variable name (``.mat``). Default: every column is EMG; for ``.mat`` the
        variable ``emg``, else the file's only 2-D numeric variable.
    skip_header : int, optional
        Header lines of text files; default: 1 if the first line holds a non-number.
    dataset_name : str, optional
        ``meta["dataset"]`` of the recordings (default: the folder's name).
    cache_dir, use_cache
        As for every `Dataset`.
    """

    name = "folder"
    folder = ""
    description = "your own files (CSV/TXT/NPY/MAT) with metadata from their names"
    fs = 0.0
    n_channels = 0

    def __init__(
        self,
        root: str | os.PathLike[str],
        pattern: str,
        fs: float,
        n_channels: int | None = None,
        layout: Layout | None = None,
        class_names: Sequence[str] = (),
        label_field: str = "class",
        label_map: Mapping[Any, int] | None = None,
        delimiter: str | None = None,
        column_map: Mapping[str, ColumnSpec] | None = None,
        skip_header: int | None = None,
        dataset_name: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        use_cache: bool = True,
    ) -> None:
        super().__init__(data_dir=root, cache_dir=cache_dir, use_cache=use_cache)
        if not (np.isfinite(fs) and fs > 0):
            raise ConfigError(f"fs must be a positive number of Hz, got {fs!r}")
        if n_channels is not None and layout is not None and layout.n_channels != n_channels:
            raise ConfigError(
                f"layout has {layout.n_channels} channels but n_channels={n_channels}"
            )
        unknown_roles = sorted(set(column_map or {}) - set(_ROLES))
        if unknown_roles:
            raise ConfigError(f"column_map keys {unknown_roles} unknown; valid: {list(_ROLES)}")
        self.pattern = pattern
        self.regex = pattern_to_regex(pattern)
        # Per-instance settings of what `Dataset` declares per class.
        self.fs = float(fs)  # type: ignore[misc]
        self.n_channels = int(n_channels or (layout.n_channels if layout else 0))  # type: ignore[misc]
        self.layout = layout
        self.class_names = tuple(class_names)  # type: ignore[misc]
        self.label_field = label_field
        self.label_map = dict(label_map) if label_map is not None else None
        self.delimiter = delimiter
        self.column_map = dict(column_map or {})
        self.skip_header = skip_header
        self.dataset_name = dataset_name or Path(root).resolve().name
        self._config_hash = self._hash_config()

    # -- location ---------------------------------------------------------------------
    @property
    def root(self) -> Path:
        if not self.data_dir.is_dir():
            raise DataNotFoundError(f"folder {self.data_dir} not found (FolderDataset root)")
        return self.data_dir

    def _hash_config(self) -> str:
        config = {
            "root": str(Path(self.data_dir).resolve()),
            "pattern": self.pattern,
            "fs": self.fs,
            "n_channels": self.n_channels,
            "layout": None if self.layout is None else self.layout.to_dict(),
            "class_names": list(self.class_names),
            "label_field": self.label_field,
            "label_map": None
            if self.label_map is None
            else sorted((repr(k), v) for k, v in self.label_map.items()),
            "delimiter": self.delimiter,
            "column_map": {k: repr(v) for k, v in sorted(self.column_map.items())},
            "skip_header": self.skip_header,
            "dataset": self.dataset_name,
        }
        return hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]

    # -- Dataset contract -------------------------------------------------------------
    def cache_token(self) -> str:
        """Whole-load cache entries depend on every argument, as unit keys do."""
        return self._config_hash

    def matches(self, root: Path) -> list[tuple[Path, dict[str, int | str]]]:
        """Files under ``root`` matching the pattern, with their parsed fields."""
        out = []
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            m = self.regex.fullmatch(path.relative_to(root).as_posix())
            if m is None:
                continue
            if path.suffix.lower() not in SUFFIXES:
                log.warning("%s matches the pattern but is not one of %s; skipped", path, SUFFIXES)
                continue
            out.append((path, {k: _convert(v) for k, v in m.groupdict().items()}))
        return out

    def units(self, root: Path) -> list[Unit]:
        groups: dict[Any, list[Path]] = {}
        for path, fields in self.matches(root):
            groups.setdefault(fields.get("subject"), []).append(path)
        if not groups:
            raise DataNotFoundError(
                f"no file under {root} matches the pattern {self.pattern!r} "
                f"(regex {self.regex.pattern!r}; supported: {', '.join(SUFFIXES)})"
            )
        units = [
            Unit(key=f"{'all' if s is None else s}-{self._config_hash}", subject=s, files=tuple(f))
            for s, f in groups.items()
        ]
        return sorted(units, key=lambda u: (str(type(u.subject)), u.subject))

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        return [self.parse_file(root, path) for path in unit.files]

    def check_loaded(self, root: Path, recordings: list[Recording]) -> None:
        """Every file must have as many EMG channels as the others (without
        ``n_channels``, which `parse_file` checks each file against): the odd one out is
        named, with the count most files have."""
        counts = Counter(r.n_channels for r in recordings)
        if self.n_channels or len(counts) < 2:
            return
        expected, n_expected = counts.most_common(1)[0]
        odd = next(r for r in recordings if r.n_channels != expected)
        raise DataFormatError(
            root / str(odd.meta["source"]),
            f"{odd.n_channels} EMG channels, expected {expected} like {n_expected} of the "
            f"{len(recordings)} files loaded (set n_channels= if {expected} is wrong)",
        )

    # -- parsing ----------------------------------------------------------------------
    def parse_file(self, root: Path, path: Path) -> Recording:
        """Read one file into a `Recording` (metadata from its path under ``root``)."""
        rel = path.relative_to(root).as_posix()
        m = self.regex.fullmatch(rel)
        if m is None:
            raise DataFormatError(path, f"path {rel!r} does not match the pattern {self.pattern!r}")
        fields = {k: _convert(v) for k, v in m.groupdict().items()}
        roles = read_roles(path, self.column_map, self.delimiter, self.skip_header)
        emg = roles["emg"]
        n = emg.shape[0]
        if n == 0:
            raise DataFormatError(path, "no samples")
        if self.n_channels and emg.shape[1] != self.n_channels:
            raise DataFormatError(
                path, f"{emg.shape[1]} EMG channels, expected n_channels={self.n_channels}"
            )
        if "label" in roles:
            labels = self._codes(path, roles["label"], "label column")
        elif self.label_field in fields:
            labels = np.full(n, self._code(path, fields[self.label_field]), dtype=np.int64)
        else:
            labels = np.full(n, UNLABELLED, dtype=np.int64)
        repetition = None
        if "repetition" in roles:
            repetition = _integers(path, roles["repetition"], "repetition column")
        elif "repetition" in fields:
            if not isinstance(fields["repetition"], int):
                raise DataFormatError(
                    path, f"repetition {fields['repetition']!r} in the name is not an integer"
                )
            repetition = np.full(n, fields["repetition"], dtype=np.int64)
        layout = self.layout or Layout.plain(emg.shape[1])
        return Recording(
            emg=emg.astype(np.float32),
            fs=self.fs,
            labels=labels,
            layout=layout,
            repetition=repetition,
            meta={"dataset": self.dataset_name, "source": rel, **fields},
            class_names=self.class_names,
        )

    # -- labels -----------------------------------------------------------------------
    def _code(self, path: Path, value: Any) -> int:
        if self.label_map is not None:
            if value not in self.label_map:
                raise DataFormatError(
                    path,
                    f"unknown label {value!r}; label_map knows {sorted(map(str, self.label_map))}",
                )
            code = int(self.label_map[value])
        elif isinstance(value, str):
            lowered = [c.lower() for c in self.class_names]
            if value.lower() not in lowered:
                raise DataFormatError(
                    path,
                    f"label {value!r} is not a number nor one of class_names {self.class_names}",
                )
            code = lowered.index(value.lower())
        else:
            code = int(value)
        n_classes = len(self.class_names)
        if code < UNLABELLED or (n_classes and code >= n_classes):
            raise DataFormatError(
                path,
                f"unknown label code {code}; expected {UNLABELLED}..{n_classes - 1} "
                f"({n_classes} class_names)"
                if n_classes
                else f"unknown label code {code}; expected >= {UNLABELLED}",
            )
        return code

    def _codes(self, path: Path, column: np.ndarray, what: str) -> np.ndarray:
        raw = _integers(path, column, what)
        values, inverse = np.unique(raw, return_inverse=True)
        codes = np.array([self._code(path, int(v)) for v in values], dtype=np.int64)
        return codes[inverse.reshape(-1)]


def _integers(path: Path, values: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    check_finite(arr, path, what)
    as_int = arr.astype(np.int64)
    if not np.array_equal(as_int, arr):
        raise DataFormatError(path, f"{what} holds non-integer values")
    return as_int
