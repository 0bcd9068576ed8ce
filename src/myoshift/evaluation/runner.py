"""The benchmark runner: methods × folds × calibration budgets × seeds, cached and resumable.

The runner owns what every regime needs: the result cache (each finished run is written
to the `ResultStore` at once, so an interrupted run resumes), parallel or distributed
execution (`myoshift.evaluation.backends`: local processes or a Dask cluster), failure
isolation (a failing run becomes a row with its error and the others still finish),
resource accounting (wall and CPU time, peak memory) and, on request, saving every
fitted model. What happens inside a fold belongs to the regime
(`myoshift.evaluation.regimes`; by default ``transfer``: fit once on the source, adapt a
copy on k calibration repetitions, test).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import re
import resource
import time
import traceback
import tracemalloc
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from myoshift.errors import ConfigError
from myoshift.evaluation.backends import get_backend
from myoshift.evaluation.few_shot_regime import FewShotRegime  # noqa: F401  (registers)
from myoshift.evaluation.protocols import Fold, Protocol, get_protocol
from myoshift.evaluation.recipes import Method, default_methods, resolve_method
from myoshift.evaluation.regimes import Regime, get_regime
from myoshift.evaluation.report import write_report as _write_report
from myoshift.evaluation.results import ResultStore, RunKey, config_hash, to_frame
from myoshift.evaluation.sequential import SequentialRegime  # noqa: F401  (registers)
from myoshift.evaluation.stats import summarize
from myoshift.evaluation.summary import BenchmarkResult, describe_run, summary_dict
from myoshift.learn.persistence import save_estimator
from myoshift.progress import progress
from myoshift.recording import RecordingSet

log = logging.getLogger(__name__)

__all__ = ["BenchmarkResult", "Method", "run_benchmark", "run_task", "write_outputs"]


# -- one task: one method on one group of folds with one seed ----------------------------
def _threaded(build: Any, threads: int, fs: float, seed: int) -> Any:
    est = build(fs, seed)
    if hasattr(est, "get_params"):
        try:
            if "threads" in est.get_params(deep=False):
                est.set_params(threads=threads)
        except (TypeError, ValueError) as exc:
            log.debug("could not limit threads of %s: %s", type(est).__name__, exc)
    return est


class _PrepareFailed(Exception):
    """The shared preparation of a task failed; every fold of the task reports it."""


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _error_text(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}".replace("\n", " ")


def model_dir(root: str | Path, key: RunKey) -> Path:
    """Where ``save_models`` puts the model of run ``key``: method/fold/cal<k>-seed<s>."""
    safe = [re.sub(r"[^A-Za-z0-9._=+-]+", "_", str(p)) for p in (key.method, key.fold)]
    return Path(root) / safe[0] / safe[1] / f"cal{key.calibration}-seed{key.seed}"


def _save_model(model: Any, root: str, key: RunKey) -> str | None:
    if model is None:
        return None
    try:
        return str(save_estimator(model, model_dir(root, key)))
    except Exception as exc:  # the run's metrics stand; say why the model is missing
        log.warning("%s on fold %s: model not saved: %s", key.method, key.fold, exc)
        return f"not saved: {_error_text(exc)}"


def run_task(
    regime: Regime,
    method: Method,
    folds: Sequence[Fold],
    seed: int,
    keys: Sequence[RunKey],
    store_root: str | None,
    vote: int | None = 5,
    trace_memory: bool = True,
    threads: int | None = None,
    models_root: str | None = None,
) -> list[dict[str, Any]]:
    """Prepare ``regime`` once for ``folds`` (e.g. fit on their shared source), then run
    every fold. Each record is written to the store as soon as it exists. ``threads``
    caps the estimator's own thread count when several tasks share the machine;
    ``models_root`` saves each fold's fitted model there."""
    store = ResultStore(store_root) if store_root else None
    if threads is not None:
        method = dataclasses.replace(
            method, build=functools.partial(_threaded, method.build, threads)
        )
    if trace_memory:
        tracemalloc.start()
    try:
        return _run_folds(regime, method, folds, seed, keys, store, vote, trace_memory, models_root)
    finally:  # whatever escapes, tracing never stays on in this worker
        if trace_memory:
            tracemalloc.stop()


def _run_folds(
    regime: Regime,
    method: Method,
    folds: Sequence[Fold],
    seed: int,
    keys: Sequence[RunKey],
    store: ResultStore | None,
    vote: int | None,
    trace_memory: bool,
    models_root: str | None,
) -> list[dict[str, Any]]:
    """`run_task`'s work: prepare once, run every fold, store each record at once."""
    records: list[dict[str, Any]] = []
    t0, c0 = time.perf_counter(), time.process_time()
    prepared: Any = None
    prep_error: str | None = None
    try:
        prepared = regime.prepare(method, folds, seed)
    except Exception as exc:
        prep_error = _error_text(exc)
        log.warning(
            "%s on fold %s failed while fitting: %s", method.name, folds[0].name, prep_error
        )
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    n_train = int(getattr(prepared, "n_train_", 0) or 0)
    for fold, key in zip(folds, keys):
        t1, c1 = time.perf_counter(), time.process_time()
        if trace_memory:
            tracemalloc.reset_peak()
        record: dict[str, Any] = {"info": dict(fold.info), "method_params": method.params}
        n_test = 0
        try:
            if prep_error is not None:
                raise _PrepareFailed(prep_error)
            out = regime.run_fold(method, prepared, fold, seed, vote)
            record["info"].update(out.info)
            record.update(status="ok", conditions=out.conditions)
            n_test = out.n_test
            if models_root is not None:
                record["model"] = _save_model(out.model, models_root, key)
        except _PrepareFailed as exc:
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
    return records


# -- the benchmark -----------------------------------------------------------------------
def _available_memory() -> int | None:
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _task_bytes(fold: Fold) -> int:
    """Memory one task may need: windows are cut on demand, so a few times the signals."""
    n = sum(r.emg.nbytes for r in fold.train) + sum(r.emg.nbytes for r in fold.test)
    return int(n * 4)


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


def _resolve_methods(
    methods: Iterable[str | Method], overrides: dict[str, dict[str, Any]] | None
) -> list[Method]:
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
    return meths


def run_benchmark(
    data: RecordingSet,
    protocol: str | Protocol,
    methods: Iterable[str | Method] | None = None,
    calibration: int | Sequence[int] | None = None,
    seeds: int | Sequence[int] = 0,
    out_dir: str | os.PathLike[str] | None = None,
    n_jobs: int = 1,
    vote: int | None = 5,
    trace_memory: bool = True,
    write_report: bool = True,
    show_progress: bool = True,
    overrides: dict[str, dict[str, Any]] | None = None,
    regime: str | Regime | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    save_models: bool = False,
    command: Sequence[str] | None = None,
) -> BenchmarkResult:
    """Evaluate ``methods`` on ``data`` under ``protocol``.

    Parameters
    ----------
    data : RecordingSet
    protocol : str or Protocol
        e.g. ``"loso"``, ``"cross-day"``, ``"leave-group-out:gender"`` (`get_protocol`).
    methods : iterable of str or Method, optional
        Registered method names (``myoshift methods list``) or `Method` objects; None:
        `recipes.default_methods` (``lda-td`` and the default deep method with a quick
        recipe, recorded in the result's ``meta["quick_recipe"]``), as the CLI.
    calibration : int or sequence of int, optional
        Calibration budgets in repetitions of the target (0 = zero-shot); None: 0 and 1
        for cross-domain protocols, else 0, as the CLI.
    seeds : int or sequence of int
    out_dir : path, optional
        Where ``runs/`` (cache), ``results.csv``, ``summary.json``, ``report.html`` and
        ``models/`` go; without it nothing is cached or written.
    n_jobs : int
        Tasks run at once by the local backend (-1: one per core); the default, 1, is
        also the CLI's (``--n-jobs``).
    vote : int or None
        Window count of the majority-vote metrics (``accuracy_vote{n}``).
    overrides : dict, optional
        Per method name, parameters replacing the method's (``window_ms``, ``step_ms``
        or estimator parameters such as ``epochs`` or ``device``).
    regime : str or Regime
        What happens inside a fold (`myoshift.evaluation.regimes`); None: the
        protocol's ``default_regime`` (``transfer`` for most, ``few-shot`` and
        ``sequential`` for the protocols of those names).
    backend : {"local", "dask"}
        Where tasks run; ``dask`` connects to ``scheduler`` (an address such as
        ``tcp://host:8786``) or starts a local cluster of ``n_jobs`` workers.
    save_models : bool
        Save every fitted (and adapted) model to ``out_dir/models/METHOD/FOLD/
        cal<k>-seed<s>/`` in the one save format.
    command : sequence of str, optional
        The command line that started the run (the CLI passes its own), recorded in
        ``meta["command"]``, ``summary.json`` and the report.

    Returns
    -------
    BenchmarkResult
    """
    t_start = time.perf_counter()
    proto = get_protocol(protocol)
    reg = get_regime(regime if regime is not None else proto.default_regime)
    quick: dict[str, dict[str, Any]] = {}
    given = dict(overrides or {})  # the caller's, recorded apart from the quick recipe
    if methods is None:
        methods, quick = default_methods()
        overrides = {
            **quick,
            **{k: {**quick.get(k, {}), **v} for k, v in (overrides or {}).items()},
        }
    if calibration is None:
        calibration = [0, 1] if proto.cross_domain else [0]
    meths = _resolve_methods(methods, overrides)
    if save_models and out_dir is None:
        raise ConfigError("save_models needs an output folder (out_dir / --out)")
    seed_list = [seeds] if isinstance(seeds, int) else [int(s) for s in seeds]
    folds = proto.split(data, calibration)
    reg.check(proto, folds)
    groups = reg.groups(folds)
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
    models_root = str(out / "models") if save_models and out is not None else None

    records: dict[RunKey, dict[str, Any]] = {}
    order: list[RunKey] = []
    tasks: list[tuple[Any, ...]] = []
    store_root = str(store.root) if store is not None else None
    for m in meths:
        chash = config_hash(
            {
                "method": [m.name, m.window_ms, m.step_ms, m.cache_params(data)],
                "protocol": [proto.label, proto.params()],
                "regime": [reg.name, reg.params()],
                "data": data_id,
                "vote": vote,
            }
        )
        for group in groups:
            for seed in seed_list:
                todo_f, todo_k = [], []
                for f in group:
                    key = RunKey(
                        dataset, proto.label, m.name, f.name, seed, f.info["calibration"], chash
                    )
                    order.append(key)
                    cached = store.get(key) if store is not None else None
                    saved = str(cached.get("model") or "") if cached is not None else ""
                    if cached is not None and (models_root is None or Path(saved).is_dir()):
                        records[key] = cached
                    else:
                        todo_f.append(f)
                        todo_k.append(key)
                if todo_f:
                    tasks.append((reg, m, todo_f, seed, todo_k))
    n_cached = len(records)
    log.info(
        "%s: %d runs, %d cached, %d tasks to compute", proto.label, len(order), n_cached, len(tasks)
    )
    if tasks:
        est = max(_task_bytes(t[2][0]) for t in tasks)
        jobs = min(effective_jobs(n_jobs, est), len(tasks))
        threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 or backend != "local" else None
        calls = [(*t, store_root, vote, trace_memory, threads, models_root) for t in tasks]
        with get_backend(backend, jobs, scheduler, threads) as runner:
            results_iter = runner.map_unordered(run_task, calls)
            for recs in progress(
                results_iter, f"benchmark {proto.label}", show_progress, len(tasks)
            ):
                for rec in recs:
                    records[RunKey(**rec["key"])] = rec
    ordered = [records[k] for k in order if k in records]
    frame = to_frame(ordered)
    result = BenchmarkResult(
        frame,
        summarize(frame) if not frame.empty else pd.DataFrame(),
        ordered,
        n_computed=len(ordered) - n_cached,
        n_cached=n_cached,
        n_failed=sum(1 for r in ordered if r.get("status") != "ok"),
        out_dir=out,
        wall_s=time.perf_counter() - t_start,
        meta={
            "dataset": dataset,
            "protocol": proto.label,
            "regime": reg.name,
            "methods": [m.name for m in meths],
            "calibration": sorted({int(f.info["calibration"]) for f in folds}),
            "seeds": seed_list,
            "n_folds": n_folds,
            "class_names": list(data.class_names),
            "quick_recipe": quick,
            **describe_run(data, proto, reg, meths, folds, given, quick, command),
        },
    )
    if out is not None:
        write_outputs(result, write_report=write_report)
    return result


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
        paths["report"] = _write_report(result, out)
    return paths
