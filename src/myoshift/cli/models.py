"""``myoshift models``: the registered architectures.

``myoshift models list [--json] [--outputs N]`` prints every registered model with its
citation (wrapped, never cut), default input, parameter count and multiply-accumulates
(MACs) per window for that input. torch is imported by the command, not by this module.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from myoshift.cli._text import wrapped_rows

DEFAULT_OUTPUTS = 7  # the 7 gestures of the Myo armband dataset


def describe_models(n_outputs: int = DEFAULT_OUTPUTS) -> list[dict[str, Any]]:
    """One dict per registered model, built at its ``default_input``."""
    from myoshift.models import build_model, count_macs, get_model_class, model_names

    rows = []
    for name in model_names():
        cls = get_model_class(name)
        shape = dict(cls.default_input)
        n_channels, n_samples = int(shape.pop("n_channels")), int(shape.pop("n_samples"))
        model = build_model(name, n_channels, n_samples, n_outputs, **shape)
        rows.append(
            {
                "name": name,
                "citation": cls.citation,
                "input_kind": model.input_kind,
                "tasks": sorted(cls.tasks),
                "default_input": dict(cls.default_input),
                "n_outputs": n_outputs,
                "n_parameters": model.n_parameters(),
                "macs": count_macs(model),
                "embed_dim": model.embed_dim,
                "recipe": dict(cls.recipe),
            }
        )
    return rows


def _input_text(d: dict[str, Any]) -> str:
    text = f"{d['n_channels']}x{d['n_samples']}"
    if "grid" in d:
        text += f" grid {d['grid'][0]}x{d['grid'][1]}"
    return text


def _list(args: argparse.Namespace) -> int:
    rows = describe_models(args.outputs)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    wide = max([20, *(len(r["name"]) for r in rows)])
    header = f"{'name':<{wide}} {'input':<16} {'params':>9} {'MACs':>12}  citation"
    table = [
        (
            f"{r['name']:<{wide}} {_input_text(r['default_input']):<16} "
            f"{r['n_parameters']:>9,} {r['macs']:>12,}  ",
            r["citation"],
        )
        for r in rows
    ]
    print("\n".join(wrapped_rows(header, table)))
    return 0


def register(subparsers: Any) -> None:
    """Add the ``models`` command group to the top-level parser."""
    parser = subparsers.add_parser("models", help="list the model architectures")
    sub = parser.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    lst = sub.add_parser("list", help="every registered model with citation, size and MACs")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.add_argument(
        "--outputs",
        type=int,
        default=DEFAULT_OUTPUTS,
        help=f"number of outputs used to size the head (default {DEFAULT_OUTPUTS})",
    )
    lst.set_defaults(func=_list)
    parser.set_defaults(func=lambda args: (parser.print_help(), 1)[1])
