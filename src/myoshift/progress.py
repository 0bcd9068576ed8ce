"""Progress bars (rich) that switch themselves off when not wanted."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress_enabled() -> bool:
    """Bars only on an interactive terminal and unless ``MYOSHIFT_PROGRESS=0``."""
    return os.environ.get("MYOSHIFT_PROGRESS", "1") != "0" and sys.stderr.isatty()


def progress(
    items: Iterable[T], description: str, enabled: bool = True, total: int | None = None
) -> Iterator[T]:
    """Iterate ``items`` with a rich progress bar on stderr when enabled."""
    if not (enabled and progress_enabled()):
        yield from items
        return
    from rich.progress import Progress

    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
