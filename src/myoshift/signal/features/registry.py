"""Feature registry: one entry per feature (name, function, parameters), and named groups.

A feature is a small function ``f(windows, *, <params>) -> ndarray`` over a
``(n_windows, n_channels, n_samples)`` array (or a shared `WindowStats`) returning
``(n_windows, n_channels)`` or, for multi-valued features (AR coefficients, histogram,
...), ``(n_windows, n_channels, k)``. A group is a list of feature names.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from myoshift.errors import ConfigError


@dataclass(frozen=True)
class Feature:
    """One registered feature.

    Attributes
    ----------
    name : str
        Lower-case name used in column names (``"mav"``).
    func : callable
        ``func(windows, **params) -> (n, C) or (n, C, k)``.
    description : str
        One line for `list_features`.
    aliases : tuple of str
        Other accepted names (LibEMG's upper-case name, ...), matched case-insensitively.
    defaults : dict
        Keyword parameters of ``func`` and their defaults (``fs`` excluded).
    needs_fs : bool
        True when ``func`` needs the sampling rate ``fs`` (frequency features).
    labels : callable or None
        ``labels(params) -> list[str]`` for multi-valued features (e.g. ``ar1..ar4``).
    min_samples : int
        Fewest samples per window for a defined value.
    """

    name: str
    func: Callable[..., Any]
    description: str
    aliases: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    needs_fs: bool = False
    labels: Callable[[dict[str, Any]], list[str]] | None = None
    min_samples: int = 1

    def output_labels(self, params: dict[str, Any]) -> list[str]:
        """Names of the values per channel (``[name]`` for single-valued features)."""
        return [self.name] if self.labels is None else self.labels({**self.defaults, **params})


FEATURES: dict[str, Feature] = {}
_ALIASES: dict[str, str] = {}

#: Named feature groups. Column order inside a group follows LibEMG's group definitions.
FEATURE_GROUPS: dict[str, list[str]] = {}
_GROUP_ALIASES: dict[str, str] = {}
GROUP_DESCRIPTIONS: dict[str, str] = {}


def register_feature(
    name: str,
    description: str,
    aliases: tuple[str, ...] = (),
    labels: Callable[[dict[str, Any]], list[str]] | None = None,
    min_samples: int = 1,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a feature function under ``name`` (lower case)."""

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func)
        params = list(sig.parameters.values())[1:]
        defaults = {p.name: p.default for p in params if p.name != "fs"}
        needs_fs = "fs" in sig.parameters
        key = name.lower()
        if key in FEATURES:
            raise ConfigError(f"feature {key!r} is already registered")
        FEATURES[key] = Feature(
            key, func, description, aliases, defaults, needs_fs, labels, min_samples
        )
        _ALIASES[key] = key
        for a in aliases:
            _ALIASES[a.lower()] = key
        return func

    return deco


def register_group(
    name: str, features: list[str], description: str, aliases: tuple[str, ...] = ()
) -> None:
    """Register a named group of features (names must already be registered)."""
    members = [resolve_feature(f) for f in features]
    FEATURE_GROUPS[name] = members
    GROUP_DESCRIPTIONS[name] = description
    _GROUP_ALIASES[name.lower()] = name
    for a in aliases:
        _GROUP_ALIASES[a.lower()] = name


def resolve_feature(name: str) -> str:
    """Canonical feature name for ``name`` or one of its aliases (case-insensitive)."""
    key = _ALIASES.get(str(name).lower())
    if key is None:
        raise ConfigError(
            f"unknown feature {name!r}; valid features: {', '.join(sorted(FEATURES))}; "
            f"groups: {', '.join(sorted(FEATURE_GROUPS))}"
        )
    return key


def resolve_features(features: str | list[str] | tuple[str, ...]) -> list[str]:
    """Expand a group name, a feature name or a list of them into feature names.

    Duplicates are kept once, at their first position.
    """
    items = [features] if isinstance(features, str) else list(features)
    if not items:
        raise ConfigError("no features requested")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"feature names must be strings, got {item!r}")
        group = _GROUP_ALIASES.get(item.lower())
        names = FEATURE_GROUPS[group] if group is not None else [resolve_feature(item)]
        out.extend(n for n in names if n not in out)
    return out


def split_params(names: list[str], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Route ``<feature>_<param>=value`` keywords (LibEMG style) to each feature.

    Keys are case-insensitive (``SSC_threshold`` = ``ssc_threshold``) and may use any alias
    of the feature. A key for a feature that is not requested is ignored (so one parameter
    set can serve several feature lists); an unknown parameter of a requested feature, or
    a key naming no feature at all, raises `ConfigError`.
    """
    routed: dict[str, dict[str, Any]] = {n: {} for n in names}
    for key, value in params.items():
        prefix, sep, pname = key.partition("_")
        target = _ALIASES.get(prefix.lower())
        if not sep or target is None:
            raise ConfigError(
                f"parameter {key!r} must be '<feature>_<param>' (e.g. 'ssc_threshold', "
                f"'ar_order'); valid features: {', '.join(sorted(FEATURES))}"
            )
        feat = FEATURES[target]
        if pname.lower() not in feat.defaults:
            valid = ", ".join(f"{target}_{p}" for p in feat.defaults) or "none"
            raise ConfigError(f"feature {target!r} has no parameter {pname!r}; valid: {valid}")
        if target in routed:
            routed[target][pname.lower()] = value
    return routed
