"""ONNX export: parity with torch / scikit-learn over the registry, int8, refusals."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from myoshift.datasets import load_dataset
from myoshift.errors import ConfigError, ModelFileError, ShapeError
from myoshift.learn import (
    ClassicalClassifier,
    ClassicalRegressor,
    DeepClassifier,
    DeepRegressor,
    MethodChain,
    ProbabilityEnsemble,
    save_estimator,
)
from myoshift.models import model_names
from myoshift.realtime.export import export_module, export_onnx, graph_inputs
from myoshift.realtime.export_graph import (
    FEATURE_OPS,
    ExportGraph,
    Features,
    FixedAdaptivePool,
)
from myoshift.realtime.export_runtime import OnnxModel
from myoshift.recording import AuxStream, Layout, Recording, RecordingSet
from myoshift.signal import extract_features
from myoshift.signal.steps import make_steps
from tests.conftest import real_data_dir

pytest.importorskip("onnx", reason="ONNX export needs the 'export' extra (onnx)")
pytest.importorskip("onnxruntime", reason="ONNX export needs the 'export' extra (onnxruntime)")


TOL = 1e-4
#: small widths so that fitting and exporting every registered model stays fast; a model
#: missing here is tested with its defaults
TINY: dict[str, dict[str, Any]] = {
    "atzori-cnn": {"filters": [8, 8]},
    "lstm-cnn-attention": {"conv_filters": 8, "hidden": 8, "attn_dim": 4},
    "mobilenetv2": {"width": 0.25},
    "multiscale-cnn": {"filters": 4, "mix_filters": 8, "fc": [16, 16]},
    "rcnn": {"frame_dim": 8, "hidden": 8, "lstm_layers": 1},
    "tcn": {"width": 8},
}
FAST = {"epochs": 1, "batch_size": 32, "threads": 1, "lr": 3e-3}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _synthetic(n_rec: int = 10, seed: int = 0) -> RecordingSet:
    """Myo-like integer recordings (8 channels, 200 Hz), one class per recording."""
    rng = np.random.default_rng(seed)
    recs = []
    for i in range(n_rec):
        label = i % 5
        gain = 2.0 + 10.0 * (np.arange(8) == label)
        emg = np.round(rng.standard_normal((600, 8)) * gain).astype(np.float32)
        recs.append(
            Recording(
                emg,
                200.0,
                np.full(600, label),
                Layout.ring(8),
                repetition=np.full(600, i // 5 + 1),
                meta={"dataset": "test", "subject": 1},
            )
        )
    return RecordingSet(recs)


@pytest.fixture(scope="module")
def recordings() -> RecordingSet:
    """Real windows (libemg-onesubject, trial 1; integer ADC values) or synthetic ones."""
    if (real_data_dir() / "OneSubjectMyoDataset").is_dir():
        rs = load_dataset("libemg-onesubject", data_dir=real_data_dir())
        return RecordingSet([r for r in rs if r.meta["trial"] == 1])
    return _synthetic()


def _check_parity(chain: MethodChain, recs: RecordingSet, out: Path) -> OnnxModel:
    res = export_onnx(chain, out, name="m")
    model = OnnxModel(res.sidecar)
    got = model.run(graph_inputs(chain, recs))
    ref = chain.predict_proba(recs)
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= TOL
    assert res.parity <= TOL
    return model


@pytest.mark.parametrize("name", model_names())
def test_every_registered_model_matches_torch_on_real_windows(
    name: str, recordings: RecordingSet, tmp_path: Path
) -> None:
    est = DeepClassifier(model=name, model_params=TINY.get(name), **FAST)
    chain = MethodChain(est, window_ms=200, step_ms=100, name=name).fit(recordings)
    model = _check_parity(chain, recordings, tmp_path)
    info = model.info
    assert info["inputs"] == [
        {"name": "emg", "shape": ["batch", 8, 40], "source": info["inputs"][0]["source"]}
    ]
    assert info["fs"] == 200.0 and info["window_samples"] == 40 and info["step_samples"] == 20
    assert info["channel_order"] == list(range(8))
    assert np.array_equal(model.classes_, chain.estimator_.classes_)
    assert np.array_equal(model.predict(graph_inputs(chain, recordings)), chain.predict(recordings))


def test_channel_order_and_standardisation_are_inside_the_graph(
    recordings: RecordingSet, tmp_path: Path
) -> None:
    chain = MethodChain(
        DeepClassifier(model="tcn", model_params=TINY["tcn"], **FAST), window_ms=200, step_ms=100
    ).fit(recordings)
    chain.estimator_.net_.order.copy_(torch.tensor([3, 4, 5, 6, 7, 0, 1, 2]))  # a ring rotation
    model = _check_parity(chain, recordings, tmp_path)
    assert model.info["channel_order"] == [3, 4, 5, 6, 7, 0, 1, 2]


def test_multi_input_model_gets_named_inputs(recordings: RecordingSet, tmp_path: Path) -> None:
    est = DeepClassifier(
        model="lstm-cnn-attention", model_params=TINY["lstm-cnn-attention"], **FAST
    )
    chain = MethodChain(est, 200, 100, represent=["wavelet-packet"]).fit(recordings)
    model = _check_parity(chain, recordings, tmp_path)
    names = [i["name"] for i in model.info["inputs"]]
    assert names == ["emg", "wpt"]
    assert "wavelet-packet" in model.info["inputs"][1]["source"]
    assert model.info["outside_graph"]["represent"][0]["name"] == "wavelet-packet"
    with pytest.raises(ShapeError, match="takes inputs"):
        model.run(graph_inputs(chain, recordings)["emg"])


@pytest.mark.parametrize(
    "params",
    [
        {},  # Hudgins TD, thresholds 0 (integer data: exact zeros and flat steps)
        {"feature_params": {"zc_threshold": 3.0, "ssc_threshold": 5.0}},
        {"features": ["mav", "iav", "rms", "wl", "mavfd", "zc", "ssc"], "scale": False},
    ],
)
def test_td_lda_matches_the_sklearn_pipeline(
    params: dict[str, Any], recordings: RecordingSet, tmp_path: Path
) -> None:
    chain = MethodChain(ClassicalClassifier("lda", **params), window_ms=200, step_ms=50)
    chain.fit(recordings)
    model = _check_parity(chain, recordings, tmp_path)
    X = graph_inputs(chain, recordings)["emg"]
    assert np.array_equal(model.predict(X), chain.predict(recordings))
    assert model.info["estimator"] == "ClassicalClassifier" and "int8" not in model.info["files"]


def test_feature_ops_equal_the_numpy_features() -> None:
    rng = np.random.default_rng(1)
    x = np.round(rng.standard_normal((64, 3, 30)) * 2).astype(np.float32)  # ties and zeros
    x[0, 0] = 0.0
    x[1, 1, ::2] = x[1, 1, 1::2]  # flat steps
    names = sorted(FEATURE_OPS)
    params = {"zc_threshold": 1.0, "ssc_threshold": 2.0}
    for p in ({}, params):
        ref, _ = extract_features(x, names, **p)
        got = Features(names, p, "test")(torch.from_numpy(x)).numpy()
        assert np.allclose(got, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("size", "out"), [((26,), (8,)), ((5, 26), (3, 8)), ((4, 4), (4, 4))])
def test_fixed_pools_equal_adaptive_pooling(size: tuple[int, ...], out: tuple[int, ...]) -> None:
    x = torch.randn(2, 3, *size)
    pool = nn.AdaptiveAvgPool1d(out[0]) if len(size) == 1 else nn.AdaptiveAvgPool2d(out)
    assert torch.allclose(FixedAdaptivePool(size, out)(x), pool(x), atol=1e-6)


def test_two_class_lda_and_ensemble_and_in_graph_represent(
    recordings: RecordingSet, tmp_path: Path
) -> None:
    two = RecordingSet([r for r in recordings if int(r.labels[0]) in (1, 2)])
    chain = MethodChain(ClassicalClassifier("lda"), 200, 50).fit(two)
    assert _check_parity(chain, two, tmp_path / "binary").info["classes"]["values"] == [1, 2]
    ens = ProbabilityEnsemble(
        [
            ("lda", ClassicalClassifier("lda")),
            ("tcn", DeepClassifier(model="tcn", model_params=TINY["tcn"], **FAST)),
        ],
        weights=[0.3, 0.7],
    )
    chain = MethodChain(ens, 200, 100).fit(recordings)
    _check_parity(chain, recordings, tmp_path / "ensemble")
    represent = ["standardize", {"pca": {"n_components": 4}}]
    for est in (ClassicalClassifier("lda"), DeepClassifier(model="tcn", **FAST)):
        chain = MethodChain(est, 200, 100, represent=represent).fit(recordings)
        info = _check_parity(chain, recordings, tmp_path / type(est).__name__).info
        assert info["inputs"][0]["shape"] == ["batch", 8, 40]  # raw channels in, PCA inside


def test_regressors_output_original_units(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    recs = []
    for i in range(4):
        emg = rng.standard_normal((800, 8)).astype(np.float32) * (1 + np.arange(8))
        glove = np.stack([np.abs(emg[::8, :2]).mean(1) * 10 + 50, np.full(100, 7.0)], 1)
        aux = {"glove": AuxStream(glove.astype(np.float32), 25.0)}
        recs.append(
            Recording(emg, 200.0, np.ones(800, int), Layout.ring(8), aux=aux, meta={"trial": i})
        )
    rs = RecordingSet(recs)
    for est in (
        ClassicalRegressor("ridge"),
        DeepRegressor(model="rcnn", model_params=TINY["rcnn"], **FAST),
    ):
        chain = MethodChain(est, 200, 100, target="glove").fit(rs)
        res = export_onnx(chain, tmp_path / type(est).__name__)
        model = OnnxModel(res.sidecar)
        assert model.info["task"] == "regression" and model.info["output"]["name"] == "output"
        X = graph_inputs(chain, rs)["emg"]
        pred = chain.predict(rs)
        assert np.abs(model.predict(X) - pred).max() <= TOL * max(1.0, np.abs(pred).max())
        assert pred[:, 0].mean() > 40  # de-standardised: in the targets' units


def test_saved_folder_exports_and_int8_keeps_accuracy(tmp_path: Path) -> None:
    train, test = _synthetic(10, seed=3), _synthetic(5, seed=4)
    est = DeepClassifier(model="tcn", **{**FAST, "epochs": 4, "lr": 1e-2})  # default width
    chain = MethodChain(est, 200, 50, name="tcn-test").fit(train)
    folder = save_estimator(chain, tmp_path / "model")
    res = export_onnx(folder, tmp_path / "onnx", int8=True, calibration=train, n_calibration=128)
    assert res.int8 is not None and res.sizes["int8"] < res.sizes["float32"]
    info = json.loads(res.sidecar.read_text())
    assert info["name"] == "tcn-test" and info["files"] == {
        "float32": "model.onnx",
        "int8": "model.int8.onnx",
    }
    X = graph_inputs(chain, test)["emg"]
    y = chain.windows(test).y
    acc = {p: (OnnxModel(res.sidecar, p).predict(X) == y).mean() for p in ("float32", "int8")}
    assert acc["float32"] > 0.9
    assert acc["int8"] >= acc["float32"] - 0.02
    with pytest.raises(ConfigError, match="calibration data"):
        export_onnx(chain, tmp_path / "none", int8=True)


def test_preprocess_runs_outside_the_graph(recordings: RecordingSet, tmp_path: Path) -> None:
    pre = ["dc-remove", {"highpass": {"cutoff": 10}}]
    chain = MethodChain(ClassicalClassifier("lda"), 200, 50, preprocess=pre).fit(recordings)
    docs = _check_parity(chain, recordings, tmp_path).info["outside_graph"]["preprocess"]
    assert [d["name"] for d in docs] == ["dc-remove", "highpass"]
    assert docs[1]["params"]["cutoff"] == 10 and all(d["causal"] for d in docs)


def test_bare_estimators(recordings: RecordingSet, tmp_path: Path) -> None:
    w = MethodChain(ClassicalClassifier("lda"), 200, 100).fit(recordings).windows(recordings)
    X = np.asarray(w.X)
    net = DeepClassifier(model="tcn", model_params=TINY["tcn"], **FAST).fit(X, w.y)
    res = export_onnx(net, tmp_path)
    assert np.abs(OnnxModel(res.sidecar).run(X) - net.predict_proba(X)).max() <= TOL
    assert res.sidecar.exists() and json.loads(res.sidecar.read_text())["window_ms"] is None
    with pytest.raises(ConfigError, match="export its MethodChain"):
        export_onnx(ClassicalClassifier("lda").fit(X, w.y), tmp_path)


def test_int8_is_skipped_for_classical_graphs(
    recordings: RecordingSet, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chain = MethodChain(ClassicalClassifier("lda"), 200, 50).fit(recordings)
    with caplog.at_level(logging.WARNING):
        res = export_onnx(chain, tmp_path, int8=True, calibration=recordings)
    assert res.int8 is None and "int8 not applied" in caplog.text


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MethodChain(ClassicalClassifier("svm"), 200, 50), "'svm'"),
        (lambda: MethodChain(ClassicalClassifier("lda", features="td-ar"), 200, 50), "'ar'"),
        (lambda: MethodChain(ClassicalClassifier("lda"), 200, 50, represent=["pca"]), None),
    ],
)
def test_what_the_graph_cannot_express_is_refused(
    make: Any, match: str, recordings: RecordingSet, tmp_path: Path
) -> None:
    chain = make().fit(recordings)
    if match is None:  # a represent step the graph cannot express (fitted, then swapped in)
        chain.represent_ = make_steps("represent", ["spectrogram"])
        match = "represent step 'spectrogram'"
    with pytest.raises(ConfigError, match=match) as info:
        export_onnx(chain, tmp_path)
    assert "\n" not in str(info.value)


class _Unsupported(ExportGraph):
    def __init__(self) -> None:
        super().__init__(["emg"], [])
        self.lin = nn.Linear(4, 2)

    def decide(self, named: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.lin(torch.linalg.eigvalsh(named["emg"] @ named["emg"].transpose(1, 2)))


def test_an_operator_onnx_lacks_is_a_one_line_error_naming_model_and_op(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    example = {"emg": torch.randn(2, 4, 6)}
    with pytest.raises(ConfigError, match=r"model 'toy'.*operator 'linalg_eigvalsh'") as info:
        export_module(_Unsupported().eval(), example, tmp_path / "toy.onnx", "toy")
    assert "\n" not in str(info.value)
    assert "Torch IR graph" not in capfd.readouterr().err  # the exporter's dump is silenced


def test_bad_files_and_inputs(recordings: RecordingSet, tmp_path: Path) -> None:
    chain = MethodChain(ClassicalClassifier("lda"), 200, 50).fit(recordings)
    res = export_onnx(chain, tmp_path, name="lda")
    model = OnnxModel(tmp_path)
    with pytest.raises(ShapeError, match=r"must be \(n, 8, 40\)"):
        model.run(np.zeros((2, 7, 40), np.float32))
    with pytest.raises(ConfigError, match="no int8 graph"):
        OnnxModel(res.sidecar, "int8")
    res.onnx.write_bytes(res.onnx.read_bytes()[:100])  # truncated
    with pytest.raises(ModelFileError, match="lda.onnx: cannot load"):
        OnnxModel(res.sidecar)
    res.sidecar.write_text("{}")
    with pytest.raises(ModelFileError, match="not a myoshift ONNX sidecar"):
        OnnxModel(res.sidecar)
