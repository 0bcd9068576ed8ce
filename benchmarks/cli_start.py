"""Start-up time of the command line beside ``python -c pass``.

Runs ``myoshift --help``, ``myoshift datasets list`` and ``myoshift methods list`` (and
``import myoshift``) each in a fresh interpreter, as a user's shell does:

* **first**: the first run with an empty user cache (``XDG_CACHE_HOME`` set to a new
  temporary folder), as right after installing or after editing a method file:
  ``methods list`` then computes its listing (torch imported) and caches it;
* **warm**: best and median of ``--repeat`` later runs (listing cached, files in the
  operating system's cache).

Usage::

    python benchmarks/cli_start.py [--repeat 7] [--src PATH]

``--src`` times another checkout's ``src`` folder, e.g. the last commit for a
before/after table: ``mkdir /tmp/head && git archive HEAD src | tar -x -C /tmp/head``
then ``--src /tmp/head/src``. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_SRC = Path(__file__).resolve().parents[1] / "src"

#: label -> Python code run by ``python -c`` (the console script does the same import)
COMMANDS = {
    "python -c pass": "pass",
    "import myoshift": "import myoshift",
    "myoshift --help": "{cli}(['--help'])",
    "myoshift datasets list": "{cli}(['datasets', 'list'])",
    "myoshift methods list": "{cli}(['methods', 'list'])",
}
CLI = "import sys; from myoshift.cli.main import main; sys.exit(main"


def _code(template: str, src: Path) -> str:
    body = template.replace("{cli}", CLI) + (")" if "{cli}" in template else "")
    return f"import sys; sys.path.insert(0, {str(src)!r}); {body}"


def _run_once(code: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{code!r} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return elapsed


def measure(src: Path, repeat: int) -> list[tuple[str, float, float, float]]:
    """``(label, first_s, warm_best_s, warm_median_s)`` per command."""
    rows = []
    with tempfile.TemporaryDirectory() as xdg:
        env = {**os.environ, "XDG_CACHE_HOME": xdg, "MYOSHIFT_PROGRESS": "0", "COLUMNS": "120"}
        for label, template in COMMANDS.items():
            code = _code(template, src)
            first = _run_once(code, env)
            warm = [_run_once(code, env) for _ in range(repeat)]
            rows.append((label, first, min(warm), statistics.median(warm)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="warm runs per command")
    parser.add_argument("--src", type=Path, default=REPO_SRC, help="the src folder to time")
    args = parser.parse_args()
    rows = measure(args.src.resolve(), args.repeat)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"src: {args.src}  cores: {os.cpu_count()}  load average (1 min): {load:.1f}\n")
    print(f"| command | first run (s) | warm, best of {args.repeat} (s) | warm, median (s) |")
    print("|---|---:|---:|---:|")
    for label, first, best, median in rows:
        print(f"| `{label}` | {first:.2f} | {best:.2f} | {median:.2f} |")


if __name__ == "__main__":
    main()
