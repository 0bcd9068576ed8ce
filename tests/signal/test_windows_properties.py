"""Property tests (hypothesis) for `make_windows`: counts, no straddling, label modes."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import UNLABELLED, Layout, Recording
from myoshift.signal.repetitions import sample_units
from myoshift.signal.windows import LabelMode, make_windows, ms_to_samples

FS = 200.0
N_CH = 3


@st.composite
def recordings(draw: st.DrawFn) -> list[Recording]:
    n_recs = draw(st.integers(1, 4))
    recs = []
    for i in range(n_recs):
        n = draw(st.integers(0, 120))
        codes = draw(st.lists(st.sampled_from([UNLABELLED, 0, 1, 2]), min_size=n, max_size=n))
        reps = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
        emg = np.arange(n * N_CH, dtype=np.float32).reshape(n, N_CH) + 1000 * i
        recs.append(
            Recording(
                emg,
                FS,
                np.asarray(codes, dtype=np.int64),
                Layout.ring(N_CH),
                repetition=np.asarray(reps, dtype=np.int64),
                meta={"subject": i, "dataset": "prop"},
            )
        )
    return recs


def brute_label(codes: np.ndarray, mode: str) -> int:
    if mode == "last":
        return int(codes[-1])
    if mode == "pure":
        return int(codes[0]) if (codes == codes[0]).all() else UNLABELLED
    counts = Counter(codes.tolist())
    best = max(counts.values())
    return min(c for c, k in counts.items() if k == best)


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    recs=recordings(),
    window=st.integers(1, 40),
    step=st.integers(1, 25),
    mode=st.sampled_from(["majority", "last", "pure"]),
)
def test_windows_counts_slices_and_labels(
    recs: list[Recording], window: int, step: int, mode: LabelMode
) -> None:
    window_ms, step_ms = window * 1000.0 / FS, step * 1000.0 / FS
    assert ms_to_samples(window_ms, FS) == window
    expected = [0 if r.n_samples < window else (r.n_samples - window) // step + 1 for r in recs]
    if sum(expected) == 0:
        with pytest.raises(ConfigError, match="no windows"):
            make_windows(recs, window_ms, step_ms, label_mode=mode, drop_unlabelled=False)
        return
    w = make_windows(recs, window_ms, step_ms, label_mode=mode, drop_unlabelled=False)
    assert w.X.shape == (sum(expected), N_CH, window)
    assert w.window == window and w.step == step
    counts = w.meta["recording"].value_counts().reindex(range(len(recs)), fill_value=0)
    assert counts.tolist() == expected
    for k in range(len(w)):
        i, start = int(w.meta["recording"].iloc[k]), int(w.meta["start"].iloc[k])
        r = recs[i]
        assert start % step == 0 and start + window <= r.n_samples  # inside one recording
        np.testing.assert_array_equal(w.X[k], r.emg[start : start + window].T)
        assert w.meta["subject"].iloc[k] == i
        assert w.y[k] == brute_label(r.labels[start : start + window], mode)
        # the repetition unit: majority of the filled per-sample units (rest samples
        # belong to the repetition before them; was: majority of the raw codes)
        units = sample_units(r)
        if isinstance(units, np.ndarray):
            rep = brute_label(units[start : start + window], "majority")
        else:
            rep = 0 if units is None else units
        assert w.meta["repetition"].iloc[k] == rep
    # groups: the units where any is > 0, else the recording index
    reps = w.meta["repetition"].to_numpy()
    expected_groups = reps if (reps > 0).any() else w.meta["recording"].to_numpy()
    np.testing.assert_array_equal(w.groups, expected_groups)
    assert w.groups.dtype == np.int64


@SETTINGS
@given(recs=recordings(), window=st.integers(1, 30), mode=st.sampled_from(["majority", "pure"]))
def test_dropping_unlabelled_is_a_filter(
    recs: list[Recording], window: int, mode: LabelMode
) -> None:
    window_ms = window * 1000.0 / FS
    try:
        kept = make_windows(recs, window_ms, window_ms, label_mode=mode, drop_unlabelled=False)
    except ConfigError:
        return
    labelled = kept.y != UNLABELLED
    if not labelled.any():
        with pytest.raises(ConfigError, match="unlabelled"):
            make_windows(recs, window_ms, window_ms, label_mode=mode)
        return
    dropped = make_windows(recs, window_ms, window_ms, label_mode=mode)
    assert (dropped.y != UNLABELLED).all()
    np.testing.assert_array_equal(dropped.X, kept.X[labelled])
    np.testing.assert_array_equal(dropped.X, kept.subset(labelled).X)  # lazy subset
    np.testing.assert_array_equal(dropped.groups, kept.subset(labelled).groups)
    np.testing.assert_array_equal(dropped.y, kept.y[labelled])
    np.testing.assert_array_equal(dropped.meta["start"], kept.meta["start"][labelled])


def test_zero_length_and_too_long() -> None:
    empty = Recording(np.zeros((0, 2)), FS, np.zeros(0), Layout.plain(2))
    with pytest.raises(ConfigError, match="no windows"):
        make_windows(empty, 100, 50)
    short = Recording(np.zeros((10, 2)), FS, np.ones(10), Layout.plain(2))
    with pytest.raises(ConfigError, match="longest recording has 10"):
        make_windows([empty, short], 1000, 50)
    # a zero-length recording beside a long one is simply skipped
    long = Recording(np.ones((100, 2)), FS, np.ones(100), Layout.plain(2))
    w = make_windows([empty, long], 100, 100)
    assert len(w) == 5 and set(w.meta["recording"]) == {1}


def test_bad_window_settings_and_values() -> None:
    r = Recording(np.ones((100, 2)), FS, np.ones(100), Layout.plain(2))
    for bad in (0, -5, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="ms"):
            make_windows(r, bad, 50)
    with pytest.raises(ConfigError, match="label mode"):
        make_windows(r, 100, 50, label_mode="mode")  # type: ignore[arg-type]
    r.emg[3, 1] = np.inf
    with pytest.raises(ShapeError, match="NaN or Inf"):
        make_windows(r, 100, 50)
