"""Named, parameterised processing steps that methods declare and estimators save.

A method's YAML lists two chains of steps:

* ``preprocess`` steps map a `Recording` (or every recording of a `RecordingSet`) to a
  new one: filters, notch, DC removal, per-subject scaling, resampling
  (`myoshift.signal.preprocess`);
* ``represent`` steps map `Windows` to new `Windows`: spectrogram, PCA,
  standardisation, wavelet-packet images (`myoshift.signal.represent`).

Every step follows one contract (`Step`): parameters validated at construction,
``fit`` on training data only, ``transform`` anything else, and ``state`` /
``set_state`` to save the fitted arrays beside the estimator (safetensors + JSON through
`steps_to_json` / `steps_from_json`, never pickle). Steps register by name
(`register_step`) and are built from YAML list items by `make_step`::

    preprocess:
      - dc-remove                            # a bare name: default parameters
      - bandpass: {low: 20, high: 450}       # name -> parameters
      - {name: notch, freq: 50}              # a mapping with a "name" key

The built-in steps register when their modules are imported (``myoshift.signal``
imports both).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np

from myoshift.errors import ConfigError, ModelFileError
from myoshift.jsonable import plain

StepKind = Literal["preprocess", "represent"]
KINDS: tuple[str, ...] = ("preprocess", "represent")

__all__ = [
    "KINDS",
    "Step",
    "StepKind",
    "apply_steps",
    "fit_steps",
    "make_step",
    "make_steps",
    "register_step",
    "step_names",
    "steps_from_json",
    "steps_to_json",
]


class Step:
    """One named processing step; subclasses set ``name``, ``kind`` and the methods.

    Parameters are the keyword arguments of the subclass's ``__init__``, stored as
    attributes of the same names (scikit-learn's convention), so that `params` can
    rebuild the step. Fitted arrays live in a dict read by `state`.

    Attributes
    ----------
    name : str
        Registry name used in YAML (e.g. ``"bandpass"``).
    kind : {"preprocess", "represent"}
    state_keys : tuple of str
        Names of the fitted arrays (empty for stateless steps).
    """

    name: ClassVar[str]
    kind: ClassVar[StepKind]
    state_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self._state: dict[str, np.ndarray] = {}

    # -- parameters -------------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        """The constructor's keyword parameters, in signature order."""
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def params(self) -> dict[str, Any]:
        """The constructor parameters as plain JSON-able values (enough to rebuild)."""
        return {p: plain(getattr(self, p), other=lambda v: v) for p in self.param_names()}

    def error(self, problem: str) -> ConfigError:
        """A `ConfigError` naming this step: ``step 'name': problem``."""
        return ConfigError(f"step {self.name!r}: {problem}")

    @property
    def is_causal(self) -> bool:
        """Whether the step can run sample by sample (or window by window) on a stream."""
        return True

    # -- fitting ----------------------------------------------------------------------
    def fit(self, data: Any) -> Step:
        """Learn the step's state from training data (default: stateless, no-op)."""
        self.check_input(data)
        return self

    def transform(self, data: Any) -> Any:
        """Apply the step; returns data of the input's type."""
        raise NotImplementedError

    def fit_transform(self, data: Any) -> Any:
        """``fit(data)`` then ``transform(data)``."""
        return self.fit(data).transform(data)

    def check_input(self, data: Any) -> None:
        """Raise `ConfigError` when ``data`` is not what this kind of step takes."""

    # -- state ------------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return all(k in self._state for k in self.state_keys)

    def fitted(self, key: str) -> np.ndarray:
        """One fitted array; `ConfigError` when the step has not been fitted."""
        if key not in self._state:
            raise self.error("not fitted; call fit() on training data first")
        return self._state[key]

    def state(self) -> dict[str, np.ndarray]:
        """The fitted arrays (``{}`` for stateless steps)."""
        if not self.is_fitted:
            raise self.error("not fitted; nothing to save")
        return {k: self._state[k] for k in self.state_keys}

    def set_state(self, arrays: Mapping[str, Any]) -> Step:
        """Restore the fitted arrays saved by `state`; returns ``self``."""
        got, want = set(arrays), set(self.state_keys)
        if got != want:
            raise self.error(
                f"state has arrays {sorted(got)}, expected {sorted(want)} "
                "(saved by another version of the step?)"
            )
        self._state = {k: np.asarray(arrays[k]) for k in self.state_keys}
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


# ---------------------------------------------------------------------------------------
# parameter checks shared by the step modules
# ---------------------------------------------------------------------------------------
def check_number(
    step: str,
    param: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    open_low: bool = False,
) -> Any:
    """``value`` as a finite number (an int when ``integer``) in ``[low, high]``.

    ``open_low`` makes the lower bound strict. Raises a one-line `ConfigError` naming
    the step and the parameter.
    """
    kind = "an integer" if integer else "a number"
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = bool(np.isfinite(v)) and (not integer or v == int(v))
    if not ok:
        raise ConfigError(f"step {step!r}: {param} must be {kind}, got {value!r}")
    out = int(value) if integer else float(value)
    too_low = low is not None and (out <= low if open_low else out < low)
    if too_low or (high is not None and out > high):
        lo = "" if low is None else f"{'>' if open_low else '>='} {low}"
        hi = "" if high is None else f"<= {high}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        raise ConfigError(f"step {step!r}: {param} must be {bounds}, got {value!r}")
    return out


def check_choice(step: str, param: str, value: Any, choices: Sequence[Any]) -> Any:
    """``value`` if it is one of ``choices``, else a one-line `ConfigError`."""
    if value not in choices:
        valid = ", ".join(map(str, choices))
        raise ConfigError(f"step {step!r}: {param} must be one of {valid}; got {value!r}")
    return value


# ---------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------
_REGISTRY: dict[str, dict[str, type[Step]]] = {k: {} for k in KINDS}
S = TypeVar("S", bound=type[Step])


def register_step(cls: S) -> S:
    """Class decorator adding a `Step` subclass to the registry under its ``name``."""
    kind = getattr(cls, "kind", None)
    name = getattr(cls, "name", None)
    if kind not in KINDS:
        raise ConfigError(f"step class {cls.__name__}: kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"step class {cls.__name__}: name must be a non-empty string")
    known = _REGISTRY[kind].get(name)
    if known is not None and known is not cls:
        raise ConfigError(
            f"{kind} step {name!r} registered twice ({known.__name__}, {cls.__name__})"
        )
    _REGISTRY[kind][name] = cls
    return cls


def _check_kind(kind: Any, where: str) -> str:
    if kind not in KINDS:
        raise ConfigError(f"{_at(where)}step kind must be one of {', '.join(KINDS)}; got {kind!r}")
    return str(kind)


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def step_names(kind: str) -> list[str]:
    """Sorted names of the registered steps of one kind."""
    return sorted(_REGISTRY[_check_kind(kind, "")])


def _parse_spec(kind: str, spec: Any, where: str) -> tuple[str, dict[str, Any]]:
    """``(name, params)`` from a YAML list item (see the module docstring)."""
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping):
        if "name" in spec:
            params = {str(k): v for k, v in spec.items() if k != "name"}
            return str(spec["name"]), params
        if len(spec) == 1:
            name, params = next(iter(spec.items()))
            if params is None:
                params = {}
            if not isinstance(params, Mapping):
                raise ConfigError(
                    f"{_at(where)}{kind} step {name!r}: parameters must be a mapping "
                    f"(e.g. {{{name}: {{param: value}}}}), got {params!r}"
                )
            return str(name), {str(k): v for k, v in params.items()}
    raise ConfigError(
        f"{_at(where)}a {kind} step must be a name, {{name: {{params}}}} or "
        f"{{name: ..., param: value}}; got {spec!r}"
    )


def make_step(kind: str, spec: Any, where: str = "") -> Step:
    """Build one step from a YAML list item, a `Step` instance passing through.

    Parameters
    ----------
    kind : {"preprocess", "represent"}
    spec : str, mapping or Step
        ``"bandpass"``, ``{"bandpass": {"low": 20}}`` or ``{"name": "bandpass", "low": 20}``.
    where : str
        Where the spec comes from (a file, a method), put at the start of errors.

    Raises
    ------
    ConfigError
        Unknown step, a step of the other kind, an unknown parameter or a bad value.
    """
    kind = _check_kind(kind, where)
    if isinstance(spec, Step):
        if spec.kind != kind:
            raise ConfigError(f"{_at(where)}{spec.name!r} is a {spec.kind} step, not a {kind} one")
        return spec
    name, params = _parse_spec(kind, spec, where)
    cls = _REGISTRY[kind].get(name)
    if cls is None:
        other = [k for k in KINDS if k != kind and name in _REGISTRY[k]]
        if other:
            raise ConfigError(
                f"{_at(where)}{name!r} is a {other[0]} step and cannot be used as a {kind} step"
            )
        valid = ", ".join(step_names(kind)) or (
            f"none registered (import myoshift.signal.{kind} to register the built-in steps)"
        )
        raise ConfigError(f"{_at(where)}unknown {kind} step {name!r}; valid: {valid}")
    allowed = cls.param_names()
    unknown = [p for p in params if p not in allowed]
    if unknown:
        raise ConfigError(
            f"{_at(where)}{kind} step {name!r} has no parameter {unknown[0]!r}; "
            f"valid: {', '.join(allowed) or 'none'}"
        )
    try:
        return cls(**params)
    except ConfigError as exc:
        raise ConfigError(f"{_at(where)}{exc}") from None
    except TypeError as exc:  # a required parameter is missing
        raise ConfigError(f"{_at(where)}{kind} step {name!r}: {exc}") from None


def make_steps(kind: str, specs: Iterable[Any] | None, where: str = "") -> list[Step]:
    """Build a chain of steps from a YAML list (``None`` -> empty chain)."""
    if specs is None:
        return []
    if isinstance(specs, (str, Mapping)) or not isinstance(specs, Iterable):
        raise ConfigError(f"{_at(where)}{kind} must be a list of steps, got {specs!r}")
    return [make_step(kind, spec, where) for spec in specs]


# ---------------------------------------------------------------------------------------
# chains
# ---------------------------------------------------------------------------------------
def fit_steps(steps: Sequence[Step], data: Any) -> Any:
    """Fit each step on the output of the previous one; returns the transformed data."""
    for step in steps:
        data = step.fit_transform(data)
    return data


def apply_steps(steps: Sequence[Step], data: Any) -> Any:
    """Transform ``data`` through fitted steps, in order."""
    for step in steps:
        data = step.transform(data)
    return data


def steps_to_json(steps: Sequence[Step]) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """A fitted chain as JSON documents and named arrays (for a safetensors file).

    Returns
    -------
    docs : list of dict
        ``{"name", "kind", "params", "state"}`` per step (``state``: its array keys).
    arrays : dict of str to ndarray
        Fitted arrays keyed ``"<kind>.<position>.<key>"``, e.g. ``"represent.0.mean"``.
    """
    docs: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    for i, step in enumerate(steps):
        state = step.state()
        docs.append(
            {"name": step.name, "kind": step.kind, "params": step.params(), "state": sorted(state)}
        )
        for key, value in state.items():
            arrays[f"{step.kind}.{i}.{key}"] = np.ascontiguousarray(value)
    return docs, arrays


def steps_from_json(
    kind: str, docs: Sequence[Mapping[str, Any]], arrays: Mapping[str, Any]
) -> list[Step]:
    """Rebuild a fitted chain saved by `steps_to_json`.

    Raises
    ------
    ModelFileError
        A document of another kind, or a missing array.
    ConfigError
        A step or parameter this version does not know.
    """
    kind = _check_kind(kind, "saved steps")
    steps = []
    for i, doc in enumerate(docs):
        if doc.get("kind", kind) != kind or "name" not in doc:
            raise ModelFileError(f"saved {kind} step {i} is malformed: {dict(doc)!r}")
        step = make_step(kind, {"name": doc["name"], **doc.get("params", {})}, "saved steps")
        keys = list(doc.get("state", []))
        missing = [f"{kind}.{i}.{k}" for k in keys if f"{kind}.{i}.{k}" not in arrays]
        if missing:
            raise ModelFileError(f"saved {kind} step {i} ({doc['name']!r}) lacks arrays {missing}")
        step.set_state({k: arrays[f"{kind}.{i}.{k}"] for k in keys})
        steps.append(step)
    return steps
