"""Per-channel normalisation fitted on training or calibration data only.

`ChannelScaler` follows scikit-learn's transformer contract (``fit`` / ``transform`` /
``fit_transform`` / ``inverse_transform`` / ``get_params``) and works on windows
``(n_windows, n_channels, n_samples)`` or sample arrays ``(n_samples, n_channels)``:
statistics are per channel, pooled over every other axis. `PerSubjectScaler` keeps one
scaler per subject and estimates a new subject's from its own calibration data.

Fitted scalers save to plain JSON-able dicts (`to_dict` / `from_dict`), never pickle.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from myoshift.errors import ConfigError, ShapeError
from myoshift.signal._validation import as_signal
from myoshift.signal.filters import moving_mean
from myoshift.signal.windows import Windows

ScaleMethod = Literal["zscore", "robust", "mvc"]
METHODS = ("zscore", "robust", "mvc")


def _array(X: Any, name: str = "X") -> np.ndarray:
    if isinstance(X, Windows):
        X = X.X
    arr = as_signal(X, name, ndim=(2, 3), axis=0)
    if arr.shape[1] == 0:
        raise ShapeError(f"{name} has no channels (shape {arr.shape})")
    return arr


def _per_channel(arr: np.ndarray) -> np.ndarray:
    """``(n_channels, n_values)`` view pooling every axis but the channel axis (1)."""
    return np.moveaxis(arr, 1, 0).reshape(arr.shape[1], -1)


class ChannelScaler(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Per-channel scaling: ``(X - center_) / scale_``.

    Parameters
    ----------
    method : {"zscore", "robust", "mvc"}
        ``zscore``: mean and standard deviation. ``robust``: median and inter-quartile
        range (``quantile_range``). ``mvc``: no centring; divide by the ``percentile``
        of each channel's amplitude envelope, as EMG is normalised to a maximum
        voluntary contraction (fit it on calibration data that contains strong
        contractions). The envelope is each window's RMS for 3-D windows, and ``|x|``
        smoothed by a centred moving RMS of ``envelope_samples`` for 2-D sample arrays.
    percentile : float
        For ``mvc`` (100 = maximum).
    quantile_range : (float, float)
        For ``robust``.
    envelope_samples : int
        Moving-RMS length for ``mvc`` on 2-D input (1 = plain rectification).
    eps : float
        Scales below ``eps`` (dead or constant channels) are replaced by 1.

    Attributes
    ----------
    center_, scale_ : ndarray, (n_channels,)
    n_channels_ : int
    """

    def __init__(
        self,
        method: ScaleMethod = "zscore",
        percentile: float = 95.0,
        quantile_range: tuple[float, float] = (25.0, 75.0),
        envelope_samples: int = 1,
        eps: float = 1e-8,
    ) -> None:
        self.method = method
        self.percentile = percentile
        self.quantile_range = quantile_range
        self.envelope_samples = envelope_samples
        self.eps = eps

    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"unknown scaling method {self.method!r}; valid: {METHODS}")
        if not 0 < float(self.percentile) <= 100:
            raise ConfigError(f"percentile must be in (0, 100], got {self.percentile}")
        lo, hi = self.quantile_range
        if not 0 <= lo < hi <= 100:
            raise ConfigError(f"quantile_range must satisfy 0 <= lo < hi <= 100, got {lo, hi}")
        if int(self.envelope_samples) < 1:
            raise ConfigError(f"envelope_samples must be >= 1, got {self.envelope_samples}")

    def fit(self, X: Any, y: Any = None) -> ChannelScaler:
        """Estimate per-channel statistics from training / calibration data ``X``."""
        self._check_params()
        arr = _array(X)
        flat = _per_channel(arr.astype(np.float64, copy=False))
        n_ch = arr.shape[1]
        if self.method == "zscore":
            center, scale = flat.mean(axis=1), flat.std(axis=1)
        elif self.method == "robust":
            q = np.percentile(flat, [self.quantile_range[0], 50.0, self.quantile_range[1]], axis=1)
            center, scale = q[1], q[2] - q[0]
        else:
            if arr.ndim == 3:
                env = np.sqrt(np.mean(arr.astype(np.float64) ** 2, axis=2))  # (n, C)
            else:
                sq = arr.astype(np.float64) ** 2
                env = np.sqrt(moving_mean(sq, int(self.envelope_samples), axis=0))
            center = np.zeros(n_ch)
            scale = np.percentile(env, float(self.percentile), axis=0)
        scale = np.where(scale > self.eps, scale, 1.0)
        self.center_ = np.asarray(center, dtype=np.float64)
        self.scale_ = np.asarray(scale, dtype=np.float64)
        self.n_channels_ = n_ch
        return self

    def _check_fitted(self, arr: np.ndarray) -> None:
        if not hasattr(self, "scale_"):
            raise ConfigError("ChannelScaler is not fitted; call fit() on training data first")
        if arr.shape[1] != self.n_channels_:
            raise ShapeError(
                f"X has {arr.shape[1]} channels (axis 1), the scaler was fitted on "
                f"{self.n_channels_}"
            )

    def _bcast(self, v: np.ndarray, ndim: int) -> np.ndarray:
        return v.reshape((1, -1) + (1,) * (ndim - 2))

    def transform(self, X: Any) -> np.ndarray:
        """Scale ``X`` (same shape; float32 input stays float32)."""
        arr = _array(X)
        self._check_fitted(arr)
        out = (arr - self._bcast(self.center_, arr.ndim)) / self._bcast(self.scale_, arr.ndim)
        return out.astype(arr.dtype, copy=False)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Undo `transform`."""
        arr = _array(X)
        self._check_fitted(arr)
        out = arr * self._bcast(self.scale_, arr.ndim) + self._bcast(self.center_, arr.ndim)
        return out.astype(arr.dtype, copy=False)

    def to_dict(self) -> dict[str, Any]:
        """Parameters and fitted statistics as a JSON-able dict."""
        d: dict[str, Any] = {
            "params": {**self.get_params(), "quantile_range": list(self.quantile_range)}
        }
        if hasattr(self, "scale_"):
            d["center"] = self.center_.tolist()
            d["scale"] = self.scale_.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChannelScaler:
        """Rebuild a scaler saved with `to_dict`."""
        params = dict(d["params"])
        params["quantile_range"] = tuple(params.get("quantile_range", (25.0, 75.0)))
        s = cls(**params)
        if "scale" in d:
            s.center_ = np.asarray(d["center"], dtype=np.float64)
            s.scale_ = np.asarray(d["scale"], dtype=np.float64)
            if s.center_.shape != s.scale_.shape or s.scale_.ndim != 1:
                raise ShapeError("saved scaler has inconsistent center/scale lengths")
            s.n_channels_ = len(s.scale_)
        return s


class PerSubjectScaler:
    """One `ChannelScaler` per subject, plus a pooled one for subjects never seen.

    Parameters
    ----------
    method, **params
        Passed to each `ChannelScaler`.
    unknown : {"global", "error"}
        What `transform` does for a subject with no scaler: use the scaler fitted on all
        training data, or raise (call `calibrate` first).
    subject_column : str
        Metadata column used when `fit` / `transform` receive a `Windows` object.
    """

    def __init__(
        self,
        method: ScaleMethod = "zscore",
        unknown: Literal["global", "error"] = "global",
        subject_column: str = "subject",
        **params: Any,
    ) -> None:
        if unknown not in ("global", "error"):
            raise ConfigError(f"unknown must be 'global' or 'error', got {unknown!r}")
        self.method = method
        self.unknown = unknown
        self.subject_column = subject_column
        self.params = params
        self.scalers_: dict[Any, ChannelScaler] = {}
        self.global_: ChannelScaler | None = None

    def _new(self) -> ChannelScaler:
        return ChannelScaler(method=self.method, **self.params)

    def _subjects(self, X: Any, subjects: Any) -> np.ndarray:
        if subjects is None:
            if not isinstance(X, Windows):
                raise ConfigError("pass subjects=... (one per row of X) or a Windows object")
            if self.subject_column not in X.meta:
                raise ConfigError(
                    f"windows have no metadata column {self.subject_column!r}; "
                    f"known: {sorted(map(str, X.meta.columns))}"
                )
            subjects = X.meta[self.subject_column].to_numpy()
        subj = np.asarray(subjects)
        n = len(X) if isinstance(X, Windows) else np.asarray(X).shape[0]
        if subj.shape != (n,):
            raise ShapeError(f"subjects has shape {subj.shape}, expected ({n},)")
        return subj

    def fit(self, X: Any, subjects: Any = None) -> PerSubjectScaler:
        """Fit one scaler per subject (and the pooled fallback) on training data."""
        arr = _array(X)
        subj = self._subjects(X, subjects)
        self.scalers_ = {s: self._new().fit(arr[subj == s]) for s in _unique(subj)}
        self.global_ = self._new().fit(arr)
        return self

    def calibrate(self, X: Any, subject: Any) -> PerSubjectScaler:
        """Estimate (or re-estimate) the scaler of ``subject`` from its calibration data."""
        self.scalers_[subject] = self._new().fit(_array(X))
        return self

    def transform(self, X: Any, subjects: Any = None) -> np.ndarray:
        """Scale each row with its subject's scaler."""
        arr = _array(X)
        subj = self._subjects(X, subjects)
        out = np.empty_like(arr)
        for s in _unique(subj):
            mask = subj == s
            scaler = self.scalers_.get(s)
            if scaler is None:
                if self.unknown == "error" or self.global_ is None:
                    raise ConfigError(
                        f"no scaler for subject {s!r}; call calibrate(X_calib, subject={s!r})"
                    )
                scaler = self.global_
            out[mask] = scaler.transform(arr[mask])
        return out

    def fit_transform(self, X: Any, subjects: Any = None) -> np.ndarray:
        return self.fit(X, subjects).transform(X, subjects)


def _unique(values: np.ndarray) -> list[Any]:
    seen: dict[Any, None] = {}
    for v in values.tolist():
        seen.setdefault(v, None)
    return list(seen)


def fit_per_subject(
    windows: Windows, subject_column: str = "subject", method: ScaleMethod = "zscore", **params: Any
) -> PerSubjectScaler:
    """A `PerSubjectScaler` fitted on ``windows``, one scaler per ``subject_column`` value."""
    if not isinstance(windows, Windows):
        raise ConfigError(f"fit_per_subject expects a Windows object, got {type(windows).__name__}")
    return PerSubjectScaler(method, subject_column=subject_column, **params).fit(windows)
