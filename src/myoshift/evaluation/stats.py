"""Statistics over people: mean ± sd per pairing and paired Wilcoxon tests.

The unit of every spread and every test is a *person* (the fold's ``subject``; the fold
itself where no subject is known): a person's folds in one cell are averaged first, so
``n`` counts people, never folds. Folds of different *pairings* (the training and test
domain of a cross-day / cross-session fold, e.g. day 1 -> day 3 versus day 3 -> day 4)
are never averaged into one row; the spread over folds is kept as a second figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from myoshift.errors import ConfigError
from myoshift.evaluation.units import order_key

#: columns that identify one result cell (everything but fold/subject/seed)
CELL = ["dataset", "protocol", "method", "calibration", "condition", "metric"]
#: the cell columns of a summary row: `CELL` plus the fold's pairing
ROW = [*CELL, "pairing"]


def pairing(results: pd.DataFrame) -> pd.Series:
    """``"train->test"`` domains of each row's fold (``""`` where the fold has none).

    Cross-day gives ``"1->3"`` (day 1 -> day 3); LOSO folds have no training domain.
    """
    if "train_domain" not in results or "test_domain" not in results:
        return pd.Series("", index=results.index, dtype=object)
    a, b = results["train_domain"], results["test_domain"]
    both = a.notna() & b.notna()
    text = a.astype(str).str.cat(b.astype(str), sep="->")
    return text.where(both, "").astype(object)


def _with_keys(results: pd.DataFrame) -> pd.DataFrame:
    df = results.dropna(subset=["value"]).copy()
    df["pairing"] = pairing(df)
    if "condition" in df:
        df["condition"] = df["condition"].fillna("")
    subject = df["subject"] if "subject" in df else pd.Series(np.nan, index=df.index)
    person = subject.astype(object).where(subject.notna(), df["fold"])
    df["person"] = person.astype(str)
    return df


def per_fold(results: pd.DataFrame) -> pd.DataFrame:
    """Average over seeds: one value per (cell, pairing, fold, person)."""
    df = _with_keys(results)
    keys = [c for c in [*ROW, "fold", "person"] if c in df.columns]
    return df.groupby(keys, dropna=False, sort=True)["value"].mean().reset_index()


def per_person(results: pd.DataFrame, pairings: bool = True) -> pd.DataFrame:
    """One value per (cell, pairing, person): the mean of the person's folds.

    ``pairings=False`` pools every pairing of a person (the paired tests' unit).
    """
    pf = per_fold(results)
    keys = [c for c in [*(ROW if pairings else CELL), "person"] if c in pf.columns]
    return pf.groupby(keys, dropna=False, sort=True)["value"].mean().reset_index()


def _spread(values: Any) -> pd.DataFrame:
    """mean, std, n of a grouped series (std NaN for a single value)."""
    out = values.agg(mean="mean", std="std", n="count")
    out.loc[out["n"] < 2, "std"] = np.nan  # one value has no spread
    return out


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd (ddof=1) and n over *people* per cell and pairing.

    Returns one row per dataset × protocol × method × calibration × condition × pairing
    × metric with ``mean``, ``std`` and ``n`` over people (``std`` NaN for one person),
    and the same cell over folds: ``n_folds``, ``std_folds``.
    """
    pf = per_fold(results)
    keys = [c for c in ROW if c in pf.columns]
    people = _spread(per_person(results).groupby(keys, dropna=False, sort=True)["value"])
    folds = _spread(pf.groupby(keys, dropna=False, sort=True)["value"])
    out = people.join(folds[["std", "n"]].rename(columns={"std": "std_folds", "n": "n_folds"}))
    out = out.reset_index()
    out["n"] = out["n"].astype(int)
    out["n_folds"] = out["n_folds"].astype(int)
    return sort_rows(out)


def sort_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in natural order of method, calibration, condition and pairing (1, 2, 10)."""
    cols = [c for c in ("method", "calibration", "condition", "pairing", "metric") if c in df]
    if df.empty or not cols:
        return df.reset_index(drop=True)

    def _key(col: pd.Series) -> pd.Series:
        if col.name == "pairing":
            return col.map(lambda p: tuple(order_key(v) for v in str(p).split("->")))
        if col.name == "condition":
            return col.map(order_key)
        return col if col.name == "calibration" else col.astype(str)

    return df.sort_values(cols, key=_key, kind="stable").reset_index(drop=True)


def paired_wilcoxon(
    results: pd.DataFrame,
    method_a: str,
    method_b: str,
    metric: str = "accuracy",
    calibration: int | None = None,
    condition: str = "",
) -> dict[str, Any]:
    """Paired Wilcoxon signed-rank test of two methods over the people both have.

    Each person's value is the mean of their folds in the cell (every pairing pooled).

    Returns
    -------
    dict
        ``method_a``, ``method_b``, ``metric``, ``n`` (people), ``mean_diff`` (a - b),
        ``statistic``, ``p_value`` (NaN when n < 2 or every difference is 0).
    """
    pp = per_person(results[results["metric"] == metric], pairings=False)
    if "condition" in pp.columns:
        pp = pp[pp["condition"] == condition]
    if calibration is not None:
        pp = pp[pp["calibration"] == calibration]
    keys = [c for c in ("dataset", "protocol", "calibration", "person") if c in pp.columns]
    a = pp[pp["method"] == method_a].set_index(keys)["value"]
    b = pp[pp["method"] == method_b].set_index(keys)["value"]
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


def compare_methods(
    results: pd.DataFrame,
    metric: str | None = None,
    recipe_notes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """`paired_wilcoxon` for every pair of methods at every calibration budget.

    ``metric`` None compares on the `main_metric` of ``results``. ``recipe_notes`` maps
    a method to what makes its recipe differ from its published one (a quick recipe,
    overrides); a pair involving such a method carries it in a ``note`` column, so a
    quick recipe is never silently compared with a full one.
    """
    metric = metric or main_metric(results)
    notes = dict(recipe_notes or {})
    rows = []
    df = results[results["metric"] == metric]
    methods = sorted(df["method"].unique())
    for cal in sorted(df["calibration"].unique()):
        conds = sorted(df["condition"].fillna("").unique()) if "condition" in df else [""]
        for cond in conds:
            for a, b in combinations(methods, 2):
                sub = df[df["calibration"] == cal]
                if "condition" in sub:  # a method may lack a condition (few-shot nearest-mean)
                    sub = sub[sub["condition"].fillna("") == cond]
                if sub[sub["method"] == a].empty or sub[sub["method"] == b].empty:
                    continue
                row = {**paired_wilcoxon(df, a, b, metric, int(cal), cond), "condition": cond}
                if notes:
                    row["note"] = "; ".join(f"{m}: {notes[m]}" for m in (a, b) if m in notes)
                rows.append(row)
    return pd.DataFrame(rows)
