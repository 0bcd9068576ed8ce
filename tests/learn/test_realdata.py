"""Real recordings (skipped when absent): a classical method end to end on myoarmband."""

from __future__ import annotations

import pytest

from myoshift.datasets import load_dataset
from myoshift.learn import build_estimator, get_method
from myoshift.signal.windows import make_windows
from tests.conftest import real_data_dir, require_dataset


@pytest.mark.realdata
def test_lda_td_within_subject_myoarmband() -> None:
    require_dataset("MyoArmbandDataset")
    recs = load_dataset("myoarmband", ["eval-Male1"], data_dir=real_data_dir())
    train = recs.select(session="training0")
    test = recs.select(session=["Test0", "Test1"])
    assert len(train) == 28 and len(test) == 56  # README: 4 cycles x 7 gestures per session
    spec = get_method("lda-td")
    w_train = make_windows(train, spec.window_ms, spec.step_ms)
    w_test = make_windows(test, spec.window_ms, spec.step_ms)
    assert w_train.n_channels == 8 and w_train.n_samples == 40  # 200 ms at 200 Hz
    clf = build_estimator(spec, fs=w_train.fs).fit(w_train)
    # measured 99.3 % with benchmarks/within_subject_myoarmband.py; chance is 14 %
    assert clf.score(w_test) > 0.95
