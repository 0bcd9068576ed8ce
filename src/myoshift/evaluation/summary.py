"""What `run_benchmark` returns (`BenchmarkResult`), what ran, and ``summary.json``.

`describe_run` records what a benchmark really ran, so that ``summary.json`` and
``report.html`` say it: each method's resolved recipe (windowing, every estimator
parameter, the ``--set`` overrides, the quick default recipe when used), the protocol
and what each of its folds is, the regime, the library versions and the command line.
Nothing is trained for it: the estimators are only built.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from myoshift.evaluation.stats import compare_methods
from myoshift.evaluation.units import sorted_values
from myoshift.jsonable import plain

if TYPE_CHECKING:  # only for annotations: no import at run time
    from myoshift.evaluation.plan import Fold
    from myoshift.evaluation.protocol_base import Protocol
    from myoshift.evaluation.recipes import Method
    from myoshift.evaluation.regimes import Regime
    from myoshift.recording import RecordingSet

#: packages whose versions a result records (``python`` is added)
VERSIONED = ("myoshift", "numpy", "scipy", "pandas", "scikit-learn", "torch")
#: estimator parameters not recorded: the chain's windowing and the run's seeds rule
UNRECORDED = ("seed", "window_ms", "step_ms")
#: what one fold is, per protocol (the report's captions)
FOLD_MEANING = {
    "loso": "one held-out person (trained on every other person)",
    "leave-group-out": "one held-out value of {column} (every person with it; trained on "
    "the others)",
    "cross-session": "one person and one {column} pair (trained on {column} a, tested on "
    "{column} b)",
    "within-session": "one person's session (trained on some of its repetitions, tested "
    "on the others)",
    "predefined": "one target person of the dataset's own source -> target split",
    "electrode-shift": "one person's session, trained without (noaug) or with (aug) "
    "shifted copies, tested at each electrode shift",
    "next-day": "one person and one day (trained on the days before it)",
    "train-on": "one person and one value of {column} (trained on the value named, tested "
    "on this one)",
    "few-shot": "one target person (never in training): many N-way K-shot episodes, "
    "support and queries from different repetitions",
    "sequential": "one person: trained on the first day(s), later days visited in order",
}


@dataclass
class BenchmarkResult:
    """What `run_benchmark` returns.

    Attributes
    ----------
    results : DataFrame
        Tidy rows (see `myoshift.evaluation.results.RESULT_COLUMNS`).
    summary : DataFrame
        mean, std, n over people per dataset × protocol × method × calibration ×
        condition × pairing × metric, and ``std_folds``, ``n_folds`` over folds
        (`myoshift.evaluation.stats.summarize`).
    records : list of dict
        The run records (confusion matrices, resources, info).
    n_computed, n_cached, n_failed : int
    out_dir : Path or None
    meta : dict
        What ran (`describe_run`): ``recipes``, ``folds``, ``versions``, ``command``...
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


# -- what ran ------------------------------------------------------------------------------
def versions() -> dict[str, str | None]:
    """Versions of Python and of `VERSIONED` (None: not installed); imports nothing."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _recorded(value: Any) -> Any:
    """A non-JSON value as the summary records it: an estimator by its parameters,
    anything else by its repr."""
    if hasattr(value, "get_params"):
        return {"estimator": type(value).__name__, "params": estimator_params(value)}
    return repr(value)


def _jsonable(value: Any) -> Any:
    return plain(value, other=_recorded)


def estimator_params(estimator: Any) -> dict[str, Any] | None:
    """``get_params(deep=False)`` as JSON-able values, nested estimators recursed into.

    `UNRECORDED` keys are left out; None when the estimator has no ``get_params``.
    """
    if not hasattr(estimator, "get_params"):
        return None
    params = estimator.get_params(deep=False)
    return {k: _jsonable(v) for k, v in sorted(params.items()) if k not in UNRECORDED}


def method_recipe(
    method: Method,
    data: RecordingSet,
    overrides: Mapping[str, Any] | None = None,
    quick: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The resolved recipe of ``method`` on ``data``: windowing, estimator parameters
    (the estimator is built, not trained), steps, the ``--set`` ``overrides`` and the
    ``quick`` default recipe when one was used."""
    fs = float(data[0].fs) if len(data) else 0.0
    out: dict[str, Any] = {"window_ms": method.window_ms, "step_ms": method.step_ms}
    try:
        est = method.build(fs, 0)
        out["estimator"] = type(est).__name__
        out["estimator_params"] = estimator_params(est)
    except Exception as exc:  # the runs report the same failure, fold by fold
        out["estimator"] = None
        out["estimator_params"] = None
        out["estimator_error"] = f"{type(exc).__name__}: {exc}"
    params = out["estimator_params"] or {}
    if "epochs" in params:
        out["epochs"] = params["epochs"]
    cached = method.cache_params(data)
    out.update(
        preprocess=cached.get("preprocess"),
        represent=cached.get("represent", []),
        adapt=method.params.get("adapt"),
        target=method.target,
        overrides=_jsonable(dict(overrides or {})),
        quick_recipe=_jsonable(dict(quick)) if quick else None,
        method_params=method.params,
    )
    return out


def _fold_text(info: Mapping[str, Any], train_people: Sequence[Any], protocol: str) -> str:
    base = protocol.partition(":")[0]
    subject = info.get("subject")
    who = f"person {subject}" if subject is not None else "every person"
    a, b, col = info.get("train_domain"), info.get("test_domain"), info.get("column")
    if a is not None and b is not None:
        where = f"{col} " if col else ""
        text = f"{who}: trained on {where}{a}, tested on {where}{b}"
        if info.get("gap") is not None:
            text += f" (gap {info['gap']})"
    elif base == "few-shot":
        text = f"{who}: few-shot episodes; trained on {len(train_people)} other people"
    elif base in ("loso", "leave-group-out"):
        column = protocol.partition(":")[2] or "subject"
        held = who if column == "subject" else f"{column} {b} ({who})"
        text = f"{held} held out; trained on {len(train_people)} other people"
    else:
        text = f"{who}: trained on the first repetitions of a session, tested on the rest"
    if "augment" in info:
        shifts = info.get("test_shifts") or []
        aug = "with" if info["augment"] else "without"
        text += f"; {aug} shift augmentation, tested at shifts {shifts}"
    return text


def describe_folds(folds: Sequence[Fold]) -> list[dict[str, Any]]:
    """One entry per fold (natural order): subject, domains, gap, who trains, a sentence."""
    first: dict[str, Fold] = {}
    budgets: dict[str, dict[str, int]] = {}
    for f in folds:
        first.setdefault(f.name, f)
        k = str(f.info.get("calibration", 0))
        budgets.setdefault(f.name, {})[k] = int(f.info.get("n_calibration_units", 0))
    out = []
    for name in sorted_values(list(first)):
        f = first[name]
        info = f.info
        train_people = [str(s) for s in f.train.unique("subject")]
        entry = {
            "fold": name,
            "subject": _jsonable(info.get("subject")),
            "train_domain": info.get("train_domain"),
            "test_domain": info.get("test_domain"),
            "gap": _jsonable(info.get("gap")),
            "train_subjects": train_people,
            "n_train_recordings": len(f.train),
            "n_test_recordings": len(f.test),
            "calibration_units": budgets[name],
            "what": _fold_text(info, train_people, str(info.get("protocol", ""))),
        }
        out.append(entry)
    return out


def fold_meaning(protocol: str, folds: Sequence[Fold] = ()) -> str:
    """What one fold of ``protocol`` is, in words (e.g. "one held-out person ...")."""
    base, _, arg = protocol.partition(":")
    column = next((f.info["column"] for f in folds if f.info.get("column")), None)
    if base == "cross-day":
        base, column = "cross-session", column or "day"
    if base == "leave-group-out" and arg == "subject":
        base = "loso"
    text = FOLD_MEANING.get(base, "one split of the protocol")
    return text.format(column=column or arg.partition("=")[0] or "session")


def describe_run(
    data: RecordingSet,
    protocol: Protocol,
    regime: Regime,
    methods: Sequence[Method],
    folds: Sequence[Fold],
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    quick: Mapping[str, Mapping[str, Any]] | None = None,
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """What a benchmark ran, for its ``meta`` (``summary.json``, ``report.html``).

    ``overrides`` are the caller's (``--set``), ``quick`` the quick default recipes.
    """
    overrides, quick = dict(overrides or {}), dict(quick or {})
    return {
        "protocol_params": _jsonable(protocol.params()),
        "regime_params": _jsonable(regime.params()),
        "fold_meaning": fold_meaning(protocol.label, folds),
        "pairing_of": next((f.info["column"] for f in folds if f.info.get("column")), None),
        "folds": describe_folds(folds),
        "subjects": [str(s) for s in sorted_values(data.unique("subject"))],
        "recipes": {
            m.name: method_recipe(m, data, overrides.get(m.name), quick.get(m.name))
            for m in methods
        },
        "overrides": _jsonable(overrides),
        "versions": versions(),
        "command": None if command is None else [str(c) for c in command],
    }


def recipe_notes(meta: Mapping[str, Any]) -> dict[str, str]:
    """Per method, what makes its recipe differ from its published one (quick recipe,
    ``--set`` overrides); methods that ran as published are absent."""
    notes: dict[str, str] = {}
    for name in meta.get("methods", []):
        quick = (meta.get("quick_recipe") or {}).get(name)
        given = (meta.get("overrides") or {}).get(name)
        parts = []
        if quick:
            parts.append(f"quick recipe ({_kv(quick)}), not its full one")
        if given:
            parts.append(f"overridden ({_kv(given)})")
        if parts:
            notes[name] = "; ".join(parts)
    return notes


def _kv(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in params.items())


# -- summary.json ----------------------------------------------------------------------------
def summary_dict(result: BenchmarkResult) -> dict[str, Any]:
    """The content of ``summary.json``: `BenchmarkResult.meta`, counts, failures, the
    summary over people (``n`` = people) and the paired tests."""
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
    notes = recipe_notes(result.meta)
    tests = (
        compare_methods(ok, recipe_notes=notes)
        if len(result.meta.get("methods", [])) > 1 and not ok.empty
        else None
    )
    return {
        **result.meta,
        "n_runs": len(result.records),
        "n_computed": result.n_computed,
        "n_cached": result.n_cached,
        "n_failed": result.n_failed,
        "wall_s": round(result.wall_s, 3),
        "failures": failures,
        "n_counts": "people: mean and std are over people (each person's folds averaged "
        "first); n_folds and std_folds are over folds; one row per pairing",
        "summary": json.loads(result.summary.to_json(orient="records")),
        "recipe_notes": notes,
        "wilcoxon": [] if tests is None else json.loads(tests.to_json(orient="records")),
    }
