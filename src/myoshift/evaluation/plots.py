"""Benchmark figures as PNG files (matplotlib, Agg backend: no display needed).

Fold labels are in natural order (1, 2, ..., 10), calibration budgets and gaps get
integer ticks, and spreads are over people (`myoshift.evaluation.stats`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from myoshift.evaluation.stats import per_fold, per_person
from myoshift.evaluation.units import order_key, sorted_values

#: above this many classes a confusion matrix has no numbers in its cells (see
#: `top_confusions` for the table the report adds instead)
ANNOTATE_MAX = 15


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _limits(df: pd.DataFrame) -> tuple[float, float]:
    """y range: [0, 1] for scores in it (accuracies, r), else widened to the data (R², NMSE)."""
    v = df["value"].to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return (
        min(0.0, float(v.min())) if v.size else 0.0,
        max(1.0, float(v.max())) if v.size else 1.0,
    )


def _base(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of the base test condition (no electrode shift)."""
    return df[df["condition"].fillna("") == ""] if "condition" in df else df


def _pairing_key(p: Any) -> tuple[Any, ...]:
    return tuple(order_key(v) for v in str(p).split("->"))


def _tick_labels(ax: Any, x: np.ndarray, labels: Sequence[str]) -> None:
    long = len(labels) > 12 or max((len(s) for s in labels), default=0) > 4
    ax.set_xticks(x)
    ax.set_xticklabels(
        labels, rotation=45 if long else 0, ha="right" if long else "center", fontsize=8
    )


def per_subject_bars(results: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path | None:
    """Bars per fold (folds in natural order), one bar per method; a panel per budget.

    Where folds have several pairings (cross-day: day 1 -> 3, day 3 -> 4, ...), one group
    per pairing instead: the bar is the mean over people, each dot one person.
    """
    pf = _base(per_fold(results))
    pf = pf[pf["metric"] == metric]
    if pf.empty:
        return None
    by_pairing = pf["pairing"].nunique() > 1
    if by_pairing:
        df = _base(per_person(results))
        df = df[df["metric"] == metric].rename(columns={"pairing": "x"})
        xs = sorted(df["x"].unique(), key=_pairing_key)
    else:
        df = pf.rename(columns={"fold": "x"})
        xs = sorted_values(df["x"].tolist())
    cals = sorted(df["calibration"].unique())
    methods = sorted(df["method"].unique())
    width_in = min(18.0, max(6.0, 0.3 * len(xs) * len(methods) + 2))
    fig, axes = plt.subplots(len(cals), 1, figsize=(width_in, 3 * len(cals)), squeeze=False)
    width = 0.8 / len(methods)
    x = np.arange(len(xs))
    for ax, cal in zip(axes[:, 0], cals):
        sub = df[df["calibration"] == cal]
        for i, m in enumerate(methods):
            rows = sub[sub["method"] == m]
            mean = rows.groupby("x")["value"].mean().reindex(xs)
            ax.bar(x + i * width, mean.to_numpy(), width, label=m)
            if by_pairing and rows.groupby("x")["value"].size().max() > 1:  # dots: people
                pos = {v: j for j, v in enumerate(xs)}
                px = [pos[v] + i * width for v in rows["x"]]
                ax.plot(px, rows["value"], ls="none", marker=".", color="black", markersize=3)
        _tick_labels(ax, x + width * (len(methods) - 1) / 2, [str(v) for v in xs])
        ax.set_xlabel("pairing (train -> test)" if by_pairing else "fold")
        ax.set_ylabel(metric)
        ax.set_ylim(*_limits(df))
        ax.set_title(f"calibration {cal}", fontsize=9)
        ax.legend(fontsize=8)
    return _save(fig, path)


def calibration_curve(results: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path | None:
    """Mean ± sd over people against the calibration budget, one line per method."""
    df = _base(per_person(results, pairings=False))
    df = df[df["metric"] == metric]
    if df.empty or df["calibration"].nunique() < 2:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for m, sub in df.groupby("method"):
        g = sub.groupby("calibration")["value"]
        mean, std = g.mean(), g.std().fillna(0)
        ax.errorbar(
            mean.index, mean.to_numpy(), yerr=std.to_numpy(), marker="o", capsize=3, label=m
        )
    ax.set_xticks(sorted(int(c) for c in df["calibration"].unique()))
    ax.set_xlabel("calibration budget (repetitions of the target)")
    ax.set_ylabel(metric)
    ax.set_ylim(*_limits(df))
    ax.legend(fontsize=8)
    return _save(fig, path)


def gap_curve(results: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path | None:
    """Mean over people against the gap between the first (training) day and the test one."""
    if "gap" not in results or results["gap"].isna().all():
        return None
    df = _base(results[(results["metric"] == metric)]).dropna(subset=["gap", "value"])
    if df.empty:
        return None
    if "train_domain" in df and df["train_domain"].nunique() > 1:
        # day 1 -> day d folds only (d -> d+1 folds all have gap 1)
        first = sorted_values(df["train_domain"].astype(str).tolist())[0]
        df = df[df["train_domain"].astype(str) == first]
    person = df["subject"].astype(str) if "subject" in df else df["fold"]
    df = df.assign(person=person, gap=df["gap"].astype(float))
    pp = df.groupby(["method", "calibration", "gap", "person"])["value"].mean().reset_index()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for (m, cal), sub in pp.groupby(["method", "calibration"]):
        g = sub.groupby("gap")["value"]
        mean, std = g.mean(), g.std().fillna(0)
        ax.errorbar(
            mean.index, mean.to_numpy(), yerr=std.to_numpy(), marker="o", capsize=2,
            label=f"{m}, cal {cal}",
        )  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("gap (days / sessions after the training one)")
    ax.set_ylabel(metric)
    ax.set_ylim(*_limits(pp))
    ax.legend(fontsize=8)
    return _save(fig, path)


def days_curve(results: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path | None:
    """`gap_curve` of the sequential regime: one test condition per day, each with its
    ``days_since_training`` (a metric row of that condition) as the gap."""
    since = results[results["metric"] == "days_since_training"]
    if since.empty:
        return None
    keys = ["dataset", "protocol", "method", "fold", "calibration", "seed", "condition"]
    gap = since.set_index(keys)["value"].rename("gap")
    df = results[results["metric"] == metric].drop(columns=["gap", "train_domain"], errors="ignore")
    df = df.join(gap, on=keys).assign(condition="")  # every day a base test, every person kept
    return gap_curve(df, path, metric)


def condition_bars(results: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path | None:
    """Mean over people per test condition (e.g. electrode shift), one bar per method."""
    df = per_person(results, pairings=False)
    df = df[df["metric"] == metric]
    if "condition" not in df or (df["condition"].fillna("") == "").all():
        return None
    df = df[df["condition"].fillna("") != ""].copy()
    parts = df["condition"].str.split("/", n=1, expand=True)
    df["cond"] = parts[0]
    tag = parts[1].fillna("") if parts.shape[1] > 1 else ""
    df["series"] = df["method"] + np.where(tag != "", " (" + tag + ")", "")

    def _num(c: str) -> float:
        try:
            return float(c.split("=")[-1])
        except ValueError:
            return 0.0

    conds = sorted(df["cond"].unique(), key=_num)
    series = sorted(df["series"].unique())
    fig, ax = plt.subplots(figsize=(max(5, len(conds) * 1.2), 3.5))
    width = 0.8 / len(series)
    x = np.arange(len(conds))
    for i, s in enumerate(series):
        vals = df[df["series"] == s].groupby("cond")["value"].mean().reindex(conds)
        ax.bar(x + i * width, vals.to_numpy(), width, label=s)
    ax.set_xticks(x + width * (len(series) - 1) / 2)
    ax.set_xticklabels(conds)
    ax.set_ylabel(metric)
    ax.set_ylim(*_limits(df))
    ax.legend(fontsize=8)
    return _save(fig, path)


def _row_normalised(matrix: np.ndarray) -> np.ndarray:
    m = np.asarray(matrix, dtype=float)
    return m / np.maximum(m.sum(axis=1, keepdims=True), 1)


def confusion_matrix_plot(
    matrix: np.ndarray, labels: Sequence[str], path: Path, title: str = ""
) -> Path:
    """Row-normalised confusion matrix (rows: true class), about 0.45 inch per class."""
    norm = _row_normalised(matrix)
    n = len(labels)
    side = max(3.5, 0.45 * n + 2.5)
    fig, ax = plt.subplots(figsize=(side + 1, side))
    im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    if n <= ANNOTATE_MAX:
        for i in range(n):
            for j in range(n):
                if norm[i, j] >= 0.005:
                    color = "white" if norm[i, j] > 0.5 else "black"
                    ax.text(
                        j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=6, color=color
                    )
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, path)


def top_confusions(matrix: np.ndarray, labels: Sequence[str], k: int = 10) -> pd.DataFrame:
    """The ``k`` largest off-diagonal cells of a confusion matrix (rows: true class).

    Returns ``true``, ``predicted``, ``share of true %`` (row-normalised) and ``windows``
    (the count), largest share first; cells with no window are left out.
    """
    m = np.asarray(matrix)
    norm = _row_normalised(m)
    off = [
        (norm[i, j], int(m[i, j]), labels[i], labels[j])
        for i in range(len(labels))
        for j in range(len(labels))
        if i != j and m[i, j] > 0
    ]
    off.sort(key=lambda t: (-t[0], -t[1]))
    return pd.DataFrame(
        [
            {"true": t, "predicted": p, "share of true %": round(100 * s, 1), "windows": c}
            for s, c, t, p in off[:k]
        ],
        columns=["true", "predicted", "share of true %", "windows"],
    )


def summed_confusions(
    records: Sequence[dict[str, Any]], class_names: Sequence[str] = ()
) -> dict[tuple[str, int], tuple[np.ndarray, list[str]]]:
    """Confusion matrices summed over folds and seeds per (method, calibration).

    Only the base test condition (no electrode shift) is counted.
    """
    acc: dict[tuple[str, int], dict[tuple[Any, Any], int]] = {}
    labels: dict[tuple[str, int], set[Any]] = {}
    for r in records:
        if r.get("status") != "ok":
            continue
        conds = r.get("conditions", {})
        cm = conds.get("") or conds.get("shift=+0")  # the unshifted test of noaug folds
        if cm is None or "confusion" not in cm:  # regression runs have none
            continue
        key = (r["key"]["method"], int(r["key"]["calibration"]))
        cells = acc.setdefault(key, {})
        labs = cm["labels"]
        labels.setdefault(key, set()).update(labs)
        for i, a in enumerate(labs):
            for j, b in enumerate(labs):
                cells[(a, b)] = cells.get((a, b), 0) + int(cm["confusion"][i][j])
    out = {}
    for key, cells in acc.items():
        labs = sorted(labels[key], key=lambda v: (isinstance(v, str), v))
        mat = np.array([[cells.get((a, b), 0) for b in labs] for a in labs])
        names = [
            class_names[a] if isinstance(a, int) and 0 <= a < len(class_names) else str(a)
            for a in labs
        ]
        out[key] = (mat, names)
    return out
