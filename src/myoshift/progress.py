"""Progress of long loops: a rich bar on a terminal, periodic log lines elsewhere.

On an interactive terminal (stderr is a TTY) `progress` draws a transient rich bar.
Anywhere else (CI, ``nohup``, a notebook, output piped to a file) it writes a plain line
to stderr every `LINE_INTERVAL_S` seconds or every 10 % of the items, whichever comes
first, and a last line when done::

    benchmark loso: 6/24 done (25 %), 14 s elapsed, ~42 s left

Loops that finish within `QUIET_S` print nothing. ``MYOSHIFT_PROGRESS=0`` turns both
off.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Literal, TextIO, TypeVar

T = TypeVar("T")

#: at most this many seconds between two log lines while items complete
LINE_INTERVAL_S = 10.0
#: a log line at least every 1/LINE_STEPS of the items ...
LINE_STEPS = 10
#: ... but no line (not even the last) while a loop is younger than this
QUIET_S = 1.0


def _wanted() -> bool:
    return os.environ.get("MYOSHIFT_PROGRESS", "1") != "0"


def progress_enabled() -> bool:
    """Bars only on an interactive terminal and unless ``MYOSHIFT_PROGRESS=0``."""
    return _wanted() and sys.stderr.isatty()


def progress_mode() -> Literal["bar", "lines", "off"]:
    """``"bar"`` on a terminal, ``"lines"`` elsewhere, ``"off"`` if ``MYOSHIFT_PROGRESS=0``."""
    if not _wanted():
        return "off"
    return "bar" if sys.stderr.isatty() else "lines"


def duration_text(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"`` or ``"1 h 02 min"``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class LineReporter:
    """Writes progress lines for a loop of ``total`` items (None: unknown).

    Parameters
    ----------
    description : str
        What the loop does, the start of every line.
    total : int or None
    stream : text file, optional
        Where lines go (default ``sys.stderr``), flushed after each line.
    clock : callable, optional
        Monotonic seconds (default `time.monotonic`; tests pass a fake clock).
    """

    def __init__(
        self,
        description: str,
        total: int | None,
        stream: TextIO | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.description = description
        self.total = total
        self.stream = stream
        self.clock = clock or time.monotonic
        self.start = self.last = self.clock()
        self.last_step = 0  # the 10 % step of the last line
        self.printed = False

    def line(self, done: int) -> str:
        """The progress line after ``done`` items."""
        elapsed = self.clock() - self.start
        text = f"{self.description}: {done}"
        if self.total:
            text += f"/{self.total} done ({100 * done // self.total} %)"
        else:
            text += " done"
        text += f", {duration_text(elapsed)} elapsed"
        if self.total and 0 < done < self.total:
            text += f", ~{duration_text(elapsed / done * (self.total - done))} left"
        return text

    def _write(self, done: int) -> None:
        print(self.line(done), file=self.stream or sys.stderr, flush=True)
        self.last = self.clock()
        self.printed = True

    def update(self, done: int) -> None:
        """Called after each item: writes a line when one is due."""
        now = self.clock()
        if now - self.start < QUIET_S:
            return
        step = done * LINE_STEPS // self.total if self.total else 0
        if now - self.last >= LINE_INTERVAL_S or step > self.last_step:
            self.last_step = step
            if not (self.total and done >= self.total):  # the end has its own line
                self._write(done)

    def finish(self, done: int) -> None:
        """The last line (when the loop ran long enough to report at all)."""
        if self.printed or self.clock() - self.start >= QUIET_S:
            self._write(done)


def progress(
    items: Iterable[T], description: str, enabled: bool = True, total: int | None = None
) -> Iterator[T]:
    """Iterate ``items``, showing progress on stderr when enabled (see the module doc)."""
    mode = progress_mode() if enabled else "off"
    if mode == "off":
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if mode == "lines":
        reporter = LineReporter(description, total)
        done = 0
        for item in items:
            yield item
            done += 1
            reporter.update(done)
        reporter.finish(done)
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
