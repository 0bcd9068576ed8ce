"""Cache of parsed recordings: one uncompressed, memory-mappable ``.npz`` per parse unit.

The file name carries a hash of the source files' paths, sizes and modification times
and of the parser and cache versions, so a changed source file or parser invalidates
the entry. Arrays of all recordings of a unit are concatenated (a handful of members per
file); metadata is JSON in a ``header`` member.

The file is a standard ``.npz`` (``np.load`` reads it), written so that each array's
data starts on a 64-byte boundary (a padding record in the zip entry's extra field, as
Android's ``zipalign`` does). `load` then maps the file into memory and returns views of
it: no copy and no allocation, so loading costs little more than reading the header, and
the operating system pages data in when it is used. Mapped arrays are copy-on-write:
writing to them changes the recording in memory, never the cache file. Entries under
``MAP_MIN_BYTES`` are read instead (a live map holds a file descriptor). Recordings are
rebuilt without re-running `Recording` validation: they were validated when parsed, and
dtypes, shapes and sizes are checked once per file.

Writes go to a temporary file in the same folder that is renamed into place, so a killed
run never leaves a partial entry that is read later. `load` checks the zip structure,
every member's position and size against the header, and the header's CRC; it raises
on any inconsistency (the caller deletes the entry and re-parses). The CRC of the bulk
data is only checked with ``verify=True`` (it would cost as much as reading the data).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import mmap
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from myoshift.recording import AuxStream, Layout, Recording

log = logging.getLogger(__name__)

CACHE_FORMAT = 2
ALIGN = 64
MAP_MIN_BYTES = 1 << 20  # smaller entries are read, larger ones memory-mapped
_PAD_ID = 0xD935  # extra-field id used for alignment padding (as zipalign)
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")  # zip local file header, 30 bytes


def source_key(name: str, parser_version: int, files: Sequence[Path], root: Path) -> str:
    """Hash identifying a unit's parse: dataset, parser and cache versions, file stats."""
    prefix = os.fspath(root).rstrip(os.sep) + os.sep
    parts = [f"{name}|{parser_version}|{CACHE_FORMAT}"]
    for f in sorted(map(os.fspath, files)):
        st = os.stat(f)
        rel = f[len(prefix) :] if f.startswith(prefix) else f
        parts.append(f"{rel}|{st.st_size}|{st.st_mtime_ns}")
    return hashlib.sha1("|".join(parts).replace(os.sep, "/").encode()).hexdigest()[:20]


def folder_fingerprint(root: Path, salt: str) -> str:
    """Hash of every file under ``root`` (relative path, size, mtime) plus ``salt``.

    One `os.scandir` walk with one ``stat`` per file: the cheapest check that still sees
    any change to any source file (or an added / removed one).
    """
    entries: list[tuple[str, int, int]] = []
    stack = [os.fspath(root)]
    skip = len(stack[0])
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if e.is_dir():
                    stack.append(e.path)
                else:
                    st = e.stat()
                    entries.append((e.path[skip:], st.st_size, st.st_mtime_ns))
    entries.sort()
    text = f"{salt}|{CACHE_FORMAT}|{entries!r}".replace(os.sep, "/")
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def _concat(parts: list[np.ndarray], dtype: Any, width: int | None = None) -> np.ndarray:
    if parts:
        return np.ascontiguousarray(np.concatenate(parts), dtype=dtype)
    return np.zeros((0,) if width is None else (0, width), dtype=dtype)


def _padding(offset: int) -> bytes:
    """An extra-field record that moves ``offset`` to the next ALIGN boundary."""
    r = (-offset) % ALIGN
    if r == 0:
        return b""
    if r < 4:  # a record needs at least its 4-byte header
        r += ALIGN
    return struct.pack("<HH", _PAD_ID, r - 4) + b"\0" * (r - 4)


def _write_member(zf: zipfile.ZipFile, fh: Any, key: str, arr: np.ndarray) -> None:
    arr = np.ascontiguousarray(arr)
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, np.lib.format.header_data_from_array_1_0(arr))
    npy_header = hdr.getvalue()
    name = f"{key}.npy"
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = len(npy_header) + arr.nbytes
    data_start = fh.tell() + _LOCAL_HEADER.size + len(name.encode()) + len(npy_header)
    info.extra = _padding(data_start)
    with zf.open(info, "w") as w:
        w.write(npy_header)
        w.write(arr.reshape(-1).view(np.uint8).data if arr.size else b"")


_RECORDING_FIELDS = {f.name: f for f in dataclasses.fields(Recording)}
_GIVEN = ("emg", "fs", "labels", "layout", "repetition", "aux", "meta", "class_names")
_MISSING = tuple(n for n in _RECORDING_FIELDS if n not in _GIVEN)
_EXPECTED = {"emg": ("<f4", 2), "labels": ("<i8", 1), "repetition": ("<i8", 1), "aux": ("<f4", 2)}


def _trusted_recording(
    emg: np.ndarray,
    fs: float,
    labels: np.ndarray,
    layout: Layout,
    repetition: np.ndarray | None,
    aux: dict[str, AuxStream],
    meta: dict[str, Any],
    class_names: tuple[str, ...],
) -> Recording:
    """A `Recording` from cache content without re-running its validation.

    The recordings were validated when they were parsed, and `load` checks the arrays'
    dtypes, shapes and sizes; skipping the per-recording checks (which would also touch
    every label page of the mapped file) keeps loading cheap. Fields of `Recording`
    not listed here take their defaults, so new optional fields keep working.
    """
    rec = object.__new__(Recording)
    rec.__dict__.update(
        emg=emg,
        fs=fs,
        labels=labels,
        layout=layout,
        repetition=repetition,
        aux=aux,
        meta=meta,
        class_names=class_names,
    )
    for name in _MISSING:
        f = _RECORDING_FIELDS[name]
        factory = f.default_factory
        rec.__dict__[name] = f.default if factory is dataclasses.MISSING else factory()
    return rec


def _check_array(key: str, arr: np.ndarray) -> None:
    want = _EXPECTED[key.split("_")[0].split("|")[0]]
    if (arr.dtype.str, arr.ndim) != want:
        raise ValueError(f"array {key}: dtype {arr.dtype.str}, {arr.ndim}-D, expected {want}")


class _Table:
    """Distinct values (layouts, class-name lists, meta key lists) stored once by index."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._index: dict[str, int] = {}

    def index(self, item: Any) -> int:
        key = json.dumps(item, default=_json_default)
        if key not in self._index:
            self._index[key] = len(self.items)
            self.items.append(item)
        return self._index[key]


def save(path: Path, recordings: Sequence[Recording]) -> None:
    """Atomically write recordings to ``path``.

    Raises ``TypeError`` for metadata that JSON cannot hold and ``OSError`` when the
    folder is not writable; nothing is left behind in either case.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    rows: list[list[Any]] = []
    layouts, names, keys = _Table(), _Table(), _Table()
    n_ch = {r.n_channels for r in recordings}
    same_width = len(n_ch) <= 1
    if same_width:
        arrays["emg"] = _concat([r.emg for r in recordings], np.float32, next(iter(n_ch), 0))
        arrays["labels"] = _concat([r.labels for r in recordings], np.int64)
        arrays["repetition"] = _concat(
            [
                r.repetition if r.repetition is not None else np.zeros(r.n_samples, np.int64)
                for r in recordings
            ],
            np.int64,
        )
    aux_parts: dict[str, list[np.ndarray]] = {}
    for i, r in enumerate(recordings):
        if not same_width:
            arrays[f"emg_{i}"] = r.emg
            arrays[f"labels_{i}"] = r.labels
            if r.repetition is not None:
                arrays[f"repetition_{i}"] = r.repetition
        aux_meta = []
        for name, st in r.aux.items():
            aux_meta.append([name, st.fs, list(st.names), st.start, len(st.data), st.data.shape[1]])
            aux_parts.setdefault(f"{name}|{st.data.shape[1]}", []).append(st.data)
        meta_keys = list(r.meta)
        rows.append(
            [
                r.n_samples,
                r.fs,
                layouts.index(r.layout.to_dict()),
                names.index(list(r.class_names)),
                r.repetition is not None,
                keys.index(meta_keys),
                [r.meta[k] for k in meta_keys],
                aux_meta,
            ]
        )
    for key, parts in aux_parts.items():
        arrays[f"aux|{key}"] = _concat(parts, np.float32)
    blob = json.dumps(
        {
            "format": CACHE_FORMAT,
            "same_width": same_width,
            "layouts": layouts.items,
            "class_names": names.items,
            "meta_keys": keys.items,
            "arrays": {k: [a.dtype.str, list(a.shape)] for k, a in arrays.items()},
            "recordings": rows,
        },
        default=_json_default,
    )
    arrays["header"] = np.frombuffer(blob.encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                for key, arr in arrays.items():
                    _write_member(zf, fh, key, arr)
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


def _member(
    buf: np.ndarray, info: zipfile.ZipInfo, dtype: np.dtype, shape: tuple[int, ...], verify: bool
) -> np.ndarray:
    """A view of one stored ``.npy`` member's data inside the mapped file ``buf``."""
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"member {info.filename} is compressed")
    off = info.header_offset
    if off + _LOCAL_HEADER.size > buf.size:
        raise ValueError(f"member {info.filename}: header beyond the end of the file")
    fields = _LOCAL_HEADER.unpack_from(buf.data, off)
    if fields[0] != b"PK\x03\x04":
        raise ValueError(f"member {info.filename}: bad local header")
    start = off + _LOCAL_HEADER.size + fields[9] + fields[10]
    nbytes = int(np.prod(shape)) * dtype.itemsize
    data = start + info.file_size - nbytes
    if data < start or start + info.file_size > buf.size:
        raise ValueError(f"member {info.filename}: size does not match the header")
    if verify and zlib.crc32(buf[start : start + info.file_size].data) != info.CRC:
        raise ValueError(f"member {info.filename}: CRC mismatch")
    flat = buf[data : data + nbytes]
    if data % dtype.alignment:  # not written by this module: copy to aligned memory
        flat = np.array(flat)
    return flat.view(dtype).reshape(shape)


def _read_or_map(fh: Any, path: Path) -> np.ndarray:
    """The open file as a writable uint8 array: a copy-on-write map, or read if small.

    Small files are read (cheap, and no file descriptor stays open: a live map holds
    one); a map that cannot be made (e.g. too many open files) falls back to reading.
    """
    if os.fstat(fh.fileno()).st_size >= MAP_MIN_BYTES:
        try:
            return np.frombuffer(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY), np.uint8)
        except (OSError, ValueError) as exc:
            log.debug("cannot map %s (%s); reading it", path, exc)
    fh.seek(0)
    return np.fromfile(fh, dtype=np.uint8)


def _npy_payload(npy: bytes) -> bytes:
    """The data bytes of a 1-D uint8 ``.npy`` file (format 1.0, as `save` writes it)."""
    if npy[:8] != b"\x93NUMPY\x01\x00" or len(npy) < 10:
        raise ValueError("header member is not a .npy version 1.0 file")
    (hlen,) = struct.unpack_from("<H", npy, 8)
    if b"'descr': '|u1'" not in npy[10 : 10 + hlen]:
        raise ValueError("header member is not a uint8 array")
    return npy[10 + hlen :]


def load(path: Path, verify: bool = False) -> list[Recording]:
    """Read recordings written by `save`; raises on any inconsistency.

    Arrays are copy-on-write views of the memory-mapped file. ``verify=True`` also
    checks the CRC of every member (reads all data).
    """
    with open(path, "rb") as fh:
        with zipfile.ZipFile(fh) as zf:
            infos = {i.filename: i for i in zf.infolist()}
        buf = _read_or_map(fh, path)
    hinfo = infos.get("header.npy")
    if hinfo is None:
        raise ValueError("no header member")
    npy = bytes(_member(buf, hinfo, np.dtype(np.uint8), (hinfo.file_size,), verify=True))
    head = json.loads(_npy_payload(npy).decode())
    if head.get("format") != CACHE_FORMAT:
        raise ValueError(f"cache format {head.get('format')} != {CACHE_FORMAT}")
    data: dict[str, np.ndarray] = {}
    for key, (dtype, shape) in head["arrays"].items():
        info = infos.get(f"{key}.npy")
        if info is None:
            raise ValueError(f"member {key} missing")
        data[key] = _member(buf, info, np.dtype(dtype), tuple(shape), verify)
        _check_array(key, data[key])
    layouts = [Layout.from_dict(d) for d in head["layouts"]]
    names = [tuple(c) for c in head["class_names"]]
    meta_keys = head["meta_keys"]
    rows = head["recordings"]
    if head["same_width"]:
        ends = np.cumsum([row[0] for row in rows]).tolist()
        sizes = (len(data["emg"]), len(data["labels"]), len(data["repetition"]))
        if rows and not ends[-1] == sizes[0] == sizes[1] == sizes[2]:
            raise ValueError(f"header says {ends[-1]} samples, arrays hold {len(data['emg'])}")
    out: list[Recording] = []
    same_width = head["same_width"]
    if same_width:
        emg_all, labels_all, rep_all = data["emg"], data["labels"], data["repetition"]
    widths = [lay.n_channels for lay in layouts]
    pos = 0
    aux_pos: dict[str, int] = {}
    for i, (n, fs, lay, cls, has_rep, mk, values, aux_rows) in enumerate(rows):
        if same_width:
            end = pos + n
            emg, labels = emg_all[pos:end], labels_all[pos:end]
            rep = rep_all[pos:end] if has_rep else None
            pos = end
        else:
            emg, labels = data[f"emg_{i}"], data[f"labels_{i}"]
            rep = data.get(f"repetition_{i}")
            if len(emg) != n or len(labels) != n or (rep is not None and len(rep) != n):
                raise ValueError(f"recording {i}: arrays do not match the header")
        if emg.shape[1] != widths[lay]:
            raise ValueError(f"recording {i}: {emg.shape[1]} channels, layout has {widths[lay]}")
        aux = {}
        for name, afs, anames, astart, an, dims in aux_rows:
            key = f"{name}|{dims}"
            p = aux_pos.get(key, 0)
            stream = data[f"aux|{key}"][p : p + an]
            if len(stream) != an:
                raise ValueError(f"recording {i}: aux stream {name} truncated")
            aux[name] = AuxStream(stream, afs, tuple(anames), astart)
            aux_pos[key] = p + an
        meta = dict(zip(meta_keys[mk], values))
        out.append(_trusted_recording(emg, fs, labels, layouts[lay], rep, aux, meta, names[cls]))
    return out
