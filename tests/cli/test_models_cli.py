"""``myoshift models list``."""

from __future__ import annotations

import json

import pytest

from myoshift.cli.main import main
from myoshift.models import get_model_class, model_names

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_models_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == model_names()
    for r in rows:
        assert r["citation"]
        assert r["n_parameters"] > 1000
        assert r["macs"] > r["n_parameters"] // 2
        assert r["default_input"]["n_channels"] >= 1 and r["default_input"]["n_samples"] >= 1
        assert set(r["tasks"]) <= {"classification", "regression"}
        assert "window_ms" in r["recipe"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["tcn"]["n_parameters"] < 100_000  # armband-MCU sized
    assert by_name["mobilenetv2"]["default_input"]["grid"] == [1, 8]
    assert "regression" in by_name["rcnn"]["tasks"]


def test_models_list_text_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "--outputs", "3"]) == 0
    out = capsys.readouterr().out
    for name in model_names():
        assert name in out
    assert "MACs" in out and "params" in out
    words = " ".join(out.split())  # citations wrap, none is cut (issue 12, item 14)
    assert "..." not in out and "\u2026" not in out
    for name in model_names():
        assert " ".join(get_model_class(name).citation.split()) in words, name
    assert main(["models", "list", "--outputs", "0"]) == 2
    assert "n_outputs must be a positive int" in capsys.readouterr().err
    assert main(["models"]) == 1  # no sub-command: help
