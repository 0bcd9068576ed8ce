"""Represent step ``spectrogram-pca``: the input of Zhai et al.'s (2017) CNN.

Per channel, the short-time magnitude spectrum of the window (Hamming taper), its
intensities normalised to [0, 1] with the channel's minimum and maximum over the
training windows, flattened (frequency bins x frames) and projected on the leading
principal components fitted on the training windows (every window and channel one
sample). ``X`` of shape ``(n, C, T)`` becomes ``(n, C, n_components)``: one row per
electrode, the image the ``zhai-cnn`` model convolves.

Rate scaling. The paper's segments are 256-point FFTs with 184 samples of overlap at
2 kHz: 128 ms segments every 36 ms, 3 segments in a 200 ms window. At another rate
``fs`` the segment length and the hop are scaled by ``fs / reference_fs`` and rounded
to whole samples (at least 2 and 1): ``nperseg' = round(nperseg * fs / reference_fs)``,
``hop' = round((nperseg - noverlap) * fs / reference_fs)``, overlap ``nperseg' - hop'``;
the FFT length is the segment length. Durations, frequency resolution (7.8 Hz) and the
number of segments per window stay what they were, the bins reach the new Nyquist
frequency. At 200 Hz (Myo): 26-sample segments every 7 samples (19 of overlap), 14
bins, 3 segments in a 40-sample window; at 1 kHz: 128 / 36, 65 bins; at 2048 Hz: 262 /
74, 132 bins. Windows shorter than one segment are an error naming both lengths.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import signal as sps

from myoshift.errors import ConfigError, ShapeError
from myoshift.signal.represent import RepresentStep, _moments, iter_chunks
from myoshift.signal.steps import check_number, register_step
from myoshift.signal.windows import Windows

__all__ = ["SpectrogramPCA"]


@register_step
class SpectrogramPCA(RepresentStep):
    """Per-channel normalised magnitude spectrogram -> principal components (Zhai 2017).

    Parameters
    ----------
    nperseg, noverlap : int
        Segment and overlap in samples at ``reference_fs`` (the paper: 256 and 184 at
        2 kHz), scaled to the windows' rate as the module doc says.
    reference_fs : float
        Rate at which ``nperseg`` and ``noverlap`` are given.
    n_components : int
        Principal components kept per channel (at most bins x frames).

    State: per-channel ``low`` and ``high`` intensities ``(C,)``, the PCA ``mean`` and
    ``components`` ``(n_components, bins * frames)``. Causal (one window at a time).
    """

    name = "spectrogram-pca"
    state_keys = ("low", "high", "mean", "components")

    def __init__(
        self,
        nperseg: int = 256,
        noverlap: int = 184,
        reference_fs: float = 2000.0,
        n_components: int = 25,
    ) -> None:
        super().__init__()
        self.nperseg = check_number(self.name, "nperseg", nperseg, low=2, integer=True)
        self.noverlap = check_number(
            self.name, "noverlap", noverlap, low=0, high=self.nperseg - 1, integer=True
        )
        self.reference_fs = check_number(
            self.name, "reference_fs", reference_fs, low=0, open_low=True
        )
        self.n_components = check_number(
            self.name, "n_components", n_components, low=1, integer=True
        )

    def segments(self, fs: float) -> tuple[int, int]:
        """Segment length and overlap in samples at rate ``fs``."""
        ratio = fs / self.reference_fs
        nper = max(2, round(self.nperseg * ratio))
        hop = max(1, round((self.nperseg - self.noverlap) * ratio))
        return nper, max(0, nper - hop)

    def _spectra(self, x: np.ndarray, fs: float) -> np.ndarray:
        """``(n, C, bins, frames)`` magnitude spectrogram of the windows ``x``."""
        nper, nover = self.segments(fs)
        if nper > x.shape[-1]:
            raise ShapeError(
                f"windows of {x.shape[-1]} samples are shorter than one {nper}-sample "
                f"segment at {fs:g} Hz; use longer windows"
            )
        _, _, mag = sps.spectrogram(
            x.astype(np.float64, copy=False),
            fs=fs,
            window="hamming",
            nperseg=nper,
            noverlap=nover,
            detrend=False,
            mode="magnitude",
            axis=-1,
        )
        return mag  # type: ignore[no-any-return]

    def _normalised(self, x: np.ndarray, fs: float) -> np.ndarray:
        """``(n * C, bins * frames)``: normalised spectra, one row per window and channel."""
        low, high = self.fitted("low"), self.fitted("high")
        if x.shape[1] != len(low):
            raise ShapeError(f"windows have {x.shape[1]} channels, fitted on {len(low)}")
        spec = self._spectra(x, fs)
        shape = (1, len(low), 1, 1)
        scaled = (spec - low.reshape(shape)) / (high - low).reshape(shape)
        return scaled.reshape(x.shape[0] * x.shape[1], -1)

    def _fit(self, w: Windows) -> None:
        lows, highs = [], []
        for x in iter_chunks(w.X):
            spec = self._spectra(x, w.fs)
            lows.append(spec.min(axis=(0, 2, 3)))
            highs.append(spec.max(axis=(0, 2, 3)))
        low, high = np.min(lows, axis=0), np.max(highs, axis=0)
        self._state = {"low": low, "high": np.where(high > low, high, low + 1.0)}
        n, mean, scatter = _moments(
            (self._normalised(x, w.fs) for x in iter_chunks(w.X)), outer=True
        )
        dim = scatter.shape[0]
        if self.n_components > min(dim, n):
            raise ConfigError(
                f"n_components = {self.n_components} exceeds the {dim} spectrogram values "
                f"per channel or the {n} training samples"
            )
        _, _, vt = np.linalg.svd(scatter / max(n - 1, 1), hermitian=True)
        comps = vt[: self.n_components]
        flip = np.sign(comps[np.arange(len(comps)), np.argmax(np.abs(comps), axis=1)])
        self._state.update(mean=mean, components=comps * flip[:, None])

    def _transform(self, w: Windows) -> Windows:
        mean, comps = self.fitted("mean"), self.fitted("components")

        def one(x: np.ndarray) -> np.ndarray:
            rows = self._normalised(x, w.fs)
            if rows.shape[1] != len(mean):
                raise ShapeError(
                    f"windows give {rows.shape[1]} spectrogram values per channel, fitted "
                    f"on {len(mean)} (another window length or rate?)"
                )
            proj = (rows - mean) @ comps.T
            return proj.reshape(x.shape[0], x.shape[1], -1).astype(np.float32)

        return replace(w, X=self.map_chunks(w, one))
