"""The benchmark runner: methods × folds × calibration budgets × seeds, cached and resumable.

For every (method, fold, seed) the runner windows the training recordings with the
method's window/step, fits once, and then for each calibration budget ``k`` of the fold:
``k = 0`` predicts zero-shot, ``k > 0`` adapts a copy of the fitted estimator on the
calibration windows first. Each finished run is written to the `ResultStore` at once; a
failing run becomes a row with its error and the other runs still finish.

Folds run in parallel processes (joblib/loky) with ``n_jobs > 1``, reduced when the
machine's free memory would not hold that many folds at once.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import logging
import os
import resource
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError
from myoshift.evaluation.metrics import classification_metrics, regression_metrics
from myoshift.evaluation.protocols import Fold, Protocol, get_protocol
from myoshift.evaluation.results import ResultStore, RunKey, config_hash, to_frame
from myoshift.evaluation.stats import compare_methods, summarize
from myoshift.evaluation.units import REP_KEYS
from myoshift.progress import progress
from myoshift.recording import RecordingSet
from myoshift.signal.windows import Windows, make_windows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Method:
    """A named recipe the runner can evaluate.

    Attributes
    ----------
    name : str
    build : callable
        ``build(fs, seed) -> estimator`` with ``fit(X, y)``, ``predict(X)`` and, for
        calibration budgets > 0, ``adapt(X, y)``; ``X`` is ``(n, C, T)`` float32.
    window_ms, step_ms : float
        Windowing used for train, calibration and test.
    params : dict
        JSON-able description (part of the result cache key).
    target : str or None
        Regression: the auxiliary stream (e.g. ``"glove"``) whose value at each window's
        end is the window's target; the estimator is fitted, adapted and scored on it
        (RMSE, R², Pearson r, NMSE). None: classification of the window labels.
    """

    name: str
    build: Callable[[float, int], Any]
    window_ms: float = 200.0
    step_ms: float = 50.0
    params: dict[str, Any] = field(default_factory=dict)
    target: str | None = None

    def windows(self, recordings: Sequence[Any]) -> Windows:
        """The method's windows of ``recordings`` (with its regression target, if any)."""
        targets = () if self.target is None else (self.target,)
        return make_windows(recordings, self.window_ms, self.step_ms, targets=targets)

    def y(self, w: Windows) -> np.ndarray:
        """What the estimator learns from ``w``: labels, or the regression target."""
        return w.y if self.target is None else w.extra[self.target]


def _build_registered(name: str, overrides: dict[str, Any], fs: float, seed: int) -> Any:
    from myoshift.learn.methods import build_estimator

    return build_estimator(name, fs, seed, **overrides)


def resolve_method(method: str | Method | Any, overrides: dict[str, Any] | None = None) -> Method:
    """A `Method` from a registered method name, a `MethodSpec` or a `Method`.

    ``overrides`` replace the method's ``window_ms`` / ``step_ms`` and estimator
    parameters (e.g. ``{"epochs": 5, "device": "cuda"}``); they are part of the cache key.
    """
    overrides = dict(overrides or {})
    reserved = sorted({"seed", "fs"} & set(overrides))
    if reserved:
        raise ConfigError(
            f"{reserved} cannot be overridden per method: the runner sets them (seeds: "
            "run_benchmark(seeds=...) / --seed; fs: the data's rate)"
        )
    if isinstance(method, Method):
        if overrides:
            raise ConfigError(f"overrides apply to registered methods, not {method.name!r}")
        return method
    from myoshift.learn.methods import get_method

    spec = get_method(method) if isinstance(method, str) else method
    window_ms = float(overrides.pop("window_ms", spec.window_ms))
    step_ms = float(overrides.pop("step_ms", spec.step_ms))
    params = {
        "estimator": str(getattr(spec, "estimator", "")),
        "params": getattr(spec, "params", {}),
        "adapt": getattr(spec, "adapt", {}),
        "overrides": overrides,
    }
    members = getattr(spec, "params", {}).get("members", [])
    if members:  # an ensemble's results depend on its members' recipes too
        params["members"] = [get_method(m["method"]).to_dict() for m in members]
    target = getattr(spec, "target", None)
    if target is not None:  # only then, so classification cache keys stay as they were
        params["target"] = target
    return Method(
        spec.name,
        functools.partial(_build_registered, spec.name, overrides),
        window_ms,
        step_ms,
        json.loads(json.dumps(params, default=str)),
        target,
    )


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


# -- one task: one method on one fold with one seed, every calibration budget ------------
def _groups_of(w: Windows) -> np.ndarray:
    meta = w.meta
    if "repetition" in meta and (meta["repetition"].to_numpy() > 0).any():
        return np.asarray(meta["repetition"].to_numpy())
    for key in REP_KEYS[1:]:
        if key in meta and meta[key].notna().all():
            return np.asarray(pd.factorize(meta[key])[0])
    return np.asarray(meta["recording"].to_numpy())


def _fit(est: Any, w: Windows, y: np.ndarray) -> None:
    try:
        takes_groups = "groups" in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        takes_groups = False
    if takes_groups:
        est.fit(w.X, y, groups=_groups_of(w))
    else:
        est.fit(w.X, y)


def _limit_threads(est: Any, threads: int | None) -> None:
    if threads is None or not hasattr(est, "get_params"):
        return
    try:
        if "threads" in est.get_params(deep=False):
            est.set_params(threads=threads)
    except (TypeError, ValueError) as exc:
        log.debug("could not limit threads of %s: %s", type(est).__name__, exc)


class _FitFailed(Exception):
    """The shared fit of a task failed; every budget of the task reports it."""


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _error_text(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}".replace("\n", " ")


def _evaluate(model: Any, fold: Fold, method: Method, vote: int | None) -> dict[str, Any]:
    conditions: dict[str, Any] = {}
    n_test = 0
    for cond, test in fold.conditions():
        wte = method.windows(test)
        pred = np.asarray(model.predict(wte.X))
        if method.target is not None:
            conditions[cond] = regression_metrics(method.y(wte), pred)
        else:
            labels = sorted(set(wte.y.tolist()) | set(pred.tolist()))
            conditions[cond] = classification_metrics(
                wte.y, pred, labels, wte.meta["recording"].to_numpy(), vote
            )
        n_test = max(n_test, len(wte))
    return {"conditions": conditions, "n_test": n_test}


def run_task(
    method: Method,
    folds: Sequence[Fold],
    seed: int,
    keys: Sequence[RunKey],
    store_root: str | None,
    vote: int | None = 5,
    trace_memory: bool = True,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """Fit ``method`` once on the folds' shared training set, then run every fold.

    ``folds`` share one training set: the calibration budgets of one fold (budget 0
    first), or every target of a protocol with a fixed source set (``predefined``).
    Each record is written to the store as soon as it exists. ``threads`` caps
    the estimator's own thread count (its ``threads`` parameter, if it has one) when
    several folds share the machine.
    """
    store = ResultStore(store_root) if store_root else None
    records: list[dict[str, Any]] = []
    if trace_memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    c0 = time.process_time()
    fitted: Any = None
    fit_error: str | None = None
    n_train = 0
    try:
        fs = float(folds[0].train[0].fs)
        est = method.build(fs, seed)
        _limit_threads(est, threads)
        wtr = method.windows(folds[0].train)
        n_train = len(wtr)
        _fit(est, wtr, method.y(wtr))
        del wtr
        fitted = est
    except Exception as exc:
        fit_error = _error_text(exc)
        log.warning("%s on fold %s failed while fitting: %s", method.name, folds[0].name, fit_error)
    fit_s = time.perf_counter() - t0
    fit_cpu = time.process_time() - c0
    for fold, key in zip(folds, keys):
        t1 = time.perf_counter()
        c1 = time.process_time()
        if trace_memory:
            tracemalloc.reset_peak()
        record: dict[str, Any] = {"info": dict(fold.info), "method_params": method.params}
        n_test = 0
        try:
            if fit_error is not None:
                raise _FitFailed(fit_error)
            k = int(fold.info.get("calibration", 0))
            model = fitted
            if k > 0:
                if not hasattr(fitted, "adapt"):
                    raise ConfigError(f"method {method.name!r} has no adapt(); use calibration 0")
                model = copy.deepcopy(fitted)
                wc = method.windows(fold.calibration)
                model.adapt(wc.X, method.y(wc))
                record["info"]["n_calibration"] = len(wc)
            out = _evaluate(model, fold, method, vote)
            record.update(status="ok", conditions=out["conditions"])
            n_test = out["n_test"]
        except _FitFailed as exc:
            record.update(status="error", error=f"fit failed: {exc}")
        except Exception as exc:
            record.update(status="error", error=_error_text(exc))
            log.warning("%s on fold %s failed: %s", method.name, fold.name, record["error"])
        run_s = time.perf_counter() - t1
        traced = tracemalloc.get_traced_memory()[1] / 2**20 if trace_memory else float("nan")
        record["resources"] = {
            "wall_s": fit_s + run_s,
            "fit_s": fit_s,
            "cpu_s": fit_cpu + time.process_time() - c1,
            "peak_rss_mb": _peak_rss_mb(),
            "peak_traced_mb": traced,
            "n_train": n_train,
            "n_test": n_test,
        }
        record["key"] = key.__dict__.copy()
        if store is not None:
            store.put(key, record)
        records.append(record)
    if trace_memory:
        tracemalloc.stop()
    return records


# -- the benchmark -----------------------------------------------------------------------
def _available_memory() -> int | None:
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _task_bytes(fold: Fold, method: Method) -> int:
    n = sum(r.emg.nbytes for r in fold.train) + sum(r.emg.nbytes for r in fold.test)
    return int(n * max(1.0, method.window_ms / method.step_ms) * 3)


def effective_jobs(n_jobs: int, est_bytes: int) -> int:
    """``n_jobs`` (-1 = all cores) reduced so that the folds fit in free memory."""
    cpu = os.cpu_count() or 1
    n = cpu if n_jobs in (-1, 0) else max(1, int(n_jobs))
    avail = _available_memory()
    if avail and est_bytes > 0:
        fit = max(1, int(0.7 * avail // est_bytes))
        if fit < n:
            log.info("running %d folds at once instead of %d (free memory)", fit, n)
            n = fit
    return n


def _dataset_name(rset: RecordingSet) -> str:
    names = rset.unique("dataset")
    return ",".join(map(str, names)) if names else "custom"


def run_benchmark(
    data: RecordingSet,
    protocol: str | Protocol,
    methods: Iterable[str | Method],
    calibration: int | Sequence[int] = 0,
    seeds: int | Sequence[int] = 0,
    out_dir: str | os.PathLike[str] | None = None,
    n_jobs: int = 1,
    vote: int | None = 5,
    trace_memory: bool = True,
    write_report: bool = True,
    show_progress: bool = True,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> BenchmarkResult:
    """Evaluate ``methods`` on ``data`` under ``protocol``.

    Parameters
    ----------
    data : RecordingSet
    protocol : str or Protocol
        e.g. ``"loso"``, ``"cross-day"``, ``"leave-group-out:gender"`` (`get_protocol`).
    methods : iterable of str or Method
        Registered method names (``myoshift methods list``) or `Method` objects.
    calibration : int or sequence of int
        Calibration budgets in repetitions of the target (0 = zero-shot).
    seeds : int or sequence of int
    out_dir : path, optional
        Where ``runs/`` (cache), ``results.csv``, ``summary.json`` and ``report.html``
        go; without it nothing is cached or written.
    n_jobs : int
        Folds evaluated in parallel processes (-1: one per core).
    vote : int or None
        Window count of the majority-vote metrics (``accuracy_vote{n}``).
    overrides : dict, optional
        Per method name, parameters replacing the method's (``window_ms``, ``step_ms``
        or estimator parameters such as ``epochs`` or ``device``).

    Returns
    -------
    BenchmarkResult
    """
    t_start = time.perf_counter()
    proto = get_protocol(protocol)
    overrides = dict(overrides or {})
    meths = []
    for m in methods:
        name = m if isinstance(m, str) else getattr(m, "name", "")
        meths.append(resolve_method(m, overrides.pop(name, None)))
    if overrides:
        raise ConfigError(f"overrides given for methods not evaluated: {sorted(overrides)}")
    if not meths:
        raise ConfigError("no methods to evaluate")
    names = [m.name for m in meths]
    if len(set(names)) != len(names):
        raise ConfigError(f"methods given twice: {names}")
    seed_list = [seeds] if isinstance(seeds, int) else [int(s) for s in seeds]
    folds = proto.split(data, calibration)
    # Folds that train on the same recordings (every budget of a fold; every target
    # subject of `predefined`) share one fitted model: fit once, adapt/evaluate each.
    by_train: dict[tuple[int, ...], list[Fold]] = {}
    for f in folds:
        by_train.setdefault(tuple(map(id, f.train)), []).append(f)
    n_folds = len({f.name for f in folds})
    dataset = _dataset_name(data)
    data_id = {
        "dataset": dataset,
        "subjects": [str(s) for s in data.unique("subject")],
        "n_recordings": len(data),
        "n_samples": int(sum(r.n_samples for r in data)),
    }
    out = Path(out_dir) if out_dir is not None else None
    store = ResultStore(out / "runs") if out is not None else None

    records: dict[RunKey, dict[str, Any]] = {}
    order: list[RunKey] = []
    tasks: list[tuple[Method, list[Fold], int, list[RunKey]]] = []
    for m in meths:
        chash = config_hash(
            {
                "method": [m.name, m.window_ms, m.step_ms, m.params],
                "protocol": [proto.label, proto.params()],
                "data": data_id,
                "vote": vote,
            }
        )
        for group in by_train.values():
            for seed in seed_list:
                todo_f, todo_k = [], []
                for f in group:
                    key = RunKey(
                        dataset, proto.label, m.name, f.name, seed, f.info["calibration"], chash
                    )
                    order.append(key)
                    cached = store.get(key) if store is not None else None
                    if cached is not None:
                        records[key] = cached
                    else:
                        todo_f.append(f)
                        todo_k.append(key)
                if todo_f:
                    tasks.append((m, todo_f, seed, todo_k))
    n_cached = len(records)
    log.info(
        "%s: %d runs, %d cached, %d tasks to compute", proto.label, len(order), n_cached, len(tasks)
    )
    store_root = str(store.root) if store is not None else None
    if tasks:
        est = max(_task_bytes(t[1][0], t[0]) for t in tasks)
        jobs = min(effective_jobs(n_jobs, est), len(tasks))
        if jobs <= 1:
            results_iter: Iterable[list[dict[str, Any]]] = (
                run_task(m, fs, s, ks, store_root, vote, trace_memory) for m, fs, s, ks in tasks
            )
        else:
            from joblib import Parallel, delayed, parallel_config

            threads = max(1, (os.cpu_count() or 1) // jobs)
            with parallel_config(backend="loky", inner_max_num_threads=threads):
                parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
                results_iter = parallel(
                    delayed(run_task)(m, fs, s, ks, store_root, vote, trace_memory, threads)
                    for m, fs, s, ks in tasks
                )
        for recs in progress(results_iter, f"benchmark {proto.label}", show_progress, len(tasks)):
            for rec in recs:
                records[RunKey(**rec["key"])] = rec
    ordered = [records[k] for k in order if k in records]
    frame = to_frame(ordered)
    summary = summarize(frame) if not frame.empty else pd.DataFrame()
    n_failed = sum(1 for r in ordered if r.get("status") != "ok")
    result = BenchmarkResult(
        frame,
        summary,
        ordered,
        n_computed=len(ordered) - n_cached,
        n_cached=n_cached,
        n_failed=n_failed,
        out_dir=out,
        wall_s=time.perf_counter() - t_start,
        meta={
            "dataset": dataset,
            "protocol": proto.label,
            "methods": names,
            "calibration": sorted({int(f.info["calibration"]) for f in folds}),
            "seeds": seed_list,
            "n_folds": n_folds,
            "class_names": list(data.class_names),
        },
    )
    if out is not None:
        write_outputs(result, write_report=write_report)
    return result


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


def write_outputs(result: BenchmarkResult, write_report: bool = True) -> dict[str, Path]:
    """Write ``results.csv``, ``summary.json`` and (optionally) ``report.html`` + plots."""
    out = result.out_dir
    if out is None:
        raise ConfigError("the benchmark result has no output directory")
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.csv", "summary": out / "summary.json"}
    result.results.to_csv(paths["results"], index=False)
    paths["summary"].write_text(json.dumps(summary_dict(result), indent=1, default=str))
    if write_report:
        from myoshift.evaluation.report import write_report as _write_report

        paths["report"] = _write_report(result, out)
    return paths
