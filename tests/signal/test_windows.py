import numpy as np
import pytest

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import UNLABELLED, Layout, Recording
from myoshift.signal.window_array import WindowArray
from myoshift.signal.windows import make_windows, window_codes
from tests.conftest import make_recording


def test_window_counts_and_no_straddling() -> None:
    recs = [make_recording(1000, seed=0, subject=1), make_recording(530, seed=1, subject=2)]
    w = make_windows(recs, window_ms=250, step_ms=50)  # 50 samples, step 10 at 200 Hz
    n0 = (1000 - 50) // 10 + 1
    n1 = (530 - 50) // 10 + 1
    assert len(w) == n0 + n1
    assert w.X.shape == (n0 + n1, 8, 50)
    assert (w.meta["recording"].to_numpy() == np.repeat([0, 1], [n0, n1])).all()
    # window k of recording 1 equals the raw slice
    k = 7
    start = w.meta["start"].iloc[n0 + k]
    np.testing.assert_array_equal(w.X[n0 + k], recs[1].emg[start : start + 50].T)
    assert set(w.meta["subject"]) == {1, 2}


def test_label_modes() -> None:
    codes = np.array([1, 1, 1, 2, 2, UNLABELLED, 2, 2])
    starts = np.array([0, 2, 4])
    assert window_codes(codes, starts, 4, "majority").tolist() == [1, 2, 2]
    assert window_codes(codes, starts, 4, "last").tolist() == [2, UNLABELLED, 2]
    assert window_codes(codes, starts, 4, "pure").tolist() == [UNLABELLED, UNLABELLED, UNLABELLED]
    assert window_codes(codes, np.array([0]), 3, "pure").tolist() == [1]


def test_unlabelled_dropped_or_kept() -> None:
    labels = np.r_[np.full(100, UNLABELLED), np.full(100, 1)]
    r = Recording(np.zeros((200, 2)), 100.0, labels, Layout.plain(2))
    kept = make_windows(r, 1000, 1000, drop_unlabelled=False)
    dropped = make_windows(r, 1000, 1000)
    assert kept.y.tolist() == [UNLABELLED, 1]
    assert dropped.y.tolist() == [1]


def test_window_longer_than_recording() -> None:
    with pytest.raises(ConfigError, match="no windows"):
        make_windows(make_recording(10), 1000, 100)


def test_nan_windows_rejected() -> None:
    r = make_recording(100)
    r.emg[5, 0] = np.nan
    with pytest.raises(Exception, match="NaN"):
        make_windows(r, 100, 50)


def test_bad_label_mode_and_reserved_meta() -> None:
    r = make_recording(100, start=99, recording=5)
    with pytest.raises(ConfigError, match="label mode"):
        make_windows(r, 100, 50, label_mode="median")  # type: ignore[arg-type]
    w = make_windows(r, 100, 50)
    assert w.meta["start"].tolist()[:2] == [0, 10] and set(w.meta["recording"]) == {0}


def test_targets_sampled_at_window_end() -> None:
    from myoshift.recording import AuxStream

    r = make_recording(400)  # 200 Hz
    ramp = AuxStream(np.stack([np.arange(101.0), -np.arange(101.0)], 1), fs=50.0)  # 2 s
    r.aux["glove"] = ramp
    w = make_windows(r, window_ms=100, step_ms=50, targets="glove")  # 20 samples, step 10
    end_t = (w.meta["start"].to_numpy() + 20 - 1) / 200.0
    assert w.extra["glove"].shape == (len(w), 2) and w.extra["glove"].dtype == np.float32
    np.testing.assert_allclose(w.extra["glove"][:, 0], end_t * 50.0, atol=1e-4)
    np.testing.assert_allclose(w.extra["glove"][:, 1], -end_t * 50.0, atol=1e-4)
    sub = w.subset([2, 4])
    np.testing.assert_array_equal(sub.extra["glove"], w.extra["glove"][[2, 4]])


def test_target_errors_name_the_problem() -> None:
    from myoshift.recording import AuxStream

    r = make_recording(200, source="s1.mat")
    with pytest.raises(ConfigError, match=r"s1.mat has no auxiliary stream 'glove'.*none"):
        make_windows(r, 100, 50, targets="glove")
    bad = np.arange(40.0)[:, None]
    bad[30] = np.nan
    r.aux["glove"] = AuxStream(bad, fs=40.0)
    with pytest.raises(Exception, match="target stream 'glove' has NaN"):
        make_windows(r, 100, 50, targets=["glove"])


# -- repetition units, groups, aux windows, lazy X ----------------------------------------
def test_rest_windows_join_the_repetition_before_and_groups() -> None:
    # rest (label 0, repetition 0) after each repetition, like Ninapro's rerepetition
    labels = np.tile(np.repeat([1, 0], 100), 3)
    reps = np.repeat([1, 0, 2, 0, 3, 0], 100)
    r = Recording(np.ones((600, 2)), 100.0, labels, Layout.plain(2), repetition=reps)
    w = make_windows(r, 500, 500)  # 50 samples, no overlap: 12 windows
    # was [1, 1, 0, 0, 2, 2, 0, 0, 3, 3, 0, 0]: rest windows formed their own group
    assert w.meta["repetition"].tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
    np.testing.assert_array_equal(w.groups, w.meta["repetition"])
    assert w.groups.dtype == np.int64
    sub = w.subset([0, 5, 11])
    assert sub.groups.tolist() == [1, 2, 3]


def test_groups_fall_back_to_the_recording_and_use_metadata_units() -> None:
    plain = [make_recording(300, 2, seed=s) for s in range(3)]  # one gesture run each
    w = make_windows(plain, 500, 250)
    assert set(w.meta["repetition"]) == {0}
    np.testing.assert_array_equal(w.groups, w.meta["recording"])
    trials = [make_recording(300, 2, seed=s, trial=s + 4) for s in range(2)]
    wt = make_windows(trials, 500, 250)
    assert sorted(set(wt.groups.tolist())) == [4, 5]


def test_aux_windows_follow_the_window_time_span() -> None:
    from myoshift.recording import AuxStream

    r = make_recording(400, 3)  # 200 Hz, 2 s
    t = np.arange(61) / 30.0  # 30 Hz stream, 2 s
    r.aux["imu"] = AuxStream(np.stack([np.sin(3 * t), t], 1), fs=30.0, names=("s", "t"))
    w = make_windows(r, window_ms=100, step_ms=50, aux=("imu",), targets="imu")
    a = w.aux["imu"]
    points = round(100 * 30.0 / 1000)  # 3 points at the stream's own rate
    assert a.X.shape == (len(w), 2, points) and a.X.dtype == np.float32
    assert a.fs == 30.0 and a.names == ("s", "t")
    end = (w.meta["start"].to_numpy() + 20 - 1) / 200.0
    times = end[:, None] - (points - 1 - np.arange(points)) / 30.0
    np.testing.assert_allclose(a.X[:, 1], times, atol=1e-5)  # linear: exact
    np.testing.assert_allclose(a.X[:, 0], np.interp(times, t, np.sin(3 * t)), atol=1e-5)
    np.testing.assert_allclose(a.X[:, :, -1], w.extra["imu"], atol=1e-6)  # last = end
    sub = w.subset(np.array([True, False] * (len(w) // 2) + [True] * (len(w) % 2)))
    np.testing.assert_array_equal(sub.aux["imu"].X, a.X[::2])
    np.testing.assert_array_equal(sub.extra["imu"], w.extra["imu"][::2])
    np.testing.assert_array_equal(sub.X, np.asarray(w.X)[::2])


def test_aux_streams_with_estimated_rates_share_one_grid() -> None:
    from myoshift.recording import AuxStream

    recs = [make_recording(400, 2, seed=s) for s in range(3)]
    for r, fs in zip(recs, (49.0, 50.5, 58.0), strict=True):  # like 3DC's IMU
        t = np.arange(int(2 * fs) + 1) / fs
        r.aux["imu"] = AuxStream(np.stack([t, 2 * t], 1), fs=fs)
    w = make_windows(recs, 200, 100, aux="imu")
    a = w.aux["imu"]
    assert a.fs == 50.5 and a.X.shape == (len(w), 2, 10)  # median rate, round(10.1)
    end = (w.meta["start"].to_numpy() + 40 - 1) / 200.0
    times = end[:, None] - (9 - np.arange(10)) / 50.5
    np.testing.assert_allclose(a.X[:, 0], times, atol=1e-5)
    np.testing.assert_allclose(a.X[:, 1], 2 * times, atol=1e-5)


def test_aux_window_errors_name_the_problem() -> None:
    from myoshift.recording import AuxStream

    r = make_recording(200, source="s1.mat")
    r.aux["glove"] = AuxStream(np.zeros((40, 1)), fs=40.0)
    with pytest.raises(ConfigError, match=r"s1.mat has no auxiliary stream 'imu'.*glove"):
        make_windows(r, 100, 50, aux="imu")
    other = make_recording(200, source="s2.mat")
    other.aux["glove"] = AuxStream(np.zeros((80, 2)), fs=80.0)
    with pytest.raises(ConfigError, match=r"'glove' has \[1, 2\] dimensions"):
        make_windows([r, other], 100, 50, aux="glove")
    r.aux["glove"] = AuxStream(np.full((40, 1), np.nan), fs=40.0)
    with pytest.raises(ShapeError, match="'glove' has NaN"):
        make_windows(r, 100, 50, aux="glove")


def test_windows_are_cut_on_demand() -> None:
    import tracemalloc

    r = make_recording(20_000, 8, fs=1000.0)
    tracemalloc.start()
    try:
        w = make_windows(r, 200, 1)  # 19,801 windows of 200 samples: 127 MB if copied
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(w.X, WindowArray) and w.X.nbytes > 100e6
    assert peak < 0.05 * w.X.nbytes
    np.testing.assert_array_equal(w.X[12_345], r.emg[12_345:12_545].T)


def test_nan_outside_kept_windows_is_ignored() -> None:
    labels = np.r_[np.ones(100), np.full(100, UNLABELLED)]
    r = Recording(np.ones((200, 2)), 100.0, labels, Layout.plain(2))
    r.emg[150, 1] = np.nan  # only in unlabelled windows, which are dropped
    assert len(make_windows(r, 500, 500)) == 2
    with pytest.raises(ShapeError, match="windows contain NaN or Inf; clean or interpolate"):
        make_windows(r, 500, 500, drop_unlabelled=False)
