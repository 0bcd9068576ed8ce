"""``myoshift benchmark``: evaluate methods on a dataset under a protocol.

With no arguments it runs the built-in ``synthetic`` dataset, leave-one-subject-out,
calibration budgets 0 and 1, the LDA baseline (``lda-td``) and the default deep method,
and writes ``results.csv``, ``summary.json`` and ``report.html`` to the output folder.
Finished runs are cached there: rerunning the same command resumes.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import sys
from pathlib import Path
from typing import Any

from myoshift.cli._args import int_list, method_overrides, overrides_file, subject_list
from myoshift.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_DATASET = "synthetic"
DEFAULT_PROTOCOL = "loso"
#: what --n-jobs defaults to here; run_benchmark's own default is 1 (the CLI says so)
CLI_N_JOBS = -1


def _quiet_dask_logs() -> None:
    """Keep Dask's INFO chatter (an in-process scheduler) out of the CLI unless ``-v``."""
    try:
        import distributed  # noqa: F401  (importing it sets its loggers up first)
    except ImportError:
        return  # the backend reports the missing extra
    if not log.isEnabledFor(logging.INFO):
        logging.getLogger("distributed").setLevel(logging.WARNING)


def _regime_params(items: list[str] | None) -> dict[str, Any]:
    """``["recalibrate=labelled:1", "carry=false"]`` -> ``{"recalibrate": "labelled:1",
    "carry": False}`` (values read as JSON where they parse, else as text)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, eq, raw = item.partition("=")
        if not (eq and key.strip()):
            raise ConfigError(f"--regime-param takes KEY=VALUE (e.g. carry=false), got {item!r}")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    return out


def _run(args: argparse.Namespace) -> int:
    from myoshift.datasets import get_dataset
    from myoshift.evaluation import get_protocol, run_benchmark
    from myoshift.evaluation.backends import validate_backend
    from myoshift.evaluation.recipes import default_methods, resolve_method
    from myoshift.evaluation.regimes import get_regime
    from myoshift.evaluation.summary import summary_dict

    # validate every name before loading anything
    protocol = get_protocol(args.protocol)
    seeds = int_list(args.seed, "seed")
    regime_name = args.regime if args.regime is not None else protocol.default_regime
    params = _regime_params(args.regime_param)
    try:
        regime = get_regime(regime_name, **params)
    except TypeError:  # a parameter the regime's constructor does not take
        init = inspect.signature(type(get_regime(regime_name)).__init__).parameters
        known = ", ".join(k for k in init if k not in ("self", "args", "kwargs"))
        raise ConfigError(
            f"--regime-param: regime {regime_name!r} takes "
            f"{'parameters ' + known if known else 'no parameters'}; got {', '.join(params)}"
        ) from None
    validate_backend(args.backend, args.scheduler)
    if args.backend == "dask":
        _quiet_dask_logs()
    overrides: dict[str, dict[str, Any]] = {}
    methods = None
    if args.methods is not None:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        if not methods:
            raise ConfigError("--methods is empty")
    names = methods if methods is not None else default_methods()[0]
    # a recipe file may hold recipes of methods not run now; --set names must be run
    from_file = {m: p for m, p in overrides_file(args.set_file).items() if m in names}
    for source in (from_file, method_overrides(args.set)):
        for method, params in source.items():
            overrides.setdefault(method, {}).update(params)
    not_run = sorted(set(overrides) - set(names))
    if not_run:
        raise ConfigError(
            f"--set: overrides given for methods not evaluated: {not_run}; "
            f"methods run: {', '.join(names)}"
        )
    for m in names:  # unknown names and parameters fail here, before any data is read
        resolve_method(m, overrides.get(m))
    dataset = get_dataset(args.dataset, data_dir=args.data_dir)
    calibration = None
    if args.calibration is not None:
        calibration = int_list(args.calibration, "calibration")
    if args.calibration_sampler != "first":
        protocol = get_protocol(
            args.protocol, calibration_sampler=args.calibration_sampler, sampler_seed=seeds[0]
        )
    subjects = subject_list(args.subjects)
    out = (
        Path(args.out)
        if args.out
        else Path("myoshift-results") / (f"{args.dataset}-{protocol.label.replace(':', '_')}")
    )
    data = dataset.load(subjects)
    result = run_benchmark(
        data,
        protocol,
        methods,
        calibration=calibration,
        seeds=seeds,
        out_dir=out,
        n_jobs=args.n_jobs,
        vote=args.vote,
        overrides=overrides,
        backend=args.backend,
        scheduler=args.scheduler,
        regime=regime,
        save_models=args.save_models,
        command=["myoshift", *getattr(args, "argv", sys.argv[1:])],
    )
    if args.json:
        print(json.dumps(summary_dict(result), indent=1, default=str))
    else:
        from rich.console import Console

        from myoshift.evaluation.report import print_table

        print_table(result, Console(width=None if sys.stdout.isatty() else 120))
        for name, recipe in result.meta.get("quick_recipe", {}).items():
            print(
                f"note: {name} ran a quick recipe {recipe}; "
                f"`--methods {','.join(names)}` runs its full recipe"
            )
        if args.n_jobs != 1:
            print(f"note: --n-jobs {args.n_jobs} (run_benchmark's default is n_jobs=1)")
        if args.save_models:
            print(f"models: {out / 'models'}")
        print(
            f"results: {out / 'results.csv'}  summary: {out / 'summary.json'}  "
            f"report: {out / 'report.html'}  ({result.wall_s:.1f} s)"
        )
    if result.n_failed:
        print(
            f"myoshift: {result.n_failed} of {len(result.records)} runs failed "
            "(see the 'error' rows of results.csv)",
            file=sys.stderr,
        )
        return 1
    return 0


def register(subparsers: Any) -> None:
    """Add ``myoshift benchmark`` to the top-level parser."""
    p = subparsers.add_parser(
        "benchmark",
        help="evaluate methods under a cross-domain protocol",
        description=(
            "Evaluate methods on a dataset under a protocol (default: synthetic, loso, "
            "calibration 0,1, lda-td and the default deep method). Writes results.csv, "
            "summary.json and report.html; finished runs are cached, so a rerun resumes."
        ),
    )
    p.add_argument("--dataset", default=DEFAULT_DATASET, help="dataset name (default synthetic)")
    p.add_argument("--data-dir", default=None, help="folder holding the dataset folders")
    p.add_argument(
        "--protocol",
        default=DEFAULT_PROTOCOL,
        help="within-session, cross-session, cross-day, next-day[:N], loso, "
        "leave-group-out:COLUMN, train-on:COLUMN=VALUE, predefined, electrode-shift[:K], "
        "few-shot:N,K[,options], sequential[:D] (default loso; `myoshift datasets info "
        "NAME` lists what a dataset honours)",
    )
    p.add_argument("--methods", default=None, help="comma-separated method names")
    p.add_argument(
        "--calibration",
        default=None,
        help="calibration budgets in target repetitions, e.g. 0,1,4 "
        "(default 0,1 for cross-domain protocols, else 0)",
    )
    p.add_argument("--seed", default="0", help="seed or comma-separated seeds (default 0)")
    p.add_argument(
        "--out", default=None, help="output folder (default myoshift-results/DATASET-PROTOCOL)"
    )
    p.add_argument("--json", action="store_true", help="print summary.json instead of a table")
    p.add_argument(
        "--n-jobs",
        type=int,
        default=CLI_N_JOBS,
        help="tasks in parallel processes (default -1: one per core, fewer if memory is "
        "short; run_benchmark's default is 1)",
    )
    p.add_argument(
        "--regime",
        default=None,
        help="what happens inside a fold (default: the protocol's own, transfer for most: "
        "fit on the source, adapt on the calibration budget, test)",
    )
    p.add_argument(
        "--regime-param",
        action="append",
        metavar="KEY=VALUE",
        help="a parameter of the regime (repeatable), e.g. recalibrate=labelled:1 or "
        "carry=false for the sequential regime",
    )
    p.add_argument(
        "--calibration-sampler",
        choices=["first", "random"],
        default="first",
        help="which k target repetitions calibrate: the first k in recording order "
        "(default) or k at random (seeded with the first --seed)",
    )
    p.add_argument(
        "--save-models",
        action="store_true",
        help="save every fitted (and adapted) model to OUT/models/METHOD/FOLD/cal<k>-seed<s>",
    )
    p.add_argument(
        "--backend",
        choices=["local", "dask"],
        default="local",
        help="where tasks run: local (this machine, --n-jobs processes) or dask (a Dask "
        "cluster, optional extra myoshift[dask]; default local)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (--backend dask; without it "
        "a local Dask cluster of --n-jobs workers is started); workers must see --out",
    )
    p.add_argument("--subjects", nargs="+", default=None, help="subjects to load (e.g. 1 2 3)")
    p.add_argument("--vote", type=int, default=5, help="windows per majority vote (default 5)")
    p.add_argument(
        "--set",
        action="append",
        metavar="METHOD.PARAM=VALUE",
        help="override a method parameter, e.g. tcn.epochs=5, tcn.step_ms=50, "
        "tcn.device=cuda (repeatable). Without --methods the default deep method runs a "
        "quick recipe, printed with the results",
    )
    p.add_argument(
        "--set-file",
        default=None,
        metavar="FILE.yaml",
        help="per-method overrides from a YAML mapping {method: {param: value}} (e.g. "
        "benchmarks/recipes/myoarmband-within-subject.yaml); entries of methods not in "
        "--methods are ignored; --set wins over it",
    )
    p.set_defaults(func=_run)
