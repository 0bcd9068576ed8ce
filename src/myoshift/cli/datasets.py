"""``myoshift datasets``: list the registered datasets, summarise or download one, and
show or clear the parsed-recording cache.

The dataset modules are imported inside the commands, so building the parser is cheap.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from myoshift.errors import ConfigError


def register(subparsers: Any) -> None:
    """Add the ``datasets`` command group to the main parser."""
    group = subparsers.add_parser("datasets", help="list, summarise and download datasets")
    sub = group.add_subparsers(dest="datasets_command", metavar="ACTION")
    group.set_defaults(func=lambda args: _help(group))

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=None,
        help="folder holding one sub-folder per dataset (default: $MYOSHIFT_DATA, "
        "else the user cache)",
    )

    p = sub.add_parser("list", parents=[common], help="registered datasets and whether found")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("summary", parents=[common], help="load a dataset and summarise it")
    p.add_argument("name", help="registered dataset name (see `myoshift datasets list`)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--no-cache", action="store_true", help="parse the files, ignore the cache")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("download", parents=[common], help="download a dataset's public archive")
    p.add_argument("name", help="registered dataset name")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("cache", help="show (or --clear) the parsed-recording cache")
    p.add_argument("names", nargs="*", metavar="NAME", help="datasets (default: all)")
    p.add_argument(
        "--cache-dir",
        default=None,
        help="cache folder (default: $MYOSHIFT_CACHE, else the user cache)",
    )
    p.add_argument("--clear", action="store_true", help="delete the cached recordings")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_cache)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 1


def _console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False)


def cmd_list(args: argparse.Namespace) -> int:
    from myoshift.datasets import dataset_names, get_dataset
    from myoshift.datasets.paths import resolve_data_dir

    data_dir = resolve_data_dir(args.data_dir)
    rows = []
    for name in dataset_names():
        ds = get_dataset(name, data_dir=data_dir)
        builtin = not ds.url and not ds.downloads and ds.found()
        rows.append(
            {
                "name": name,
                "description": ds.description,
                "folder": ds.folder,
                "found": bool(ds.found()),
                "builtin": builtin,
                "downloadable": bool(ds.downloads),
            }
        )
    if args.json:
        print(json.dumps({"data_dir": str(data_dir), "datasets": rows}, indent=2))
        return 0
    from rich.table import Table

    table = Table(title=f"datasets (data dir: {data_dir})")
    for col in ("name", "description", "found locally"):
        table.add_column(col)
    for r in rows:
        found = "built-in" if r["builtin"] else ("yes" if r["found"] else f"no ({r['folder']}/)")
        table.add_row(str(r["name"]), str(r["description"]), found)
    _console().print(table)
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from myoshift.datasets import get_dataset
    from myoshift.datasets.summary import summarize

    kwargs: dict[str, Any] = {"data_dir": args.data_dir}
    if args.no_cache:
        kwargs["use_cache"] = False
    ds = get_dataset(args.name, **kwargs)
    summary = summarize(ds.load(), args.name)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    from rich.table import Table

    table = Table(title=f"{args.name}: {ds.description}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key in ("n_recordings", "n_subjects", "subjects", "sessions", "days", "fs"):
        if summary[key] != []:
            table.add_row(key, _short(summary[key]))
    for key in ("n_channels", "layout", "aux", "total_seconds", "unlabelled_seconds"):
        table.add_row(key, _short(summary[key]))
    for cls, sec in summary["class_seconds"].items():
        table.add_row(f"  {cls}", f"{sec:.1f} s")
    _console().print(table)
    return 0


def _short(value: Any, limit: int = 12) -> str:
    if isinstance(value, list):
        shown = ", ".join(map(str, value[:limit]))
        return shown + (f", ... ({len(value)} in all)" if len(value) > limit else "")
    return str(value)


def cmd_download(args: argparse.Namespace) -> int:
    from myoshift.datasets.download import download_dataset

    folder = download_dataset(args.name, data_dir=args.data_dir)
    print(f"{args.name}: downloaded into {folder}")
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from myoshift.datasets import cache, dataset_names
    from myoshift.datasets.paths import resolve_cache_dir

    cache_dir = resolve_cache_dir(args.cache_dir)
    unknown = [n for n in args.names if n not in dataset_names()]
    if unknown:
        raise ConfigError(
            f"unknown dataset(s) {unknown}; valid names: {', '.join(dataset_names())}"
        )
    rows: list[dict[str, Any]] = []
    for name in args.names or dataset_names():
        folder = cache_dir / name
        if args.clear:
            n, size = cache.clear(folder)
        else:
            files = cache.entry_files(folder)
            n, size = len(files), sum(f.stat().st_size for f in files)
        rows.append({"name": name, "files": n, "bytes": size})
    if args.json:
        print(json.dumps({"cache_dir": str(cache_dir), "cleared": args.clear, "datasets": rows}))
        return 0
    from rich.table import Table

    verb = "removed from" if args.clear else "in"
    table = Table(title=f"parsed recordings {verb} {cache_dir}")
    table.add_column("dataset")
    table.add_column("files", justify="right")
    table.add_column("MB", justify="right")
    for r in rows:
        table.add_row(r["name"], str(r["files"]), f"{r['bytes'] / 1e6:.1f}")
    total = sum(r["bytes"] for r in rows) / 1e6
    table.add_row("all", str(sum(r["files"] for r in rows)), f"{total:.1f}", style="bold")
    _console().print(table)
    return 0
