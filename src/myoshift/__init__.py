"""myoshift: EMG gesture recognition that keeps working when the domain shifts.

``import myoshift`` is light (no NumPy, pandas, torch or matplotlib): the data model
(`Recording`, `RecordingSet`, ...) is imported on first use of its name, so the command
line starts fast. Subpackages (``myoshift.datasets``, ``myoshift.signal``,
``myoshift.learn``, ...) are imported explicitly, as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from myoshift.errors import (
    ConfigError,
    DataFormatError,
    DataNotFoundError,
    MyoshiftError,
)

if TYPE_CHECKING:
    from myoshift.recording import REST, UNLABELLED, AuxStream, Layout, Recording, RecordingSet

__version__ = "0.1.0"

#: names served lazily from `myoshift.recording` (it imports NumPy)
_LAZY = frozenset({"REST", "UNLABELLED", "AuxStream", "Layout", "Recording", "RecordingSet"})

__all__ = [
    "REST",
    "UNLABELLED",
    "AuxStream",
    "ConfigError",
    "DataFormatError",
    "DataNotFoundError",
    "Layout",
    "MyoshiftError",
    "Recording",
    "RecordingSet",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """Import the data model on first access (PEP 562)."""
    if name in _LAZY:
        value = getattr(importlib.import_module("myoshift.recording"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'myoshift' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
