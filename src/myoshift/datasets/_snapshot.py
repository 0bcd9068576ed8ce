"""Stat snapshots of a dataset folder, the freshness check of whole-load cache entries.

A `snapshot` walks a dataset folder and records every folder and file under it with its
``stat`` signature (`SIGNATURE`: size, mtime, ctime, inode) as `Sources`; `fresh` later
re-stats the same paths (one ``stat`` per path: folders see added, removed and renamed
files, files see edits) and tells whether all of them are unchanged. The cache takes the
snapshot before parsing and only writes the entry if it still holds after. (File times
tick with the kernel clock, a few ms: a same-size edit made in the same tick as the
previous edit of that file, after that check, would go unseen, the "racy" case that
``make`` and git share.)
"""

from __future__ import annotations

import logging
import operator
import os
from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path
from typing import NamedTuple

import numpy as np

log = logging.getLogger(__name__)


class Sources(NamedTuple):
    """Every folder and file under a dataset folder with its ``stat`` signature.

    ``paths`` are relative to the root ("" is the root itself); row ``i`` of ``stats``
    is path ``i``'s size, mtime and ctime in ns and inode number (int64; inode numbers
    of 2**63 and more wrap). A folder's mtime changes when an entry is added, removed or
    renamed in it, a file's when its content changes, and the ctime on any change, even
    when a tool restores the old mtime.
    """

    paths: list[str]
    stats: np.ndarray


SIGNATURE = operator.attrgetter("st_size", "st_mtime_ns", "st_ctime_ns", "st_ino")
_INT64_MAX = (1 << 63) - 1


def _stat_or_link(path: str) -> os.stat_result:
    """``os.stat``, or the link itself for a link whose target does not exist."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return os.lstat(path)


def _stats(root: Path, paths: list[str]) -> np.ndarray | None:
    """The stat signatures of ``paths`` under ``root``; None when one is gone."""
    prefix = os.path.join(os.fspath(root), "")
    full = [prefix + p for p in paths]
    for stat in (os.stat, _stat_or_link):  # the second only if a path is gone or dangling
        try:  # one stat per path, in loops that stay in C
            try:
                flat = np.fromiter(_signatures(stat, full), np.int64, count=4 * len(full))
            except OverflowError:  # inode numbers of 2**63 and more (network filesystems)
                values = _signatures(stat, full)
                flat = np.array([v - (1 << 64) if v > _INT64_MAX else v for v in values], np.int64)
        except OSError:
            continue
        return flat.reshape(-1, 4)
    return None


def _signatures(stat: Callable[[str], os.stat_result], paths: list[str]) -> Iterator[int]:
    """The four signature numbers of each path, one after the other."""
    return chain.from_iterable(map(SIGNATURE, map(stat, paths)))


def snapshot(root: Path) -> Sources:
    """Walk ``root`` (following links to folders, each folder once) and stat everything."""
    paths = [""]
    seen = {os.stat(root)[1:3]}  # (inode, device) of the folders walked
    stack = [""]
    prefix = os.path.join(os.fspath(root), "")
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(prefix + rel) as it:
                entries = list(it)
        except OSError as exc:  # an unreadable folder: its own stat is still checked
            log.debug("cache snapshot: cannot list %s (%s)", prefix + rel, exc)
            continue
        for e in entries:
            sub = os.path.join(rel, e.name)
            paths.append(sub)
            if e.is_dir() and (ident := e.stat()[1:3]) not in seen:
                seen.add(ident)
                stack.append(sub)
    paths.sort()
    stats = _stats(root, paths)
    if stats is None:  # a file vanished while walking: a snapshot that never matches
        return Sources(paths, np.zeros((0, 4), np.int64))
    return Sources(paths, stats)


def fresh(sources: Sources, root: Path) -> bool:
    """Whether every path of ``sources`` still has the same stat signature."""
    if len(sources.stats) != len(sources.paths):
        return False
    now = _stats(root, sources.paths)
    return now is not None and np.array_equal(now, sources.stats)
