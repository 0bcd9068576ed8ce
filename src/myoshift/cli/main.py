"""Entry point ``myoshift``: builds the parser from the command-group modules.

Each group module exposes ``register(subparsers)`` and sets ``func`` on its parsers;
``func(args) -> int`` does the work. Expected errors (`MyoshiftError`) print one line
on stderr and exit with status 2; no traceback unless ``--debug``.

Start-up stays fast (``myoshift --help`` in about 0.1 s) because building the parser
imports only the command modules, and those import NumPy, pandas, torch, matplotlib and
the rest of myoshift inside their command functions, never at module level
(``tests/cli/test_start.py`` checks it in a fresh interpreter).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from myoshift import __version__
from myoshift.errors import MyoshiftError

GROUPS = (
    "datasets",
    "models",
    "methods",
    "benchmark",
    "train",
    "predict",
    "stream",
    "export",
    "check",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="myoshift", description="EMG gesture recognition across domain shifts."
    )
    parser.add_argument("--version", action="version", version=f"myoshift {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("-v", "--verbose", action="store_true", help="log INFO messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        importlib.import_module(f"myoshift.cli.{group}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # recorded by benchmark
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
    except BrokenPipeError:  # piped into a reader that stopped early (`| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error
        return 1


if __name__ == "__main__":
    sys.exit(main())
