"""``myoshift methods``: the named methods (pipelines) available to benchmarks.

``myoshift methods list [--json]`` prints every method with its kind, task (class
labels, or the auxiliary stream a regression method predicts), windowing and citation;
``myoshift methods show NAME`` prints one method's full configuration.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from myoshift.learn.methods import DEFAULT_DEEP_METHOD, get_method, methods


def _list(args: argparse.Namespace) -> int:
    specs = [s.to_dict() for _, s in sorted(methods().items())]
    if args.json:
        print(json.dumps(specs, indent=2))
        return 0
    header = f"{'name':<20} {'kind':<10} {'predicts':<9} {'window/step ms':<15} citation"
    print(header)
    print("-" * len(header))
    for s in specs:
        cite = " ".join(s["citation"].split())
        cite = cite if len(cite) <= 90 else cite[:87] + "..."
        win = f"{s['window_ms']:g}/{s['step_ms']:g}"
        default = " (default deep)" if s["name"] == DEFAULT_DEEP_METHOD else ""
        task = s["target"] or "labels"
        print(f"{s['name']:<20} {s['kind']:<10} {task:<9} {win:<15} {cite}{default}")
    return 0


def _show(args: argparse.Namespace) -> int:
    spec = get_method(args.name)
    print(json.dumps({**spec.to_dict(), "source": spec.source}, indent=2))
    return 0


def register(subparsers: Any) -> None:
    """Add the ``methods`` command group to the top-level parser."""
    parser = subparsers.add_parser("methods", help="list the named methods")
    sub = parser.add_subparsers(dest="methods_command", metavar="SUBCOMMAND")
    lst = sub.add_parser("list", help="every method with kind, windowing and citation")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(func=_list)
    show = sub.add_parser("show", help="one method's full configuration as JSON")
    show.add_argument("name", help="method name (see `myoshift methods list`)")
    show.set_defaults(func=_show)
    parser.set_defaults(func=lambda args: (parser.print_help(), 1)[1])
