"""`myoshift.cli._cache`: listings cached on disk, recomputed when a source changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from myoshift.cli import _cache
from myoshift.cli.main import main


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MYOSHIFT_METHODS_DIR", raising=False)
    return tmp_path


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, int]:
        self.calls += 1
        return {"calls": self.calls}


def test_second_call_reads_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cache, "source_stamp", lambda: "s1")
    compute = Counter()
    assert _cache.cached("x", compute) == {"calls": 1}
    assert _cache.cached("x", compute) == {"calls": 1}
    assert compute.calls == 1
    assert [p.name for p in _cache.cache_folder().iterdir()] == ["x-s1.json"]


def test_new_stamp_recomputes_and_drops_the_old_file(monkeypatch: pytest.MonkeyPatch) -> None:
    compute = Counter()
    monkeypatch.setattr(_cache, "source_stamp", lambda: "s1")
    _cache.cached("x", compute)
    monkeypatch.setattr(_cache, "source_stamp", lambda: "s2")
    assert _cache.cached("x", compute) == {"calls": 2}
    assert [p.name for p in _cache.cache_folder().iterdir()] == ["x-s2.json"]


def test_corrupt_or_unwritable_cache_only_means_computing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_cache, "source_stamp", lambda: "s1")
    compute = Counter()
    _cache.cached("x", compute)
    (_cache.cache_folder() / "x-s1.json").write_text("{truncated")
    assert _cache.cached("x", compute) == {"calls": 2}
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file: no folder can be made
    assert _cache.cached("x", compute) == {"calls": 3}


def test_stamp_follows_method_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "methods"
    folder.mkdir()
    monkeypatch.setenv("MYOSHIFT_METHODS_DIR", str(folder))
    before = _cache.source_stamp()
    assert _cache.source_stamp() == before
    (folder / "mine.yaml").write_text("name: mine\n")
    assert _cache.source_stamp() != before


def test_methods_list_shows_a_method_added_after_caching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "methods"
    folder.mkdir()
    monkeypatch.setenv("MYOSHIFT_METHODS_DIR", str(folder))
    assert main(["methods", "list", "--json"]) == 0
    names = [r["name"] for r in json.loads(capsys.readouterr().out)]
    assert "lda-td" in names and "lda-mine" not in names
    (folder / "lda-mine.yaml").write_text(
        "name: lda-mine\nextends: lda-td\ndescription: mine\nwindow_ms: 150\n"
    )
    assert main(["methods", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["lda-mine"]["window_ms"] == 150.0
    assert main(["methods", "show", "lda-mine"]) == 0
    assert json.loads(capsys.readouterr().out)["source"] == str(folder / "lda-mine.yaml")
