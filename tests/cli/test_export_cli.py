"""``myoshift export``: a saved model folder -> ONNX files, sidecar and sizes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from myoshift.cli.main import main
from myoshift.learn import ClassicalClassifier, DeepClassifier, MethodChain, save_estimator
from myoshift.realtime.export_runtime import OnnxModel
from myoshift.recording import Layout, Recording, RecordingSet

pytest.importorskip("onnx", reason="ONNX export needs the 'export' extra (onnx)")
pytest.importorskip("onnxruntime", reason="ONNX export needs the 'export' extra (onnxruntime)")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _recordings() -> RecordingSet:
    rng = np.random.default_rng(0)
    recs = []
    for i in range(6):
        label = i % 3
        emg = (rng.standard_normal((400, 8)) * (1 + 5 * (np.arange(8) == label))).astype(np.float32)
        recs.append(Recording(emg, 200.0, np.full(400, label), Layout.ring(8), meta={"trial": i}))
    return RecordingSet(recs)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    rs = _recordings()
    net = DeepClassifier(model="tcn", model_params={"width": 8}, epochs=1, batch_size=32, threads=1)
    folders = {
        "tcn": save_estimator(MethodChain(net, 200, 50, name="tcn-tiny").fit(rs), root / "tcn"),
        "lda": save_estimator(
            MethodChain(ClassicalClassifier("lda"), 200, 50).fit(rs), root / "lda"
        ),
    }
    calibration = root / "calibration.npy"
    np.save(calibration, np.concatenate([r.emg for r in rs]))
    return {**folders, "calibration": calibration}


def test_export_int8_writes_files_and_prints_sizes(
    saved: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "onnx"
    argv = ["export", str(saved["tcn"]), "--out", str(out), "--int8"]
    argv += ["--calibration", str(saved["calibration"]), "--calibration-windows", "64"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    for name in ("tcn-tiny.onnx", "tcn-tiny.int8.onnx", "tcn-tiny.json"):
        assert (out / name).is_file() and name in text
    assert "KiB" in text and "int8 / float32 size" in text
    info = json.loads((out / "tcn-tiny.json").read_text())
    assert info["fs"] == 200.0 and info["window_ms"] == 200.0 and info["step_samples"] == 10
    assert info["inputs"][0]["shape"] == ["batch", 8, 40]
    x = np.zeros((3, 8, 40), np.float32)
    assert OnnxModel(out, "int8").predict_proba(x).shape == (3, 3)


def test_export_json_and_classical(
    saved: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(saved["lda"]), "--out", str(tmp_path), "--json", "--int8"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["files"]) == {"float32", "sidecar"}  # int8 does not apply to TD + LDA
    assert doc["sizes"]["float32"] == Path(doc["files"]["float32"]).stat().st_size
    assert doc["parity_max_abs"] <= 1e-4


def test_bad_input_is_one_line(
    saved: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not a saved model folder" in err and err.count("\n") == 1
    assert main(["export", str(saved["tcn"]), "--out", str(tmp_path / "o"), "--int8"]) == 2
    assert "needs calibration data" in capsys.readouterr().err
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((500, 5), np.float32))
    argv = ["export", str(saved["tcn"]), "--out", str(tmp_path / "o"), "--int8"]
    assert main([*argv, "--calibration", str(bad)]) == 2
    assert "channels" in capsys.readouterr().err
