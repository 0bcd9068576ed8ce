"""The benchmark's tables: the main table (printed with rich, and in the report) and
the paired tests as shown. Values are mean ± sd over people, one row per pairing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from myoshift.evaluation.few_shot_episodes import interval_text
from myoshift.evaluation.metrics import REGRESSION_METRICS
from myoshift.evaluation.summary import BenchmarkResult

__all__ = ["MAIN_METRICS", "main_table", "print_table", "report_columns", "wilcoxon_table"]

#: metrics shown in the printed table and the report's main table (those present)
MAIN_METRICS = ("accuracy", "balanced_accuracy", "f1_macro")
#: short column names of the printed table
SHORT = {
    "calibration": "cal",
    "accuracy": "acc %",
    "balanced_accuracy": "bal.acc %",
    "f1_macro": "F1 %",
    "pearson_r": "r",
    "wall_s": "s/run",
    "peak_rss_mb": "peak MB",
    "n_folds": "folds",
    "sd_folds": "sd folds",
}


def _vote_metric(summary: pd.DataFrame) -> list[str]:
    if summary.empty:
        return []
    return sorted(m for m in summary["metric"].unique() if m.startswith("accuracy_vote"))


def _cell(mean: float, std: float, n: int, metric: str, sep: str) -> str:
    scale, digits = (1.0, 3) if metric in REGRESSION_METRICS else (100.0, 1)
    text = f"{scale * mean:.{digits}f}"
    return text if n < 2 or not np.isfinite(std) else f"{text}{sep}{scale * std:.{digits}f}"


def _head(by_metric: dict[Any, Any], metrics: list[str]) -> str:
    """A row's headline metric: accuracy, else the first of ``metrics`` it has ("": none).

    Per row, so that in a run mixing classification and regression methods each row
    counts its own people and folds."""
    return next((m for m in ("accuracy", *metrics) if m in by_metric), "")


def main_table(result: BenchmarkResult, short: bool = False) -> pd.DataFrame:
    """One row per method × calibration × condition × pairing: ``mean ± sd`` over people.

    Accuracies are percentages, regression metrics plain numbers; ``n`` counts people.
    Where a person has several folds in a row, ``n_folds`` and ``sd_folds`` (the
    headline metric's spread over folds) follow; each row counts its own headline metric
    (`_head`: accuracy, else its first metric shown, e.g. a regression method's r2).
    ``wall_s`` is the mean seconds per run, ``peak_rss_mb`` the mean peak memory. Rows
    are in natural order.
    """
    s = result.summary
    if s.empty:
        return pd.DataFrame()
    present = set(s["metric"])
    metrics = [m for m in (*MAIN_METRICS, *_vote_metric(s), *REGRESSION_METRICS) if m in present]
    keys = [c for c in ("method", "calibration", "condition", "pairing") if c in s.columns]
    sep = "±" if short else " ± "
    res_keys = [k for k in keys if k != "condition"]
    resources = {
        (*(r[k] for k in res_keys), r["metric"]): f"{r['mean']:.1f}"
        for _, r in s[s["metric"].isin(["wall_s", "peak_rss_mb"])].iterrows()
    }
    rows = []
    for key, g in s.groupby(keys, sort=False, dropna=False):
        row: dict[str, Any] = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        by_metric: dict[Any, dict[Any, Any]] = {r["metric"]: r for r in g.to_dict("records")}
        head = _head(by_metric, metrics)
        for m in metrics:
            if m in by_metric:
                r = by_metric[m]
                row[m] = _cell(r["mean"], r["std"], int(r["n"]), m, sep)
        if head in by_metric:
            r = by_metric[head]
            row["n"], row["n_folds"] = int(r["n"]), int(r.get("n_folds", r["n"]))
            sd = float(r.get("std_folds", np.nan))
            row["sd_folds"] = _cell(sd, np.nan, 1, head, sep) if np.isfinite(sd) else ""
        for res in ("wall_s", "peak_rss_mb"):
            row[res] = resources.get((*(row[k] for k in res_keys), res), "")
        if "support_seconds" in by_metric and head in by_metric:  # few-shot episodes
            row["95% CI"] = interval_text(by_metric[head], by_metric.get("accuracy_ci95"))
            row["support s"] = f"{by_metric['support_seconds']['mean']:.2f}"
        if metrics and any(m in row for m in metrics):
            rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    if "condition" in df and (df["condition"].fillna("") == "").all():
        df = df.drop(columns="condition")
    if "pairing" in df and df["pairing"].nunique() <= 1:
        df = df.drop(columns="pairing")
    if "n_folds" in df and (df["n_folds"] == df["n"]).all():
        df = df.drop(columns=["n_folds", "sd_folds"])
    few_shot = ["95% CI", "support s"]  # few-shot episodes only
    cols = [*keys, *metrics, *few_shot, "n", "n_folds", "sd_folds", "wall_s", "peak_rss_mb"]
    df = df[[c for c in cols if c in df.columns]]
    if short:
        df = df.rename(
            columns=lambda c: (
                c.replace("accuracy_vote", "vote") + " %"
                if c.startswith("accuracy_vote")
                else SHORT.get(c, c)
            )
        )
    return df


def print_table(result: BenchmarkResult, console: Any = None) -> None:
    """Print the main table with rich (percentages, mean ± sd over people)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    df = main_table(result, short=True)
    meta = result.meta
    title = (
        f"{meta.get('dataset')} · {meta.get('protocol')} · {meta.get('n_folds')} folds, "
        f"n = people ({result.n_computed} runs computed, {result.n_cached} cached, "
        f"{result.n_failed} failed)"
    )
    table = Table(title=title)
    for c in df.columns:
        left = c in ("method", "condition", "pairing")
        table.add_column(str(c), justify="left" if left else "right")
    for row in df.itertuples(index=False):
        table.add_row(*[str(v) for v in row])
    console.print(table)
    for r in result.records:
        if r.get("status") != "ok":
            k = r["key"]
            console.print(
                f"[red]failed[/red] {k['method']} fold {k['fold']} cal {k['calibration']} "
                f"seed {k['seed']}: {r.get('error')}"
            )


def report_columns(df: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame:
    """The main table's column names in the report (what n counts, what a pairing is)."""
    of = meta.get("pairing_of")
    head = " / ".join(c for c in ("accuracy", "r2") if c in df.columns)  # `_head` per row
    return df.rename(
        columns={
            "pairing": f"{of} pairing (train->test)" if of else "pairing (train->test)",
            "n": "n (people)",
            "n_folds": "folds",
            "sd_folds": f"{head} sd over folds",
        }
    )


def wilcoxon_table(wil: pd.DataFrame) -> pd.DataFrame:
    """The paired tests as shown: differences in points for accuracies."""
    metric = str(wil["metric"].iloc[0])
    scale, unit = (1.0, "") if metric in REGRESSION_METRICS else (100.0, " (points)")
    df = wil.assign(mean_diff=[f"{scale * v:+.2f}" for v in wil["mean_diff"]])
    df = df.rename(columns={"mean_diff": f"mean a - b{unit}", "n": "n (people)"})
    drop = ["metric"] + [c for c in ("condition", "note") if c in df and (df[c] == "").all()]
    return df.drop(columns=drop)
