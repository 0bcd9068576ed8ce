"""tables.main_table: one row per method and budget, each counting its own people."""

from __future__ import annotations

import numpy as np
import pandas as pd

from myoshift.evaluation.stats import summarize
from myoshift.evaluation.summary import BenchmarkResult
from myoshift.evaluation.tables import main_table, report_columns


def _rows(method: str, metrics: dict[str, float], people: list[int], folds: int = 1) -> list:
    """Result rows of one method: every metric for each person's folds."""
    out = []
    for p in people:
        for f in range(folds):
            for metric, base in metrics.items():
                out.append(
                    {
                        "dataset": "test",
                        "protocol": "loso",
                        "method": method,
                        "fold": f"{p}/{f}",
                        "subject": p,
                        "calibration": 0,
                        "seed": 0,
                        "condition": "",
                        "metric": metric,
                        "value": base + 0.01 * p + 0.001 * f,
                    }
                )
    return out


def _result(rows: list) -> BenchmarkResult:
    results = pd.DataFrame(rows)
    return BenchmarkResult(results=results, summary=summarize(results), records=[])


def test_mixed_classification_and_regression_rows_count_their_own_people() -> None:
    # a classifier on 3 people (2 folds each), a regressor on 2 people (1 fold each)
    cls = _rows("lda", {"accuracy": 0.8, "balanced_accuracy": 0.7, "f1_macro": 0.6}, [1, 2, 3], 2)
    reg = _rows("ridge", {"r2": 0.5, "pearson_r": 0.7, "nmse": 0.4, "rmse": 1.2}, [1, 2])
    table = main_table(_result(cls + reg)).set_index("method")
    assert table["n"].tolist() == [3, 2] and table["n_folds"].tolist() == [6, 2]
    assert not table[["n", "n_folds"]].isna().any().any()
    # the regressor's row has its own metrics, the classifier's none of them
    assert table.loc["ridge", "r2"] == "0.515 ± 0.007"
    assert table.loc["lda", "accuracy"] == "82.0 ± 1.0"
    assert pd.isna(table.loc["lda", "r2"]) and pd.isna(table.loc["ridge", "accuracy"])
    # the spread over folds is each row's headline metric: accuracy, r2
    assert table.loc["lda", "sd_folds"] == "0.9" and table.loc["ridge", "sd_folds"] == "0.007"
    shown = report_columns(table.reset_index(), {})
    assert "accuracy / r2 sd over folds" in shown.columns


def test_regression_only_rows_count_from_r2() -> None:
    table = main_table(_result(_rows("ridge", {"r2": 0.5, "rmse": 1.0}, [1, 2, 3])))
    assert table["n"].tolist() == [3] and list(table.columns[:3]) == ["method", "calibration", "r2"]
    assert np.isclose(float(table["r2"].iloc[0].split(" ± ")[0]), 0.52)
