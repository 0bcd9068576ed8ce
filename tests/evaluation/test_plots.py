"""Figures: natural fold order, integer ticks, readable large confusion matrices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from myoshift.evaluation import plots


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The matplotlib figures the plot functions would save (kept open for inspection)."""
    kept: list[Any] = []

    def keep(fig: Any, path: Path) -> Path:
        kept.append(fig)
        return path

    monkeypatch.setattr(plots, "_save", keep)
    yield kept
    for fig in kept:
        plots.plt.close(fig)


def _results(folds: list[str], cals: tuple[int, ...] = (0,), **extra: Any) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        {
            "dataset": "d",
            "protocol": "loso",
            "method": m,
            "fold": f,
            "subject": f,
            "calibration": c,
            "seed": 0,
            "condition": "",
            "metric": "accuracy",
            "value": float(rng.uniform(0.5, 1)),
            **extra,
        }
        for m in ("a", "b")
        for f in folds
        for c in cals
    ]
    return pd.DataFrame(rows)


def _labels(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.get_xticklabels()]


def test_fold_labels_in_natural_order(figures: list[Any], tmp_path: Path) -> None:
    folds = [str(i) for i in (10, 2, 1, 11, 3)]
    plots.per_subject_bars(_results(folds), tmp_path / "x.png")
    assert _labels(figures[0].axes[0]) == ["1", "2", "3", "10", "11"]


def test_pairings_grouped_in_natural_order(figures: list[Any], tmp_path: Path) -> None:
    rows = []
    for person in (1, 2):
        for a, b in (("1", "10"), ("1", "2"), ("2", "3"), ("10", "11")):
            rows.append(
                {
                    "dataset": "d",
                    "protocol": "cross-day",
                    "method": "a",
                    "fold": f"{person}:{a}->{b}",
                    "subject": person,
                    "calibration": 0,
                    "seed": 0,
                    "condition": "",
                    "metric": "accuracy",
                    "value": 0.5 + 0.1 * person,
                    "train_domain": a,
                    "test_domain": b,
                }
            )
    plots.per_subject_bars(pd.DataFrame(rows), tmp_path / "x.png")
    ax = figures[0].axes[0]
    assert _labels(ax) == ["1->2", "1->10", "2->3", "10->11"]
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([0.65] * 4)  # the mean over the two people


def test_calibration_budgets_get_integer_ticks(figures: list[Any], tmp_path: Path) -> None:
    plots.calibration_curve(_results(["1", "2"], cals=(0, 1, 4)), tmp_path / "c.png")
    ticks = figures[0].axes[0].get_xticks()
    assert list(ticks) == [0, 1, 4]


def test_gap_ticks_are_integers(figures: list[Any], tmp_path: Path) -> None:
    df = pd.concat(
        [
            _results(["1"], train_domain="1", test_domain=str(d), gap=d - 1).assign(
                fold=f"1:1->{d}"
            )
            for d in (2, 3)
        ]
    )
    assert plots.gap_curve(df, tmp_path / "g.png") is not None
    ax = figures[0].axes[0]
    lo, hi = ax.get_xlim()
    shown = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert shown and all(float(t).is_integer() for t in shown)


def test_large_confusion_matrix_is_large_and_top_confusions(
    figures: list[Any], tmp_path: Path
) -> None:
    n = 22
    labels = [f"class {i}" for i in range(n)]
    plots.confusion_matrix_plot(np.eye(n) * 10, labels, tmp_path / "cm.png")
    width, height = figures[0].get_size_inches()
    assert height >= 0.45 * n and width >= height  # ~0.45 inch per class, colour bar beside
    mat = np.array([[8, 2, 0], [1, 5, 4], [0, 0, 3]])
    top = plots.top_confusions(mat, ["r", "f", "o"], k=2)
    assert top.to_dict("records") == [
        {"true": "f", "predicted": "o", "share of true %": 40.0, "windows": 4},
        {"true": "r", "predicted": "f", "share of true %": 20.0, "windows": 2},
    ]
    assert len(plots.top_confusions(mat, ["r", "f", "o"])) == 3  # zero cells left out
