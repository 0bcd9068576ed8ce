"""README.md's examples run as written: every ```python block, in order, in one namespace,
and every ```bash block made only of ``myoshift`` commands.

Each block runs in a temporary working folder on the real data (``$MYOSHIFT_DATA``);
the test skips, naming the folder, when a dataset a block loads is absent. Every block
must print something (it shows what it computes). The blocks' wall and CPU times are
printed (also under output capture) and recorded as the test property
``readme_block_times``; they are measured, not asserted (a shared or loaded machine
would fail a time limit for no fault of the code). The set-up block (install, then the
built-in benchmark) and the test-suite command are not run here.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, real_data_dir

README = REPO / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
SHELL = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)
LOADS = re.compile(r"load_dataset\(\s*[\"']([\w-]+)[\"']")
DATASET_ARGS = re.compile(r"(?:datasets summary|--dataset)\s+([\w-]+)")

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def python_blocks(text: str) -> list[str]:
    """The code of every ```python block, in document order."""
    return BLOCK.findall(text)


def cli_blocks(text: str) -> list[list[list[str]]]:
    """The ```bash blocks whose every command is ``myoshift ...``, as argument lists."""
    out = []
    for block in SHELL.findall(text):
        lines = block.replace("\\\n", " ").splitlines()
        commands = [shlex.split(ln, comments=True) for ln in lines]
        commands = [c for c in commands if c]
        if commands and all(c[0] == "myoshift" for c in commands):
            # $VARIABLES (e.g. $MYOSHIFT_DATA) expand as a shell would when the test runs
            out.append([[os.path.expandvars(a) for a in c[1:]] for c in commands])
    return out


def test_blocks_are_found() -> None:
    text = README.read_text()
    assert len(python_blocks(text)) >= 2 and len(cli_blocks(text)) >= 1
    sample = "x\n```python\nprint(1)\n```\n```bash\nls\n```\n"
    assert python_blocks(sample) == ["print(1)\n"]
    assert cli_blocks(sample) == []
    sample = "```bash\n# note\nmyoshift a b  # c\nmyoshift d \\\n  e\n```\n"
    assert cli_blocks(sample) == [[["a", "b"], ["d", "e"]]]


def _require_datasets(blocks: list[str]) -> None:
    from myoshift.datasets import get_dataset

    names = {n for b in blocks for n in LOADS.findall(b) + DATASET_ARGS.findall(b)}
    for name in sorted(names):
        ds = get_dataset(name, data_dir=real_data_dir())
        if not ds.found():
            pytest.skip(f"README loads {name!r}: {ds.folder}/ not found in {real_data_dir()}")


def test_readme_python_blocks_run_in_order(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    record_property: object,
) -> None:
    blocks = python_blocks(README.read_text())
    _require_datasets(blocks)
    monkeypatch.setenv("MYOSHIFT_DATA", str(real_data_dir()))
    monkeypatch.chdir(tmp_path)  # files the examples write land here
    namespace: dict[str, object] = {"__name__": "__readme__"}
    times = []
    for i, code in enumerate(blocks, 1):
        out = io.StringIO()
        wall, cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"README.md python block {i}", "exec"), namespace)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        times.append((i, round(wall, 1), round(cpu, 1)))
        with capsys.disabled():
            print(f"\nREADME block {i}: {wall:.1f} s wall, {cpu:.1f} s CPU\n{out.getvalue()}")
        assert out.getvalue().strip(), f"README block {i} printed nothing"
    record_property("readme_block_times", times)  # type: ignore[operator]


def test_readme_command_line_block_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from myoshift.cli.main import main

    text = README.read_text()
    _require_datasets(SHELL.findall(text))
    monkeypatch.setenv("MYOSHIFT_DATA", str(real_data_dir()))
    monkeypatch.chdir(tmp_path)
    for i, commands in enumerate(cli_blocks(text), 1):
        wall = time.perf_counter()
        for args in commands:
            assert main(args) == 0, f"myoshift {shlex.join(args)}: {capsys.readouterr().err}"
            assert capsys.readouterr().out.strip(), f"myoshift {shlex.join(args)} printed nothing"
        wall = time.perf_counter() - wall
        with capsys.disabled():
            print(f"\nREADME myoshift block {i}: {wall:.1f} s wall")
