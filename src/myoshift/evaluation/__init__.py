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
    available_protocols,
    get_protocol,
    protocol_names,
    register_protocol,
)
from myoshift.evaluation.recipes import Method, resolve_method
from myoshift.evaluation.regimes import FoldOutcome, Regime, get_regime, register_regime
from myoshift.evaluation.results import ResultStore, RunKey
from myoshift.evaluation.runner import run_benchmark, write_outputs
from myoshift.evaluation.stats import compare_methods, paired_wilcoxon, summarize
from myoshift.evaluation.summary import BenchmarkResult

__all__ = [
    "BenchmarkResult",
    "Fold",
    "available_protocols",
    "FoldOutcome",
    "Method",
    "Protocol",
    "Regime",
    "ResultStore",
    "RunKey",
    "WindowSplitter",
    "classification_metrics",
    "compare_methods",
    "confusion",
    "get_protocol",
    "get_regime",
    "majority_vote",
    "nmse",
    "paired_wilcoxon",
    "pearson_r",
    "protocol_names",
    "r2",
    "register_protocol",
    "register_regime",
    "regression_metrics",
    "resolve_method",
    "rmse",
    "run_benchmark",
    "summarize",
    "write_outputs",
]
