"""The report says what ran, is one self-contained file, and tables pairings apart."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from myoshift.evaluation import Method, run_benchmark
from myoshift.evaluation.report import write_report
from myoshift.evaluation.summary import summary_dict
from myoshift.evaluation.tables import main_table
from tests.evaluation.helpers import build_centroid, make_set

CENTROID = Method("centroid", build_centroid, window_ms=200, step_ms=100)
OTHER = Method("other", build_centroid, window_ms=100, step_ms=100)


def _srcs(text: str) -> list[str]:
    return re.findall(r"""src\s*=\s*['"]([^'"]*)['"]""", text)


def test_report_is_self_contained_in_natural_order(tmp_path: Path) -> None:
    rs = make_set(subjects=tuple(range(1, 12)), reps=2)
    res = run_benchmark(
        rs, "loso", [CENTROID], calibration=[0, 1], out_dir=tmp_path, show_progress=False
    )
    text = (tmp_path / "report.html").read_text()
    srcs = _srcs(text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "href=" not in text  # nothing to follow once the file is mailed alone
    assert (tmp_path / "plots" / "per_subject.png").read_bytes()[:4] == b"\x89PNG"
    # folds in natural order: 1, 2, ..., 10, 11 (not 1, 10, 11, 2)
    order = [text.index(f"person {i} held out") for i in range(1, 12)]
    assert order == sorted(order)
    assert [f["fold"] for f in res.meta["folds"]] == [str(i) for i in range(1, 12)]
    assert "a fold is</dt><dd>one held-out person" in text


def test_summary_records_what_ran(tmp_path: Path) -> None:
    rs = make_set(subjects=(1, 2), reps=2)
    command = ["myoshift", "benchmark", "--methods", "lda-td", "--set", "lda-td.step_ms=100"]
    res = run_benchmark(
        rs,
        "loso",
        ["lda-td"],
        calibration=[0, 1],
        out_dir=tmp_path,
        overrides={"lda-td": {"step_ms": 100, "scale": False}},
        command=command,
        show_progress=False,
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    recipe = summary["recipes"]["lda-td"]
    assert recipe["window_ms"] == 200 and recipe["step_ms"] == 100
    assert recipe["estimator"] == "ClassicalClassifier"
    params = recipe["estimator_params"]
    assert params["classifier"] == "lda" and params["scale"] is False
    assert "window_ms" not in params  # the chain's windowing rules, not the estimator's
    assert recipe["overrides"] == {"step_ms": 100, "scale": False}
    assert recipe["quick_recipe"] is None and summary["quick_recipe"] == {}
    assert summary["command"] == command
    assert set(summary["versions"]) >= {"python", "myoshift", "numpy", "torch", "scikit-learn"}
    assert summary["protocol_params"]["column"] == "subject" and summary["regime"] == "transfer"
    fold = summary["folds"][0]
    assert fold["fold"] == "1" and fold["train_subjects"] == ["2"]
    assert fold["what"] == "person 1 held out; trained on 1 other people"
    text = (tmp_path / "report.html").read_text()
    assert "myoshift benchmark --methods lda-td --set lda-td.step_ms=100" in text
    assert "ClassicalClassifier" in text and "scikit-learn" in text
    assert res.meta["recipes"]["lda-td"]["step_ms"] == 100


def test_quick_recipe_is_not_silently_compared(tmp_path: Path) -> None:
    rs = make_set(subjects=(1, 2, 3), reps=2)
    res = run_benchmark(rs, "loso", [CENTROID, OTHER], calibration=0, show_progress=False)
    res.meta["quick_recipe"] = {"other": {"epochs": 5}}
    rows = summary_dict(res)["wilcoxon"]
    assert rows and all("other: quick recipe (epochs=5)" in r["note"] for r in rows)
    text = write_report(res, tmp_path).read_text()
    assert "quick recipe (epochs=5)" in text and "not a comparison of the published" in text
    res.meta["quick_recipe"] = {}
    assert "note" not in summary_dict(res)["wilcoxon"][0]


def test_cross_day_reports_each_pairing_with_n_people(tmp_path: Path) -> None:
    rs = make_set(subjects=(1, 2), sessions=(1, 2, 3), session_key="day", rep_key="trial", reps=2)
    res = run_benchmark(
        rs, "cross-day", [CENTROID], calibration=[0, 1], out_dir=tmp_path, show_progress=False
    )
    table = main_table(res)
    assert table["pairing"].tolist() == ["1->2", "1->3", "2->3"] * 2
    assert (table["n"] == 2).all()
    summary = json.loads((tmp_path / "summary.json").read_text())
    acc = [s for s in summary["summary"] if s["metric"] == "accuracy" and s["calibration"] == 0]
    assert [(s["pairing"], s["n"], s["n_folds"]) for s in acc] == [
        ("1->2", 2, 2),
        ("1->3", 2, 2),
        ("2->3", 2, 2),
    ]
    text = (tmp_path / "report.html").read_text()
    assert "day pairing (train-&gt;test)" in text and "n (people)" in text
    assert "one person and one day pair" in text
    what = [f["what"] for f in summary["folds"]]
    assert what[0] == "person 1: trained on day 1, tested on day 2 (gap 1)"


def test_report_renders_in_chromium(tmp_path: Path) -> None:
    """The documented browser check: headless Chromium renders the report to a PNG."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    rs = make_set(subjects=(1, 2, 3), reps=2)
    run_benchmark(rs, "loso", [CENTROID], calibration=[0, 1], out_dir=tmp_path)
    shot = tmp_path / "shot.png"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}"]
    cmd += ["--window-size=1280,2400", (tmp_path / "report.html").as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[:2] == (2400, 1280)
    # the embedded figures render: many non-white pixels beyond the tables at the top
    lower = pixels[1200:, :, :3]
    assert (lower < 0.9).any(axis=2).mean() > 0.02
