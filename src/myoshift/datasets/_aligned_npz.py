"""The cache's file container: a standard, uncompressed ``.npz`` with aligned array data.

`write_member` writes one ``.npy`` member into an open zip file so that its data starts
on an `ALIGN` (64-byte) boundary (a padding record in the zip entry's extra field, as
Android's ``zipalign`` does), from one array or from `Chunks` written piece by piece and
never concatenated; ``np.load`` still reads the file. On the reading side,
`read_or_map` maps the file into memory copy-on-write (files under `MAP_MIN_BYTES` are
read instead: a live map holds a file descriptor), `member` returns one member's data as
a view of that buffer after checking its local header, position and size (and its CRC
when asked), and `npy_payload` gives the bytes of a small uint8 ``.npy`` member.
"""

from __future__ import annotations

import io
import logging
import mmap
import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

log = logging.getLogger(__name__)

ALIGN = 64
MAP_MIN_BYTES = 1 << 20  # smaller entries are read, larger ones memory-mapped
_PAD_ID = 0xD935  # extra-field id used for alignment padding (as zipalign)
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")  # zip local file header, 30 bytes


class Chunks(NamedTuple):
    """An array stored as one member but written piece by piece, never concatenated."""

    parts: list[np.ndarray]
    dtype: np.dtype
    shape: tuple[int, ...]


def chunks(parts: list[np.ndarray], dtype: Any, width: int | None = None) -> Chunks:
    """The concatenation of ``parts`` (along axis 0) as a `Chunks` of ``dtype``."""
    if parts:
        rest = parts[0].shape[1:]
    else:  # nothing to write: the trailing shape must be given
        rest = () if width is None else (width,)
    return Chunks(parts, np.dtype(dtype), (sum(len(p) for p in parts), *rest))


def _padding(offset: int) -> bytes:
    """An extra-field record that moves ``offset`` to the next ALIGN boundary."""
    r = (-offset) % ALIGN
    if r == 0:
        return b""
    if r < 4:  # a record needs at least its 4-byte header
        r += ALIGN
    return struct.pack("<HH", _PAD_ID, r - 4) + b"\0" * (r - 4)


def write_member(zf: zipfile.ZipFile, fh: Any, key: str, arr: np.ndarray | Chunks) -> None:
    """Write ``key.npy`` stored (uncompressed), its data aligned to ALIGN in the file."""
    stored = arr if isinstance(arr, Chunks) else Chunks([arr], arr.dtype, arr.shape)
    hdr = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(stored.dtype), "fortran_order": False}
    np.lib.format.write_array_header_1_0(hdr, {**header, "shape": stored.shape})
    npy_header = hdr.getvalue()
    name = f"{key}.npy"
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = len(npy_header) + int(np.prod(stored.shape)) * stored.dtype.itemsize
    data_start = fh.tell() + _LOCAL_HEADER.size + len(name.encode()) + len(npy_header)
    info.extra = _padding(data_start)
    with zf.open(info, "w") as w:
        w.write(npy_header)
        for part in stored.parts:
            part = np.ascontiguousarray(part, dtype=stored.dtype)
            if part.size:
                w.write(part.reshape(-1).view(np.uint8).data)


def member(
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


def read_or_map(fh: Any, path: Path) -> np.ndarray:
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


def npy_payload(npy: bytes) -> bytes:
    """The data bytes of a 1-D uint8 ``.npy`` file (format 1.0, as `write_member` writes it)."""
    if npy[:8] != b"\x93NUMPY\x01\x00" or len(npy) < 10:
        raise ValueError("header member is not a .npy version 1.0 file")
    (hlen,) = struct.unpack_from("<H", npy, 8)
    if b"'descr': '|u1'" not in npy[10 : 10 + hlen]:
        raise ValueError("header member is not a uint8 array")
    return npy[10 + hlen :]
