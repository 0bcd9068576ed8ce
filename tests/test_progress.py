"""`myoshift.progress`: log lines when stderr is not a terminal, a bar when it is, none when off."""

from __future__ import annotations

import io
import re
import types
from collections.abc import Iterator

import pytest

from myoshift import progress as progress_module
from myoshift.progress import LineReporter, duration_text, progress, progress_mode


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_duration_text() -> None:
    assert duration_text(0.4) == "0 s"
    assert duration_text(42.4) == "42 s"
    assert duration_text(185) == "3 min 05 s"
    assert duration_text(3720) == "1 h 02 min"


def test_line_has_done_total_elapsed_and_remaining() -> None:
    clock = FakeClock()
    rep = LineReporter("benchmark loso", 24, io.StringIO(), clock)
    clock.now += 12
    assert rep.line(6) == "benchmark loso: 6/24 done (25 %), 12 s elapsed, ~36 s left"
    assert rep.line(24) == "benchmark loso: 24/24 done (100 %), 12 s elapsed"
    assert (
        LineReporter("epochs", None, io.StringIO(), clock).line(3) == "epochs: 3 done, 0 s elapsed"
    )


def test_a_line_every_ten_percent() -> None:
    """200 quick items over 20 s: one line per 10 % step, then the last line."""
    clock, out = FakeClock(), io.StringIO()
    rep = LineReporter("load", 200, out, clock)
    for done in range(1, 201):
        clock.now += 0.1
        rep.update(done)
    rep.finish(200)
    lines = _lines(out)
    done = [int(re.match(r"load: (\d+)/200", ln).group(1)) for ln in lines]  # type: ignore[union-attr]
    # nothing in the first second (10 items), then every 20 items (10 %), then the end
    assert done == [20, 40, 60, 80, 100, 120, 140, 160, 180, 200]
    assert lines[-1] == "load: 200/200 done (100 %), 20 s elapsed"


def test_a_line_every_interval_when_items_are_slow_and_many() -> None:
    """1000 items, 1 s each: a line every 10 s even though 10 % takes 100 s."""
    clock, out = FakeClock(), io.StringIO()
    rep = LineReporter("fit", 1000, out, clock)
    for done in range(1, 61):
        clock.now += 1.0
        rep.update(done)
    assert [ln.split(":")[1].split("/")[0].strip() for ln in _lines(out)] == [
        "10",
        "20",
        "30",
        "40",
        "50",
        "60",
    ]
    assert _lines(out)[0] == "fit: 10/1000 done (1 %), 10 s elapsed, ~16 min 30 s left"


def test_quick_loop_prints_nothing() -> None:
    clock, out = FakeClock(), io.StringIO()
    rep = LineReporter("load", 5, out, clock)
    for done in range(1, 6):
        clock.now += 0.1
        rep.update(done)
    rep.finish(5)
    assert out.getvalue() == ""


def test_modes_follow_terminal_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = types.SimpleNamespace(isatty=lambda: True)
    pipe = types.SimpleNamespace(isatty=lambda: False)
    monkeypatch.setenv("MYOSHIFT_PROGRESS", "1")
    monkeypatch.setattr(progress_module.sys, "stderr", tty)
    assert progress_mode() == "bar"
    monkeypatch.setattr(progress_module.sys, "stderr", pipe)
    assert progress_mode() == "lines"
    monkeypatch.setenv("MYOSHIFT_PROGRESS", "0")
    assert progress_mode() == "off"


def _slow(n: int, clock: FakeClock, step_s: float) -> Iterator[int]:
    for i in range(n):
        clock.now += step_s
        yield i


def test_progress_writes_lines_to_stderr_when_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(progress_module, "time", types.SimpleNamespace(monotonic=clock))
    monkeypatch.setenv("MYOSHIFT_PROGRESS", "1")
    items = list(progress(_slow(4, clock, 5.0), "benchmark loso", total=4))
    assert items == [0, 1, 2, 3]  # every item, in order
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "benchmark loso: 1/4 done (25 %), 5 s elapsed, ~15 s left",
        "benchmark loso: 2/4 done (50 %), 10 s elapsed, ~10 s left",
        "benchmark loso: 3/4 done (75 %), 15 s elapsed, ~5 s left",
        "benchmark loso: 4/4 done (100 %), 20 s elapsed",
    ]


def test_progress_off_and_disabled_are_silent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(progress_module, "time", types.SimpleNamespace(monotonic=clock))
    monkeypatch.setenv("MYOSHIFT_PROGRESS", "0")
    assert list(progress(_slow(3, clock, 20.0), "x", total=3)) == [0, 1, 2]
    monkeypatch.setenv("MYOSHIFT_PROGRESS", "1")
    assert list(progress(_slow(3, clock, 20.0), "x", enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""
