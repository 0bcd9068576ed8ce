"""Few-shot episode accuracy of the meta-learners on people never seen in training.

Leave-one-subject-out over the people loaded (``--subjects``): for each target in
``--targets``, each method's chain (`myoshift.evaluation.recipes.resolve_method`, its
own recipe, torch on one thread) is fitted on the OTHER people's recordings, then scored
on ``--episodes`` N-way K-shot episodes of the target, the same episodes for every
method (seeded by the seed and the target's position among the sorted subjects):

* N of the target's gesture classes (rest excluded);
* per class, K support windows at random from ONE repetition of it (drawn among the
  repetitions with at least K windows);
* queries: ``--queries`` windows per class at random from the class's OTHER
  repetitions (all of them when fewer).

A method decides an episode through its estimator's ``few_shot(support, query)`` (the
fitted estimator is never changed). Reported per method and target: the mean episode
accuracy with a 95 % t-interval over episodes, and the CPU seconds of the fit and of
the episodes; then the mean over targets. The few-shot regime of the benchmark
(``--protocol few-shot:N,K``) is the reference implementation of this rule; this script
exists to measure the meta-learners while it is built.

``--set KEY=VALUE`` (repeatable) overrides an estimator parameter of every method
(VALUE read as JSON when it parses, e.g. ``--set 'model_params={"width": 32}'``).

Usage::

    nice -n 5 python benchmarks/meta_episodes.py [--dataset 3dc] [--subjects 1,2,3]
        [--targets 1,2] [--methods protonet-tcn,relationnet-tcn,maml-tcn]
        [--n-way 5] [--k-shot 5] [--queries 50] [--episodes 100] [--seed 0]
        [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import torch
from scipy import stats

from myoshift.datasets import load_dataset
from myoshift.evaluation.recipes import resolve_method
from myoshift.recording import REST
from myoshift.signal.windows import Windows


def episodes(
    w: Windows, n_way: int, k_shot: int, queries: int, count: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(support, query)`` window indices of ``count`` episodes (see the module docstring)."""
    y, reps = w.y, w.groups
    pools = {
        c: {r: np.flatnonzero((y == c) & (reps == r)) for r in np.unique(reps[y == c])}
        for c in np.unique(y)
        if c != REST
    }
    classes = [c for c, p in pools.items() if len(p) > 1 and max(map(len, p.values())) >= k_shot]
    if len(classes) < n_way:
        raise SystemExit(f"only {len(classes)} classes can give {k_shot} shots; N={n_way}")
    out = []
    for _ in range(count):
        support, query = [], []
        for c in rng.choice(classes, n_way, replace=False):
            eligible = [r for r, idx in pools[c].items() if len(idx) >= k_shot]
            r = eligible[int(rng.integers(len(eligible)))]
            support.append(np.sort(rng.choice(pools[c][r], k_shot, replace=False)))
            others = np.concatenate([idx for rr, idx in pools[c].items() if rr != r])
            take = min(queries, len(others))
            query.append(np.sort(rng.choice(others, take, replace=False)))
        out.append((np.concatenate(support), np.concatenate(query)))
    return out


def interval(acc: list[float]) -> float:
    """Half-width of the 95 % t-interval of the mean."""
    a = np.asarray(acc)
    return float(stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a)))


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _subject(text: str) -> Any:
    return int(text) if text.isdigit() else text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="3dc")
    ap.add_argument("--subjects", default="1,2,3")
    ap.add_argument("--targets", default="1,2")
    ap.add_argument("--methods", default="protonet-tcn,relationnet-tcn,maml-tcn")
    ap.add_argument("--n-way", type=int, default=5)
    ap.add_argument("--k-shot", type=int, default=5)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args()
    overrides = {"threads": 1}
    for item in a.set:
        key, _, value = item.partition("=")
        overrides[key] = _value(value)
    torch.set_num_threads(1)
    subjects = [_subject(s) for s in a.subjects.split(",")]
    rset = load_dataset(a.dataset, subjects=subjects)
    fs = rset[0].fs
    rows: list[dict[str, Any]] = []
    for target in (_subject(t) for t in a.targets.split(",")):
        train = rset.select(subject=[s for s in subjects if s != target])
        test = rset.select(subject=target)
        plan: list[tuple[np.ndarray, np.ndarray]] | None = None
        for name in a.methods.split(","):
            chain = resolve_method(name, overrides).chain(fs, a.seed)
            t0 = time.process_time()
            chain.fit(train)
            fit_s = time.process_time() - t0
            w = chain.windows(test)
            if plan is None:  # the same episodes for every method (same windowing)
                rng = np.random.default_rng([a.seed, sorted(subjects, key=str).index(target)])
                plan = episodes(w, a.n_way, a.k_shot, a.queries, a.episodes, rng)
            t0 = time.process_time()
            acc = []
            for sup, qry in plan:
                pred = chain.estimator_.few_shot(w.subset(sup), w.subset(qry))
                acc.append(float(np.mean(pred == w.y[qry])))
            rows.append(
                {
                    "method": name,
                    "target": target,
                    "acc": 100 * np.mean(acc),
                    "ci": 100 * interval(acc),
                    "fit_cpu_s": fit_s,
                    "episodes_cpu_s": time.process_time() - t0,
                }
            )
            r = rows[-1]
            print(
                f"| {name} | {target} | {r['acc']:.1f} ± {r['ci']:.1f} | {fit_s:.0f} | "
                f"{r['episodes_cpu_s']:.0f} |",
                flush=True,
            )
    for name in a.methods.split(","):
        mine = [r["acc"] for r in rows if r["method"] == name]
        print(f"| {name} | mean of {len(mine)} | {np.mean(mine):.1f} | | |")


if __name__ == "__main__":
    main()
