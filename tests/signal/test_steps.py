"""The step contract and registry: spec forms, errors, params and saved chains."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import numpy as np
import pytest

from myoshift.errors import ConfigError, ModelFileError
from myoshift.recording import RecordingSet
from myoshift.signal.preprocess import BandPass
from myoshift.signal.represent import PCA, Standardize
from myoshift.signal.steps import (
    KINDS,
    Step,
    StepKind,
    apply_steps,
    fit_steps,
    make_step,
    make_steps,
    register_step,
    step_names,
    steps_from_json,
    steps_to_json,
)
from myoshift.signal.windows import make_windows
from tests.conftest import make_recording

ALL = [(kind, name) for kind in KINDS for name in step_names(kind)]


def _windows(seed: int = 0) -> Any:
    recs = [make_recording(600, 4, fs=200.0, label=1 + i % 2, seed=seed + i) for i in range(3)]
    return make_windows(recs, 200, 50)


def test_registry_lists_the_builtin_steps() -> None:
    assert {"bandpass", "highpass", "lowpass", "notch", "dc-remove", "scale-subject"} <= set(
        step_names("preprocess")
    )
    assert {"spectrogram", "pca", "standardize", "wavelet-packet"} <= set(step_names("represent"))
    with pytest.raises(ConfigError, match="kind must be one of preprocess, represent"):
        step_names("features")


def test_three_spec_forms_build_the_same_step() -> None:
    a = make_step("preprocess", {"bandpass": {"low": 10, "high": 90}})
    b = make_step("preprocess", {"name": "bandpass", "low": 10, "high": 90})
    c = make_step("preprocess", "bandpass")
    assert isinstance(a, BandPass) and a.params() == b.params()
    assert a.params() == {"low": 10.0, "high": 90.0, "order": 4, "causal": True}
    assert c.params()["low"] == 20.0  # defaults
    assert make_step("preprocess", {"bandpass": None}).params() == c.params()
    assert make_step("preprocess", a) is a  # a built step passes through


@pytest.mark.parametrize(
    ("kind", "spec", "message"),
    [
        ("preprocess", "bandpas", "m.yaml: unknown preprocess step 'bandpas'; valid: bandpass, "),
        ("preprocess", "spectrogram", "m.yaml: 'spectrogram' is a represent step"),
        ("represent", {"bandpass": {}}, "m.yaml: 'bandpass' is a preprocess step"),
        ("preprocess", {"bandpass": {"lo": 3}}, "has no parameter 'lo'; valid: low, high"),
        ("preprocess", {"bandpass": {"low": 300, "high": 200}}, "step 'bandpass': needs low"),
        ("preprocess", {"name": "notch", "freq": -50}, "step 'notch': freq must be > 0"),
        ("preprocess", {"bandpass": {"order": 2.5}}, "step 'bandpass': order must be an integer"),
        ("preprocess", {"bandpass": {"causal": "yes"}}, "causal must be one of True, False"),
        ("represent", {"pca": {"n_components": 0}}, "step 'pca': n_components must be >= 1"),
        ("represent", {"pca": {"mode": "flat"}}, "mode must be one of per-time-step, flattened"),
        ("represent", {"wavelet-packet": {"wavelet": "db99"}}, "not a discrete wavelet"),
        ("represent", {"spectrogram": {"window": "nope"}}, "window 'nope' is not"),
        ("represent", {"pca": 5}, "parameters must be a mapping"),
        ("represent", 42, "must be a name, {name: {params}}"),
        ("represent", {"a": {}, "b": {}}, "must be a name"),
        ("other", "pca", "step kind must be one of"),
    ],
)
def test_bad_specs_raise_one_line_errors(kind: str, spec: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_step(kind, spec, where="m.yaml")
    text = str(info.value)
    assert message in text and "\n" not in text
    assert text.startswith("m.yaml: ")


def test_make_steps_checks_the_list() -> None:
    assert make_steps("preprocess", None) == []
    chain = make_steps("preprocess", ["dc-remove", {"bandpass": {"low": 20, "high": 90}}])
    assert [s.name for s in chain] == ["dc-remove", "bandpass"]
    with pytest.raises(ConfigError, match="m: preprocess must be a list of steps"):
        make_steps("preprocess", "bandpass", where="m")
    with pytest.raises(ConfigError, match="'pca' is a represent step, not a preprocess one"):
        make_steps("preprocess", [PCA()])


def test_register_step_refuses_duplicates_and_bad_classes() -> None:
    class Other(Step):
        name = "pca"
        kind: ClassVar[StepKind] = "represent"

    with pytest.raises(ConfigError, match="registered twice"):
        register_step(Other)

    class NoKind(Step):
        name = "x"

    with pytest.raises(ConfigError, match="kind must be one of"):
        register_step(NoKind)
    assert register_step(PCA) is PCA  # registering the same class again is harmless


@pytest.mark.parametrize(("kind", "name"), ALL)
def test_every_step_params_are_json_and_rebuild_it(kind: str, name: str) -> None:
    step = make_step(kind, name)
    params = step.params()
    assert json.loads(json.dumps(params)) == params
    again = make_step(kind, {"name": name, **params})
    assert type(again) is type(step) and again.params() == params
    assert isinstance(step.is_causal, bool)
    assert repr(step).startswith(type(step).__name__ + "(")


def test_state_before_fit_and_wrong_state_keys() -> None:
    step = Standardize()
    assert not step.is_fitted
    with pytest.raises(ConfigError, match="step 'standardize': not fitted"):
        step.state()
    with pytest.raises(ConfigError, match="step 'standardize': not fitted"):
        step.transform(_windows())
    with pytest.raises(ConfigError, match=r"state has arrays \['mean'\], expected"):
        step.set_state({"mean": np.zeros(4)})
    assert BandPass().state() == {} and BandPass().is_fitted


def test_chain_saved_as_json_and_arrays_round_trips() -> None:
    train, test = _windows(0), _windows(10)
    chain = make_steps("represent", ["standardize", {"pca": {"n_components": 2}}])
    fit_steps(chain, train)
    docs, arrays = steps_to_json(chain)
    assert sorted(arrays) == [
        "represent.0.mean",
        "represent.0.std",
        "represent.1.components",
        "represent.1.mean",
    ]
    docs = json.loads(json.dumps(docs))  # what the JSON file holds
    assert docs[1] == {
        "name": "pca",
        "kind": "represent",
        "params": {"n_components": 2, "mode": "per-time-step"},
        "state": ["components", "mean"],
    }
    restored = steps_from_json("represent", docs, arrays)
    np.testing.assert_array_equal(apply_steps(restored, test).X, apply_steps(chain, test).X)

    with pytest.raises(ModelFileError, match=r"lacks arrays \['represent.1.components'\]"):
        steps_from_json("represent", docs, {k: v for k, v in arrays.items() if "1.comp" not in k})
    with pytest.raises(ModelFileError, match="malformed"):
        steps_from_json("preprocess", docs, arrays)


def test_preprocess_chain_round_trips_stateless() -> None:
    rset = RecordingSet([make_recording(500, 3, fs=1000.0, seed=s) for s in range(2)])
    chain = make_steps("preprocess", ["dc-remove", "bandpass", {"notch": {"freq": 60}}])
    docs, arrays = steps_to_json(chain)
    assert arrays == {} and [d["state"] for d in docs] == [[], [], []]
    restored = steps_from_json("preprocess", json.loads(json.dumps(docs)), arrays)
    a, b = fit_steps(chain, rset), apply_steps(restored, rset)
    for ra, rb in zip(a, b):
        np.testing.assert_array_equal(ra.emg, rb.emg)
