"""``myoshift train``: fit a method on a dataset and save the model folder.

The saved folder is the method's whole chain (preprocess, windows, represent,
estimator; `myoshift.learn.MethodChain`) in the one save format, plus ``input.json``
(rate, channels and class names of the input, `myoshift.realtime.model`), which
``myoshift predict``, ``stream`` and ``export`` read.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from myoshift.cli._args import method_overrides, subject_list
from myoshift.errors import ConfigError


def _say(text: str) -> None:
    print(f"train: {text}", file=sys.stderr, flush=True)


def _output_folder(out: str, force: bool) -> Path:
    """The model folder, emptied when ``force`` and it holds a model; refused otherwise."""
    d = Path(out)
    if d.exists() and not d.is_dir():
        raise ConfigError(f"--out {d}: exists and is not a folder")
    if d.is_dir() and any(d.iterdir()):
        if not (d / "estimator.json").is_file():
            raise ConfigError(f"--out {d}: folder is not empty and holds no model; choose another")
        if not force:
            raise ConfigError(f"--out {d}: a model is already there; add --force to replace it")
        shutil.rmtree(d)
    return d


def cmd_train(args: argparse.Namespace) -> int:
    from myoshift.datasets import get_dataset
    from myoshift.evaluation.recipes import resolve_method
    from myoshift.realtime.model import stream_model, write_input_info

    overrides = method_overrides(args.set)
    others = sorted(set(overrides) - {args.method})
    if others:
        raise ConfigError(f"--set names methods {others}, but only {args.method!r} is trained")
    method = resolve_method(args.method, overrides.get(args.method))
    out = _output_folder(args.out, args.force)
    dataset = get_dataset(args.dataset, data_dir=args.data_dir)
    subjects = subject_list(args.subjects)
    data = dataset.load(subjects)
    rates = sorted({r.fs for r in data})
    channels = sorted({r.n_channels for r in data})
    if len(rates) != 1 or len(channels) != 1:
        raise ConfigError(
            f"dataset {args.dataset!r}: recordings at rates {rates} Hz with {channels} "
            "channels; one model needs one rate and channel count"
        )
    fs, n_channels = float(rates[0]), int(channels[0])
    _say(
        f"fitting {method.name} on {args.dataset} ({len(data)} recordings, "
        f"{data.total_seconds / 60:.1f} min, {n_channels} channels at {fs:g} Hz)"
    )
    start = time.perf_counter()
    chain = method.chain(fs, args.seed).fit(data)
    took = time.perf_counter() - start
    model = stream_model(chain, fs, n_channels, data.class_names, str(out), streaming=False)
    chain.save(out)
    write_input_info(
        out,
        model,
        dataset=args.dataset,
        subjects=[str(s) for s in data.unique("subject")],
        method=method.name,
        overrides=overrides.get(args.method, {}),
        seed=args.seed,
        n_windows=int(chain.n_train_),
    )
    _say(f"fitted on {chain.n_train_} windows in {took:.1f} s")
    classes = ", ".join(model.label_name(int(c)) for c in model.classes)
    print(
        f"saved {out}: {method.name}, {n_channels} channels at {fs:g} Hz, window "
        f"{chain.window_ms:g} ms every {chain.step_ms:g} ms, classes {classes}"
    )
    return 0


def register(subparsers: Any) -> None:
    """Add ``myoshift train`` to the top-level parser."""
    p = subparsers.add_parser(
        "train",
        help="fit a method on a dataset and save the model",
        description=(
            "Fit a registered method on every recording of a dataset (or of some of its "
            "subjects) and save the fitted chain to a model folder for predict, stream "
            "and export."
        ),
    )
    p.add_argument("--dataset", required=True, help="dataset name (see `myoshift datasets list`)")
    p.add_argument("--data-dir", default=None, help="folder holding the dataset folders")
    p.add_argument("--subjects", nargs="+", default=None, help="subjects to train on")
    p.add_argument("--method", required=True, help="method name (see `myoshift methods list`)")
    p.add_argument(
        "--set",
        action="append",
        metavar="METHOD.PARAM=VALUE",
        help="override a recipe parameter (repeatable), e.g. tcn.epochs=5",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--force", action="store_true", help="replace a model already in --out")
    p.set_defaults(func=cmd_train)
