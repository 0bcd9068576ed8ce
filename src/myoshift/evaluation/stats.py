"""Statistics over per-fold (per-subject) results: mean ± std and paired Wilcoxon tests."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from myoshift.errors import ConfigError

#: columns that identify one result cell (everything but fold/subject/seed)
CELL = ["dataset", "protocol", "method", "calibration", "condition", "metric"]


def per_fold(results: pd.DataFrame) -> pd.DataFrame:
    """Average over seeds: one value per (cell, fold, subject)."""
    df = results.dropna(subset=["value"])
    keys = [c for c in [*CELL, "fold", "subject"] if c in df.columns]
    return df.groupby(keys, dropna=False, sort=True)["value"].mean().reset_index()


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean, std (ddof=1, 0 for one fold) and n folds per method × calibration × metric."""
    pf = per_fold(results)
    keys = [c for c in CELL if c in pf.columns]
    g = pf.groupby(keys, dropna=False, sort=True)["value"]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def paired_wilcoxon(
    results: pd.DataFrame,
    method_a: str,
    method_b: str,
    metric: str = "accuracy",
    calibration: int | None = None,
    condition: str = "",
) -> dict[str, Any]:
    """Paired Wilcoxon signed-rank test of two methods over the folds both have.

    Returns
    -------
    dict
        ``method_a``, ``method_b``, ``metric``, ``n`` (pairs), ``mean_diff`` (a - b),
        ``statistic``, ``p_value`` (NaN when n < 2 or every difference is 0).
    """
    pf = per_fold(results)
    pf = pf[(pf["metric"] == metric)]
    if "condition" in pf.columns:
        pf = pf[pf["condition"].fillna("") == condition]
    if calibration is not None:
        pf = pf[pf["calibration"] == calibration]
    keys = [c for c in ("dataset", "protocol", "calibration", "fold") if c in pf.columns]
    a = pf[pf["method"] == method_a].set_index(keys)["value"]
    b = pf[pf["method"] == method_b].set_index(keys)["value"]
    if a.empty or b.empty:
        missing = method_a if a.empty else method_b
        raise ConfigError(f"no {metric!r} results for method {missing!r}")
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner")
    diff = (joined["a"] - joined["b"]).to_numpy()
    out: dict[str, Any] = {
        "method_a": method_a,
        "method_b": method_b,
        "metric": metric,
        "calibration": calibration,
        "n": int(len(diff)),
        "mean_diff": float(diff.mean()) if len(diff) else float("nan"),
        "statistic": float("nan"),
        "p_value": float("nan"),
    }
    if len(diff) >= 2 and np.any(diff != 0):
        res = sps.wilcoxon(joined["a"].to_numpy(), joined["b"].to_numpy())
        out["statistic"] = float(res.statistic)
        out["p_value"] = float(res.pvalue)
    return out


def main_metric(results: pd.DataFrame) -> str:
    """The headline metric of a results table: ``accuracy``, or ``r2`` for regression."""
    metrics = set(results["metric"])
    return "r2" if "r2" in metrics and "accuracy" not in metrics else "accuracy"


def compare_methods(results: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """`paired_wilcoxon` for every pair of methods at every calibration budget.

    ``metric`` None compares on the `main_metric` of ``results``.
    """
    metric = metric or main_metric(results)
    rows = []
    df = results[results["metric"] == metric]
    methods = sorted(df["method"].unique())
    for cal in sorted(df["calibration"].unique()):
        conds = sorted(df["condition"].fillna("").unique()) if "condition" in df else [""]
        for cond in conds:
            for a, b in combinations(methods, 2):
                sub = df[df["calibration"] == cal]
                if sub[sub["method"] == a].empty or sub[sub["method"] == b].empty:
                    continue
                rows.append(
                    {**paired_wilcoxon(df, a, b, metric, int(cal), cond), "condition": cond}
                )
    return pd.DataFrame(rows)
