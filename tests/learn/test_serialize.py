"""Save/load: identical predictions, no pickle, corrupt or tampered files refused."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from myoshift.errors import ModelFileError
from myoshift.learn import (
    ClassicalClassifier,
    ClassicalRegressor,
    DeepClassifier,
    DeepRegressor,
    load_estimator,
)

from .conftest import separable

FAST = dict(model="test-tiny", epochs=2, batch_size=16, threads=1)


def test_deep_round_trip(tmp_path: Path) -> None:
    X, y, g = separable()
    labels = np.array(["a", "b", "c"])[y]
    clf = DeepClassifier(**FAST, class_weight={"a": 2.0}).fit(X, labels, g)
    clf.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "estimator.json",
        "weights.safetensors",
    ]
    back = DeepClassifier.load(tmp_path / "m")
    assert np.array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.get_params() == clf.get_params()
    assert list(back.classes_) == ["a", "b", "c"]
    back.adapt(X, labels, mode="head", epochs=1)  # a loaded model can be adapted


def test_augment_spec_is_saved(tmp_path: Path) -> None:
    """An augmentation given as plain data trains, changes the fit and survives save/load."""
    X, y, g = separable()
    spec = [["noise", {"snr_db": [10, 20]}], ["scale", {"low": 0.5, "high": 1.5}]]
    clf = DeepClassifier(**FAST, augment=spec).fit(X, y, g)
    plain = DeepClassifier(**FAST).fit(X, y, g)
    assert not np.array_equal(clf.predict_proba(X), plain.predict_proba(X))
    clf.save(tmp_path / "m")
    back = DeepClassifier.load(tmp_path / "m")
    assert back.augment == spec
    assert np.array_equal(back.predict_proba(X), clf.predict_proba(X))
    again = DeepClassifier(**FAST, augment=spec).fit(X, y, g)  # seeded: reproducible
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_regressor_round_trip(tmp_path: Path) -> None:
    X, _, _ = separable()
    t = np.abs(X[:, :2]).mean(2)
    reg = DeepRegressor(**FAST).fit(X, t)
    back = load_estimator(reg.save(tmp_path / "r"))
    assert isinstance(back, DeepRegressor)
    assert np.allclose(back.predict(X), reg.predict(X))


@pytest.mark.parametrize("name", ["lda", "rf", "svm", "knn", "ncm"])
def test_classical_round_trip(tmp_path: Path, name: str) -> None:
    X, y, _ = separable()
    clf = ClassicalClassifier(classifier=name, fs=200.0).fit(X, y)
    back = ClassicalClassifier.load(clf.save(tmp_path / name))
    assert np.array_equal(back.predict(X), clf.predict(X))
    assert np.allclose(back.predict_proba(X), clf.predict_proba(X))


def test_tampered_and_corrupt_files(tmp_path: Path) -> None:
    X, y, _ = separable()
    d = DeepClassifier(**FAST).fit(X, y).save(tmp_path / "m")
    weights = d / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="SHA-256"):
        DeepClassifier.load(d)
    weights.write_bytes(b"\x00" * 16)
    doc = json.loads((d / "estimator.json").read_text())
    import hashlib

    doc["weights_sha256"] = hashlib.sha256(b"\x00" * 16).hexdigest()
    (d / "estimator.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="cannot read weights"):
        DeepClassifier.load(d)
    (d / "estimator.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        DeepClassifier.load(d)
    (d / "estimator.json").write_text(json.dumps({**doc, "class": "os.system"}))
    with pytest.raises(ModelFileError, match="unknown estimator class"):
        load_estimator(d)
    with pytest.raises(ModelFileError, match="missing"):
        load_estimator(tmp_path / "nowhere")


def test_mismatched_weights(tmp_path: Path) -> None:
    X, y, _ = separable()
    a = DeepClassifier(**FAST).fit(X, y).save(tmp_path / "a")
    b = DeepClassifier(**FAST, model_params={"width": 4}).fit(X, y).save(tmp_path / "b")
    (a / "weights.safetensors").write_bytes((b / "weights.safetensors").read_bytes())
    doc = json.loads((a / "estimator.json").read_text())
    doc["weights_sha256"] = json.loads((b / "estimator.json").read_text())["weights_sha256"]
    (a / "estimator.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="do not match"):
        load_estimator(a)


def _rewrite_weights(d: Path, edit: Any) -> None:
    """Apply ``edit`` to the saved tensors and re-sign the file (a consistent edit)."""
    import hashlib

    from safetensors.numpy import load_file, save_file

    weights = d / "weights.safetensors"
    tensors = load_file(str(weights))
    edit(tensors)
    save_file(tensors, str(weights))
    doc = json.loads((d / "estimator.json").read_text())
    doc["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (d / "estimator.json").write_text(json.dumps(doc))


def test_channel_order_must_be_a_permutation(tmp_path: Path) -> None:
    X, y, _ = separable()
    d = DeepClassifier(**FAST).fit(X, y).save(tmp_path / "m")
    # every input reads channel 0
    _rewrite_weights(d, lambda t: t.update(order=np.zeros_like(t["order"])))
    with pytest.raises(ModelFileError, match="not a permutation"):
        load_estimator(d)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_files_without_channel_order_load_with_identity(tmp_path: Path, kind: str) -> None:
    """Estimators saved before the ``order`` buffer existed still load, unchanged."""
    X, y, _ = separable()
    est = (
        DeepClassifier(**FAST).fit(X, y)
        if kind == "classifier"
        else DeepRegressor(**FAST).fit(X, np.abs(X[:, :2]).mean(2))
    )
    d = est.save(tmp_path / "old")
    _rewrite_weights(d, lambda t: t.pop("order"))
    back = load_estimator(d)
    assert back.net_.order.tolist() == list(range(X.shape[1]))
    assert np.allclose(back.predict(X), est.predict(X))


def test_version_1_files_load(tmp_path: Path) -> None:
    """Files written by myoshift 0.1 (format version 1, same layout) still load."""
    X, y, _ = separable()
    clf = ClassicalClassifier(classifier="lda", fs=200.0).fit(X, y)
    d = clf.save(tmp_path / "old")
    doc = json.loads((d / "estimator.json").read_text())
    assert doc["version"] == 2 and doc["children"] == []
    doc["version"] = 1
    del doc["children"]  # version 1 had no nested estimators
    (d / "estimator.json").write_text(json.dumps(doc))
    assert np.array_equal(load_estimator(d).predict(X), clf.predict(X))
    doc["version"] = 99
    (d / "estimator.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="unsupported version 99"):
        load_estimator(d)


def _classical(tmp_path: Path, kind: str = "classifier") -> tuple[Path, Any, np.ndarray]:
    """A saved ClassicalClassifier (or ClassicalRegressor), the estimator and its input."""
    X, y, _ = separable()
    est = (
        ClassicalClassifier(classifier="lda", fs=200.0).fit(X, y)
        if kind == "classifier"
        else ClassicalRegressor(fs=200.0).fit(X, np.abs(X[:, :2]).mean(2))
    )
    return est.save(tmp_path / kind), est, X


def _edit_json(d: Path, edit: Any) -> None:
    doc = json.loads((d / "estimator.json").read_text())
    edit(doc)
    (d / "estimator.json").write_text(json.dumps(doc))


def test_classical_corrupt_header_names_the_file(tmp_path: Path) -> None:
    """A corrupt safetensors header is a ModelFileError naming the file, whether the
    file's hash was updated with it (read fails) or not (hash fails)."""
    import hashlib
    import struct

    d, _, _ = _classical(tmp_path)
    weights = d / "weights.safetensors"
    raw = weights.read_bytes()
    header_len = struct.unpack("<Q", raw[:8])[0]
    header = raw[8 : 8 + header_len].replace(b'"data_offsets":[0,', b'"data_offsets":[8,')
    for bad in (struct.pack("<Q", 1 << 40) + raw[8:], raw[:8] + header + raw[8 + header_len :]):
        weights.write_bytes(bad)
        with pytest.raises(ModelFileError, match="SHA-256 does not match") as err:
            load_estimator(d)
        assert str(weights) in str(err.value)
        _edit_json(d, lambda doc, b=bad: doc.update(weights_sha256=hashlib.sha256(b).hexdigest()))
        with pytest.raises(ModelFileError, match="cannot read weights") as err:
            ClassicalClassifier.load(d)
        assert str(err.value).startswith(f"{weights}: ") and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("n_features_in", 17, "n_features_in=17, but features 'hudgins-td' of n_channels_in=4"),
        ("n_channels_in", 3, "n_features_in=16, but features 'hudgins-td' of n_channels_in=3"),
        ("n_channels_in", 0, "n_channels_in=0"),
        ("fs", -200.0, "fs=-200.0"),
    ],
)
def test_classical_edited_json_is_refused(
    tmp_path: Path, field: str, value: object, needle: str
) -> None:
    d, est, _ = _classical(tmp_path)
    assert est.n_channels_in_ == 4 and est.n_features_in_ == 16  # what the edits contradict
    _edit_json(d, lambda doc: doc["fitted"].update({field: value}))
    with pytest.raises(ModelFileError, match=re.escape(needle)) as err:
        load_estimator(d)
    assert str(err.value).startswith(f"{d / 'estimator.json'}: ")


def test_classical_stored_shapes_are_checked(tmp_path: Path) -> None:
    """Every stored array must have the shape estimator.json implies (consistent,
    re-signed edits: the hash alone cannot catch them)."""
    d, _, X = _classical(tmp_path)
    original = (d / "weights.safetensors").read_bytes(), (d / "estimator.json").read_text()
    edits: list[tuple[Any, str]] = [
        (lambda t: t.update(features_train=t["features_train"][:, :15]), "features_train"),
        (
            lambda t: t.update(probe=t["probe"][:, :2]),
            "probe has shape (120, 2), expected (120, 3)",
        ),
        (lambda t: t.update(probe=t["probe"][:10]), "probe has shape (10, 3), expected (120, 3)"),
    ]
    for edit, needle in edits:
        _rewrite_weights(d, edit)
        with pytest.raises(ModelFileError, match=re.escape(needle)) as err:
            load_estimator(d)
        assert str(d / "weights.safetensors") in str(err.value)
        (d / "weights.safetensors").write_bytes(original[0])
        (d / "estimator.json").write_text(original[1])
    # the class labels of a classifier are in the JSON: one too few rows
    _edit_json(d, lambda doc: doc["fitted"]["y_train"]["values"].pop())
    with pytest.raises(
        ModelFileError, match=re.escape("y_train has shape (119,), expected (120,)")
    ):
        load_estimator(d)
    (d / "estimator.json").write_text(original[1])
    assert np.array_equal(load_estimator(d).predict(X), ClassicalClassifier.load(d).predict(X))


def test_classical_regressor_targets_are_checked(tmp_path: Path) -> None:
    d, est, X = _classical(tmp_path, "regressor")
    assert np.allclose(load_estimator(d).predict(X), est.predict(X))
    _rewrite_weights(d, lambda t: t.update(y_train=t["y_train"][:-1]))
    needle = "y_train has shape (119, 2), expected (120, 2)"
    with pytest.raises(ModelFileError, match=re.escape(needle)):
        load_estimator(d)
