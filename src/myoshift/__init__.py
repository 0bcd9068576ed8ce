"""myoshift: EMG gesture recognition that keeps working when the domain shifts."""

from myoshift.errors import (
    ConfigError,
    DataFormatError,
    DataNotFoundError,
    MyoshiftError,
)
from myoshift.recording import REST, UNLABELLED, AuxStream, Layout, Recording, RecordingSet

__version__ = "0.1.0"

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
