"""CPU seconds per 1,000 training episodes and peak memory of each meta-learner.

Each variant (protonet-tcn, relationnet-tcn, maml-tcn first-order, maml-tcn second-order)
is trained in a fresh Python process, torch on one thread, with its method's recipe
(`myoshift.learn.methods`) on the windows of the given people, for ``--episodes``
episodes (one epoch). Reported per variant:

* ``cpu_s_per_1000``: CPU seconds (process time) of the episodic training loop
  (`Trainer.run`: sampling, forward, backward, optimiser) scaled to 1,000 episodes; the
  prototypes of the training windows or MAML's adaptation after the loop are not in it;
* ``after_s``: CPU seconds of that step after the loop (one pass over the training
  windows for prototypes);
* ``peak_rss_mb``: the process's peak resident memory (``ru_maxrss``) at the end, and
  ``data_rss_mb`` the same after loading and windowing the data, before training.

Usage::

    nice -n 5 python benchmarks/meta_cost.py [--dataset 3dc] [--subjects 2,3]
        [--episodes 100] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "protonet-tcn": ("protonet-tcn", {}),
    "relationnet-tcn": ("relationnet-tcn", {}),
    "maml-tcn (first order)": ("maml-tcn", {"first_order": True}),
    "maml-tcn (second order)": ("maml-tcn", {"first_order": False}),
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def worker(variant: str, dataset: str, subjects: list[int], episodes: int) -> dict[str, Any]:
    """Train one variant in this process and measure it."""
    import torch

    from myoshift.datasets import load_dataset
    from myoshift.learn import meta
    from myoshift.learn.methods import build_estimator, get_method
    from myoshift.learn.trainer import Trainer
    from myoshift.signal.windows import make_windows

    torch.set_num_threads(1)
    method, overrides = VARIANTS[variant]
    spec = get_method(method)
    rset = load_dataset(dataset, subjects=subjects)
    w = make_windows(rset, spec.window_ms, spec.step_ms)
    data_rss = _rss_mb()
    loop: list[float] = []

    class TimedTrainer(Trainer):  # times the episodic loop alone
        def run(self, *args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            out = super().run(*args, **kwargs)
            loop.append(time.process_time() - start)
            return out

    meta.Trainer = TimedTrainer  # type: ignore[misc]
    est = build_estimator(
        spec, rset[0].fs, 0, epochs=1, episodes_per_epoch=episodes, threads=1, **overrides
    )
    start = time.process_time()
    est.fit(w)
    total = time.process_time() - start
    return {
        "variant": variant,
        "episodes": episodes,
        "windows": len(w),
        "episode_windows": len(est.classes_) * (est.k_shot + est.n_query),
        "cpu_s_per_1000": round(loop[0] * 1000 / episodes, 1),
        "after_s": round(total - loop[0], 1),
        "data_rss_mb": round(data_rss),
        "peak_rss_mb": round(_rss_mb()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="3dc")
    ap.add_argument("--subjects", default="2,3")
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    subjects = [int(s) for s in a.subjects.split(",")]
    if a.worker:
        print(json.dumps(worker(a.worker, a.dataset, subjects, a.episodes)))
        return
    rows = []
    for variant in a.variants.split(","):
        cmd = [sys.executable, __file__, "--worker", variant, "--dataset", a.dataset]
        cmd += ["--subjects", a.subjects, "--episodes", str(a.episodes)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
