"""``myoshift datasets list | summary | download | cache`` through the real entry point."""

from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np
import pytest

from myoshift.cli.main import main
from myoshift.datasets import dataset_names, get_dataset
from myoshift.datasets.base import Download
from tests.conftest import require_dataset
from tests.datasets.test_download import remote, server  # noqa: F401  (fixtures)


def test_list_json_reports_found_locally(tmp_path, capsys):
    (tmp_path / "MyoArmbandDataset").mkdir()
    assert main(["datasets", "list", "--data-dir", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["data_dir"] == str(tmp_path)
    rows = {r["name"]: r for r in out["datasets"]}
    assert set(rows) == set(dataset_names())
    assert rows["synthetic"]["found"] and rows["synthetic"]["builtin"]
    assert rows["myoarmband"]["found"] and not rows["myoarmband"]["builtin"]
    assert all(r["description"] for r in rows.values())
    others = [r for n, r in rows.items() if n not in ("synthetic", "myoarmband")]
    assert not any(r["found"] for r in others)


def test_list_table(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps cells to the terminal width
    assert main(["datasets", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "synthetic" in out and "built-in" in out and "myoarmband" in out
    assert "MyoArmbandDataset" in out  # where it would be expected


def test_summary_synthetic_json(capsys):
    assert main(["datasets", "summary", "synthetic", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["name"] == "synthetic"
    assert s["n_recordings"] == 60 and s["n_subjects"] == 6
    assert s["subjects"] == [1, 2, 3, 4, 5, 6]
    assert s["sessions"] == [1, 2] and s["days"] == [1, 2]
    assert s["classes"] == ["rest", "gesture1", "gesture2", "gesture3", "gesture4", "gesture5"]
    assert s["fs"] == 200.0 and s["n_channels"] == 8
    assert s["total_seconds"] == pytest.approx(sum(s["class_seconds"].values()), abs=0.01)


def test_summary_table(capsys):
    assert main(["datasets", "summary", "synthetic"]) == 0
    out = capsys.readouterr().out
    for word in ("n_recordings", "60", "gesture5", "total_seconds"):
        assert word in out


def test_cache_shows_and_clears_only_cache_files(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    libemg = tmp_path / "libemg-onesubject"
    libemg.mkdir()
    (libemg / "a-0123.npz").write_bytes(b"x" * 1000)
    (libemg / ".tmp-xyz.npz").write_bytes(b"x" * 500)  # left by a killed run
    (libemg / "notes.txt").write_text("not ours")
    (tmp_path / "kanoga").mkdir()
    (tmp_path / "kanoga" / "b-0123.npz").write_bytes(b"x" * 10)
    args = ["datasets", "cache", "--cache-dir", str(tmp_path)]
    assert main([*args, "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["datasets"]}
    assert set(rows) == set(dataset_names())
    assert (rows["libemg-onesubject"]["files"], rows["libemg-onesubject"]["bytes"]) == (2, 1500)
    assert rows["myoarmband"]["files"] == 0
    assert main([*args, "libemg-onesubject", "--clear"]) == 0
    assert "libemg-onesubject" in capsys.readouterr().out
    assert sorted(p.name for p in libemg.iterdir()) == ["notes.txt"]
    assert (tmp_path / "kanoga" / "b-0123.npz").exists()  # not named: kept
    assert main([*args, "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_cache_of_a_real_load_then_cleared(capsys, tmp_path):
    data = require_dataset("OneSubjectMyoDataset").parent
    cache_dir = tmp_path / "c"
    get_dataset("libemg-onesubject", data_dir=data, cache_dir=cache_dir).load(show_progress=False)
    args = ["datasets", "cache", "libemg-onesubject", "--cache-dir", str(cache_dir), "--json"]
    assert main(args) == 0
    before = json.loads(capsys.readouterr().out)["datasets"][0]
    assert before["files"] == 2 and before["bytes"] > 0  # the unit and the whole load
    assert main([*args, "--clear"]) == 0
    cleared = json.loads(capsys.readouterr().out)
    assert cleared["cleared"] and cleared["datasets"][0] == before
    assert not (cache_dir / "libemg-onesubject").exists()


def test_unknown_dataset_exits_2_listing_valid_names(capsys):
    assert main(["datasets", "summary", "no-such-set"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "no-such-set" in err and "synthetic" in err and "myoarmband" in err


def test_missing_dataset_says_where_it_looked(tmp_path, capsys):
    assert main(["datasets", "summary", "myoarmband", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "MyoArmbandDataset") in err
    assert len(err.strip().splitlines()) == 1


def test_download_without_archive_fails_cleanly(tmp_path, capsys):
    assert main(["datasets", "download", "synthetic", "--data-dir", str(tmp_path)]) == 2
    assert "no public archive" in capsys.readouterr().err


def test_download_from_local_server(server, remote, monkeypatch, tmp_path, capsys):  # noqa: F811
    url, served = server
    archive = served / "r.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("s1/data.txt", "1 2 3")
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    monkeypatch.setattr(remote, "downloads", (Download(f"{url}/r.zip", sha),))
    assert main(["datasets", "download", "test-remote", "--data-dir", str(tmp_path)]) == 0
    assert (tmp_path / "RemoteDataset" / "s1" / "data.txt").read_text() == "1 2 3"
    assert "RemoteDataset" in capsys.readouterr().out
    monkeypatch.setattr(remote, "downloads", (Download(f"{url}/r.zip", "f" * 64),))
    assert main(["datasets", "download", "test-remote", "--data-dir", str(tmp_path / "x")]) == 2
    assert "r.zip" in capsys.readouterr().err


def test_summarize_counts_unlabelled_mixed_rates_and_is_json():
    from myoshift.datasets.summary import summarize
    from myoshift.recording import Layout, Recording, RecordingSet

    labels = np.r_[np.full(100, -1), np.full(200, 0), np.full(300, 2)]
    recs = RecordingSet(
        [
            Recording(
                np.zeros((600, 4)),
                100.0,
                labels,
                Layout.ring(4),
                meta={"subject": np.int64(1), "day": 3},
                class_names=("rest", "a", "b"),
            ),
            Recording(np.zeros((50, 2)), 50.0, 7, Layout.plain(2), meta={"subject": 2, "day": 4}),
        ]
    )
    s = summarize(recs, "mine")
    assert json.loads(json.dumps(s)) == s
    assert s["subjects"] == [1, 2] and s["days"] == [3, 4] and s["sessions"] == []
    assert s["classes"] == ["rest", "b", "class7"]  # codes present; unknown code named
    assert s["class_seconds"] == {"rest": 2.0, "b": 3.0, "class7": 1.0}
    assert s["unlabelled_seconds"] == 1.0
    assert s["fs"] == [50.0, 100.0] and s["n_channels"] == [2, 4]
    assert s["total_seconds"] == 7.0 and s["layout"] == ["plain", "ring"]
