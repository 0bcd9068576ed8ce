"""``myoshift methods list [--json]`` and ``methods show``."""

from __future__ import annotations

import json

import pytest

from myoshift.cli.main import main
from myoshift.learn.methods import method_names, methods


def test_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["methods", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("lda-td", "rf-td", "svm-td", "tcn"):
        assert name in out
    assert "Hudgins" in out and "(default deep)" in out


def test_list_citations_are_whole(capsys: pytest.CaptureFixture[str]) -> None:
    """Citations wrap onto continuation lines, none is cut (issue 12, item 14)."""
    assert main(["methods", "list"]) == 0
    out = capsys.readouterr().out
    assert "..." not in out and "\u2026" not in out
    words = " ".join(out.split())
    for spec in methods().values():
        assert " ".join(spec.citation.split()) in words, spec.name


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["methods", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == method_names()
    assert all(r["citation"] and r["window_ms"] > 0 for r in rows)


def test_show_and_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["methods", "show", "lda-td"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["classifier"] == "lda"
    assert main(["methods", "show", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown method 'nope'" in err and "lda-td" in err
