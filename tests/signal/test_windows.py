import numpy as np
import pytest

from myoshift.errors import ConfigError
from myoshift.recording import UNLABELLED, Layout, Recording
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
