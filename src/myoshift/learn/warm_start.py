"""Where a deep fit starts: a pre-trained encoder saved on disk, and the labelled share.

* `copy_encoder`: the ``init_from`` parameter of the deep estimators. The folder is read
  with `myoshift.learn.persistence.load_estimator` (format, version and weight hash
  checked), must hold a fitted deep estimator (or a method chain around one) whose
  architecture and input shape equal the network being built, and every weight of its
  encoder is copied, not its head (the new task's classes differ) and not its input
  standardisation (recomputed on the new training windows).
* `labelled_subset`: the ``label_fraction`` parameter. A seeded share of the labelled
  units (a recording's repetition), per class, whose labels a supervised stage may use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from myoshift.errors import ConfigError, ModelFileError
from myoshift.learn.persistence import load_estimator


def _model(est: Any) -> nn.Module | None:
    """The architecture of a fitted deep estimator (or of the one a chain wraps)."""
    for obj in (est, getattr(est, "estimator_", None)):
        net = getattr(obj, "net_", None)
        model = getattr(net, "model", None)
        if isinstance(model, nn.Module) and hasattr(model, "config"):
            return model
    return None


def copy_encoder(target: nn.Module, path: str | Path) -> list[str]:
    """Copy the encoder weights of the estimator saved at ``path`` into ``target``.

    ``target`` is an `EMGModel` just built for the new fit. Returns the names of the
    copied tensors.

    Raises
    ------
    ModelFileError
        The folder is missing, corrupt or tampered with (naming ``init_from`` and the file).
    ConfigError
        It holds no deep estimator, or one of another architecture or input shape.
    """
    where = f"init_from={str(path)!r}"
    try:
        est = load_estimator(path)
    except ModelFileError as exc:
        raise ModelFileError(f"{where}: {exc}") from None
    source = _model(est)
    if source is None:
        raise ConfigError(
            f"{where} holds a {type(est).__name__}, not a fitted deep estimator with an encoder"
        )
    have, want = dict(source.config()), dict(target.config())  # type: ignore[operator]
    have.pop("n_outputs", None)
    want.pop("n_outputs", None)
    if have != want:
        diff = sorted(k for k in have.keys() | want.keys() if have.get(k) != want.get(k))
        raise ConfigError(
            f"{where} is a {have.get('name')!r} encoder with "
            f"{ {k: have.get(k) for k in diff} }; this estimator builds "
            f"{ {k: want.get(k) for k in diff} } (same model, model_params and window shape "
            "needed)"
        )
    weights = {k: v for k, v in source.state_dict().items() if not k.startswith("head.")}
    result = target.load_state_dict(weights, strict=False)
    stray = [k for k in result.missing_keys if not k.startswith("head.")]
    if stray or result.unexpected_keys:
        raise ConfigError(
            f"{where}: encoder tensors do not match (missing {stray}, unexpected "
            f"{result.unexpected_keys})"
        )
    return sorted(weights)


def unit_codes(X: Any, groups: np.ndarray | None, n: int) -> np.ndarray:
    """One code per window for its labelled unit: (recording, repetition) when the
    windows say their recording, else the group, else the window itself."""
    meta = getattr(X, "meta", None)
    base = np.arange(n) if groups is None else np.asarray(groups)
    if meta is None or "recording" not in getattr(meta, "columns", ()):
        return base
    pairs = np.stack([meta["recording"].to_numpy().astype(np.int64), base.astype(np.int64)], 1)
    return np.unique(pairs, axis=0, return_inverse=True)[1].reshape(-1)


def labelled_subset(units: np.ndarray, y: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Sorted indices of the windows of a seeded ``fraction`` of the units of each class.

    A unit's class is its most frequent label (regression targets: one class). Each
    class keeps ``round(fraction * units)`` of its units, at least one; ``fraction`` 1
    keeps every window.
    """
    n = len(units)
    if not (isinstance(fraction, int | float) and 0 < fraction <= 1):
        raise ConfigError(f"label_fraction must be in (0, 1], got {fraction!r}")
    if fraction == 1:
        return np.arange(n)
    codes, inverse = np.unique(units, return_inverse=True)
    labels = (
        np.zeros(n, dtype=np.int64) if np.ndim(y) != 1 else np.unique(y, return_inverse=True)[1]
    )
    counts = np.zeros((len(codes), int(labels.max()) + 1), dtype=np.int64)
    np.add.at(counts, (inverse, labels), 1)
    unit_class = counts.argmax(axis=1)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(unit_class):
        members = np.flatnonzero(unit_class == c)
        k = max(1, round(fraction * len(members)))
        chosen.append(rng.choice(members, size=k, replace=False))
    return np.flatnonzero(np.isin(inverse, np.concatenate(chosen)))
