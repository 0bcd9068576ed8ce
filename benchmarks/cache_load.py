"""Time loading a whole dataset by parsing its original files vs. from a warm cache.

Usage::

    python benchmarks/cache_load.py [--dataset myoarmband] [--data-dir DIR] [--repeats 3] [--cold]

Parses with ``use_cache=False`` and loads from a warm parsed-recording cache in a fresh
temporary cache folder; reports the best of ``--repeats`` runs of each (wall clock and
process CPU time) and their ratio. Cached arrays are memory-mapped and paged in when
first used, so the time of a first full pass over every recording's EMG after each load
is reported too. ``--cold`` empties the operating system's file cache before every
timed load (Linux, as root: ``/proc/sys/vm/drop_caches``), as on a first load after a
reboot. Exit status 1 when the wall-clock ratio is below 10.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

from myoshift.datasets import get_dataset
from myoshift.recording import RecordingSet

TARGET_RATIO = 10.0


def _touch(rs: RecordingSet) -> float:
    """Read every EMG sample once (a first use of the data)."""
    return float(sum(float(r.emg.sum(dtype=np.float64)) for r in rs))


def drop_file_cache() -> None:
    """Empty the page, dentry and inode caches (Linux, root only)."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def best_of(fn: Callable[[], RecordingSet], repeats: int, cold: bool) -> dict[str, float]:
    """Best wall time, CPU time and first-pass time over ``repeats`` calls."""
    best = {"wall": float("inf"), "cpu": float("inf"), "touch": float("inf")}
    for _ in range(repeats):
        if cold:
            drop_file_cache()
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        rs = fn()
        w1, c1 = time.perf_counter(), time.process_time()
        _touch(rs)
        w2 = time.perf_counter()
        best["wall"] = min(best["wall"], w1 - w0)
        best["cpu"] = min(best["cpu"], c1 - c0)
        best["touch"] = min(best["touch"], w2 - w1)
        del rs
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dataset", default="myoarmband")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="empty the file cache each time")
    args = parser.parse_args(argv)
    if args.cold:
        try:
            drop_file_cache()
        except OSError as exc:
            parser.error(f"--cold needs Linux and root to empty the file cache: {exc}")

    with tempfile.TemporaryDirectory(prefix="myoshift-cache-bench-") as cache_dir:

        def parse() -> RecordingSet:
            ds = get_dataset(args.dataset, data_dir=args.data_dir, use_cache=False)
            return ds.load(show_progress=False)

        def cached() -> RecordingSet:
            ds = get_dataset(args.dataset, data_dir=args.data_dir, cache_dir=cache_dir)
            return ds.load(show_progress=False)

        reference = parse()
        t0 = time.perf_counter()
        warm = cached()  # writes the cache
        t_write = time.perf_counter() - t0
        if len(reference) != len(warm) or _touch(reference) != _touch(cached()):
            print("cache and parser disagree")
            return 2
        n, samples = len(reference), sum(r.n_samples for r in reference)
        del reference, warm
        p = best_of(parse, args.repeats, args.cold)
        c = best_of(cached, args.repeats, args.cold)

    ratio = p["wall"] / c["wall"]
    print(f"dataset      {args.dataset}: {n} recordings, {samples} samples")
    state = "cold" if args.cold else "warm"
    print(
        f"{'':12} {'wall s':>8} {'cpu s':>8} {'1st pass s':>11}"
        f"   (best of {args.repeats}, {state} OS file cache)"
    )
    print(f"{'parse':12} {p['wall']:8.3f} {p['cpu']:8.3f} {p['touch']:11.3f}")
    print(f"{'from cache':12} {c['wall']:8.3f} {c['cpu']:8.3f} {c['touch']:11.3f}")
    print(f"{'first write':12} {t_write:8.3f}")
    print(
        f"ratio        {ratio:.1f}x wall, {p['cpu'] / c['cpu']:.1f}x cpu, "
        f"{(p['wall'] + p['touch']) / (c['wall'] + c['touch']):.1f}x load + first pass "
        f"(target >= {TARGET_RATIO:.0f}x)"
    )
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
