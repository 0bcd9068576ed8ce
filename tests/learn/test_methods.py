"""Named methods: registry from configs + model registry, building, a quick fit each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from myoshift.errors import ConfigError
from myoshift.learn import ClassicalClassifier, ClassicalRegressor, DeepClassifier, DeepRegressor
from myoshift.learn.methods import (
    DEFAULT_DEEP_METHOD,
    MethodSpec,
    build_estimator,
    get_method,
    method_names,
    spec_from_dict,
)
from myoshift.models import get_model_class, model_names
from myoshift.recording import Layout
from myoshift.signal.steps import fit_steps, make_steps
from myoshift.signal.windows import AuxWindows, Windows

from .conftest import separable

CLASSICAL = ["lda-td", "rf-td", "svm-td", "knn-td", "lda-tdar", "ncm-td"]


def test_required_names_present() -> None:
    names = method_names()
    assert set(CLASSICAL) <= set(names)
    assert DEFAULT_DEEP_METHOD in names
    for m in model_names():
        if "classification" in get_model_class(m).tasks:
            assert m in names  # every raw-input classifier architecture is a method


def test_specs_are_complete() -> None:
    for name in method_names():
        spec = get_method(name)
        assert isinstance(spec, MethodSpec) and spec.name == name
        assert spec.citation and spec.kind in ("classical", "deep", "ensemble")
        assert spec.window_ms > 0 and spec.step_ms > 0
    tcn = get_method("tcn")
    assert tcn.source.endswith("tcn.yaml") and "Bai" in tcn.citation
    assert get_method("lda-tdar").params["features"] == "td-ar"


def test_unknown_name_lists_valid() -> None:
    with pytest.raises(ConfigError, match="valid methods: .*lda-td"):
        get_method("lda-xyz")
    with pytest.raises(ConfigError, match="unknown DeepClassifier parameters"):
        build_estimator("tcn", fs=200.0, bogus=1)


def test_bad_config_dicts() -> None:
    base = {"name": "x", "kind": "classical", "estimator": "ClassicalClassifier"}
    with pytest.raises(ConfigError, match="citation"):
        spec_from_dict({**base, "window_ms": 200})
    with pytest.raises(ConfigError, match="unknown fields"):
        spec_from_dict({**base, "citation": "c", "window_ms": 200, "colour": 1})
    with pytest.raises(ConfigError, match="kind"):
        spec_from_dict({**base, "kind": "quantum", "citation": "c", "window_ms": 1})
    with pytest.raises(ConfigError, match="regression method needs both"):
        spec_from_dict({**base, "citation": "c", "window_ms": 200, "target": "glove"})
    reg = {**base, "estimator": "ClassicalRegressor", "citation": "c", "window_ms": 200}
    with pytest.raises(ConfigError, match="regression method needs both"):
        spec_from_dict(reg)
    with pytest.raises(ConfigError, match="stream name"):
        spec_from_dict({**reg, "target": 3})
    assert spec_from_dict({**reg, "target": "glove"}).target == "glove"


def test_regression_methods_registered() -> None:
    for name in ("ridge-td-glove", "rcnn-glove"):
        spec = get_method(name)
        assert spec.target == "glove" and spec.to_dict()["target"] == "glove"
    assert get_method("lda-td").target is None


def test_extra_methods_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "knn3.yaml").write_text(
        "name: knn3-td\nkind: classical\nestimator: ClassicalClassifier\ncitation: test\n"
        "window_ms: 150\nparams: {classifier: knn, classifier_params: {n_neighbors: 3}}\n"
    )
    monkeypatch.setenv("MYOSHIFT_METHODS_DIR", str(tmp_path))
    spec = get_method("knn3-td")
    assert spec.step_ms == 25.0
    est = build_estimator(spec, fs=100.0, seed=3)
    assert est.classifier_params == {"n_neighbors": 3} and est.seed == 3 and est.fs == 100.0


def _method_windows(X: np.ndarray, y: np.ndarray, g: np.ndarray, spec: MethodSpec) -> Windows:
    """Windows carrying a smooth random unit quaternion (4 x 10 points at 50 Hz) for each
    of the method's auxiliary streams, through its represent steps."""
    rng = np.random.default_rng(0)
    q = rng.standard_normal((len(X), 4, 1)) + 0.05 * rng.standard_normal((len(X), 4, 10))
    q = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
    meta = pd.DataFrame({"recording": 0, "start": np.arange(len(X)), "repetition": g})
    aux = {name: AuxWindows(q, 50.0) for name in spec.aux}
    w = Windows(X, y, meta, 200.0, Layout.ring(X.shape[1]), aux=aux)
    return fit_steps(make_steps("represent", spec.represent), w)


def _first(X: np.ndarray | Windows, n: int) -> np.ndarray | Windows:
    return X.subset(np.arange(n)) if isinstance(X, Windows) else X[:n]


@pytest.mark.parametrize("name", method_names())
def test_every_method_fits_tiny_data(name: str, tmp_path: Path) -> None:
    spec = get_method(name)
    X, y, g = separable(n_per_class=8, n_channels=8, n_samples=52)
    if spec.kind == "ensemble":
        pytest.skip("ensembles are tested in test_ensemble.py (members are methods themselves)")
    if spec.aux or spec.params.get("aux_features"):  # fusion: what the method's chain gives
        X = _method_windows(X, y, g, spec)
    overrides = {"epochs": 1, "threads": 1, "batch_size": 16} if spec.kind == "deep" else {}
    est = build_estimator(spec, fs=200.0, seed=1, **overrides)
    if spec.target is not None:
        targets = np.eye(3)[y] + 0.1 * np.random.default_rng(0).standard_normal((len(y), 3))
        if hasattr(est, "predict_targets"):  # classes and targets (tests/learn/test_multitask.py)
            est.fit(X, y, g, targets=targets)
            assert est.predict_targets(X).shape == (len(X), 3) and est.predict(X).shape == y.shape
            back = type(est).load(est.save(tmp_path / name))
            assert np.allclose(back.predict_targets(X), est.predict_targets(X), atol=1e-5)
            est.adapt(_first(X, 12), y[:12], targets=targets[:12], epochs=1)
            return
        assert isinstance(est, DeepRegressor if spec.kind == "deep" else ClassicalRegressor)
        est.fit(X, targets, g)
        pred = est.predict(X)
        assert pred.shape == (len(X), 3) and np.isfinite(pred).all()
        back = type(est).load(est.save(tmp_path / name))
        assert np.allclose(back.predict(X), pred, atol=1e-5)
        est.adapt(_first(X, 12), targets[:12], **({"epochs": 1} if spec.kind == "deep" else {}))
        return
    assert isinstance(est, DeepClassifier if spec.kind == "deep" else ClassicalClassifier)
    est.fit(X, y, g)
    pred = est.predict(X)
    assert pred.shape == (len(X),) and set(np.unique(pred)) <= {0, 1, 2}
    back = type(est).load(est.save(tmp_path / name))
    assert np.allclose(back.predict_proba(X), est.predict_proba(X), atol=1e-6)
    if spec.adapt:
        assert est.adapt_mode == spec.adapt["mode"]  # the recipe's calibration is the default
    est.adapt(_first(X, 12), y[:12], **({"epochs": 1} if spec.kind == "deep" else {}))


def test_extends_merges_params_and_adapt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "variant.yaml").write_text(
        "name: tcn-variant\nextends: tcn-transfer\nparams: {epochs: 2}\nadapt: {align: ring}\n"
    )
    (tmp_path / "atz.yaml").write_text(
        "name: atzori-rect\nextends: atzori-cnn\nparams: {model_params: {rectify: true}}\n"
    )
    monkeypatch.setenv("MYOSHIFT_METHODS_DIR", str(tmp_path))
    base, variant = get_method("tcn-transfer"), get_method("tcn-variant")
    assert variant.params == {**base.params, "epochs": 2}
    assert variant.adapt == {**base.adapt, "align": "ring"}
    assert variant.citation == base.citation and variant.window_ms == base.window_ms
    assert get_method("tcn-transfer-ring").adapt == {**base.adapt, "align": "ring"}
    generated = get_method("atzori-rect")  # a generated (registry) method as the base
    assert generated.params["model"] == "atzori-cnn"
    assert generated.params["model_params"] == {"rectify": True}
    assert generated.params["lr"] == get_method("atzori-cnn").params["lr"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a": "name: a\nextends: nope\n"}, "extends unknown method 'nope'"),
        ({"a": "name: a\nextends: b\n", "b": "name: b\nextends: a\n"}, "forms a cycle"),
        ({"a": "- just\n- a list\n"}, "expected a mapping with a 'name' field"),
    ],
)
def test_bad_extends(
    files: dict[str, str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for stem, text in files.items():
        (tmp_path / f"{stem}.yaml").write_text(text)
    monkeypatch.setenv("MYOSHIFT_METHODS_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=message):
        method_names()


def test_wavelet_stream_is_reachable_from_a_method(tmp_path: Path) -> None:
    """lstm-cnn-attention-wpt: a represent step adds the second named input 'wpt'."""
    from myoshift.evaluation.recipes import resolve_method
    from tests.evaluation.helpers import make_set

    rs = make_set(subjects=(1,), reps=2, n_samples=400, fs=200.0)
    method = resolve_method(
        "lstm-cnn-attention-wpt", {"epochs": 1, "batch_size": 16, "val_fraction": 0.0}
    )
    chain = method.chain(200.0, 0).fit(rs)
    net = chain.estimator_.net_
    assert net.input_names == ["emg", "wpt"]
    assert net.model.config()["wavelet_shape"] == [8, 4]
    w = chain.windows(rs)
    assert w.aux["wpt"].X.shape[1:] == (4, 8, 4)
    assert chain.predict(rs).shape == (len(w),)
    # every input standardised with its own statistics, saved with the weights
    assert net.mean_wpt.shape == (1, 4, 1, 1) and float(net.std_wpt.min()) > 0
    from myoshift.learn import load_estimator

    back = load_estimator(chain.save(tmp_path / "wpt"))
    np.testing.assert_allclose(back.predict_proba(rs), chain.predict_proba(rs), atol=1e-6)
    # the same windows without the stream: a clear error naming the missing input
    with pytest.raises(ConfigError, match=r"needs inputs \['wpt'\]"):
        chain.estimator_.predict(w.X)


def test_missing_auxiliary_stream_names_the_method() -> None:
    from myoshift.evaluation.recipes import Method
    from myoshift.learn import ClassicalClassifier
    from tests.evaluation.helpers import make_set

    m = Method("lda-imu", lambda fs, seed: ClassicalClassifier(), 200, 100, aux=("imu",))
    with pytest.raises(ConfigError, match="method 'lda-imu'.*no auxiliary stream 'imu'"):
        m.chain(100.0, 0).fit(make_set(subjects=(1,), reps=1))


def test_a_chain_refuses_recordings_of_another_rate_or_width() -> None:
    from myoshift.evaluation.recipes import resolve_method
    from tests.evaluation.helpers import make_set

    chain = resolve_method("lda-td", {"window_ms": 200, "step_ms": 100}).chain(100.0, 0)
    chain.fit(make_set(subjects=(1,), reps=2))
    assert (chain.fs_, chain.n_channels_) == (100.0, 4)
    with pytest.raises(ConfigError, match="fitted on 100 Hz recordings.*at 200 Hz"):
        chain.predict(make_set(subjects=(2,), reps=1, fs=200.0))
    from myoshift.errors import ShapeError

    with pytest.raises(ShapeError, match="fitted on 4 channels.* has 6"):
        chain.predict(make_set(subjects=(2,), reps=1, n_channels=6))


def _write_methods(folder: Path, texts: dict[str, str]) -> None:
    folder.mkdir(exist_ok=True)
    for stem, text in texts.items():
        (folder / f"{stem}.yaml").write_text(text)


def test_referenced_methods_follow_members_and_deep_recursively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Members and a ``deep`` network named by method, their own references, each once;
    an EmbeddingClassifier without ``deep`` refers to its default network method."""
    from myoshift.learn.methods import referenced_methods

    hybrid = "kind: classical\nestimator: EmbeddingClassifier\ncitation: c\nwindow_ms: 200\n"
    _write_methods(
        tmp_path,
        {
            "ens": "name: ens\nkind: ensemble\nestimator: ProbabilityEnsemble\ncitation: c\n"
            "window_ms: 200\nparams:\n  members: [{method: emb}, {method: lda-td}]\n",
            "emb": f"name: emb\n{hybrid}params: {{deep: tcn-transfer}}\n",
            "emb-default": f"name: emb-default\n{hybrid}",
            "loop-a": f"name: loop-a\n{hybrid}params: {{deep: loop-b}}\n",
            "loop-b": f"name: loop-b\n{hybrid}params: {{deep: loop-a}}\n",
        },
    )
    monkeypatch.setenv("MYOSHIFT_METHODS_DIR", str(tmp_path))

    def refs(name: str) -> list[str]:
        spec = get_method(name)
        return list(referenced_methods(spec.estimator, spec.params, name))

    assert refs("ens") == ["emb", "lda-td", "tcn-transfer"]
    assert refs("emb-default") == ["tcn-transfer"]
    assert refs("loop-a") == ["loop-b", "loop-a"]  # a cycle ends
    assert refs("lda-td") == [] and refs("tcn") == []
    found = referenced_methods("EmbeddingClassifier", {"deep": "tcn-transfer"})
    assert found["tcn-transfer"] == get_method("tcn-transfer")
