"""tcn, kanoga subject 1, sequential labelled:1 on days 1..LAST only (carry or restart).

The full 14-day carried run fine-tunes 10 epochs on the labelled repetitions of every day
so far (about 9 times the day-1 fit), too slow for 2 shared cores: days 1..LAST only.
usage: python benchmarks/kanoga_sequential_carry.py LAST carry|restart [OUT_DIR]
"""

import sys

from myoshift.datasets import load_dataset
from myoshift.evaluation import get_regime, run_benchmark
from myoshift.recording import RecordingSet

last, mode = int(sys.argv[1]), sys.argv[2]
data = load_dataset("kanoga")
data = RecordingSet(r for r in data if r.meta["day"] <= last)
run_benchmark(
    data,
    "sequential",
    ["tcn"],
    regime=get_regime("sequential", recalibrate="labelled:1", carry=(mode == "carry")),
    overrides={"tcn": {"threads": 1}},
    out_dir=sys.argv[3] if len(sys.argv) > 3 else f"results/tcn-lab1-{mode}-d{last}",
    show_progress=False,
    command=sys.argv,
)
