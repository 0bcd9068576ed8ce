"""Save/load as safetensors + JSON: round trips, and refusal of broken or tampered files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from myoshift.errors import ConfigError, ModelFileError
from myoshift.models import build_model, load_model, model_names, read_model_config, save_model
from myoshift.models.io import CONFIG_NAME, WEIGHTS_NAME

NAMES = model_names()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _trained_ish(name: str) -> torch.nn.Module:
    """A model whose batch-norm statistics moved away from their initial values."""
    torch.manual_seed(0)
    model = build_model(name, 8, 52, 4)
    with torch.no_grad():
        model.train()(torch.randn(8, 8, 52) * 3 + 1)
    return model.eval()


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_gives_identical_outputs(name: str, tmp_path: Path) -> None:
    model = _trained_ish(name)
    out = save_model(model, tmp_path / "m", metadata={"classes": [0, 1, 2, 3]})
    assert (out / CONFIG_NAME).is_file() and (out / WEIGHTS_NAME).is_file()
    loaded = load_model(out)
    assert type(loaded) is type(model)
    assert not loaded.training
    assert loaded.config() == model.config()
    x = torch.randn(5, 8, 52)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert read_model_config(out)["metadata"] == {"classes": [0, 1, 2, 3]}


def test_round_trip_keeps_options_and_replaced_head(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("mobilenetv2", 9, 20, 3, grid=(3, 3), width=0.35).eval()
    model.reset_head(6)
    loaded = load_model(save_model(model, tmp_path / "m"))
    assert loaded.config()["grid"] == [3, 3] and loaded.n_outputs == 6
    x = torch.randn(2, 9, 20)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)

    two = build_model("lstm-cnn-attention", 8, 52, 3, wavelet_shape=(4, 6)).eval()
    again = load_model(save_model(two, tmp_path / "w"))
    xs = (torch.randn(2, 8, 52), torch.randn(2, 8, 4, 6))
    with torch.no_grad():
        torch.testing.assert_close(again(xs), two(xs), rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_tampered_weights_are_refused(name: str, tmp_path: Path) -> None:
    path = save_model(_trained_ish(name), tmp_path / "m")
    weights = path / WEIGHTS_NAME
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF  # flip bits of one weight
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="SHA-256 .* does not match"):
        load_model(path)


def test_truncated_and_missing_files(tmp_path: Path) -> None:
    path = save_model(build_model("tcn", 8, 52, 4), tmp_path / "m")
    weights = path / WEIGHTS_NAME
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelFileError, match="corrupt or was modified"):
        load_model(path)
    weights.unlink()
    with pytest.raises(ModelFileError, match="missing weights"):
        load_model(path)
    with pytest.raises(ModelFileError, match="no saved model"):
        load_model(tmp_path / "nowhere")
    (path / CONFIG_NAME).unlink()
    with pytest.raises(ModelFileError, match="missing model config"):
        load_model(path)


def _rewrite_config(path: Path, **changes: object) -> None:
    record = json.loads((path / CONFIG_NAME).read_text())
    record.update(changes)
    (path / CONFIG_NAME).write_text(json.dumps(record))


def test_corrupt_weights_with_matching_hash_are_refused(tmp_path: Path) -> None:
    """A forged config whose hash matches garbage weights still fails cleanly."""
    import hashlib

    path = save_model(build_model("tcn", 8, 52, 4), tmp_path / "m")
    garbage = b"\x08\x00\x00\x00\x00\x00\x00\x00not json"
    (path / WEIGHTS_NAME).write_bytes(garbage)
    _rewrite_config(path, sha256=hashlib.sha256(garbage).hexdigest())
    with pytest.raises(ModelFileError, match="not a readable safetensors"):
        load_model(path)


def test_mismatched_or_invalid_config_is_refused(tmp_path: Path) -> None:
    path = save_model(build_model("tcn", 8, 52, 4), tmp_path / "m")
    record = json.loads((path / CONFIG_NAME).read_text())

    _rewrite_config(path, model={**record["model"], "n_outputs": 5})
    with pytest.raises(ModelFileError, match="do not match the 'tcn' architecture"):
        load_model(path)
    _rewrite_config(path, model={**record["model"], "name": "no-such-model"})
    with pytest.raises(ModelFileError, match="cannot rebuild"):
        load_model(path)
    _rewrite_config(path, model={**record["model"], "kernel": 4})
    with pytest.raises(ModelFileError, match="cannot rebuild"):
        load_model(path)
    _rewrite_config(path, model=record["model"], format="pickle")
    with pytest.raises(ModelFileError, match="'format'"):
        load_model(path)
    _rewrite_config(path, format=record["format"], weights="../elsewhere.safetensors")
    with pytest.raises(ModelFileError, match="file name in the folder"):
        load_model(path)
    (path / CONFIG_NAME).write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(path)


def test_save_refuses_non_models_and_unserialisable_metadata(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="EMGModel"):
        save_model(torch.nn.Linear(2, 2), tmp_path / "x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="JSON"):
        save_model(build_model("tcn", 8, 52, 4), tmp_path / "y", metadata={"f": object()})
