"""Entry point ``myoshift``: builds the parser from the command-group modules.

Each group module exposes ``register(subparsers)`` and sets ``func`` on its parsers;
``func(args) -> int`` does the work. Expected errors (`MyoshiftError`) print one line
on stderr and exit with status 2; no traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from myoshift import __version__
from myoshift.errors import MyoshiftError

GROUPS = ("datasets", "models", "methods", "benchmark")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="myoshift", description="EMG gesture recognition across domain shifts."
    )
    parser.add_argument("--version", action="version", version=f"myoshift {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("-v", "--verbose", action="store_true", help="log INFO messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        try:
            module = importlib.import_module(f"myoshift.cli.{group}")
        except ModuleNotFoundError as exc:  # group not written yet
            if exc.name != f"myoshift.cli.{group}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not hasattr(args, "func"):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except MyoshiftError as exc:
        if args.debug:
            raise
        print(f"myoshift: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("myoshift: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
