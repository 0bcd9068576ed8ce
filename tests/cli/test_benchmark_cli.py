"""``myoshift benchmark``: bad names give one-line errors, a small run writes its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from myoshift.cli.main import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "nope"], "unknown dataset 'nope'; valid names: "),
        (["--methods", "lda-td,nope"], "unknown method 'nope'; valid methods: "),
        (["--protocol", "nope"], "unknown protocol 'nope'; valid: within-session"),
        (["--calibration", "0,x"], "--calibration takes comma-separated integers"),
        (["--protocol", "within-session", "--calibration", "0,1"], "use calibration 0"),
        (["--set", "tcn-epochs"], "--set takes METHOD.PARAM=VALUE"),
        (["--methods", "lda-td", "--set", "tcn.epochs=1"], "overrides given for methods not"),
        (["--methods", "lda-td", "--set", "lda-td.seed=3"], "cannot be overridden per method"),
    ],
)
def test_bad_input_one_line_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rc = main(["benchmark", *args, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_impossible_protocol_for_dataset(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rc = main(
        [
            "benchmark",
            "--protocol",
            "leave-group-out:age",
            "--methods",
            "lda-td",
            "--subjects",
            "1",
            "2",
            "--out",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "unknown metadata column 'age'" in err


def test_small_run_writes_outputs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = [
        "benchmark",
        "--methods",
        "lda-td",
        "--subjects",
        "1,2,3",
        "--calibration",
        "0,1",
        "--out",
        str(tmp_path),
        "--json",
        "--n-jobs",
        "1",
    ]
    rc = main(args)
    out = capsys.readouterr().out
    assert rc == 0
    summary = json.loads(out)
    assert summary["dataset"] == "synthetic" and summary["protocol"] == "loso"
    assert summary["n_runs"] == 6 and summary["n_failed"] == 0
    acc = [s for s in summary["summary"] if s["metric"] == "accuracy"]
    assert {s["calibration"] for s in acc} == {0, 1}
    assert all(0 <= s["mean"] <= 1 and s["n"] == 3 for s in acc)
    for name in ("results.csv", "summary.json", "report.html"):
        assert (tmp_path / name).is_file()
    # a second run resumes from the cache
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["n_cached"] == 6 and again["n_computed"] == 0


def test_set_file_recipes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    recipes = tmp_path / "recipes.yaml"
    recipes.write_text(
        "lda-td: {scale: false, classifier_params: {tol: 0.001}}\ntcn: {epochs: 1}\n"
    )
    args = ["benchmark", "--methods", "lda-td", "--subjects", "1,2", "--out", str(tmp_path)]
    rc = main([*args, "--set-file", str(recipes), "--set", "lda-td.scale=true", "--json"])
    assert rc == 0, capsys.readouterr().err
    run = json.loads(next((tmp_path / "runs").rglob("*.json")).read_text())
    # the file's tcn entry is ignored (not run); --set wins over the file
    assert run["method_params"]["overrides"] == {"scale": True, "classifier_params": {"tol": 0.001}}
    capsys.readouterr()
    for text, message in (
        (None, "cannot read"),
        ("- a\n- b\n", "expected a mapping of method"),
        ("lda-td: [1\n", "invalid YAML"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.unlink(missing_ok=True)
        if text is not None:
            bad.write_text(text)
        assert main([*args, "--set-file", str(bad)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "tcn.epochz=5"], "method 'tcn': unknown DeepClassifier parameters ['epochz']"),
        (
            ["--methods", "lda-td", "--set", "lda-td.classifer=svm"],
            "unknown ClassicalClassifier parameters ['classifer']",
        ),
        (["--methods", "lda-td", "--set", 'lda-td.preprocess=["nope"]'], "nope"),
        (["--methods", "tcn-lda-ensemble", "--set", "tcn-lda-ensemble.epochs=1"], "weights"),
        (["--set-file", "RECIPES", "--methods", "tcn"], "unknown DeepClassifier parameters"),
    ],
)
def test_bad_overrides_fail_before_anything_runs(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 12 item 7: one line, exit 2, before the data is read, no results folder."""
    recipes = tmp_path / "recipes.yaml"
    recipes.write_text("tcn: {epochs: 1, lr_max: 0.1}\n")
    args = [str(recipes) if a == "RECIPES" else a for a in args]
    out = tmp_path / "out"
    missing_data = tmp_path / "no-data"  # loading would fail with another message
    rc = main(
        ["benchmark", "--dataset", "myoarmband", "--data-dir", str(missing_data), *args]
        + ["--out", str(out)]
    )
    err = capsys.readouterr().err
    assert rc == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists() and not missing_data.exists()


def test_valid_window_and_step_overrides_pass_validation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """window_ms / step_ms / preprocess are not estimator parameters but are valid overrides."""
    rc = main(
        ["benchmark", "--methods", "lda-td", "--subjects", "1,2", "--calibration", "0"]
        + ["--set", "lda-td.window_ms=150", "--set", "lda-td.step_ms=100"]
        + ["--set", "lda-td.preprocess=[]", "--n-jobs", "1", "--json", "--out", str(tmp_path)]
    )
    assert rc == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["n_failed"] == 0
