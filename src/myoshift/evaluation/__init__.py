"""Evaluation: protocols (splitters), metrics, statistics, the benchmark runner, reports.

Three lines of Python run a benchmark::

    from myoshift.datasets import load_dataset
    from myoshift.evaluation import run_benchmark
    result = run_benchmark(load_dataset("synthetic"), "loso", ["lda-td"], calibration=[0, 1])
"""

from myoshift.evaluation.metrics import (
    classification_metrics,
    confusion,
    majority_vote,
    nmse,
    pearson_r,
    r2,
    regression_metrics,
    rmse,
)
from myoshift.evaluation.protocols import (
    Fold,
    Protocol,
    WindowSplitter,
    get_protocol,
    protocol_names,
)
from myoshift.evaluation.results import ResultStore, RunKey
from myoshift.evaluation.runner import BenchmarkResult, Method, run_benchmark, write_outputs
from myoshift.evaluation.stats import compare_methods, paired_wilcoxon, summarize

__all__ = [
    "BenchmarkResult",
    "Fold",
    "Method",
    "Protocol",
    "ResultStore",
    "RunKey",
    "WindowSplitter",
    "classification_metrics",
    "compare_methods",
    "confusion",
    "get_protocol",
    "majority_vote",
    "nmse",
    "paired_wilcoxon",
    "pearson_r",
    "protocol_names",
    "r2",
    "regression_metrics",
    "rmse",
    "run_benchmark",
    "summarize",
    "write_outputs",
]
