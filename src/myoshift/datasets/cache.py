"""Cache of parsed recordings: one uncompressed ``.npz`` per parse unit.

The file name carries a hash of the source files' paths, sizes and modification times
and of the parser version, so a changed source file or parser invalidates the entry.
Arrays of all recordings of a unit are concatenated (a handful of members per file, so
loading is dominated by one read), metadata is JSON. Writes go to a temporary file in
the same folder and are renamed into place, so a killed run never leaves a partial
entry that is read later; an unreadable entry is logged, deleted and re-parsed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from myoshift.recording import AuxStream, Layout, Recording

log = logging.getLogger(__name__)

CACHE_FORMAT = 1


def source_key(name: str, parser_version: int, files: Sequence[Path], root: Path) -> str:
    """Hash identifying a unit's parse: dataset, parser version and file stats."""
    h = hashlib.sha1(f"{name}|{parser_version}|{CACHE_FORMAT}".encode())
    for f in sorted(files):
        st = f.stat()
        try:
            rel = f.relative_to(root).as_posix()
        except ValueError:
            rel = f.as_posix()
        h.update(f"|{rel}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def _concat(parts: list[np.ndarray], dtype: Any, width: int | None = None) -> np.ndarray:
    if parts:
        return np.concatenate(parts).astype(dtype, copy=False)
    return np.zeros((0,) if width is None else (0, width), dtype=dtype)


def save(path: Path, recordings: Sequence[Recording]) -> None:
    """Atomically write recordings to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    header: list[dict[str, Any]] = []
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
        aux_meta = {}
        for name, s in r.aux.items():
            aux_meta[name] = {
                "fs": s.fs,
                "names": list(s.names),
                "start": s.start,
                "n": len(s.data),
                "dims": s.data.shape[1],
            }
            aux_parts.setdefault(f"{name}|{s.data.shape[1]}", []).append(s.data)
        header.append(
            {
                "n": r.n_samples,
                "fs": r.fs,
                "layout": r.layout.to_dict(),
                "has_rep": r.repetition is not None,
                "meta": r.meta,
                "class_names": list(r.class_names),
                "aux": aux_meta,
            }
        )
    for key, parts in aux_parts.items():
        arrays[f"aux|{key}"] = np.concatenate(parts).astype(np.float32, copy=False)
    blob = json.dumps(
        {"format": CACHE_FORMAT, "same_width": same_width, "recordings": header},
        default=_json_default,
    )
    arrays["header"] = np.frombuffer(blob.encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
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


def load(path: Path) -> list[Recording]:
    """Read recordings written by `save`; raises on any inconsistency."""
    with np.load(path, allow_pickle=False) as z:
        head = json.loads(bytes(z["header"]).decode())
        if head.get("format") != CACHE_FORMAT:
            raise ValueError(f"cache format {head.get('format')} != {CACHE_FORMAT}")
        data = {k: z[k] for k in z.files if k != "header"}
    out: list[Recording] = []
    pos = 0
    aux_pos: dict[str, int] = {}
    for i, h in enumerate(head["recordings"]):
        n = h["n"]
        if head["same_width"]:
            emg = data["emg"][pos : pos + n]
            labels = data["labels"][pos : pos + n]
            rep = data["repetition"][pos : pos + n] if h["has_rep"] else None
            pos += n
        else:
            emg, labels = data[f"emg_{i}"], data[f"labels_{i}"]
            rep = data.get(f"repetition_{i}")
        aux = {}
        for name, a in h["aux"].items():
            key = f"{name}|{a['dims']}"
            p = aux_pos.get(key, 0)
            aux[name] = AuxStream(
                data[f"aux|{key}"][p : p + a["n"]], a["fs"], tuple(a["names"]), a["start"]
            )
            aux_pos[key] = p + a["n"]
        if len(emg) != n:
            raise ValueError(f"recording {i} truncated: {len(emg)} of {n} samples")
        out.append(
            Recording(
                emg,
                h["fs"],
                labels,
                Layout.from_dict(h["layout"]),
                rep,
                aux,
                h["meta"],
                tuple(h["class_names"]),
            )
        )
    return out
