"""Task 15e: the no-compensation baseline on the windows the first-minute policy tests.

The sequential regime's ``first-minute`` policy (``first_s=15``) recalibrates on the first
15 s of each post-shift trial and tests the rest, while ``none`` tests whole trials. This
script scores lda-td and tcn-transfer (threads=1) under ``first-minute`` with a
recalibration that changes nothing, so the baseline and the compensated methods are
scored on the same windows. Run from the repository root:

    nice -n 5 python benchmarks/electrode_shift_matched.py OUT_DIR
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from myoshift.datasets import get_dataset
from myoshift.evaluation.recipes import Method, resolve_method
from myoshift.evaluation.runner import run_benchmark
from myoshift.evaluation.sequential import SequentialRegime
from myoshift.learn.chain import MethodChain


class FrozenChain(MethodChain):
    def recalibrate(self, recordings: Any) -> MethodChain:  # the baseline: no change
        return self


@dataclass(frozen=True)
class Frozen(Method):
    def chain(self, fs: float, seed: int) -> MethodChain:
        c = super().chain(fs, seed)
        return FrozenChain(**c.get_params(deep=False))


def frozen(name: str, overrides: dict[str, Any]) -> Method:
    m = resolve_method(name, overrides)
    fields = {k: getattr(m, k) for k in m.__dataclass_fields__}
    return Frozen(**{**fields, "name": f"{name}-frozen"})


data = get_dataset("electrode-shift").load(list(range(10)))
methods = [frozen("lda-td", {}), frozen("tcn-transfer", {"threads": 1})]
result = run_benchmark(
    data,
    "sequential",
    methods,
    regime=SequentialRegime(recalibrate="first-minute", first_s=15),
    out_dir=sys.argv[1],
    show_progress=False,
)
acc = result.results[result.results["metric"] == "accuracy"]
print(acc.groupby(["method", "condition"])["value"].agg(["mean", "std", "count"]).round(3))
print(acc.groupby(["method", "subject"])["value"].mean().groupby("method").agg(["mean", "std"]))
