"""The one small exception hierarchy of myoshift.

Every error a user can trigger with bad input is one of these, with a message that
names the file (or argument), the field and what was expected.
"""

from __future__ import annotations

from pathlib import Path


class MyoshiftError(Exception):
    """Base class of every error raised on purpose by myoshift."""


class ConfigError(MyoshiftError, ValueError):
    """An argument, option or name is invalid (unknown name, impossible setting)."""


class DataNotFoundError(MyoshiftError, FileNotFoundError):
    """A dataset or file is not where it was looked for."""


class DataFormatError(MyoshiftError, ValueError):
    """A file exists but its content is not what its format promises."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path is not None else problem)


class ShapeError(MyoshiftError, ValueError):
    """An array has the wrong shape, dtype or non-finite values."""


class ModelFileError(MyoshiftError, ValueError):
    """A saved model is missing, corrupt, tampered with or does not match its config."""
