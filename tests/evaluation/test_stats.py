"""Statistics over people: one row per pairing, n = people, fold spread kept apart."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from myoshift.evaluation.stats import (
    compare_methods,
    paired_wilcoxon,
    pairing,
    per_person,
    sort_rows,
    summarize,
)


def _row(method: str, fold: str, subject: Any, value: float, **extra: Any) -> dict[str, Any]:
    return {
        "dataset": "d",
        "protocol": "p",
        "method": method,
        "fold": fold,
        "subject": subject,
        "calibration": 0,
        "seed": 0,
        "condition": "",
        "metric": "accuracy",
        "value": value,
        **extra,
    }


def _cross_day(values: dict[tuple[int, str], float], method: str = "a") -> list[dict[str, Any]]:
    """Cross-day-like rows: ``values[(person, "a->b")]``."""
    rows = []
    for (person, pair), v in values.items():
        a, b = pair.split("->")
        rows.append(
            _row(method, f"{person}:{pair}", person, v, train_domain=a, test_domain=b, gap=1)
        )
    return rows


def test_pairing_text_and_empty_without_a_training_domain() -> None:
    df = pd.DataFrame(
        [
            _row("a", "1:1->3", 1, 0.5, train_domain="1", test_domain="3"),
            _row("a", "2", 2, 0.5, train_domain=None, test_domain="2"),  # loso
        ]
    )
    assert pairing(df).tolist() == ["1->3", ""]
    assert pairing(df.drop(columns=["train_domain", "test_domain"])).tolist() == ["", ""]


def test_cross_day_pairings_get_their_own_row_and_n_counts_people() -> None:
    values = {
        (1, "1->2"): 0.9,
        (2, "1->2"): 0.7,
        (3, "1->2"): 0.8,
        (1, "1->3"): 0.6,
        (2, "1->3"): 0.4,
        (1, "2->3"): 0.95,
        (2, "2->3"): 0.85,
    }
    s = summarize(pd.DataFrame(_cross_day(values)))
    assert s["pairing"].tolist() == ["1->2", "1->3", "2->3"]  # never averaged together
    row = s.set_index("pairing").loc["1->2"]
    assert row["n"] == 3 and row["mean"] == pytest.approx(0.8)
    assert row["std"] == pytest.approx(np.std([0.9, 0.7, 0.8], ddof=1))
    assert s.set_index("pairing").loc["1->3", "n"] == 2


def test_n_people_and_fold_spread_when_a_person_has_several_folds() -> None:
    # person 1 has two folds in one cell (two sessions), person 2 one
    rows = [_row("a", "1/s1", 1, 0.6), _row("a", "1/s2", 1, 1.0), _row("a", "2/s1", 2, 0.5)]
    s = summarize(pd.DataFrame(rows)).iloc[0]
    assert s["n"] == 2 and s["n_folds"] == 3
    assert s["mean"] == pytest.approx((0.8 + 0.5) / 2)  # person 1's folds averaged first
    assert s["std"] == pytest.approx(np.std([0.8, 0.5], ddof=1))
    assert s["std_folds"] == pytest.approx(np.std([0.6, 1.0, 0.5], ddof=1))


def test_one_person_has_no_spread_and_seeds_are_averaged_first() -> None:
    rows = [_row("a", "1", 1, 0.6), {**_row("a", "1", 1, 0.8), "seed": 1}]
    s = summarize(pd.DataFrame(rows)).iloc[0]
    assert s["n"] == 1 and s["mean"] == pytest.approx(0.7) and np.isnan(s["std"])


def test_folds_without_subject_count_as_their_own_unit() -> None:
    rows = [_row("a", "g1", None, 0.6), _row("a", "g2", None, 0.8)]
    assert summarize(pd.DataFrame(rows)).iloc[0]["n"] == 2


def test_rows_sorted_naturally() -> None:
    df = pd.DataFrame({"method": "a", "pairing": ["2->3", "1->10", "10->11", "1->2"]})
    assert sort_rows(df)["pairing"].tolist() == ["1->2", "1->10", "2->3", "10->11"]
    m = pd.DataFrame({"method": "a", "calibration": [10, 2, 1], "metric": "accuracy"})
    assert sort_rows(m)["calibration"].tolist() == [1, 2, 10]


def test_wilcoxon_pairs_people_not_folds() -> None:
    a = {(1, "1->2"): 0.9, (1, "1->3"): 0.7, (2, "1->2"): 0.6, (2, "1->3"): 0.4}
    a |= {(3, "1->2"): 0.8, (3, "1->3"): 0.8, (4, "1->2"): 0.5, (4, "1->3"): 0.9}
    b = {k: v - 0.1 * k[0] for k, v in a.items()}
    df = pd.DataFrame(_cross_day(a, "a") + _cross_day(b, "b"))
    w = paired_wilcoxon(df, "a", "b")
    pp = per_person(df, pairings=False)
    xa = pp[pp["method"] == "a"]["value"].to_numpy()
    xb = pp[pp["method"] == "b"]["value"].to_numpy()
    ref = sps.wilcoxon(xa, xb)
    assert w["n"] == 4 and w["p_value"] == pytest.approx(ref.pvalue)
    assert w["mean_diff"] == pytest.approx(np.mean([0.1, 0.2, 0.3, 0.4]))


def test_compare_methods_flags_a_quick_recipe() -> None:
    rows = [_row(m, str(i), i, 0.5 + 0.01 * i * (m == "a")) for m in "ab" for i in range(1, 6)]
    df = pd.DataFrame(rows)
    plain = compare_methods(df)
    assert "note" not in plain.columns
    flagged = compare_methods(df, recipe_notes={"b": "quick recipe (epochs=5)"})
    assert flagged.iloc[0]["note"] == "b: quick recipe (epochs=5)"
    assert flagged.iloc[0]["p_value"] == pytest.approx(plain.iloc[0]["p_value"])
