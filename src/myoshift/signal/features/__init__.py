"""Handcrafted EMG features, vectorised over ``(n_windows, n_channels, n_samples)``.

One feature = one small function (``time_domain``, ``tdpsd``, ``frequency``,
``autoregressive``, ``entropy``); a group = a list of names (``groups``). The public entry
points are `extract_features` (on window arrays), `features_from_signal` and
`features_from_recordings` (straight from continuous signals with running sums) and
`list_features`.

Column order: feature-major in the requested order (LibEMG's ``array=True`` order), then
channel, then value for multi-valued features (``ar1_ch0 .. ar4_ch0, ar1_ch1, ...``).
"""

from myoshift.signal.features import (  # noqa: F401  (registration side effects)
    autoregressive,
    entropy,
    frequency,
    tdpsd,
    time_domain,
)
from myoshift.signal.features import groups as _groups  # noqa: F401
from myoshift.signal.features._stats import WindowStats
from myoshift.signal.features.extract import extract_features, list_features
from myoshift.signal.features.fast import (
    RUNNING_FEATURES,
    FeatureTable,
    features_from_recordings,
    features_from_signal,
    features_from_signals,
)
from myoshift.signal.features.registry import FEATURE_GROUPS, FEATURES, Feature

__all__ = [
    "FEATURES",
    "FEATURE_GROUPS",
    "RUNNING_FEATURES",
    "Feature",
    "FeatureTable",
    "WindowStats",
    "extract_features",
    "features_from_recordings",
    "features_from_signal",
    "features_from_signals",
    "list_features",
]
