"""Start-up cost: ``import myoshift`` and the light commands import no heavy library.

Each check runs in a fresh interpreter (a subprocess), so modules imported by other
tests do not hide an eager import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "pandas", "matplotlib", "sklearn", "scipy")

_PROBE = """
import json, sys
{code}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})))
"""


def _imported(code: str, tmp_path: Path) -> list[str]:
    """Heavy modules imported after running ``code`` in a fresh interpreter."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "MYOSHIFT_PROGRESS": "0"}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code, heavy=HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_import_myoshift_imports_neither_torch_nor_matplotlib(tmp_path: Path) -> None:
    assert _imported("import myoshift", tmp_path) == []


def test_lazy_names_still_import(tmp_path: Path) -> None:
    code = (
        "import myoshift\n"
        "from myoshift import Recording, RecordingSet, REST\n"
        "assert Recording is myoshift.recording.Recording and REST == 0\n"
        "assert 'RecordingSet' in dir(myoshift)\n"
        "try:\n    myoshift.nope\nexcept AttributeError:\n    pass\n"
        "else:\n    raise SystemExit('no AttributeError')"
    )
    assert _imported(code, tmp_path) == []


def test_parser_and_help_import_nothing_heavy(tmp_path: Path) -> None:
    code = (
        "from myoshift.cli.main import build_parser\n"
        "p = build_parser()\n"
        "try:\n    p.parse_args(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert _imported(code, tmp_path) == []


@pytest.mark.parametrize("command", [["datasets", "list"], ["datasets", "list", "--json"]])
def test_datasets_list_imports_nothing_heavy(command: list[str], tmp_path: Path) -> None:
    code = f"from myoshift.cli.main import main\nassert main({command!r}) == 0"
    assert _imported(code, tmp_path) == []


def test_methods_list_is_light_once_cached(tmp_path: Path) -> None:
    code = "from myoshift.cli.main import main\nassert main(['methods', 'list', '--json']) == 0"
    show = "from myoshift.cli.main import main\nassert main(['methods', 'show', 'tcn']) == 0"
    assert "torch" in _imported(code, tmp_path)  # computes the listing: imports torch
    # served from the cache; an edit to a source file in between (other work in a shared
    # working tree) invalidates it, so allow a few tries
    for _ in range(3):
        if _imported(code, tmp_path) == [] and _imported(show, tmp_path) == []:
            return
    pytest.fail("methods list imported heavy modules on every warm run")
