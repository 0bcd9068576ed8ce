"""Represent steps for feature-level fusion: IMU / auxiliary-stream features and
instantaneous + window statistics of the EMG.

Both steps compute a feature block per window, ``(n, k, 1)``, and either add it beside
the EMG as ``Windows.aux[key]`` (``into="aux"``, the default: a classical estimator
built with ``aux_features=[key]`` appends it to its EMG features before the scaler) or
make it the windows themselves (``into="X"``: the block alone, for any classical
estimator with ``features: [mean]``, the identity on one-point windows). Both are
stateless and causal (each window alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from myoshift.signal.imu import QUATERNION_FEATURES, STATISTICS, stream_features
from myoshift.signal.represent import RepresentStep
from myoshift.signal.steps import check_choice, register_step
from myoshift.signal.windows import AuxWindows, Windows

__all__ = ["DEFAULT_INSTANTANEOUS", "ImuFeatures", "Instantaneous"]

#: quaternion streams (4 dimensions) and any other stream when ``features`` is None. The
#: quaternion default leaves out the absolute orientation (``quaternion``, ``rotation``):
#: its heading is arbitrary and drifts, and on 3DC's training sessions alone (repetitions
#: 1-3 -> 4, no test session seen) it cost LDA 1-59 points, the heading-free set 0-5 points
DEFAULT_QUATERNION = ("gravity", "rotation-change", "angular-speed")
DEFAULT_GENERIC = ("mean", "last", "range")
#: the instantaneous map and window statistics of the `Instantaneous` step
DEFAULT_INSTANTANEOUS = ("abs-last", "max", "min", "range")
INTO = ("aux", "X")


class _BlockStep(RepresentStep):
    """A step writing a feature block ``(n, k, 1)`` into ``aux[key]`` or ``X``."""

    key: str
    into: str

    def _check_names(self, param: str, value: Any, valid: Sequence[str]) -> list[str]:
        if isinstance(value, str) or not isinstance(value, Sequence) or not value:
            raise self.error(f"{param} must be a non-empty list of names, got {value!r}")
        for v in value:
            check_choice(self.name, param, v, tuple(valid))
        return [str(v) for v in value]

    def _check_output(self, key: Any, into: Any) -> None:
        if not isinstance(key, str) or not key:
            raise self.error(f"key must be a non-empty name, got {key!r}")
        self.key = key
        self.into = check_choice(self.name, "into", into, INTO)

    def _output(self, w: Windows, block: np.ndarray, fs: float, names: list[str]) -> Windows:
        X = np.ascontiguousarray(block[:, :, None], dtype=np.float32)
        if self.into == "X":
            return replace(w, X=X)
        return replace(w, aux={**w.aux, self.key: AuxWindows(X, fs, tuple(names))})


@register_step
class ImuFeatures(_BlockStep):
    """Features of an auxiliary stream's windows (`myoshift.signal.imu.stream_features`).

    Parameters
    ----------
    stream : str
        The auxiliary windows to read (``Windows.aux[stream]``; a method cuts them with
        ``aux: [imu]``).
    features : list of str or None
        Quaternion features and per-dimension statistics (see `myoshift.signal.imu`);
        None: the heading-free orientation features for a 4-dimensional (quaternion)
        stream (gravity direction, rotation over the window, angular speed; see
        `DEFAULT_QUATERNION`), ``mean``, ``last`` and ``range`` per dimension for any
        other (glove, force).
    key : str
        Name of the block in ``Windows.aux`` (``into="aux"``).
    into : {"aux", "X"}
        Add the block beside the EMG, or replace the EMG windows with it.
    """

    name = "imu-features"

    def __init__(
        self,
        stream: str = "imu",
        features: list[str] | None = None,
        key: str = "imu-features",
        into: str = "aux",
    ) -> None:
        super().__init__()
        if not isinstance(stream, str) or not stream:
            raise self.error(f"stream must be a non-empty name, got {stream!r}")
        self.stream = stream
        valid = (*QUATERNION_FEATURES, *STATISTICS)
        self.features = None if features is None else self._check_names("features", features, valid)
        self._check_output(key, into)

    def _transform(self, w: Windows) -> Windows:
        if self.stream not in w.aux:
            have = ", ".join(sorted(w.aux)) or "none"
            raise self.error(
                f"the windows carry no auxiliary stream {self.stream!r} (auxiliary windows: "
                f"{have}); the method needs 'aux: [{self.stream}]'"
            )
        aux = w.aux[self.stream]
        features = self.features
        if features is None:
            features = list(DEFAULT_QUATERNION if aux.X.shape[1] == 4 else DEFAULT_GENERIC)
        block, names = stream_features(aux.X, features, aux.fs, aux.names)
        return self._output(w, block, aux.fs, names)


@register_step
class Instantaneous(_BlockStep):
    """Instantaneous + window fusion: per-channel maps of each EMG window.

    The instantaneous map (``abs-last``: ``|x|`` of every channel at the window's last
    sample, the per-sample image of Geng et al. 2016) with window statistics (``max``,
    ``min``, ``range`` = peak to peak per channel); any of
    `myoshift.signal.imu.STATISTICS`. ``(n, C, T)`` windows give a block of ``(n,
    len(stats) * C, 1)``, feature-major. With ``into="aux"`` a classical estimator
    built with ``aux_features=[key]`` concatenates it with its windowed features;
    ``into="X"`` uses the maps alone.
    """

    name = "instantaneous"

    def __init__(
        self,
        stats: list[str] | tuple[str, ...] = DEFAULT_INSTANTANEOUS,
        key: str = "inst",
        into: str = "aux",
    ) -> None:
        super().__init__()
        self.stats = self._check_names("stats", stats, tuple(STATISTICS))
        self._check_output(key, into)

    def _transform(self, w: Windows) -> Windows:
        n_channels = int(w.X.shape[1])
        if len(w.X.shape) != 3:
            raise self.error(f"expects raw windows (n, channels, samples), got {w.X.shape}")
        block = self.map_chunks(w, lambda x: stream_features(x, self.stats)[0])
        names = stream_features(np.zeros((1, n_channels, 1)), self.stats)[1]
        return self._output(w, block, w.fs, names)
