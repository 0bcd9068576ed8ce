"""``myoshift check FILE|DATASET``: exit status 0 / 1 / 2, the JSON form, placement, and
one-line errors naming the file and the problem."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from myoshift.cli.main import main
from myoshift.datasets.synthetic import SyntheticDataset
from tests.conftest import require_dataset


def cli(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    rc = main(["check", *(str(a) for a in args)])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A calibration session (CSV + labels), a later session and faulty/broken files."""
    d = tmp_path_factory.mktemp("check")
    ds = SyntheticDataset(n_subjects=1, n_sessions=1, n_repetitions=3, seed=5)
    recs = ds.generate_subject(1)
    cal = np.concatenate([r.emg for r in recs[:2]])
    np.savetxt(d / "cal.csv", cal, delimiter=",", header="c0,c1,c2,c3,c4,c5,c6,c7")
    np.savetxt(d / "cal_labels.csv", np.concatenate([r.labels for r in recs[:2]]), fmt="%d")
    today = recs[2].emg.astype(np.float64)
    np.save(d / "today.npy", today)
    np.save(d / "rotated.npy", np.roll(today, 3, axis=1))
    flat = today.copy()
    flat[:, 4] = 0.0
    np.save(d / "flat.npy", flat)
    nan = today.copy()
    nan[5, 1] = np.nan
    np.save(d / "nan.npy", nan)
    np.save(d / "short.npy", today[:100])
    np.save(d / "ten.npy", np.random.default_rng(0).normal(0, 1, (3000, 10)))
    np.save(d / "transposed.npy", today.T)
    (d / "words.csv").write_text("1,2,3\n4,five,6\n")
    return {p.stem: p for p in d.iterdir()}


def test_clean_file_exits_0(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, files["today"], "--fs", 200)
    assert rc == 0 and "no fault found" in out and err == ""


def test_fault_exits_1_with_the_documented_json(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = cli(capsys, files["flat"], "--fs", 200, "--json")
    doc = json.loads(out)
    assert rc == 1 and set(doc) == {"ok", "faults", "placement"} and doc["ok"] is False
    assert [(f["channel"], f["fault"]) for f in doc["faults"]] == [(4, "flat")]
    fault = doc["faults"][0]
    assert isinstance(fault["score"], float) and "channel 4" in fault["message"]
    rc, out, _ = cli(capsys, files["flat"], "--fs", 200)
    assert rc == 1 and "[flat] channel 4 is flat" in out


def test_reference_round_trip_finds_the_rotation(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ref = tmp_path / "ref.npz"
    labels = files["cal_labels"]
    rc, out, _ = cli(capsys, files["cal"], "--fs", 200, "--labels", labels, "--save-reference", ref)
    assert rc == 0 and ref.is_file() and f"saved to {ref}" in out
    rc, out, _ = cli(capsys, files["rotated"], "--fs", 200, "--reference", ref, "--json")
    placement = json.loads(out)["placement"]
    assert rc == 1 and placement["rotation"] == 3 and placement["method"] == "unlabelled"
    assert "rotate it 3 electrodes" in placement["advice"] and placement["reference"] == str(ref)
    rc, out, _ = cli(capsys, files["today"], "--fs", 200, "--reference", files["cal"])
    assert rc == 0 and "no turn needed" in out  # a calibration file as the reference


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        ("words", ["--fs", 200], r"words\.csv: non-numeric value"),
        ("nan", ["--fs", 200], r"nan\.npy: NaN or Inf in channel\(s\) \[1\]"),
        ("short", ["--fs", 200], r"short\.npy: 0\.50 s of signal is shorter than the 2 s"),
        ("transposed", ["--fs", 200], r"transposed\.npy: 8 rows x \d+ columns; expected samples"),
        ("today", [], r"today\.npy: a file needs its sampling rate, add --fs HZ"),
        ("ten", ["--fs", 200, "--reference", "REF"], r"--reference .*cal\.csv: has 8 channels "),
        ("today", ["--fs", 200, "--rails", "5"], r"--rails takes LOW,HIGH"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    name: str,
    extra: list[Any],
    message: str,
) -> None:
    extra = [files["cal"] if e == "REF" else e for e in extra]
    rc, out, err = cli(capsys, files[name], *extra)
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err


def test_unknown_target(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = cli(capsys, "no-such-thing")
    assert rc == 2 and "not a registered dataset" in err and "synthetic" in err


def test_dataset_sessions(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = cli(capsys, "synthetic", "--subjects", "1", "--json")
    doc = json.loads(out)
    assert doc["dataset"] == "synthetic" and [s["session"] for s in doc["sessions"]] == [1, 2]
    first, second = doc["sessions"]
    assert first["placement"] == {} and second["placement"]["method"] == "labelled"
    assert rc == (0 if doc["ok"] else 1)
    rc, _, err = cli(capsys, "synthetic", "--fs", 200)
    assert rc == 2 and "apply to a FILE" in err


def test_real_dataset_with_subjects(capsys: pytest.CaptureFixture[str]) -> None:
    require_dataset("MyoArmbandDataset")
    rc, out, _ = cli(capsys, "myoarmband", "--subjects", "eval-Male0")
    assert rc in (0, 1)
    lines = [ln for ln in out.splitlines() if not ln.startswith(" ")]
    assert [ln.split(":")[0] for ln in lines] == [
        "myoarmband subject eval-Male0 training0",
        "myoarmband subject eval-Male0 Test0",
        "myoarmband subject eval-Male0 Test1",
    ]
    assert out.count("no turn needed") == 2  # same day, same armband position
