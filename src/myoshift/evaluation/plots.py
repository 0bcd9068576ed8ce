"""Benchmark figures as PNG files (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from myoshift.evaluation.stats import per_fold
from myoshift.evaluation.units import sorted_values


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


def _metric(results: pd.DataFrame, metric: str) -> pd.DataFrame:
    pf = per_fold(results)
    return pf[pf["metric"] == metric]


def per_subject_bars(results: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path | None:
    """Grouped bars: one group per fold (subject), one bar per method; a panel per budget."""
    df = _metric(results, metric)
    df = df[df["condition"].fillna("") == ""] if "condition" in df else df
    if df.empty:
        return None
    cals = sorted(df["calibration"].unique())
    methods = sorted(df["method"].unique())
    folds = list(dict.fromkeys(df["fold"]))
    fig, axes = plt.subplots(
        len(cals),
        1,
        figsize=(max(6, 0.5 * len(folds) * len(methods) + 2), 3 * len(cals)),
        squeeze=False,
    )
    width = 0.8 / len(methods)
    x = np.arange(len(folds))
    for ax, cal in zip(axes[:, 0], cals):
        sub = df[df["calibration"] == cal]
        for i, m in enumerate(methods):
            vals = sub[sub["method"] == m].set_index("fold")["value"].reindex(folds)
            ax.bar(x + i * width, vals.to_numpy(), width, label=m)
        ax.set_xticks(x + width * (len(methods) - 1) / 2)
        ax.set_xticklabels(folds, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel(metric)
        ax.set_ylim(*_limits(df))
        ax.set_title(f"calibration {cal}")
        ax.legend(fontsize=8)
    return _save(fig, path)


def calibration_curve(results: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path | None:
    """Mean ± std across folds against the calibration budget, one line per method."""
    df = _metric(results, metric)
    df = df[df["condition"].fillna("") == ""] if "condition" in df else df
    if df.empty or df["calibration"].nunique() < 2:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for m, sub in df.groupby("method"):
        g = sub.groupby("calibration")["value"]
        mean, std = g.mean(), g.std().fillna(0)
        ax.errorbar(
            mean.index, mean.to_numpy(), yerr=std.to_numpy(), marker="o", capsize=3, label=m
        )
    ax.set_xlabel("calibration budget (repetitions)")
    ax.set_ylabel(metric)
    ax.set_ylim(*_limits(df))
    ax.legend(fontsize=8)
    return _save(fig, path)


def gap_curve(results: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path | None:
    """Accuracy against the gap between the first training day/session and the test one."""
    if "gap" not in results or results["gap"].isna().all():
        return None
    df = results[(results["metric"] == metric)].dropna(subset=["gap", "value"])
    if df.empty:
        return None
    if "train_domain" in df and df["train_domain"].nunique() > 1:
        # day 1 -> day d folds only (d -> d+1 folds all have gap 1)
        first = sorted_values(df["train_domain"].astype(str).tolist())[0]
        df = df[df["train_domain"].astype(str) == first]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for (m, cal), sub in df.groupby(["method", "calibration"]):
        g = sub.groupby("gap")["value"].mean()
        ax.plot(g.index.astype(float), g.to_numpy(), marker="o", label=f"{m}, cal {cal}")
    ax.set_xlabel("gap (days / sessions)")
    ax.set_ylabel(metric)
    ax.set_ylim(*_limits(df))
    ax.legend(fontsize=8)
    return _save(fig, path)


def condition_bars(results: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path | None:
    """Mean accuracy per test condition (e.g. electrode shift), one bar per method."""
    df = _metric(results, metric)
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


def confusion_matrix_plot(
    matrix: np.ndarray, labels: Sequence[str], path: Path, title: str = ""
) -> Path:
    """Row-normalised confusion matrix (rows: true class)."""
    m = np.asarray(matrix, dtype=float)
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    n = len(labels)
    fig, ax = plt.subplots(figsize=(max(3.5, 0.45 * n + 2), max(3, 0.45 * n + 1.5)))
    im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    if n <= 15:
        for i in range(n):
            for j in range(n):
                if norm[i, j] >= 0.005:
                    color = "white" if norm[i, j] > 0.5 else "black"
                    ax.text(
                        j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=6, color=color
                    )
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, path)


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
