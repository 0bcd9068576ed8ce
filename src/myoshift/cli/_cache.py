"""An on-disk cache for listings that need heavy imports to compute.

``myoshift methods list`` needs the method registry, which imports torch (the deep
methods are generated from the model classes): about 3 s. The listing only changes when
myoshift's own source or config files or the method folders in ``MYOSHIFT_METHODS_DIR``
change, so `cached` keeps the computed JSON under ``<user cache>/cli/`` keyed by the
version and the size and modification time of every such file (`source_stamp`). A
stale, unreadable or unwritable cache only means computing again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import myoshift

log = logging.getLogger(__name__)

#: files whose change can change a listing ...
SUFFIXES = (".py", ".yaml", ".yml", ".json")
#: ... in these sub-packages (what the method and model registries import and read)
SOURCES = ("configs", "learn", "models", "signal")
METHODS_DIR_ENV = "MYOSHIFT_METHODS_DIR"


def _files(root: Path) -> Iterator[Path]:
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith(SUFFIXES):
                yield Path(folder) / name


def source_stamp() -> str:
    """A hash of the version and the size and mtime of every file a listing depends on.

    Covers the `SOURCES` sub-packages of myoshift and the folders named in
    ``MYOSHIFT_METHODS_DIR``.
    """
    h = hashlib.sha256(f"{myoshift.__version__}\0{os.environ.get(METHODS_DIR_ENV, '')}".encode())
    package = Path(myoshift.__file__).resolve().parent
    roots = [package / name for name in SOURCES]
    roots += [Path(p) for p in os.environ.get(METHODS_DIR_ENV, "").split(os.pathsep) if p]
    for root in roots:
        for path in _files(root):
            try:
                st = path.stat()
            except OSError:
                continue
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def cache_folder() -> Path:
    """``<user cache>/cli`` (``$XDG_CACHE_HOME/myoshift/cli``, default ``~/.cache/...``)."""
    from myoshift.datasets.paths import user_cache_root

    return user_cache_root() / "cli"


def cached(name: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` (a JSON-able value), read from the cache when the sources are unchanged.

    Parameters
    ----------
    name : str
        The listing (file name prefix, e.g. ``"methods"``).
    compute : callable
        Computes the value; its errors propagate and nothing is cached.
    """
    folder = cache_folder()
    path = folder / f"{name}-{source_stamp()}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    value = compute()
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}-", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(value, f)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new
        tmp = None
        for old in folder.glob(f"{name}-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("could not cache the %s listing in %s: %s", name, folder, exc)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return value
