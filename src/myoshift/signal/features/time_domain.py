"""Time-domain features: amplitude, differences, counts, moments and shape.

Every function takes a ``(n_windows, n_channels, n_samples)`` array (or a shared
`WindowStats`) and returns ``(n_windows, n_channels)`` (``(..., k)`` when multi-valued).
Definitions follow LibEMG (``libemg.feature_extractor``) unless a docstring says otherwise.
Thresholds are in the units of the signal: LibEMG's default WAMP threshold (2e-3) assumes
volts; set ``wamp_threshold`` for ADC counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from myoshift.errors import ConfigError
from myoshift.signal.features._stats import (
    EPS,
    WindowStats,
    as_stats,
    count_last,
    flat_pairs,
    row_count,
    safe_divide,
)
from myoshift.signal.features.registry import register_feature

Input = np.ndarray | WindowStats


def check_threshold(value: Any, name: str) -> float:
    """A finite, non-negative number."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not (np.isfinite(v) and v >= 0):
        raise ConfigError(f"{name} must be finite and >= 0, got {value!r}")
    return v


def check_int(value: Any, name: str, minimum: int = 1) -> int:
    """An integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# -- amplitude --------------------------------------------------------------------------------
@register_feature("mav", "mean absolute value: mean(|x|)", aliases=("MAV",))
def mav(windows: Input) -> np.ndarray:
    """Mean absolute value, ``mean(|x_i|)``."""
    s = as_stats(windows)
    return s.abs_sum / s.n_samples


@register_feature("iav", "integrated absolute value: sum(|x|)", aliases=("IAV",))
def iav(windows: Input) -> np.ndarray:
    """Integral of absolute value, ``sum(|x_i|)``."""
    return as_stats(windows).abs_sum.copy()


@register_feature("rms", "root mean square: sqrt(mean(x^2))", aliases=("RMS",))
def rms(windows: Input) -> np.ndarray:
    """Root mean square, ``sqrt(mean(x_i^2))``."""
    s = as_stats(windows)
    return np.sqrt(s.sq_sum / s.n_samples)


@register_feature("var", "variance (population, ddof=0)", aliases=("VAR",))
def var(windows: Input) -> np.ndarray:
    """Variance with ``ddof=0`` (as ``np.var`` and LibEMG), computed in two passes."""
    return as_stats(windows).central2.copy()


@register_feature("mean", "mean of the signal (DC level)", aliases=("MEAN",))
def mean(windows: Input) -> np.ndarray:
    """Mean value ``mean(x_i)``."""
    return as_stats(windows).mean.copy()


@register_feature("mpk", "maximum value of the window", aliases=("MPK",))
def mpk(windows: Input) -> np.ndarray:
    """Maximum (peak) value, ``max(x_i)`` (LibEMG's MPK; signed, not ``max |x|``)."""
    return as_stats(windows).x.max(axis=2)


@register_feature(
    "log", "log detector: exp(mean(log(|x| + offset)))", aliases=("LD", "LOG"), min_samples=1
)
def log_detector(windows: Input, offset: float = 1.0) -> np.ndarray:
    """Log detector, ``exp(mean(log(|x_i| + offset)))``.

    The classic definition has ``offset = 0`` and is ``0`` as soon as one sample is exactly
    zero (common with integer ADC data); LibEMG's LD uses ``offset = 1``, the default here.
    """
    off = check_threshold(offset, "log_offset")
    s = as_stats(windows)
    return np.exp(np.log(s.abs + off).mean(axis=2))


@register_feature("isd", "integral square descriptor: sum(x^2)", aliases=("ISD",))
def isd(windows: Input) -> np.ndarray:
    """Integral square descriptor (simple square integral), ``sum(x_i^2)``."""
    return as_stats(windows).sq_sum.copy()


@register_feature(
    "tm", "temporal moment: mean(|x^order|)", aliases=("TM",), labels=None, min_samples=1
)
def tm(windows: Input, order: int = 3) -> np.ndarray:
    """Absolute temporal moment, ``mean(|x_i^order|)``."""
    k = check_int(order, "tm_order")
    s = as_stats(windows)
    return np.mean(np.abs(s.x**k), axis=2)


@register_feature("mlk", "mean logarithm kernel: log(sum|x| + eps) / N", aliases=("MLK",))
def mlk(windows: Input) -> np.ndarray:
    """Mean logarithm kernel as in LibEMG, ``log(sum|x_i| + eps) / N``."""
    s = as_stats(windows)
    return np.log(s.abs_sum + EPS) / s.n_samples


@register_feature("msr", "mean square root: |mean(sqrt(x))| with complex sqrt", aliases=("MSR",))
def msr(windows: Input) -> np.ndarray:
    """Mean value of the square root, ``|mean(sqrt(x_i))|`` with the complex square root.

    As LibEMG: negative samples give imaginary roots, so the value is
    ``hypot(mean(sqrt(max(x, 0))), mean(sqrt(max(-x, 0))))`` (computed without complex
    arrays).
    """
    s = as_stats(windows)
    x = s.x
    re = np.sqrt(np.maximum(x, 0.0)).mean(axis=2)
    im = np.sqrt(np.maximum(-x, 0.0)).mean(axis=2)
    return np.hypot(re, im)


@register_feature("ls", "L-scale: second L-moment of the window", aliases=("LS",), min_samples=2)
def ls(windows: Input) -> np.ndarray:
    """L-scale, the second sample L-moment ``l2 = 2 b1 - b0`` (Hosking 1990), as LibEMG.

    ``b0`` is the mean, ``b1 = 1/N sum_j (j-1)/(N-1) x_(j)`` over the sorted samples.
    """
    s = as_stats(windows)
    n = s.n_samples
    srt = np.sort(s.x, axis=2)
    w = np.arange(n, dtype=np.float64) / (n - 1) / n
    b1 = srt @ w
    return 2.0 * b1 - s.mean


# -- differences ------------------------------------------------------------------------------
@register_feature("wl", "waveform length: sum(|x_{i+1} - x_i|)", aliases=("WL",), min_samples=2)
def wl(windows: Input) -> np.ndarray:
    """Waveform length, ``sum |x_{i+1} - x_i|``."""
    return as_stats(windows).abs_diff_sum.copy()


@register_feature("mfl", "maximum fractal length: log10(WL)", aliases=("MFL",), min_samples=2)
def mfl(windows: Input) -> np.ndarray:
    """Maximum fractal length, ``log10(WL)`` (``-inf`` for a constant window, as LibEMG)."""
    with np.errstate(divide="ignore"):
        return np.log10(as_stats(windows).abs_diff_sum)


@register_feature(
    "mavfd",
    "mean absolute first difference: mean(|x_{i+1}-x_i|)",
    aliases=("MAVFD",),
    min_samples=2,
)
def mavfd(windows: Input) -> np.ndarray:
    """Mean absolute value of the first difference, ``WL / (N - 1)``."""
    s = as_stats(windows)
    return s.abs_diff_sum / (s.n_samples - 1)


@register_feature(
    "dasdv",
    "difference absolute standard deviation: sqrt(mean(diff^2))",
    aliases=("DASDV",),
    min_samples=2,
)
def dasdv(windows: Input) -> np.ndarray:
    """Difference absolute standard deviation value, ``sqrt(sum(d_i^2) / (N - 1))``."""
    s = as_stats(windows)
    return np.sqrt(s.diff_sq_sum / (s.n_samples - 1))


@register_feature(
    "mdiff", "mean difference derivative: sum(diff^2) / N", aliases=("MDIFF",), min_samples=2
)
def mdiff(windows: Input) -> np.ndarray:
    """Mean squared first difference as in LibEMG, ``sum(d_i^2) / N`` (divided by N)."""
    s = as_stats(windows)
    return s.diff_sq_sum / s.n_samples


@register_feature(
    "mzp",
    "multiplication of power and peaks: sqrt(sum(diff^2) / N)",
    aliases=("MZP",),
    min_samples=2,
)
def mzp(windows: Input) -> np.ndarray:
    """LibEMG's MZP, ``sqrt(sum(d_i^2) / N)``."""
    s = as_stats(windows)
    return np.sqrt(s.diff_sq_sum / s.n_samples)


@register_feature(
    "wamp",
    "Willison amplitude: count(|x_{i+1}-x_i| > threshold)",
    aliases=("WAMP",),
    min_samples=2,
)
def wamp(windows: Input, threshold: float = 2e-3) -> np.ndarray:
    """Willison amplitude: number of ``|x_{i+1} - x_i| > threshold`` (strict, as LibEMG).

    The default threshold is LibEMG's (2e-3, meant for volts); pass ``wamp_threshold`` in
    the units of your signal.
    """
    thr = check_threshold(threshold, "wamp_threshold")
    s = as_stats(windows)
    fast = row_count("wamp", s, thr)
    return fast if fast is not None else count_last(s.abs_diff > thr)


@register_feature(
    "zc",
    "zero crossings (optionally with an amplitude threshold)",
    aliases=("ZC",),
    min_samples=2,
)
def zc(windows: Input, threshold: float = 0.0) -> np.ndarray:
    """Zero crossings: pairs with ``x_i * x_{i+1} < 0`` and ``|x_i - x_{i+1}| >= threshold``.

    With ``threshold = 0`` this is LibEMG's ZC (a sign change from strictly negative to
    strictly positive or back; a sample that is exactly zero breaks the crossing).
    """
    thr = check_threshold(threshold, "zc_threshold")
    s = as_stats(windows)
    fast = row_count("zc", s, thr)
    if fast is not None:
        return fast
    mask = (flat_pairs(s.x, np.multiply) < 0)[..., :-1]
    if thr > 0:
        mask &= s.abs_diff >= thr
    return count_last(mask)


@register_feature(
    "ssc",
    "slope sign changes: count((x_i-x_{i-1})(x_i-x_{i+1}) >= threshold)",
    aliases=("SSC",),
    min_samples=3,
)
def ssc(windows: Input, threshold: float = 0.0) -> np.ndarray:
    """Slope sign changes: samples with ``(x_i - x_{i-1}) (x_i - x_{i+1}) >= threshold``.

    As LibEMG (and Hudgins/Phinyomark), the comparison is ``>=``: with the default
    threshold 0 a flat step (two equal neighbours) counts as a slope change. Pass a small
    positive ``ssc_threshold`` to ignore noise and flats.
    """
    thr = check_threshold(threshold, "ssc_threshold")
    s = as_stats(windows)
    fast = row_count("ssc", s, thr)
    if fast is not None:
        return fast
    prod = flat_pairs(s.diff_full, np.multiply)
    return count_last((prod <= -thr)[..., :-2])


def _mavslp_labels(params: dict[str, Any]) -> list[str]:
    k = int(params["segments"]) - 1
    return ["mavslp"] if k == 1 else [f"mavslp{j + 1}" for j in range(k)]


@register_feature(
    "mavslp",
    "mean absolute value slope between consecutive segments",
    aliases=("MAVSLP",),
    labels=_mavslp_labels,
    min_samples=2,
)
def mavslp(windows: Input, segments: int = 2) -> np.ndarray:
    """Differences of the MAV of ``segments`` consecutive segments of ``round(N/segments)``.

    Returns ``(n, C)`` for 2 segments (LibEMG's default) and ``(n, C, segments - 1)``
    otherwise. LibEMG's reshape mixes windows for more than 2 segments (its output is
    ``(segments-1, n, C)`` reshaped to ``(n, -1)``); here values stay per window.
    """
    k = check_int(segments, "mavslp_segments", minimum=2)
    s = as_stats(windows)
    n = s.n_samples
    if n < k:
        raise ConfigError(f"mavslp needs at least {k} samples per window, got {n}")
    m = int(round(n / k))
    a = s.abs
    mavs = [a[..., i * m : (i + 1) * m].mean(axis=2) for i in range(k)]
    out = np.stack([mavs[i + 1] - mavs[i] for i in range(k - 1)], axis=2)
    return out[..., 0] if k == 2 else out


# -- moments and shape ------------------------------------------------------------------------
@register_feature("skew", "skewness (biased, as scipy.stats.skew)", aliases=("SKEW",))
def skew(windows: Input) -> np.ndarray:
    """Skewness ``m3 / m2^1.5`` with population moments (``scipy.stats.skew``, bias=True).

    A constant window gives 0 (scipy and LibEMG give NaN).
    """
    s = as_stats(windows)
    c = s.centered
    m3 = np.einsum("ijk,ijk,ijk->ij", c, c, c) / s.n_samples
    return safe_divide(m3, s.central2**1.5)


@register_feature("kurt", "kurtosis (Pearson, not excess; biased)", aliases=("KURT",))
def kurt(windows: Input) -> np.ndarray:
    """Pearson kurtosis ``m4 / m2^2`` (``scipy.stats.kurtosis(fisher=False)``, as LibEMG).

    A constant window gives 0 (scipy and LibEMG give NaN).
    """
    s = as_stats(windows)
    c2 = s.centered * s.centered
    m4 = np.einsum("ijk,ijk->ij", c2, c2) / s.n_samples
    return safe_divide(m4, s.central2**2)


def _hist_labels(params: dict[str, Any]) -> list[str]:
    return [f"hist{j + 1}" for j in range(int(params["bins"]))]


@register_feature(
    "hist",
    "amplitude histogram: counts in equal bins over mean +/- width*std",
    aliases=("HIST",),
    labels=_hist_labels,
)
def hist(windows: Input, bins: int = 9, width: float = 3.0) -> np.ndarray:
    """Histogram of the samples of each window and channel (LibEMG has no histogram).

    ``bins`` equal bins span ``mean +/- width * std`` of the window (so the feature does not
    depend on the signal's scale); samples outside fall into the first or last bin. A
    constant window puts every sample in the middle bin. Returns ``(n, C, bins)`` counts.
    """
    k = check_int(bins, "hist_bins")
    w = check_threshold(width, "hist_width")
    if w == 0:
        raise ConfigError("hist_width must be > 0")
    s = as_stats(windows)
    std = np.sqrt(s.central2)
    lo = s.mean - w * std
    scale = safe_divide(np.full_like(std, float(k)), 2 * w * std)
    idx = np.floor((s.x - lo[..., None]) * scale[..., None])
    idx[std == 0] = k // 2
    np.clip(idx, 0, k - 1, out=idx)
    n, c, _ = s.x.shape
    flat = idx.astype(np.int64) + (np.arange(n * c, dtype=np.int64) * k).reshape(n, c, 1)
    counts = np.bincount(flat.ravel(), minlength=n * c * k)
    return counts.reshape(n, c, k).astype(np.float64)


# -- Hjorth parameters (LibEMG's definitions) ---------------------------------------------------
@register_feature("act", "Hjorth activity: mean(x^2)", aliases=("ACT",))
def act(windows: Input) -> np.ndarray:
    """Hjorth activity as in LibEMG, ``m0 = mean(x_i^2)`` (uncentred power)."""
    s = as_stats(windows)
    return s.sq_sum / s.n_samples


@register_feature("mob", "Hjorth mobility: sqrt(m2 / m0)", aliases=("MOB",), min_samples=2)
def mob(windows: Input) -> np.ndarray:
    """Hjorth mobility ``sqrt(m2 / m0)``, ``m2 = sum(d_i^2) / N``, ``m0 = mean(x_i^2)``.

    0 for an all-zero window.
    """
    s = as_stats(windows)
    return np.sqrt(safe_divide(s.diff_sq_sum, s.sq_sum))


@register_feature("comp", "Hjorth complexity: sqrt(m4 / m2)", aliases=("COMP",), min_samples=3)
def comp(windows: Input) -> np.ndarray:
    """Hjorth complexity ``sqrt(m4 / m2)`` per window, ``m4 = sum(dd_i^2) / N``.

    Differs from LibEMG on purpose: LibEMG's COMP (2.0.3) sums ``m4`` over the whole
    batch of windows and channels (``np.sum`` without ``axis``), so its value depends on
    the other windows in the batch. Here ``m4`` is per window and channel, as its
    docstring intends. 0 for a window with ``m2 = 0``.
    """
    s = as_stats(windows)
    return np.sqrt(safe_divide(s.diff2_sq_sum, s.diff_sq_sum))


# -- invariant TD (ITD) --------------------------------------------------------------------
@register_feature(
    "cor",
    "coefficient of regularization: (sum(d^2)/N) / ((sum(dd^2)/N) * ISD)",
    aliases=("COR",),
    min_samples=3,
)
def cor(windows: Input) -> np.ndarray:
    """LibEMG's COR, ``normRSd1 / (normRSd2 * ISD)``."""
    s = as_stats(windows)
    n = s.n_samples
    with np.errstate(divide="ignore", invalid="ignore"):
        return (s.diff_sq_sum / n) / ((s.diff2_sq_sum / n) * s.sq_sum)


@register_feature("pap", "peak average power: m0 / (m4 / m2)", aliases=("PAP",), min_samples=3)
def pap(windows: Input) -> np.ndarray:
    """LibEMG's PAP, ``sqrt(sum x^2) / (sqrt(sum dd^2) / sqrt(sum d^2))``."""
    s = as_stats(windows)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(s.sq_sum) / (np.sqrt(s.diff2_sq_sum) / np.sqrt(s.diff_sq_sum))
