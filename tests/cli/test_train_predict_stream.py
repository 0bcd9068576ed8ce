"""``myoshift train`` -> ``predict`` / ``stream``: streamed labels equal predict's, and
bad models, files and options give one-line errors with exit status 2."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from myoshift.cli.main import main
from tests.conftest import require_dataset

pytestmark = pytest.mark.realdata


def cli(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def stream_file() -> Path:
    return require_dataset("OneSubjectMyoDataset") / "stream" / "raw_emg.csv"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, stream_file: Path) -> Path:
    out = tmp_path_factory.mktemp("models") / "lda"
    rc = main(["train", "--dataset", "libemg-onesubject", "--method", "lda-td", "--out", str(out)])
    assert rc == 0
    return out


def decisions(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_train_writes_a_model_folder(model: Path) -> None:
    info = json.loads((model / "input.json").read_text())
    assert (model / "estimator.json").is_file() and (model / "weights.safetensors").is_file()
    assert info["fs"] == 200.0 and info["n_channels"] == 8
    assert info["class_names"][0] == "no motion" and info["method"] == "lda-td"


def test_stream_raw_equals_predict_window_by_window(
    model: Path, stream_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = cli(capsys, "predict", model, stream_file, "--json")
    assert rc == 0
    offline = json.loads(out)["decisions"]
    fast = ["--speed", 0, "--raw", "--json"]
    rc, out, err = cli(capsys, "stream", model, "--replay", stream_file, *fast)
    assert rc == 0
    streamed = decisions(out)
    assert len(streamed) == len(offline) > 900
    assert [d["window"] for d in streamed] == [d["window"] for d in offline]
    assert [d["label"] for d in streamed] == [d["label"] for d in offline]
    np.testing.assert_allclose([d["t"] for d in streamed], [d["t"] for d in offline])
    assert all(d["latency_ms"] >= 0 and d["dropped"] == 0 for d in streamed)
    assert f"stream: {len(streamed)} decisions, 0 dropped" in err


def test_stream_votes_by_default_and_predict_prints_csv(
    model: Path, stream_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    short = tmp_path / "short.npy"
    np.save(short, np.loadtxt(stream_file, delimiter=",")[:400])
    rc, out, _ = cli(capsys, "stream", model, "--replay", short, "--speed", 0, "--json")
    voted = decisions(out)
    rc2, out, _ = cli(capsys, "stream", model, "--replay", short, "--speed", 0, "--json", "--raw")
    raw = [d["label"] for d in decisions(out)]
    assert rc == rc2 == 0 and len(voted) == len(raw) == 73
    assert [d["label"] for d in voted] != raw  # the 5-decision vote smooths
    assert set(voted[0]) >= {"window", "t", "label", "name", "probability", "latency_ms"}
    rc, out, _ = cli(capsys, "predict", model, short)
    lines = out.splitlines()
    assert rc == 0 and lines[0] == "window,start_s,t,label,name,probability"
    assert len(lines) == 74 and lines[1].startswith("0,0.0,0.195,")


def test_a_real_time_replay_takes_real_time(
    model: Path, stream_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    short = tmp_path / "short.csv"
    short.write_text("\n".join(stream_file.read_text().splitlines()[:100]))  # 0.5 s
    start = time.perf_counter()
    rc, out, _ = cli(capsys, "stream", model, "--replay", short, "--speed", 1)
    assert rc == 0 and len(out.splitlines()) == 13
    assert time.perf_counter() - start >= 0.45


@pytest.mark.usefixtures("one_torch_thread")
def test_deep_model_streams_with_its_recorded_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stream_file: Path
) -> None:
    out = tmp_path / "tcn"
    tiny = 'tcn.model_params={"width": 4, "dilations": [1]}'
    sets = ["tcn.epochs=1", "tcn.step_ms=200", "tcn.threads=1", tiny]
    args = ["train", "--dataset", "libemg-onesubject", "--method", "tcn", "--out", out]
    rc, _, _ = cli(capsys, *args, *[x for s in sets for x in ("--set", s)])
    assert rc == 0
    short = tmp_path / "short.npy"
    np.save(short, np.loadtxt(stream_file, delimiter=",")[:600])
    rc, offline, _ = cli(capsys, "predict", out, short, "--json")
    fast = ["--speed", 0, "--raw", "--json"]
    rc2, streamed, _ = cli(capsys, "stream", out, "--replay", short, *fast)
    assert rc == rc2 == 0
    labels = [d["label"] for d in json.loads(offline)["decisions"]]
    assert [d["label"] for d in decisions(streamed)] == labels and len(labels) == 14
    # the exported graphs stream too: float and int8, each equal to its own offline path
    pytest.importorskip("onnxruntime", reason="export extra (onnx, onnxruntime) not installed")
    onnx = tmp_path / "onnx"
    calibrate = ["--calibration", short, "--calibration-windows", 16]
    assert cli(capsys, "export", out, "--int8", *calibrate, "--out", onnx)[0] == 0
    for precision in ([], ["--int8"]):
        rc, offline, _ = cli(capsys, "predict", onnx, short, "--json", *precision)
        rc2, streamed, _ = cli(capsys, "stream", onnx, "--replay", short, *fast, *precision)
        assert rc == rc2 == 0
        labels = [d["label"] for d in json.loads(offline)["decisions"]]
        assert [d["label"] for d in decisions(streamed)] == labels and len(labels) == 14
    rc, _, err = cli(capsys, "stream", out, "--int8", "--replay", short)
    assert rc == 2 and "needs an exported folder" in err


# ---------------------------------------------------------------------------- bad input
def test_bad_models_files_and_options_are_one_line_errors(
    model: Path, stream_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seven = tmp_path / "seven.npy"
    np.save(seven, np.zeros((500, 7), dtype=np.float32))
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((500, 8), np.nan, dtype=np.float32))
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for f in model.rglob("*"):
        if f.is_file():
            dest = tampered / f.relative_to(model)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(f.read_bytes())
    weights = tampered / "children" / "estimator" / "weights.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-1] ^= 0xFF
    weights.write_bytes(bytes(blob))
    train = ["train", "--dataset", "libemg-onesubject", "--method", "lda-td"]
    cases = [
        (["predict", tmp_path / "none", stream_file], "no such model folder"),
        (["stream", tampered, "--replay", stream_file], "SHA-256 does not match"),
        (["predict", model, seven], "seven.npy: has 7 columns; the model .* takes 8 channels"),
        (["stream", model, "--replay", seven], "has 7 columns"),
        (["predict", model, nan], "nan.npy: .*NaN"),
        (["predict", model, tmp_path / "missing.csv"], "missing.csv: no such file"),
        (["stream", model], "give one input: --replay FILE or --lsl NAME"),
        (["stream", model, "--replay", stream_file, "--speed", -1], "--speed must be >= 0"),
        (["stream", model, "--replay", stream_file, "--vote", 0], "vote must be"),
        ([*train, "--out", model], "a model is already there; add --force"),
        ([*train, "--out", tmp_path, "--set", "tcn.epochs=1"], "only 'lda-td' is trained"),
        ([*train[:-1], "nope", "--out", tmp_path / "x"], "unknown method 'nope'"),
    ]
    for args, message in cases:
        rc, _, err = cli(capsys, *args)
        assert rc == 2, (args, err)
        assert len(err.strip().splitlines()) == 1, err
        assert re.search(message, err), (message, err)


def test_train_force_replaces_a_model(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m"
    args = ["train", "--dataset", "libemg-onesubject", "--method", "lda-td", "--out", out]
    assert cli(capsys, *args)[0] == 0
    rc, stdout, _ = cli(capsys, *args, "--force", "--set", "lda-td.step_ms=50")
    assert rc == 0 and "every 50 ms" in stdout
    assert json.loads((out / "input.json").read_text())["overrides"] == {"step_ms": 50}


def test_stream_from_lsl_until_the_stream_goes_away(
    model: Path, stream_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from myoshift.realtime.lsl import lsl_unavailable

    if lsl_unavailable():
        pytest.skip(f"Lab Streaming Layer: {lsl_unavailable()}")
    import pylsl

    name = f"myoshift-cli-{uuid.uuid4().hex[:8]}"
    info = pylsl.StreamInfo(name, "EMG", 8, 200.0, pylsl.cf_float32, name)
    senders = [pylsl.StreamOutlet(info)]
    emg = np.loadtxt(stream_file, delimiter=",")[:400]

    def send() -> None:
        time.sleep(0.5)
        for i in range(0, len(emg), 20):
            senders[0].push_chunk(emg[i : i + 20].tolist())
            time.sleep(0.02)
        time.sleep(0.3)
        senders.clear()  # the device goes away

    thread = threading.Thread(target=send)
    thread.start()
    rc, out, err = cli(capsys, "stream", model, "--lsl", name, "--timeout", 2, "--json")
    thread.join()
    assert rc == 2
    assert re.search(f"error: LSL stream with name '{name}' (disappeared|sent nothing)", err)
    assert len(decisions(out)) >= 60  # decided live until then (73 windows sent)
    assert "decisions" in err  # the summary is printed before the error
