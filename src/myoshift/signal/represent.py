"""Represent steps: `Windows` -> `Windows` (spectrogram, PCA, standardisation, wavelets).

Each step reads ``Windows.X`` chunk by chunk (``X[i:i + CHUNK]``; ``X`` may be a lazy
`myoshift.signal.window_array.WindowArray`), so fitting never needs every window in
memory at once, and returns new `Windows` by `dataclasses.replace`: labels, metadata,
groups/repetitions, ``extra`` and ``aux`` stay row-aligned. Represent steps act on each
window alone (with state fitted on training windows), so they are all causal: a stream
can apply them to every window as it is cut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, ClassVar, TypeVar

import numpy as np
import pywt
from scipy import signal as sps

from myoshift.errors import ConfigError, ShapeError
from myoshift.signal.spectral import log_spectrogram
from myoshift.signal.steps import Step, StepKind, check_choice, check_number, register_step
from myoshift.signal.wavelet import wavelet_packet_image
from myoshift.signal.windows import AuxWindows, Windows

__all__ = [
    "CHUNK",
    "PCA",
    "RepresentStep",
    "Spectrogram",
    "Standardize",
    "WaveletPacket",
    "iter_chunks",
]

T = TypeVar("T")

#: windows read at a time from ``Windows.X``
CHUNK = 1024
#: largest flattened window PCA accepts (its covariance is features x features)
MAX_FLAT_FEATURES = 8192


def iter_chunks(X: Any, size: int | None = None) -> Iterator[np.ndarray]:
    """Consecutive blocks ``X[i:i + size]`` (default `CHUNK`) of an array-like, as ndarrays."""
    n, size = int(X.shape[0]), size or CHUNK
    for i in range(0, n, size):
        yield np.asarray(X[i : i + size])


class RepresentStep(Step):
    """Base of the represent steps: input checks and chunked mapping of ``X``."""

    kind: ClassVar[StepKind] = "represent"

    def check_input(self, data: Any) -> None:
        if not isinstance(data, Windows):
            raise self.error(f"expects Windows, got {type(data).__name__}")
        if len(data) == 0:
            raise ShapeError(f"step {self.name!r}: got no windows")
        if len(data.X.shape) < 3:
            raise ShapeError(
                f"step {self.name!r}: expects windows (n, channels, ...), got shape "
                f"{tuple(data.X.shape)}"
            )

    def _guard(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, prefixing this step's name to a `ConfigError` / `ShapeError`."""
        try:
            return fn()
        except (ConfigError, ShapeError) as exc:
            if str(exc).startswith(f"step {self.name!r}"):
                raise
            raise type(exc)(f"step {self.name!r}: {exc}") from None

    def map_chunks(self, w: Windows, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``fn`` applied to each chunk of ``w.X``, concatenated along the windows."""
        return np.concatenate([fn(x) for x in iter_chunks(w.X)])

    def fit(self, data: Any) -> RepresentStep:
        self.check_input(data)
        self._guard(lambda: self._fit(data))
        return self

    def _fit(self, w: Windows) -> None:
        """Learn the state from training windows (default: stateless)."""

    def transform(self, data: Any) -> Windows:
        self.check_input(data)
        return self._guard(lambda: self._transform(data))

    def _transform(self, w: Windows) -> Windows:
        raise NotImplementedError


def _moments(rows: Iterator[np.ndarray], outer: bool) -> tuple[int, np.ndarray, np.ndarray]:
    """Count, mean and centred sums of squares (``outer``: the scatter matrix) of the
    rows ``(k, d)`` of every block, combined block by block (Chan et al.'s update)."""
    n, mean, m2 = 0, np.zeros(0), np.zeros(0)
    for block in rows:
        b = block.astype(np.float64, copy=False)
        nb = b.shape[0]
        if nb == 0:
            continue
        mb = b.mean(axis=0)
        c = b - mb
        m2b = c.T @ c if outer else np.einsum("ij,ij->j", c, c)
        if n == 0:
            n, mean, m2 = nb, mb, m2b
            continue
        delta = mb - mean
        total = n + nb
        corr = np.outer(delta, delta) if outer else delta**2
        m2 = m2 + m2b + corr * (n * nb / total)
        mean = mean + delta * (nb / total)
        n = total
    return n, mean, m2


def _channel_rows(x: np.ndarray) -> np.ndarray:
    """``(n, C, ...)`` -> ``(n * ..., C)``: one row per window and time (or bin)."""
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _from_channel_rows(rows: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Inverse of `_channel_rows` with ``rows.shape[1]`` channels."""
    shape = (like.shape[0], *like.shape[2:], rows.shape[1])
    return np.moveaxis(rows.reshape(shape), -1, 1)


@register_step
class Spectrogram(RepresentStep):
    """Log power spectrogram of every window and channel (`spectral.log_spectrogram`).

    ``X`` of shape ``(n, C, T)`` becomes ``(n, C, F, frames)``: ``F = nperseg // 2 + 1``
    frequency bins (fewer with ``fmax``) and ``frames = 1 + (T - nperseg) // (nperseg -
    noverlap)`` segments. ``noverlap`` defaults to ``nperseg // 2``. Stateless, causal.
    """

    name = "spectrogram"

    def __init__(
        self,
        nperseg: int = 32,
        noverlap: int | None = None,
        window: str = "hann",
        fmax: float | None = None,
    ) -> None:
        super().__init__()
        self.nperseg = check_number(self.name, "nperseg", nperseg, low=2, integer=True)
        self.noverlap = (
            None
            if noverlap is None
            else check_number(
                self.name, "noverlap", noverlap, low=0, high=self.nperseg - 1, integer=True
            )
        )
        try:
            sps.get_window(window, self.nperseg)
        except (ValueError, TypeError):
            raise self.error(f"window {window!r} is not a scipy.signal.get_window name") from None
        self.window = window
        self.fmax = None if fmax is None else check_number(self.name, "fmax", fmax, low=0)

    def _transform(self, w: Windows) -> Windows:
        def one(x: np.ndarray) -> np.ndarray:
            return log_spectrogram(x, w.fs, self.nperseg, self.noverlap, self.fmax, self.window)

        return replace(w, X=self.map_chunks(w, one))


@register_step
class Standardize(RepresentStep):
    """Per-channel standardisation ``(x - mean) / std`` fitted on training windows.

    Statistics are per channel (axis 1), pooled over windows and every other axis, so
    the step also follows a spectrogram. Channels with ``std < eps`` are only centred.
    State: ``mean`` and ``std``, ``(C,)``. Causal.
    """

    name = "standardize"
    state_keys = ("mean", "std")

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = check_number(self.name, "eps", eps, low=0, open_low=True)

    def _fit(self, w: Windows) -> None:
        n, mean, m2 = _moments((_channel_rows(x) for x in iter_chunks(w.X)), outer=False)
        std = np.sqrt(m2 / n)
        self._state = {"mean": mean, "std": np.where(std < self.eps, 1.0, std)}

    def _transform(self, w: Windows) -> Windows:
        mean, std = self.fitted("mean"), self.fitted("std")
        if w.X.shape[1] != len(mean):
            raise ShapeError(f"windows have {w.X.shape[1]} channels, fitted on {len(mean)}")

        def one(x: np.ndarray) -> np.ndarray:
            shape = (1, len(mean)) + (1,) * (x.ndim - 2)
            out = (x - mean.reshape(shape)) / std.reshape(shape)
            return out.astype(x.dtype, copy=False)

        return replace(w, X=self.map_chunks(w, one))


@register_step
class PCA(RepresentStep):
    """Principal components fitted on training windows (numpy SVD of the covariance).

    ``mode="per-time-step"``: every time step (and bin) of every window is one sample
    of ``C`` channels; ``(n, C, ...)`` becomes ``(n, n_components, ...)`` (a spatial
    filter bank, e.g. 64 grid electrodes -> 8 virtual channels). ``mode="flattened"``:
    each window is one sample of ``C * T`` values; ``X`` becomes ``(n, n_components,
    1)``. Flattened windows are limited to `MAX_FLAT_FEATURES` values (the covariance is
    that size squared). Component signs are fixed (largest loading positive), so a
    refit on the same data gives the same output. State: ``mean`` and ``components``
    ``(n_components, d)``. Causal.
    """

    name = "pca"
    state_keys = ("mean", "components")

    def __init__(self, n_components: int = 8, mode: str = "per-time-step") -> None:
        super().__init__()
        self.n_components = check_number(
            self.name, "n_components", n_components, low=1, integer=True
        )
        self.mode = check_choice(self.name, "mode", mode, ("per-time-step", "flattened"))

    def _rows(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1) if self.mode == "flattened" else _channel_rows(x)

    def _fit(self, w: Windows) -> None:
        dim = int(np.prod(w.X.shape[1:])) if self.mode == "flattened" else int(w.X.shape[1])
        if self.mode == "flattened" and dim > MAX_FLAT_FEATURES:
            raise ConfigError(
                f"mode='flattened' on windows of {dim} values exceeds {MAX_FLAT_FEATURES}; "
                "use mode='per-time-step' or shorter windows / fewer channels"
            )
        n, mean, scatter = _moments((self._rows(x) for x in iter_chunks(w.X)), outer=True)
        if self.n_components > min(dim, n):
            raise ConfigError(
                f"n_components = {self.n_components} exceeds the {dim} dimensions or the "
                f"{n} training samples"
            )
        _, _, vt = np.linalg.svd(scatter / max(n - 1, 1), hermitian=True)
        comps = vt[: self.n_components]
        flip = np.sign(comps[np.arange(len(comps)), np.argmax(np.abs(comps), axis=1)])
        self._state = {"mean": mean, "components": comps * flip[:, None]}

    def _transform(self, w: Windows) -> Windows:
        mean, comps = self.fitted("mean"), self.fitted("components")

        def one(x: np.ndarray) -> np.ndarray:
            rows = self._rows(x)
            if rows.shape[1] != len(mean):
                raise ShapeError(
                    f"windows have {rows.shape[1]} values per sample, fitted on {len(mean)}"
                )
            proj = ((rows - mean) @ comps.T).astype(x.dtype, copy=False)
            if self.mode == "flattened":
                return proj[:, :, None]
            return _from_channel_rows(proj, x)

        return replace(w, X=self.map_chunks(w, one))


@register_step
class WaveletPacket(RepresentStep):
    """Wavelet-packet energy image as a second named input, ``Windows.aux[key]``.

    ``X`` is left unchanged; ``aux[key]`` (default ``"wpt"``) becomes an `AuxWindows`
    whose ``X`` is `wavelet.wavelet_packet_image` of every window, ``(n, C, 2 ** level,
    segments)`` (``segments = n_segments``, or ``ceil(T / 2 ** level)`` coefficients
    when None), and whose ``fs`` is the rate of the segment axis (segments per second
    of window). This is the ``wpd`` input of the ``lstm-cnn-attention`` model built with
    ``wavelet_shape=(2 ** level, segments)``. Stateless, causal.
    """

    name = "wavelet-packet"

    def __init__(
        self,
        wavelet: str = "db4",
        level: int = 3,
        n_segments: int | None = None,
        mode: str = "periodization",
        key: str = "wpt",
    ) -> None:
        super().__init__()
        if wavelet not in pywt.wavelist(kind="discrete"):
            raise self.error(
                f"wavelet {wavelet!r} is not a discrete wavelet; see pywt.wavelist(kind='discrete')"
            )
        self.wavelet = wavelet
        self.level = check_number(self.name, "level", level, low=1, high=10, integer=True)
        self.n_segments = (
            None
            if n_segments is None
            else check_number(self.name, "n_segments", n_segments, low=1, integer=True)
        )
        self.mode = check_choice(self.name, "mode", mode, pywt.Modes.modes)
        if not isinstance(key, str) or not key:
            raise self.error(f"key must be a non-empty name, got {key!r}")
        self.key = key

    def _transform(self, w: Windows) -> Windows:
        def one(x: np.ndarray) -> np.ndarray:
            return wavelet_packet_image(x, self.wavelet, self.level, self.n_segments, self.mode)

        image = self.map_chunks(w, one)
        rate = image.shape[-1] * w.fs / w.X.shape[-1]
        return replace(w, aux={**w.aux, self.key: AuxWindows(image, rate)})
