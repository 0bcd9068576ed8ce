"""``myoshift methods``: the named methods (pipelines) available to benchmarks.

``myoshift methods list [--json]`` prints every method with its kind, task (class
labels, or the auxiliary stream a regression method predicts), windowing and citation
(wrapped, never cut); ``myoshift methods show NAME`` prints one method's full
configuration.

The method registry imports torch (deep methods are generated from the model classes),
so both commands read the methods from a cache (`myoshift.cli._cache`) that is rebuilt
whenever a source or method file changes: the first call after a change takes seconds,
later ones a fraction of one.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from myoshift.cli._cache import cached
from myoshift.cli._text import wrapped_rows


def _compute_specs() -> dict[str, Any]:
    from myoshift.learn.methods import DEFAULT_DEEP_METHOD, methods

    specs = [{**s.to_dict(), "source": s.source} for _, s in sorted(methods().items())]
    return {"default_deep": DEFAULT_DEEP_METHOD, "methods": specs}


def method_table() -> dict[str, Any]:
    """``{"default_deep": NAME, "methods": [spec dict + "source", ...]}``, sorted by name."""
    return cached("methods", _compute_specs)  # type: ignore[no-any-return]


def _list(args: argparse.Namespace) -> int:
    table = method_table()
    specs = [{k: v for k, v in s.items() if k != "source"} for s in table["methods"]]
    if args.json:
        print(json.dumps(specs, indent=2))
        return 0
    wide = max([20, *(len(s["name"]) for s in specs)])
    rows = []
    for s in specs:
        win = f"{s['window_ms']:g}/{s['step_ms']:g}"
        task = s["target"] or "labels"
        default = " (default deep)" if s["name"] == table["default_deep"] else ""
        prefix = f"{s['name']:<{wide}} {s['kind']:<10} {task:<9} {win:<15} "
        rows.append((prefix, s["citation"] + default))
    header = f"{'name':<{wide}} {'kind':<10} {'predicts':<9} {'window/step ms':<15} citation"
    print("\n".join(wrapped_rows(header, rows)))
    return 0


def _show(args: argparse.Namespace) -> int:
    by_name = {s["name"]: s for s in method_table()["methods"]}
    spec = by_name.get(args.name)
    if spec is None:  # get_method raises the ConfigError that lists the valid names
        from myoshift.learn.methods import get_method

        found = get_method(args.name)
        spec = {**found.to_dict(), "source": found.source}
    print(json.dumps(spec, indent=2))
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
