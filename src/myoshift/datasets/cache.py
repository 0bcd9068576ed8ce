"""Cache of parsed recordings: one uncompressed, memory-mappable ``.npz`` per entry.

This module holds the entry format and the public entry points of the cache. A parse
unit's entry is named by `source_key` (a hash of its source files' paths and stat
signatures and of the parser and cache versions, so a changed file or parser invalidates
it); a whole load's entry carries a `snapshot` of the dataset folder and is only served
while `fresh` finds it unchanged (both in ``_snapshot``). `save` concatenates the arrays
of all recordings of an entry (a handful of members per file) and stores metadata by
column: a small JSON ``header`` (layouts, class names, each metadata key's distinct
values) and integer members (per-recording sizes and indexes, metadata codes), so that
`load` decodes no per-recording JSON and rebuilds the recordings as views of the file
(the aligned, memory-mapped container is ``_aligned_npz``). `entry_files` and `clear`
manage one dataset's cache folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from myoshift.datasets._aligned_npz import (
    ALIGN,
    MAP_MIN_BYTES,
    Chunks,
    chunks,
    member,
    npy_payload,
    read_or_map,
    write_member,
)
from myoshift.datasets._snapshot import SIGNATURE, Sources, fresh, snapshot
from myoshift.recording import AuxStream, Layout, Recording

__all__ = [
    "ALIGN",
    "CACHE_FORMAT",
    "MAP_MIN_BYTES",
    "Sources",
    "StaleEntry",
    "clear",
    "entry_files",
    "fresh",
    "load",
    "save",
    "snapshot",
    "source_key",
]

CACHE_FORMAT = 3


class StaleEntry(Exception):
    """A whole-load entry whose source files changed since it was written."""


def source_key(name: str, parser_version: int, files: Sequence[Path], root: Path) -> str:
    """Hash identifying a unit's parse: dataset, parser and cache versions, file stats."""
    prefix = os.fspath(root).rstrip(os.sep) + os.sep
    parts = [f"{name}|{parser_version}|{CACHE_FORMAT}"]
    for f in sorted(map(os.fspath, files)):
        rel = f[len(prefix) :] if f.startswith(prefix) else f
        parts.append(f"{rel}|{SIGNATURE(os.stat(f))}")
    return hashlib.sha1("|".join(parts).replace(os.sep, "/").encode()).hexdigest()[:20]


_RECORDING_FIELDS = {f.name: f for f in dataclasses.fields(Recording)}
_GIVEN = ("emg", "fs", "labels", "layout", "repetition", "aux", "meta", "class_names")
_MISSING = tuple(n for n in _RECORDING_FIELDS if n not in _GIVEN)
_EXPECTED = {
    "emg": ("<f4", 2),
    "labels": ("<i8", 1),
    "repetition": ("<i8", 1),
    "aux": ("<f4", 2),
    "meta": ("<i4", 2),
    "records": ("<i8", 2),
    "fs": ("<f8", 1),
    "paths": ("|u1", 1),
    "stats": ("<i8", 2),
}
_RECORD_COLUMNS = ("n_samples", "layout", "class_names", "has_repetition")  # "records" member
_ABSENT = object()  # a metadata key a recording does not have


_BULK = ("emg", "labels", "repetition", "aux")  # CRC-checked only with verify=True


def _kind(key: str) -> str:
    """The kind of a member: ``emg_3`` -> emg, ``aux|imu|4`` -> aux."""
    return key.split("_")[0].split("|")[0]


def _check_array(key: str, arr: np.ndarray) -> None:
    want = _EXPECTED[_kind(key)]
    if (arr.dtype.str, arr.ndim) != want:
        raise ValueError(f"array {key}: dtype {arr.dtype.str}, {arr.ndim}-D, expected {want}")


class _Table:
    """Distinct values (layouts, class-name lists, metadata values) stored once by index.

    Values are told apart by type and value (``1``, ``1.0`` and ``True`` are three),
    unhashable ones (lists, dicts) by their JSON text.
    """

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._index: dict[Any, int] = {}

    def index(self, item: Any) -> int:
        key: Any = (type(item), item)
        try:
            i = self._index.get(key)
        except TypeError:  # unhashable
            key = json.dumps(item, default=_json_default)
            i = self._index.get(key)
        if i is None:
            i = self._index[key] = len(self.items)
            self.items.append(item)
        return i


def _encode_meta(recordings: Sequence[Recording]) -> tuple[list[str], list[list[Any]], np.ndarray]:
    """Metadata as columns: keys, each key's distinct values, codes (-1: key absent)."""
    keys: dict[str, _Table] = {}
    for r in recordings:
        for k in r.meta:
            keys.setdefault(k, _Table())
    codes = np.full((len(recordings), len(keys)), -1, dtype=np.int32)
    for j, (k, table) in enumerate(keys.items()):
        for i, r in enumerate(recordings):
            if k in r.meta:
                codes[i, j] = table.index(r.meta[k])
    return list(keys), [t.items for t in keys.values()], codes


def _decode_meta(keys: list[str], values: list[list[Any]], codes: np.ndarray) -> list[dict]:
    """The per-recording metadata dicts back from `_encode_meta`'s columns."""
    if codes.shape[1] != len(keys) or len(values) != len(keys):
        raise ValueError(f"metadata codes {codes.shape} do not match {len(keys)} keys")
    if codes.size and (codes.min() < -1 or (codes.max(axis=0) >= [len(v) for v in values]).any()):
        raise ValueError("metadata code out of range")
    columns = []
    for j, vals in enumerate(values):
        table = np.fromiter([*vals, _ABSENT], dtype=object, count=len(vals) + 1)
        columns.append(table[codes[:, j]].tolist())  # code -1 reads the last: absent
    rows = zip(*columns) if columns else ((),) * len(codes)
    if (codes >= 0).all():
        return [dict(zip(keys, row)) for row in rows]
    return [{k: v for k, v in zip(keys, row) if v is not _ABSENT} for row in rows]


def save(path: Path, recordings: Sequence[Recording], sources: Sources | None = None) -> None:
    """Atomically write recordings to ``path``.

    ``sources`` (a `snapshot` of the files they were parsed from) makes the entry
    self-checking: ``load(path, root=...)`` then raises `StaleEntry` once any changed.
    Raises ``TypeError`` for metadata that JSON cannot hold and ``OSError`` when the
    folder is not writable; nothing is left behind in either case. The entry is written
    to a temporary file in the same folder that is renamed into place, so a killed run
    never leaves a partial entry that is read later.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray | Chunks] = {}
    layouts, names = _Table(), _Table()
    n_ch = {r.n_channels for r in recordings}
    same_width = len(n_ch) <= 1
    if same_width:
        arrays["emg"] = chunks([r.emg for r in recordings], np.float32, next(iter(n_ch), 0))
        arrays["labels"] = chunks([r.labels for r in recordings], np.int64)
        arrays["repetition"] = chunks(
            [
                r.repetition if r.repetition is not None else np.zeros(r.n_samples, np.int64)
                for r in recordings
            ],
            np.int64,
        )
    aux_parts: dict[str, list[np.ndarray]] = {}
    aux_rows: dict[str, list[Any]] = {}
    for i, r in enumerate(recordings):
        if not same_width:
            arrays[f"emg_{i}"] = r.emg
            arrays[f"labels_{i}"] = r.labels
            if r.repetition is not None:
                arrays[f"repetition_{i}"] = r.repetition
        for name, st in r.aux.items():
            row = [name, st.fs, list(st.names), st.start, len(st.data), st.data.shape[1]]
            aux_rows.setdefault(str(i), []).append(row)
            aux_parts.setdefault(f"{name}|{st.data.shape[1]}", []).append(st.data)
    for key, parts in aux_parts.items():
        arrays[f"aux|{key}"] = chunks(parts, np.float32)
    meta_keys, meta_values, arrays["meta_codes"] = _encode_meta(recordings)
    records = [
        (
            r.n_samples,
            layouts.index(r.layout),
            names.index(r.class_names),
            r.repetition is not None,
        )
        for r in recordings
    ]
    arrays["records"] = np.array(records, dtype=np.int64).reshape(-1, len(_RECORD_COLUMNS))
    arrays["fs"] = np.array([r.fs for r in recordings], dtype=np.float64)
    if sources is not None:
        arrays["paths"] = np.frombuffer(os.fsencode("\0".join(sources.paths)), np.uint8)
        arrays["stats"] = sources.stats
    blob = json.dumps(
        {
            "format": CACHE_FORMAT,
            "same_width": same_width,
            "layouts": [lay.to_dict() for lay in layouts.items],
            "class_names": names.items,
            "aux": aux_rows,
            "meta_keys": meta_keys,
            "meta_values": meta_values,
            "arrays": {k: [a.dtype.str, list(a.shape)] for k, a in arrays.items()},
        },
        default=_json_default,
    )
    arrays["header"] = np.frombuffer(blob.encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                for key, arr in arrays.items():
                    write_member(zf, fh, key, arr)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"metadata value {o!r} of type {type(o).__name__} is not JSON-serialisable")


def load(path: Path, verify: bool = False, root: Path | None = None) -> list[Recording]:
    """Read recordings written by `save`; raises on any inconsistency.

    Arrays are copy-on-write views of the memory-mapped file: no copy and no allocation,
    the operating system pages data in when it is used, and writing to them changes the
    recording in memory, never the cache file. The zip structure, every member's position
    and size, and the CRC of the header and of the small index members are checked; the
    CRC of the bulk data (EMG, labels, repetitions, auxiliary streams) only with
    ``verify=True`` (it costs as much as reading the data). On any error the caller
    deletes the entry and re-parses. With ``root``, an entry saved with ``sources``
    first re-stats them under ``root`` and raises `StaleEntry` if any changed.
    Recordings are rebuilt without re-running `Recording` validation: they were
    validated when parsed, and the arrays' dtypes, shapes and sizes are checked here.
    """
    with open(path, "rb") as fh:
        with zipfile.ZipFile(fh) as zf:
            infos = {i.filename: i for i in zf.infolist()}
        buf = read_or_map(fh, path)
    hinfo = infos.get("header.npy")
    if hinfo is None:
        raise ValueError("no header member")
    npy = bytes(member(buf, hinfo, np.dtype(np.uint8), (hinfo.file_size,), verify=True))
    head = json.loads(npy_payload(npy).decode())
    if head.get("format") != CACHE_FORMAT:
        raise ValueError(f"cache format {head.get('format')} != {CACHE_FORMAT}")
    data: dict[str, np.ndarray] = {}
    for key, (dtype, shape) in head["arrays"].items():
        info = infos.get(f"{key}.npy")
        if info is None:
            raise ValueError(f"member {key} missing")
        bulk = _kind(key) in _BULK  # the small index members are always CRC-checked
        data[key] = member(buf, info, np.dtype(dtype), tuple(shape), verify or not bulk)
        _check_array(key, data[key])
    if root is not None and "paths" in data:
        paths = os.fsdecode(data["paths"].tobytes()).split("\0")
        if not fresh(Sources(paths, data["stats"]), root):
            raise StaleEntry(f"{path}: files under {root} changed since it was written")
    with _gc_paused():
        return _recordings(head, data)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: building thousands of small objects that all
    stay alive would otherwise trigger dozens of useless collections (~15 % of a load)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _recordings(head: dict[str, Any], data: dict[str, np.ndarray]) -> list[Recording]:
    """The recordings of a loaded entry: views of its members plus decoded metadata."""
    records, fss = data["records"], data["fs"].tolist()
    n_samples, lays, clss, has_rep = records.T.tolist() if len(records) else ([],) * 4
    n = len(records)
    if len(fss) != n or len(data["meta_codes"]) != n:
        raise ValueError(f"header columns do not all describe {n} recordings")
    metas = _decode_meta(head["meta_keys"], head["meta_values"], data["meta_codes"])
    layouts = [Layout.from_dict(d) for d in head["layouts"]]
    names = [tuple(c) for c in head["class_names"]]
    if min(lays, default=0) < 0 or min(clss, default=0) < 0:
        raise ValueError("negative layout or class-name index")
    emgs, labels, reps = _cut_arrays(data, n_samples, has_rep, head["same_width"])
    if head["same_width"]:
        mismatch = n and {layouts[i].n_channels for i in set(lays)} != {emgs[0].shape[1]}
    else:
        mismatch = any(e.shape[1] != layouts[i].n_channels for e, i in zip(emgs, lays))
    if mismatch:
        raise ValueError("EMG channel counts do not match the recordings' layouts")
    aux = _decode_aux(head["aux"], data, n)
    new = object.__new__
    out: list[Recording] = []
    for emg, fs, lay, cls, lab, rep, meta, ax in zip(
        emgs, fss, lays, clss, labels, reps, metas, aux
    ):
        rec = new(Recording)
        rec.__dict__ = {
            "emg": emg,
            "fs": fs,
            "labels": lab,
            "layout": layouts[lay],
            "repetition": rep,
            "aux": ax,
            "meta": meta,
            "class_names": names[cls],
        }
        out.append(rec)
    for rec in out if _MISSING else ():  # fields added to Recording later: their defaults
        for name in _MISSING:
            f = _RECORDING_FIELDS[name]
            factory = f.default_factory
            rec.__dict__[name] = f.default if factory is dataclasses.MISSING else factory()
    return out


def _cut_arrays(
    data: dict[str, np.ndarray], n_samples: list[int], has_rep: list[bool], same_width: bool
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray | None]]:
    """Each recording's EMG, labels and repetitions (views of the stored members)."""
    if same_width:
        ends = np.cumsum(n_samples, dtype=np.int64).tolist()
        emg, lab, rep = data["emg"], data["labels"], data["repetition"]
        if ends and not ends[-1] == len(emg) == len(lab) == len(rep):
            raise ValueError(f"header says {ends[-1]} samples, arrays hold {len(emg)}")
        spans = list(zip([0, *ends], ends))
        return (
            [emg[a:b] for a, b in spans],
            [lab[a:b] for a, b in spans],
            [rep[a:b] if r else None for (a, b), r in zip(spans, has_rep)],
        )
    emgs = [data[f"emg_{i}"] for i in range(len(n_samples))]
    labels = [data[f"labels_{i}"] for i in range(len(n_samples))]
    reps = [data[f"repetition_{i}"] if r else None for i, r in enumerate(has_rep)]
    for i, (e, lab_i, rep_i, n) in enumerate(zip(emgs, labels, reps, n_samples)):
        if not len(e) == len(lab_i) == n == (n if rep_i is None else len(rep_i)):
            raise ValueError(f"recording {i}: arrays do not match the header")
    return emgs, labels, reps


def _decode_aux(rows: dict[str, list[Any]], data: dict[str, np.ndarray], n: int) -> list[dict]:
    """Each recording's auxiliary streams, cut from the concatenated ``aux|…`` members."""
    out: list[dict[str, AuxStream]] = [{} for _ in range(n)]
    pos: dict[str, int] = {}
    for i in sorted(rows, key=int):
        for name, afs, anames, astart, an, dims in rows[i]:
            key = f"aux|{name}|{dims}"
            p = pos.get(key, 0)
            stream = data[key][p : p + an]
            if len(stream) != an:
                raise ValueError(f"recording {i}: aux stream {name} truncated")
            out[int(i)][name] = AuxStream(stream, afs, tuple(anames), astart)
            pos[key] = p + an
    return out


def entry_files(folder: Path) -> list[Path]:
    """The cache files in one dataset's cache folder: entries and leftover temporaries."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".npz" and p.is_file())


def clear(folder: Path) -> tuple[int, int]:
    """Delete the cache files of one dataset's cache folder; returns (files, bytes).

    Only ``.npz`` files directly in ``folder`` are removed (never anything else), then
    the folder itself if it is left empty.
    """
    n = size = 0
    for f in entry_files(folder):
        size += f.stat().st_size
        f.unlink(missing_ok=True)
        n += 1
    with contextlib.suppress(OSError):
        folder.rmdir()  # only when empty
    return n, size
