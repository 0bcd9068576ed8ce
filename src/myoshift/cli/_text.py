"""Plain-text tables whose last column (a citation) wraps instead of being cut."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

#: the narrowest the wrapped column gets, however narrow the terminal
MIN_TEXT_WIDTH = 40
#: line width when stdout is not a terminal (pipes, files, CI logs)
DEFAULT_WIDTH = 120


def wrapped_rows(
    header: str, rows: Sequence[tuple[str, str]], width: int | None = None
) -> list[str]:
    """Lines of a table: a header, a rule, then each row's fixed-width prefix and its text.

    Parameters
    ----------
    header : str
        The header line; the text column starts where the rows' prefixes end.
    rows : sequence of (prefix, text)
        ``prefix`` holds the fixed-width columns (all prefixes equally long); ``text``
        is wrapped at word boundaries, continuation lines indented to its column.
    width : int, optional
        Line width; default: the terminal's, or `DEFAULT_WIDTH` when not a terminal.
    """
    width = width or shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    lines = [header, "-" * min(len(header), width)]
    for prefix, text in rows:
        room = max(MIN_TEXT_WIDTH, width - len(prefix))
        parts = textwrap.wrap(
            " ".join(text.split()), room, break_long_words=False, break_on_hyphens=False
        ) or [""]
        lines.append(prefix + parts[0])
        lines.extend(" " * len(prefix) + part for part in parts[1:])
    return lines
