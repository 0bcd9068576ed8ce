"""What `run_benchmark` returns (`BenchmarkResult`) and the content of ``summary.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from myoshift.evaluation.stats import compare_methods


@dataclass
class BenchmarkResult:
    """What `run_benchmark` returns.

    Attributes
    ----------
    results : DataFrame
        Tidy rows (see `myoshift.evaluation.results.RESULT_COLUMNS`).
    summary : DataFrame
        mean, std, n per dataset × protocol × method × calibration × condition × metric.
    records : list of dict
        The run records (confusion matrices, resources, info).
    n_computed, n_cached, n_failed : int
    out_dir : Path or None
    """

    results: pd.DataFrame
    summary: pd.DataFrame
    records: list[dict[str, Any]]
    n_computed: int = 0
    n_cached: int = 0
    n_failed: int = 0
    out_dir: Path | None = None
    wall_s: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)


def summary_dict(result: BenchmarkResult) -> dict[str, Any]:
    """The content of ``summary.json``."""
    failures = [
        {
            "method": r["key"]["method"],
            "fold": r["key"]["fold"],
            "calibration": r["key"]["calibration"],
            "seed": r["key"]["seed"],
            "error": r.get("error"),
        }
        for r in result.records
        if r.get("status") != "ok"
    ]
    ok = result.results[result.results["metric"] != "error"]
    tests = (
        compare_methods(ok) if len(result.meta.get("methods", [])) > 1 and not ok.empty else None
    )
    return {
        **result.meta,
        "n_runs": len(result.records),
        "n_computed": result.n_computed,
        "n_cached": result.n_cached,
        "n_failed": result.n_failed,
        "wall_s": round(result.wall_s, 3),
        "failures": failures,
        "summary": json.loads(result.summary.to_json(orient="records")),
        "wilcoxon": [] if tests is None else json.loads(tests.to_json(orient="records")),
    }
