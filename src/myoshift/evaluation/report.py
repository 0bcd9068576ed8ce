"""``report.html``: one self-contained file (the printed table: `tables.print_table`).

The report embeds its figures (base64 PNG; the same PNGs are also written to
``plots/``), so the one file can be mailed. It says what ran: the command, every
method's resolved recipe, the protocol and what each fold is, the regime and the
versions (`myoshift.evaluation.summary.describe_run`). Values are mean ± sd over people;
folds of different pairings (cross-day: day 1 -> 3, day 3 -> 4) are separate rows.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from myoshift.evaluation import plots
from myoshift.evaluation.stats import main_metric, pairing
from myoshift.evaluation.summary import BenchmarkResult, recipe_notes, summary_dict
from myoshift.evaluation.tables import (
    MAIN_METRICS,
    main_table,
    print_table,
    report_columns,
    wilcoxon_table,
)

__all__ = ["MAIN_METRICS", "Figure", "main_table", "make_plots", "print_table", "write_report"]

#: rows of top confusions listed under a confusion matrix too large to annotate
TOP_CONFUSIONS = 12


# -- figures ---------------------------------------------------------------------------------
@dataclass
class Figure:
    """One figure of the report: its caption, its PNG and an optional table under it."""

    caption: str
    path: Path
    table: pd.DataFrame | None = None


def make_plots(result: BenchmarkResult, out: Path) -> list[Figure]:
    """Every applicable figure (PNGs under ``out/plots``), captions saying what a fold is."""
    figs: list[Figure] = []
    res = result.results
    ok = res[res["metric"] != "error"]
    pdir = out / "plots"
    if ok.empty:
        return figs
    metric = main_metric(ok)
    what = "Accuracy" if metric == "accuracy" else metric
    fold = result.meta.get("fold_meaning") or "one split of the protocol"
    if pairing(ok).nunique() > 1:
        per = (
            f"{what} per pairing (training domain -> test domain); bar: mean over people, "
            f"dots: each person where a pairing has several. A fold is {fold}."
        )
    else:
        per = f"{what} per fold, in natural order; a fold is {fold}."
    for caption, fn, name in (
        (per, plots.per_subject_bars, "per_subject.png"),
        (
            f"{what} vs calibration budget (repetitions of the target person given to "
            "adapt); mean ± sd over people.",
            plots.calibration_curve,
            "calibration.png",
        ),
        (
            f"{what} vs gap between the first (training) day/session and the test one "
            "(first -> later pairings only); mean ± sd over people.",
            plots.gap_curve,
            "gap.png",
        ),
        (
            f"{what} vs days since the last training day (sequential regime: later days "
            "visited in order; its parameters below say how it recalibrated); mean ± sd "
            "over people.",
            plots.days_curve,
            "days.png",
        ),
        (f"{what} per test condition, mean over people.", plots.condition_bars, "conditions.png"),
    ):
        path = fn(ok, pdir / name, metric)
        if path is not None:
            figs.append(Figure(caption, path))
    cms = plots.summed_confusions(result.records, result.meta.get("class_names", ()))
    for (method, cal), (mat, labels) in sorted(cms.items()):
        path = plots.confusion_matrix_plot(
            mat, labels, pdir / f"confusion_{method}_c{cal}.png", f"{method}, calibration {cal}"
        )
        caption = (
            f"Confusion matrix: {method}, calibration {cal}, summed over folds; rows: true "
            "class, normalised to 1."
        )
        table = None
        if len(labels) > plots.ANNOTATE_MAX:
            table = plots.top_confusions(mat, labels, TOP_CONFUSIONS)
            caption += f" {len(labels)} classes: the largest confusions are listed below."
        figs.append(Figure(caption, path, table))
    return figs


# -- HTML ------------------------------------------------------------------------------------
STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
    "table.t{border-collapse:collapse;font-size:13px;margin:.5em 0}"
    "table.t td,table.t th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}"
    "table.t td.r{text-align:right;white-space:nowrap}"
    "img{max-width:100%}figure{margin:1.5em 0}figcaption{font-size:14px;color:#333}"
    ".note{background:#fff4d6;border-left:4px solid #e0a800;padding:.5em 1em}"
    "pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap;font-size:12px}"
    "code{background:#f6f6f6}dl{display:grid;grid-template-columns:max-content auto;"
    "gap:2px 1em;font-size:14px}dt{font-weight:bold}dd{margin:0}"
)


def _e(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = ", ".join(map(str, value))
    return html.escape(str(value))


#: cell text shown right-aligned: a number, or "mean ± sd"
_NUMBER = re.compile(r"^[-+]?[\d.]+(e[-+]?\d+)?( ?± ?[\d.]+)?$")


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.1f}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str) if value else ""
    return str(value)


def _table_html(df: pd.DataFrame) -> str:
    """A plain HTML table: numbers right-aligned, text left, missing values blank."""
    if df.empty:
        return "<p>(none)</p>"
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    rows = []
    for values in df.itertuples(index=False):
        cells = []
        for v in values:
            text = _text(v)
            cls = " class='r'" if _NUMBER.match(text) else ""
            cells.append(f"<td{cls}>{_e(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table class='t'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _figure_html(fig: Figure, out: Path) -> str:
    data = base64.b64encode(fig.path.read_bytes()).decode("ascii")
    rel = fig.path.relative_to(out).as_posix() if fig.path.is_relative_to(out) else fig.path.name
    table = "" if fig.table is None else _table_html(fig.table)
    return (
        f"<figure><img src='data:image/png;base64,{data}' alt='{_e(fig.caption)}'>"
        f"<figcaption>{_e(fig.caption)} <small>(also {_e(rel)})</small></figcaption>"
        f"{table}</figure>"
    )


def _defs(items: list[tuple[str, Any]]) -> str:
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items if v not in (None, ""))
    return f"<dl>{rows}</dl>"


def _recipes_html(meta: dict[str, Any]) -> str:
    recipes: dict[str, dict[str, Any]] = meta.get("recipes") or {}
    if not recipes:
        return "<p>(not recorded)</p>"
    rows = []
    for name, r in recipes.items():
        rows.append(
            {
                "method": name,
                "estimator": r.get("estimator") or "",
                "window / step ms": f"{r.get('window_ms'):g} / {r.get('step_ms'):g}",
                "epochs": "" if r.get("epochs") is None else r["epochs"],
                "preprocess": json.dumps(r["preprocess"]) if r.get("preprocess") else "none",
                "adapt": json.dumps(r.get("adapt"), default=str),
                "--set": json.dumps(r["overrides"], default=str) if r.get("overrides") else "",
                "recipe": "quick (default run)" if r.get("quick_recipe") else "full",
            }
        )
    parts = [_table_html(pd.DataFrame(rows))]
    for name, r in recipes.items():
        body = {k: r.get(k) for k in ("estimator_params", "represent", "quick_recipe", "target")}
        body["method_params"] = r.get("method_params")
        text = json.dumps(body, indent=1, default=str)
        parts.append(
            f"<details><summary>{_e(name)}: every parameter used</summary>"
            f"<pre>{_e(text)}</pre></details>"
        )
    return "".join(parts)


def _folds_html(meta: dict[str, Any]) -> str:
    folds: list[dict[str, Any]] = meta.get("folds") or []
    if not folds:
        return "<p>(not recorded)</p>"
    cols = ["fold", "what", "gap", "n_train_recordings", "n_test_recordings", "calibration_units"]
    df = pd.DataFrame(folds)
    df = df[[c for c in cols if c in df.columns and df[c].notna().any()]]
    if "calibration_units" in df and all(
        int(k) == v for d in df["calibration_units"] for k, v in d.items()
    ):
        df = df.drop(columns="calibration_units")  # k repetitions for budget k, as expected
    elif "calibration_units" in df:
        df["calibration_units"] = [
            ", ".join(f"k={k}: {v}" for k, v in d.items()) for d in df["calibration_units"]
        ]
    df = df.rename(
        columns={
            "n_train_recordings": "train recordings",
            "n_test_recordings": "test recordings",
            "calibration_units": "calibration repetitions per budget k",
        }
    )
    opened = " open" if len(df) <= 12 else ""
    return f"<details{opened}><summary>{len(df)} folds</summary>{_table_html(df)}</details>"


def _command(meta: dict[str, Any]) -> str:
    cmd = meta.get("command")
    return shlex.join(cmd) if cmd else "run_benchmark(...) from Python (no command line)"


def write_report(result: BenchmarkResult, out: Path) -> Path:
    """Write ``out/report.html`` (self-contained) and its PNGs (``out/plots/``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figs = make_plots(result, out)
    meta = result.meta
    sd = summary_dict(result)
    wil = pd.DataFrame(sd["wilcoxon"])
    fails = pd.DataFrame(sd["failures"])
    notes = recipe_notes(meta)
    title = f"myoshift benchmark: {meta.get('dataset')} · {meta.get('protocol')}"
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1>",
        f"<pre>{_e(_command(meta))}</pre>",
        _defs(
            [
                ("methods", meta.get("methods")),
                ("protocol", meta.get("protocol")),
                ("a fold is", meta.get("fold_meaning")),
                ("regime", meta.get("regime")),
                ("calibration budgets", meta.get("calibration")),
                ("seeds", meta.get("seeds")),
                ("people", meta.get("subjects")),
                ("folds", meta.get("n_folds")),
            ]
        ),
    ]
    parts += [
        f"<p class='note'><b>{_e(m)}</b>: {_e(n)}. Naming the methods (--methods) runs the "
        "full recipes.</p>"
        if "quick recipe" in n
        else f"<p class='note'><b>{_e(m)}</b>: {_e(n)}.</p>"
        for m, n in notes.items()
    ]
    parts += [
        f"<p>{sd['n_runs']} runs ({sd['n_computed']} computed, {sd['n_cached']} from cache, "
        f"{sd['n_failed']} failed), {sd['wall_s']:.1f} s. Values are mean ± sd over "
        "<b>people</b> (each person's folds averaged first; no ± with one person), "
        "accuracies in percent; n = people. Folds of different pairings (train -> test "
        "domain) are separate rows. wall_s: seconds per run (fit + adapt + predict); "
        "peak_rss_mb: the worker's peak resident memory.</p>",
        "<h2>Results</h2>",
        _table_html(report_columns(main_table(result), meta)),
    ]
    if not wil.empty:
        tested = _e(wil["metric"].iloc[0])
        parts.append(f"<h2>Paired Wilcoxon signed-rank tests ({tested}, over people)</h2>")
        if "note" in wil and (wil["note"] != "").any():
            parts.append(
                "<p class='note'>Rows with a note compare a recipe that is not the "
                "method's full one (a quick recipe or overrides): not a comparison of the "
                "published methods.</p>"
            )
        parts.append(_table_html(wilcoxon_table(wil)))
    if not fails.empty:
        parts += ["<h2>Failed runs</h2>", _table_html(fails)]
    parts.append("<h2>Figures</h2>")
    parts += [_figure_html(f, out) for f in figs]
    parts += [
        "<h2>What ran</h2><h3>Methods (resolved recipes)</h3>",
        _recipes_html(meta),
        "<h3>Protocol and folds</h3>",
        _defs(
            [
                ("protocol", meta.get("protocol")),
                ("protocol parameters", json.dumps(meta.get("protocol_params"), default=str)),
                ("regime", meta.get("regime")),
                ("regime parameters", json.dumps(meta.get("regime_params"), default=str)),
                ("a fold is", meta.get("fold_meaning")),
            ]
        ),
        _folds_html(meta),
        "<h3>Versions</h3>",
        _defs(list((meta.get("versions") or {}).items())),
        "<p>Beside this file in the output folder: results.csv (tidy results), "
        "summary.json (everything above as data), plots/ (the figures as PNG).</p>",
        "</body></html>",
    ]
    path = out / "report.html"
    path.write_text("\n".join(parts))
    return path
