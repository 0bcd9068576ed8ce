"""``report.html`` (with PNG plots beside it in ``plots/``) and the printed rich table."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from myoshift.evaluation import plots
from myoshift.evaluation.metrics import REGRESSION_METRICS
from myoshift.evaluation.stats import main_metric
from myoshift.evaluation.summary import BenchmarkResult, summary_dict

#: metrics shown in the printed table and the report's main table (those present)
MAIN_METRICS = ("accuracy", "balanced_accuracy", "f1_macro")


def _vote_metric(summary: pd.DataFrame) -> list[str]:
    if summary.empty:
        return []
    return sorted(m for m in summary["metric"].unique() if m.startswith("accuracy_vote"))


#: short column names of the printed table
SHORT = {
    "calibration": "cal",
    "accuracy": "acc %",
    "balanced_accuracy": "bal.acc %",
    "f1_macro": "F1 %",
    "pearson_r": "r",
    "wall_s": "s/run",
    "peak_rss_mb": "peak MB",
}


def main_table(result: BenchmarkResult, short: bool = False) -> pd.DataFrame:
    """One row per method × calibration × condition with ``mean ± std`` of main metrics.

    Accuracies are percentages (mean ± std over folds), regression metrics plain
    numbers; ``n`` is the number of folds, ``wall_s`` the mean seconds per run and
    ``peak_rss_mb`` the mean peak memory.
    """
    s = result.summary
    if s.empty:
        return pd.DataFrame()
    present = set(s["metric"])
    metrics = [m for m in (*MAIN_METRICS, *_vote_metric(s), *REGRESSION_METRICS) if m in present]
    res = s[s["metric"].isin(["wall_s", "peak_rss_mb"])]
    resources = {
        (r["method"], r["calibration"], r["metric"]): f"{r['mean']:.1f}" for _, r in res.iterrows()
    }
    s = s[s["metric"].isin(metrics)]
    rows = []
    for (m, cal, cond), g in s.groupby(["method", "calibration", "condition"], sort=True):
        row: dict[str, Any] = {"method": m, "calibration": cal, "condition": cond}
        for _, r in g.iterrows():
            sep = "±" if short else " ± "
            if r["metric"] in REGRESSION_METRICS:
                row[r["metric"]] = f"{r['mean']:.3f}{sep}{r['std']:.3f}"
            else:
                row[r["metric"]] = f"{100 * r['mean']:.1f}{sep}{100 * r['std']:.1f}"
            row["n"] = int(r["n"])
        for key in ("wall_s", "peak_rss_mb"):
            row[key] = resources.get((m, cal, key), "")
        rows.append(row)
    cols = ["method", "calibration", "condition", *metrics, "n", "wall_s", "peak_rss_mb"]
    df = pd.DataFrame(rows)
    df = df[[c for c in cols if c in df.columns]]
    if "condition" in df and (df["condition"] == "").all():
        df = df.drop(columns="condition")
    if short:
        df = df.rename(
            columns=lambda c: (
                SHORT.get(c, c.replace("accuracy_vote", "vote") + " %")
                if c.startswith("accuracy_vote")
                else SHORT.get(c, c)
            )
        )
    return df


def print_table(result: BenchmarkResult, console: Any = None) -> None:
    """Print the main table with rich (percentages, mean ± std over folds)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    df = main_table(result, short=True)
    meta = result.meta
    title = (
        f"{meta.get('dataset')} · {meta.get('protocol')} · {meta.get('n_folds')} folds "
        f"({result.n_computed} runs computed, {result.n_cached} cached, {result.n_failed} failed)"
    )
    table = Table(title=title)
    for c in df.columns:
        table.add_column(str(c), justify="left" if c in ("method", "condition") else "right")
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


def make_plots(result: BenchmarkResult, out: Path) -> list[tuple[str, Path]]:
    """Every applicable figure, as ``(caption, path)``."""
    figs: list[tuple[str, Path]] = []
    res = result.results
    ok = res[res["metric"] != "error"]
    pdir = out / "plots"
    metric = main_metric(ok)
    what = "Accuracy" if metric == "accuracy" else metric
    for caption, fn, name in (
        (f"{what} per fold (subject)", plots.per_subject_bars, "per_subject.png"),
        (f"{what} vs calibration budget", plots.calibration_curve, "calibration.png"),
        (
            f"{what} vs gap between the first (training) day/session and the test one",
            plots.gap_curve,
            "gap.png",
        ),
        (f"{what} per test condition", plots.condition_bars, "conditions.png"),
    ):
        if ok.empty:
            break
        path = fn(ok, pdir / name, metric)
        if path is not None:
            figs.append((caption, path))
    cms = plots.summed_confusions(result.records, result.meta.get("class_names", ()))
    for (method, cal), (mat, labels) in sorted(cms.items()):
        path = plots.confusion_matrix_plot(
            mat, labels, pdir / f"confusion_{method}_c{cal}.png", f"{method}, calibration {cal}"
        )
        figs.append((f"Confusion matrix: {method}, calibration {cal} (summed over folds)", path))
    return figs


def _table_html(df: pd.DataFrame) -> str:
    if df.empty:
        return "<p>(none)</p>"
    return df.to_html(index=False, border=0, classes="t", na_rep="", escape=True)


def write_report(result: BenchmarkResult, out: Path) -> Path:
    """Write ``out/report.html`` and the PNGs it shows (``out/plots/``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figs = make_plots(result, out)
    meta = result.meta
    sd = summary_dict(result)
    wil = pd.DataFrame(sd["wilcoxon"])
    fails = pd.DataFrame(sd["failures"])

    def _fmt(v: Any) -> str:
        return ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)

    head = "; ".join(
        f"{k}: {html.escape(_fmt(meta.get(k)))}"
        for k in ("dataset", "protocol", "methods", "calibration", "seeds", "n_folds")
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>myoshift benchmark</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table.t{border-collapse:collapse;font-size:13px}"
        "table.t td,table.t th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
        "img{max-width:100%}</style></head><body>",
        "<h1>myoshift benchmark</h1>",
        f"<p>{head}</p>",
        f"<p>{sd['n_runs']} runs ({sd['n_computed']} computed, {sd['n_cached']} from cache, "
        f"{sd['n_failed']} failed), {sd['wall_s']:.1f} s. Values are mean ± std over folds "
        "(subjects), accuracies in percent; n = number of folds. wall_s: seconds per run "
        "(fit + adapt + predict); peak_rss_mb: the worker's peak resident memory.</p>",
        "<h2>Results</h2>",
        _table_html(main_table(result)),
    ]
    if not wil.empty:
        tested = html.escape(str(wil["metric"].iloc[0]))
        parts += [f"<h2>Paired Wilcoxon signed-rank tests ({tested}, over folds)</h2>"]
        parts.append(_table_html(wil))
    if not fails.empty:
        parts += ["<h2>Failed runs</h2>", _table_html(fails)]
    parts.append("<h2>Figures</h2>")
    for caption, path in figs:
        rel = path.relative_to(out).as_posix()
        parts.append(
            f"<figure><img src='{html.escape(rel)}' alt='{html.escape(caption)}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    parts.append("<p>Tidy results: <a href='results.csv'>results.csv</a>; summary: ")
    parts.append("<a href='summary.json'>summary.json</a>.</p></body></html>")
    path = out / "report.html"
    path.write_text("\n".join(parts))
    return path
