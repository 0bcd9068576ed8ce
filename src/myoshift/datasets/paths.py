"""Where data and caches live: explicit argument, else environment, else user cache."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "MYOSHIFT_DATA"
CACHE_ENV = "MYOSHIFT_CACHE"


def user_cache_root() -> Path:
    """``$XDG_CACHE_HOME/myoshift`` (default ``~/.cache/myoshift``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "myoshift"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder that holds one sub-folder per dataset.

    Order: the explicit ``data_dir``, else ``$MYOSHIFT_DATA``, else
    ``<user cache>/data``.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return user_cache_root() / "data"


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where parsed recordings are cached (``$MYOSHIFT_CACHE`` or ``<user cache>/parsed``).

    Kept apart from the data folder, which may be read-only.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return user_cache_root() / "parsed"
