"""Values as plain JSON types: the one converter behind saved files, step parameters and
the run summary (each says what to do with keys and values JSON cannot hold)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def plain(
    value: Any,
    *,
    other: Callable[[Any], Any] = _refuse,
    key_pairs: bool = False,
) -> Any:
    """``value`` with containers, NumPy scalars/arrays and paths turned into JSON types.

    Parameters
    ----------
    other : callable
        Called with any other non-JSON value (default: raise ``TypeError`` naming its
        type); its result is used as is.
    key_pairs : bool
        Mappings with non-string keys become ``{"__pairs__": [[key, value], ...]}`` (read
        back by `from_plain`) instead of having their keys turned into strings.
    """

    def conv(v: Any) -> Any:
        if isinstance(v, Mapping):
            if key_pairs and not all(isinstance(k, str) for k in v):
                return {"__pairs__": [[conv(k), conv(x)] for k, x in v.items()]}
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        if isinstance(v, np.generic | np.ndarray):
            return v.tolist()
        if isinstance(v, Path):
            return str(v)
        if v is None or isinstance(v, str | int | float | bool):
            return v
        return other(v)

    return conv(value)


def from_plain(value: Any) -> Any:
    """Inverse of `plain` with ``key_pairs=True`` (mappings with non-string keys)."""
    if isinstance(value, dict):
        if set(value) == {"__pairs__"}:
            return {from_plain(k): from_plain(v) for k, v in value["__pairs__"]}
        return {k: from_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_plain(v) for v in value]
    return value
