"""What the runner evaluates: a `Method`, the recipe that builds a fresh `MethodChain`.

A `Method` is a name, a factory ``build(fs, seed) -> estimator`` (over windows), the
windowing, the preprocess / represent steps and, for regression, the auxiliary stream
it predicts. Registered methods (YAML files, `myoshift.learn.methods`) resolve to one
with `resolve_method`; any estimator with ``fit(windows, y)`` / ``predict`` can be
wrapped directly as ``Method("mine", lambda fs, seed: MyEstimator(), 200, 25)``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from myoshift.errors import ConfigError
from myoshift.learn.chain import MethodChain
from myoshift.learn.methods import (
    DEFAULT_DEEP_METHOD,
    build_estimator,
    get_method,
    referenced_methods,
)
from myoshift.learn.placement_align import check_mode
from myoshift.learn.registry import estimator_names
from myoshift.recording import Recording
from myoshift.signal.preprocess import dataset_preprocess
from myoshift.signal.steps import make_steps


@dataclass(frozen=True)
class Method:
    """A named recipe the runner can evaluate.

    Attributes
    ----------
    name : str
    build : callable
        ``build(fs, seed) -> estimator`` with ``fit(windows, y)``, ``predict(windows)``
        and, for calibration budgets > 0, ``adapt(windows, y)``; windows are
        `myoshift.signal.Windows` (with layout, groups, metadata; ``np.asarray(w.X)``
        gives the ``(n, C, T)`` array).
    window_ms, step_ms : float
        Windowing applied to train, calibration and test recordings.
    params : dict
        JSON-able description (part of the result cache key).
    target : str or None
        Regression: the auxiliary stream (e.g. ``"glove"``) predicted at each window's
        end (scored with RMSE, R², Pearson r, NMSE). None: classification of labels.
    preprocess, represent : list of step specs or None
        See `MethodChain`; ``preprocess=None`` applies the dataset's declared steps.
    aux : tuple of str
        Auxiliary streams cut into windows beside the EMG.
    placement : {None, "labelled", "unlabelled"}
        The chain's armband placement compensation (`MethodChain`).
    """

    name: str
    build: Callable[[float, int], Any]
    window_ms: float = 200.0
    step_ms: float = 50.0
    params: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    preprocess: list[Any] | None = None
    represent: list[Any] | None = None
    aux: tuple[str, ...] = ()
    placement: str | None = None

    def chain(self, fs: float, seed: int) -> MethodChain:
        """A fresh, unfitted chain for data sampled at ``fs``."""
        return MethodChain(
            self.build(fs, seed),
            self.window_ms,
            self.step_ms,
            self.preprocess,
            self.represent,
            self.target,
            self.aux,
            self.name,
            self.placement,
        )

    def cache_params(self, recordings: Sequence[Recording]) -> dict[str, Any]:
        """``params`` plus the preprocessing that will really run on ``recordings`` and
        the recipe of every registered method the estimator is built from (members, a
        ``deep`` network, recursively; `referenced_methods`): editing one of those
        methods changes the key. Methods built from none keep their keys."""
        pre = dataset_preprocess(recordings) if self.preprocess is None else self.preprocess
        out = {**self.params, "preprocess": pre}
        if self.represent:
            out["represent"] = self.represent
        if self.aux:
            out["aux"] = list(self.aux)
        referenced = _referenced_recipes(self.name, self.params)
        if referenced:
            out["referenced_methods"] = referenced
        return json.loads(json.dumps(out, default=str))  # type: ignore[no-any-return]


def _referenced_recipes(name: str, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The recipes (without citation and description) of the registered methods that the
    estimator of a registered method's ``params`` (`resolve_method`) is built from."""
    estimator, given = params.get("estimator"), params.get("params")
    if estimator not in estimator_names() or not isinstance(given, dict):
        return {}  # a Method wrapping an estimator of its own
    merged = {**given, **(params.get("overrides") or {})}
    found = referenced_methods(str(estimator), merged, owner=name)
    skip = ("citation", "description")
    return {n: {k: v for k, v in s.to_dict().items() if k not in skip} for n, s in found.items()}


#: methods of a run that names none: the LDA baseline and the default deep method, the
#: latter with a lighter recipe so the built-in benchmark finishes in a few minutes on a
#: 2-core laptop (``methods=["lda-td", "tcn"]`` runs the full recipe)
DEFAULT_METHODS = ("lda-td", DEFAULT_DEEP_METHOD)
QUICK_DEEP = {"step_ms": 200, "epochs": 5, "patience": None}


def default_methods() -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The methods and overrides of a run that names no methods (CLI and API alike)."""
    return list(DEFAULT_METHODS), {DEFAULT_DEEP_METHOD: dict(QUICK_DEEP)}


def _build_registered(name: str, overrides: dict[str, Any], fs: float, seed: int) -> Any:
    return build_estimator(name, fs, seed, **overrides)


def resolve_method(method: str | Method | Any, overrides: dict[str, Any] | None = None) -> Method:
    """A `Method` from a registered method name, a `MethodSpec` or a `Method`.

    ``overrides`` replace the method's ``window_ms`` / ``step_ms``, ``placement``,
    ``preprocess`` / ``represent`` steps (``{"preprocess": []}``: the raw signal) and
    estimator parameters (e.g. ``{"epochs": 5, "device": "cuda"}``); they are part of the
    cache key.
    """
    overrides = dict(overrides or {})
    reserved = sorted({"seed", "fs"} & set(overrides))
    if reserved:
        raise ConfigError(
            f"{reserved} cannot be overridden per method: the runner sets them (seeds: "
            "run_benchmark(seeds=...) / --seed; fs: the data's rate)"
        )
    if isinstance(method, Method):
        if overrides:
            raise ConfigError(f"overrides apply to registered methods, not {method.name!r}")
        return method
    spec = get_method(method) if isinstance(method, str) else method
    window_ms = float(overrides.pop("window_ms", spec.window_ms))
    step_ms = float(overrides.pop("step_ms", spec.step_ms))
    steps = {k: overrides.pop(k, getattr(spec, k)) for k in ("preprocess", "represent")}
    placement = check_mode(overrides.pop("placement", spec.placement), f"method {spec.name!r}")
    for kind, specs in steps.items():
        make_steps(kind, specs, f"method {spec.name!r} (override)")
    # the rest are estimator parameters: an unknown one is a ConfigError now, not per fold
    build_estimator(spec, None, 0, **overrides)
    params: dict[str, Any] = {
        "estimator": str(spec.estimator),
        "params": spec.params,
        "adapt": spec.adapt,
        "overrides": overrides,
    }
    if spec.target is not None:
        params["target"] = spec.target
    if placement is not None:
        params["placement"] = placement
    return Method(
        spec.name,
        functools.partial(_build_registered, spec.name, overrides),
        window_ms,
        step_ms,
        json.loads(json.dumps(params, default=str)),
        spec.target,
        steps["preprocess"],
        steps["represent"],
        spec.aux,
        placement,
    )
