"""`Persistent`: the ``save`` / ``load`` methods every myoshift estimator shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from myoshift.errors import ConfigError


class Persistent:
    """Mixin: ``est.save(folder)`` and ``Cls.load(folder)`` through `myoshift.learn.serialize`.

    The folder holds ``estimator.json`` and ``weights.safetensors`` (no pickle); loading
    checks the class, so ``DeepClassifier.load`` refuses a saved regressor.
    """

    def save(self, path: str | Path) -> Path:
        """Write ``path/estimator.json`` and ``path/weights.safetensors`` (no pickle)."""
        from myoshift.learn.serialize import save_estimator

        return save_estimator(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Any:
        """Load an estimator written by `save`; `ModelFileError` if corrupt or tampered."""
        from myoshift.learn.serialize import load_estimator

        est = load_estimator(path)
        if not isinstance(est, cls):
            raise ConfigError(f"{path} holds a {type(est).__name__}, not a {cls.__name__}")
        return est
