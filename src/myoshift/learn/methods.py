"""Named methods: a paper's recipe (windowing + estimator + adaptation) under one name.

Methods are read from YAML files, one per method, in ``myoshift/configs/methods/`` (package
data, so an installed package has them) and from every folder listed in
``MYOSHIFT_METHODS_DIR`` (separated by
``os.pathsep``, whose files override the built-in ones). A file looks like::

    name: lda-td
    kind: classical                 # or "deep"
    estimator: ClassicalClassifier  # or DeepClassifier
    citation: Hudgins et al. (1993) ...
    description: LDA on Hudgins' time-domain features
    window_ms: 200
    step_ms: 25
    params: {classifier: lda, features: hudgins-td}
    adapt: {mode: target}           # how `adapt` is called on calibration data
    recalibrate: lda-means          # optional: `recalibrate` without labels (a policy of
                                    # myoshift.learn.recalibration), as params.recalibrate_policy
    placement: labelled             # optional: armband placement compensation of the chain
                                    # (labelled | unlabelled; myoshift.learn.placement_align)

A variant names its base and states only what differs (``params`` and ``adapt`` are
merged key by key)::

    name: tcn-transfer-ring
    extends: tcn-transfer
    description: tcn-transfer with ring alignment before fine-tuning
    adapt: {align: ring}

A regression method names the auxiliary stream it predicts (``target: glove``) and a
regressor (``ClassicalRegressor`` or ``DeepRegressor``); the runner then samples that
stream at each window's end as the window's target and reports regression metrics.

Every registered deep architecture that takes raw windows and has no file of its own
gets a method with its name, the architecture's citation and its training recipe
(``EMGModel.recipe``). `build_estimator` turns a method into an unfitted estimator.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from myoshift.errors import ConfigError
from myoshift.learn.deep import DeepClassifier
from myoshift.learn.ensemble import ProbabilityEnsemble
from myoshift.learn.placement_align import check_mode
from myoshift.learn.recalibration import parse_policy
from myoshift.learn.registry import estimator_names, estimator_task, get_estimator_class
from myoshift.models import get_model_class, model_names
from myoshift.signal.steps import make_steps

log = logging.getLogger(__name__)

DEFAULT_DEEP_METHOD = "tcn"
DEFAULT_STEP_MS = 25.0
KINDS = ("classical", "deep", "ensemble")
_FIELDS = (
    "name",
    "kind",
    "estimator",
    "citation",
    "description",
    "window_ms",
    "step_ms",
    "params",
    "target",
    "preprocess",
    "represent",
    "aux",
    "recalibrate",
    "placement",
)


@dataclass(frozen=True)
class MethodSpec:
    """One named pipeline.

    Attributes
    ----------
    name : str
    citation : str
        The paper the recipe follows.
    description : str
    kind : {"classical", "deep", "ensemble"}
    window_ms, step_ms : float
        Windowing applied to recordings before the estimator.
    estimator : str
        A registered estimator name (`myoshift.learn.registry.estimator_names`, e.g.
        ``"ClassicalClassifier"``, ``"DeepClassifier"``, ``"ProbabilityEnsemble"``).
    params : dict
        Constructor parameters of the estimator (besides ``fs`` and ``seed``).
    adapt : dict
        How ``estimator.adapt`` calibrates (e.g. ``{"mode": "full", "epochs": 10}``);
        `build_estimator` passes it as the estimator's ``adapt_mode``/``adapt_epochs``/
        ``adapt_lr`` defaults, so ``est.adapt(X, y)`` follows the method's recipe.
    source : str
        File the method was read from, or ``"registry"`` for generated deep methods.
    target : str or None
        For regression methods, the auxiliary stream predicted (e.g. ``"glove"``);
        None for classification.
    preprocess : list of step specs or None
        Recording -> Recording steps (`myoshift.signal.steps`, e.g. ``[{"bandpass":
        {"low": 20, "high": 450}}]``); None: the dataset's declared preprocessing;
        ``[]``: the raw signal.
    represent : list of step specs or None
        Windows -> Windows steps fitted on the training windows (e.g. ``["standardize"]``).
    aux : tuple of str
        Auxiliary streams cut into windows of their own beside the EMG (``("imu",)``).
    placement : {None, "labelled", "unlabelled"}
        The chain's armband placement compensation (`MethodChain`'s ``placement``).
    """

    name: str
    citation: str
    description: str
    kind: str
    window_ms: float
    step_ms: float
    estimator: str
    params: dict[str, Any] = field(default_factory=dict)
    adapt: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    target: str | None = None
    preprocess: list[Any] | None = None
    represent: list[Any] | None = None
    aux: tuple[str, ...] = ()
    placement: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "citation": self.citation,
            "description": self.description,
            "window_ms": self.window_ms,
            "step_ms": self.step_ms,
            "estimator": self.estimator,
            "params": dict(self.params),
            "adapt": dict(self.adapt),
            "target": self.target,
            "preprocess": self.preprocess,
            "represent": self.represent,
            "aux": list(self.aux),
            **({"placement": self.placement} if self.placement else {}),  # cache keys kept
        }


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML parse error on one line: ``line L, column C: problem``."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"


def config_dirs() -> list[Path]:
    """Folders searched for method YAML files, lowest priority first."""
    builtin = Path(__file__).resolve().parents[1] / "configs" / "methods"
    extra = [Path(p) for p in os.environ.get("MYOSHIFT_METHODS_DIR", "").split(os.pathsep) if p]
    return [builtin, *extra]


def _deep_param_names() -> set[str]:
    return set(inspect.signature(DeepClassifier.__init__).parameters) - {"self"}


def spec_from_dict(d: dict[str, Any], source: str = "") -> MethodSpec:
    """Validate a method dictionary (as read from YAML) into a `MethodSpec`."""
    where = source or "method config"
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected a mapping of method fields")
    unknown = set(d) - set(_FIELDS) - {"adapt"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown fields {sorted(unknown)}; valid: {', '.join(_FIELDS)}, adapt"
        )
    for key in ("name", "kind", "estimator"):
        if not isinstance(d.get(key), str) or not d[key]:
            raise ConfigError(f"{where}: field {key!r} must be a non-empty string")
    if d["kind"] not in KINDS:
        raise ConfigError(f"{where}: kind must be one of {KINDS}, got {d['kind']!r}")
    if d["estimator"] not in estimator_names():
        raise ConfigError(
            f"{where}: estimator must be one of {estimator_names()}, got {d['estimator']!r}"
        )
    target = d.get("target")
    is_regressor = estimator_task(d["estimator"]) == "regression"
    if is_regressor != (target is not None):
        raise ConfigError(
            f"{where}: a regression method needs both a regressor estimator "
            f"({', '.join(estimator_names('regression'))}) and 'target' (the auxiliary "
            "stream to predict); "
            f"got estimator {d['estimator']!r} and target {target!r}"
        )
    if target is not None and (not isinstance(target, str) or not target):
        raise ConfigError(f"{where}: field 'target' must be a stream name such as 'glove'")
    params = dict(d.get("params") or {})
    if d.get("recalibrate") is not None:  # the estimator's recalibrate_policy
        parse_policy(d["recalibrate"], f"{where}: recalibrate")
        params["recalibrate_policy"] = d["recalibrate"]
    citation = d.get("citation") or ""
    window_ms = d.get("window_ms")
    if d["kind"] == "deep":
        model = str(params.setdefault("model", d["name"]))
        cls = get_model_class(model)  # ConfigError when not registered
        citation = citation or cls.citation
        window_ms = window_ms or cls.recipe.get("window_ms")
    if not citation:
        raise ConfigError(f"{where}: field 'citation' is required")
    try:
        window = float(window_ms)  # type: ignore[arg-type]
        step = float(d.get("step_ms") or DEFAULT_STEP_MS)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: window_ms and step_ms must be numbers") from None
    if window <= 0 or step <= 0:
        raise ConfigError(f"{where}: window_ms and step_ms must be positive")
    steps = {}
    for kind in ("preprocess", "represent"):
        steps[kind] = None if d.get(kind) is None else list(d[kind])
        make_steps(kind, steps[kind], f"{where}: method {d['name']!r}")  # validates names
    aux = d.get("aux") or ()
    if isinstance(aux, str) or not all(isinstance(a, str) for a in aux):
        raise ConfigError(f"{where}: field 'aux' must be a list of stream names, got {aux!r}")
    return MethodSpec(
        name=d["name"],
        citation=str(citation).strip(),
        description=str(d.get("description") or "").strip(),
        kind=d["kind"],
        window_ms=window,
        step_ms=step,
        estimator=d["estimator"],
        params=params,
        adapt=dict(d.get("adapt") or {}),
        source=source,
        target=target,
        preprocess=steps["preprocess"],
        represent=steps["represent"],
        aux=tuple(aux),
        placement=check_mode(d.get("placement"), f"{where}: field 'placement'"),
    )


def _spec_for_model(name: str) -> MethodSpec | None:
    cls = get_model_class(name)
    kind = cls.input_kind if isinstance(cls.input_kind, str) else "raw"  # may be a property
    if "classification" not in cls.tasks or kind != "raw":
        return None
    allowed = _deep_param_names() - {"model", "model_params", "seed", "device", "threads"}
    params = {"model": name, **{k: v for k, v in cls.recipe.items() if k in allowed}}
    doc = (inspect.getdoc(cls) or "").splitlines()
    return MethodSpec(
        name=name,
        citation=cls.citation,
        description=doc[0] if doc else name,
        kind="deep",
        window_ms=float(cls.recipe.get("window_ms", 260)),
        step_ms=float(cls.recipe.get("step_ms", DEFAULT_STEP_MS)),
        estimator="DeepClassifier",
        params=params,
        adapt={"mode": "full", "epochs": 10},
        source="registry",
    )


def _read_configs() -> dict[str, tuple[dict[str, Any], Path]]:
    """Raw method dicts by name from every config folder (later folders override)."""
    raws: dict[str, tuple[dict[str, Any], Path]] = {}
    for d in config_dirs():
        for path in sorted(d.glob("*.y*ml")):
            try:
                raw = yaml.safe_load(path.read_text())
            except yaml.YAMLError as exc:
                raise ConfigError(f"{path}: invalid YAML ({yaml_problem(exc)})") from None
            if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
                raise ConfigError(f"{path}: expected a mapping with a 'name' field")
            raws[raw["name"]] = (raw, path)
    return raws


def _resolve_extends(
    name: str, raws: dict[str, tuple[dict[str, Any], Path]], seen: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The raw dict of ``name`` with its ``extends`` chain merged in.

    A method that ``extends: BASE`` takes every field of BASE (a config file's method or
    a generated deep method) and replaces those it gives; ``params`` and ``adapt`` are
    merged key by key, so a variant states only what differs.
    """
    raw, path = raws[name]
    base_name = raw.get("extends")
    if base_name is None:
        return raw
    if base_name in (*seen, name):
        raise ConfigError(
            f"{path}: 'extends' forms a cycle: {' -> '.join((*seen, name, base_name))}"
        )
    if base_name in raws:
        base = _resolve_extends(base_name, raws, (*seen, name))
    elif base_name in model_names() and (generated := _spec_for_model(base_name)) is not None:
        base = generated.to_dict()
    else:
        raise ConfigError(f"{path}: extends unknown method {base_name!r}")
    merged = {**base, **{k: v for k, v in raw.items() if k != "extends"}}
    for key in ("params", "adapt"):
        merged[key] = {**(base.get(key) or {}), **(raw.get(key) or {})}
    return merged


def _load_all() -> dict[str, MethodSpec]:
    import myoshift.models as _models  # noqa: F401  (architectures register on import)

    raws = _read_configs()
    specs: dict[str, MethodSpec] = {}
    for name, (_, path) in raws.items():
        raw = _resolve_extends(name, raws)
        if raw.get("kind") == "deep":
            model = (raw.get("params") or {}).get("model", raw.get("name"))
            if model not in model_names():
                log.debug("%s: model %r not registered; method skipped", path, model)
                continue
        spec = spec_from_dict(raw, str(path))
        specs[spec.name] = spec
    for name in model_names():
        if name not in specs:
            generated = _spec_for_model(name)
            if generated is not None:
                specs[name] = generated
    return specs


def methods() -> dict[str, MethodSpec]:
    """Every available method by name (read afresh: config files may change)."""
    return _load_all()


def method_names() -> list[str]:
    """Sorted names of every available method."""
    return sorted(_load_all())


def get_method(name: str) -> MethodSpec:
    """The method called ``name``; `ConfigError` listing the valid names otherwise."""
    specs = _load_all()
    if name not in specs:
        raise ConfigError(f"unknown method {name!r}; valid methods: {', '.join(sorted(specs))}")
    return specs[name]


def _member_entries(name: str, params: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """An ensemble method's ``members`` as ``(method name, parameters)`` pairs, checked."""
    out = []
    for i, m in enumerate(params.get("members") or []):
        if not isinstance(m, dict) or not isinstance(m.get("method"), str):
            raise ConfigError(
                f"method {name!r}: member {i} must be {{method: NAME, params: {{...}}}}, got {m!r}"
            )
        out.append((m["method"], dict(m.get("params") or {})))
    return out


def _members(spec: MethodSpec, fs: float | None, seed: int) -> list[tuple[str, Any]]:
    """An ensemble method's member estimators, built from their method names.

    Every member gets the ensemble's windowing, so all of them see the same windows.
    """
    out = []
    for i, (name, given) in enumerate(_member_entries(spec.name, spec.params)):
        member = get_method(name)
        if member.estimator == spec.estimator:
            raise ConfigError(f"method {spec.name!r}: member {i}: ensembles cannot nest")
        params = {"window_ms": spec.window_ms, "step_ms": spec.step_ms, **given}
        out.append((member.name, build_estimator(member, fs, seed, **params)))
    return out


def referenced_methods(
    estimator: str, params: Mapping[str, Any], owner: str = ""
) -> dict[str, MethodSpec]:
    """Every registered method an estimator's parameters build it from, by name.

    Those are an ensemble's ``members`` and the nested estimators (``_child_params``)
    given by method name, such as `EmbeddingClassifier`'s ``deep`` (its default
    included), then the methods those name, recursively; each once, so a cycle ends.
    ``owner`` names the method in messages.
    """
    found: dict[str, MethodSpec] = {}
    todo = [(estimator, dict(params), owner)]
    while todo:
        est_name, given, where = todo.pop(0)
        cls = get_estimator_class(est_name)
        named: list[tuple[str, dict[str, Any]]] = []
        if issubclass(cls, ProbabilityEnsemble):  # a member's entry params override its own
            named += _member_entries(where, given)
        defaults = inspect.signature(cls).parameters
        for p in getattr(cls, "_child_params", ()):
            value = given.get(p, defaults[p].default if p in defaults else None)
            if isinstance(value, str):
                named.append((value, {}))
        for name, entry in named:
            if name not in found:
                found[name] = spec = get_method(name)
                todo.append((spec.estimator, {**spec.params, **entry}, name))
    return found


def build_estimator(
    spec_or_name: MethodSpec | str, fs: float | None = None, seed: int = 0, **overrides: Any
) -> Any:
    """An unfitted estimator for a method.

    Parameters
    ----------
    spec_or_name : MethodSpec or str
    fs : float or None
        Sampling rate of the data (used by feature extraction).
    seed : int
    **overrides
        Estimator parameters replacing the method's (e.g. ``epochs=5``, ``device="cuda"``).
    """
    spec = get_method(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name
    cls = get_estimator_class(spec.estimator)
    if issubclass(cls, ProbabilityEnsemble):  # members built from their own methods
        accepted = set(inspect.signature(cls).parameters)
        own = accepted - {"estimators", "seed", "name"}
        bad = set(overrides) - own
        if bad:
            raise ConfigError(
                f"method {spec.name!r}: an ensemble takes only "
                f"{', '.join(map(repr, sorted(own)))} as override, got "
                f"{sorted(bad)} (override its members' own methods instead)"
            )
        params = {k: v for k, v in spec.params.items() if k != "members"} | overrides
        if set(params) - own:
            raise ConfigError(
                f"method {spec.name!r}: unknown {spec.estimator} parameters "
                f"{sorted(set(params) - own)}; valid: members, {', '.join(sorted(own))}"
            )
        given = {"seed": seed, "name": spec.name}
        params |= {k: v for k, v in given.items() if k in accepted}
        return cls(_members(spec, fs, seed), **params)
    adapt = {f"adapt_{k}": v for k, v in spec.adapt.items()}
    window = {"window_ms": spec.window_ms, "step_ms": spec.step_ms}  # for recording input
    params = {**adapt, **window, **spec.params, **overrides, "seed": seed}
    valid = set(inspect.signature(cls).parameters)
    if "fs" in valid:
        params["fs"] = fs
    bad = set(params) - valid
    if bad:
        raise ConfigError(
            f"method {spec.name!r}: unknown {spec.estimator} parameters {sorted(bad)}; "
            f"valid: {', '.join(sorted(valid))}"
        )
    return cls(**params)
