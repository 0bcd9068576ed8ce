"""`WindowArray`: windows cut on demand equal the materialised ones, subsets stay lazy."""

from __future__ import annotations

import pickle
import tracemalloc

import numpy as np
import pytest

from myoshift.errors import ConfigError, ShapeError
from myoshift.signal import extract_features
from myoshift.signal.features import _accel
from myoshift.signal.window_array import WindowArray, finite_windows
from myoshift.signal.windows import make_windows
from tests.conftest import make_recording


@pytest.fixture
def lazy() -> WindowArray:
    recs = [make_recording(n, 3, seed=s) for s, n in enumerate((300, 170, 50, 233))]
    w = make_windows(recs, 100, 15)  # 20 samples, step 3 at 200 Hz
    assert isinstance(w.X, WindowArray)
    return w.X


def brute(lazy: WindowArray) -> np.ndarray:
    """Every window sliced by hand from the sources."""
    t = lazy.shape[2]
    return np.stack(
        [lazy.sources[i][s : s + t].T for i, s in zip(lazy.source_index, lazy.starts, strict=True)]
    )


def test_attributes_and_full_array(lazy: WindowArray) -> None:
    full = brute(lazy)
    assert lazy.shape == full.shape and len(lazy) == len(full) and lazy.ndim == 3
    assert lazy.dtype == np.float32 and lazy.nbytes == full.nbytes
    np.testing.assert_array_equal(np.asarray(lazy), full)
    assert np.asarray(lazy, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="without a copy"):
        lazy.__array__(copy=False)


@pytest.mark.parametrize("seed", range(5))
def test_random_index_sets_equal_materialised(lazy: WindowArray, seed: int) -> None:
    full = brute(lazy)
    n = len(lazy)
    rng = np.random.default_rng(seed)
    idx = rng.integers(-n, n, size=rng.integers(0, 60))  # unsorted, repeated, negative
    np.testing.assert_array_equal(lazy[idx], full[idx])
    np.testing.assert_array_equal(lazy[idx.tolist()], full[idx])
    mask = rng.random(n) < 0.3
    np.testing.assert_array_equal(lazy[mask], full[mask])
    a, b, step = sorted(rng.integers(-n, n, size=2)) + [int(rng.integers(1, 5))]
    np.testing.assert_array_equal(lazy[a:b:step], full[a:b:step])
    np.testing.assert_array_equal(lazy[::-2], full[::-2])
    k = int(rng.integers(-n, n))
    np.testing.assert_array_equal(lazy[k], full[k])
    # scikit-learn's _safe_indexing uses X[idx, ...]
    np.testing.assert_array_equal(lazy[idx, ...], full[idx, ...])
    np.testing.assert_array_equal(lazy[idx, 1:, ::2], full[idx, 1:, ::2])
    np.testing.assert_array_equal(lazy[k, 2], full[k, 2])
    sub = lazy.take(idx)
    assert isinstance(sub, WindowArray)
    np.testing.assert_array_equal(np.asarray(sub), full[idx])
    np.testing.assert_array_equal(np.asarray(lazy.take(mask)), full[mask])


def test_bad_indices(lazy: WindowArray) -> None:
    n = len(lazy)
    for bad in (n, -n - 1, [0, n], np.array([-n - 1])):
        with pytest.raises(IndexError):
            lazy[bad]
    with pytest.raises(IndexError, match="boolean"):
        lazy[np.ones(n - 1, dtype=bool)]
    with pytest.raises(IndexError, match="integers"):
        lazy[np.array([0.5])]
    assert lazy[np.zeros(0, dtype=np.int64)].shape == (0, *lazy.shape[1:])


def test_batches_are_copies_and_subsets_hold_no_windows() -> None:
    rec = make_recording(20_000, 8, fs=1000.0, seed=3)
    w = make_windows(rec, 200, 1)  # 200-sample windows every sample: 200x the recording
    X = w.X
    assert isinstance(X, WindowArray)
    assert X.nbytes > 150 * rec.emg.nbytes
    assert X.held_nbytes < 0.05 * X.nbytes  # two int64 per window, no samples
    batch = X[np.arange(0, len(X), 997)]
    assert not np.shares_memory(batch, rec.emg)
    assert X.sources[0] is rec.emg  # a reference, not a copy
    tracemalloc.start()
    try:
        sub = w.subset(np.arange(0, len(w), 2))
        assert isinstance(sub.X, WindowArray) and len(sub) == (len(w) + 1) // 2
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.05 * sub.X.nbytes  # index arrays and metadata only (a copy: 100 %)
    # pickling (joblib workers) carries the recording, not the overlapping windows
    assert len(pickle.dumps(X)) < 1.5 * rec.emg.nbytes + X.held_nbytes
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(X))[5:9], X[5:9])


def test_iter_chunks_cover_in_order(lazy: WindowArray) -> None:
    chunks = list(lazy.iter_chunks(7))
    assert all(len(c) <= 7 for c in chunks) and sum(len(c) for c in chunks) == len(lazy)
    np.testing.assert_array_equal(np.concatenate(chunks), brute(lazy))
    with pytest.raises(ConfigError, match="chunk size"):
        next(lazy.iter_chunks(0))


def test_dtype_converted_per_batch() -> None:
    rec = make_recording(400, 2, seed=1)
    w = make_windows(rec, 100, 50, dtype=np.float64)
    assert w.X.dtype == np.float64 and w.X[:3].dtype == np.float64
    np.testing.assert_array_equal(w.X[1], rec.emg[10:30].T.astype(np.float64))


def test_finite_scans_only_covered_samples() -> None:
    a, b = make_recording(100, 2, seed=0), make_recording(100, 2, seed=1)
    b.emg[55, 1] = np.inf
    X = WindowArray([a.emg, b.emg], [0, 1, 1, 1], [50, 30, 36, 56], 20)
    assert X.finite().tolist() == [True, True, False, True]  # [36, 56) covers 55
    np.testing.assert_array_equal(finite_windows(X), finite_windows(np.asarray(X)))


def test_constructor_checks() -> None:
    emg = np.zeros((50, 2), dtype=np.float32)
    with pytest.raises(ShapeError, match="run past"):
        WindowArray([emg], [0], [40], 20)
    with pytest.raises(ShapeError, match="source index"):
        WindowArray([emg], [1], [0], 20)
    with pytest.raises(ShapeError, match="one source index and one start"):
        WindowArray([emg], [0, 0], [0], 20)
    with pytest.raises(ShapeError, match="2-D"):
        WindowArray([emg, np.zeros((50, 3))], [0], [0], 20)
    with pytest.raises(ConfigError, match="window"):
        WindowArray([emg], [0], [0], 0)


@pytest.mark.parametrize("use_accel", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize(
    ("features", "params"),
    [("hudgins-td", {"ssc_threshold": 0.01}), (["rms", "wamp", "ar", "mnf"], {"ar_order": 3})],
)
def test_chunked_features_equal_array_path(
    monkeypatch: pytest.MonkeyPatch, use_accel: bool, features: object, params: dict
) -> None:
    if use_accel and not _accel.AVAILABLE:
        pytest.skip("numba not installed")
    monkeypatch.setattr(_accel, "ENABLED", use_accel)
    recs = [make_recording(2500, 4, seed=s, label=np.repeat([0, 1], 1250)) for s in range(3)]
    w = make_windows(recs, 100, 5)  # 20 samples, step 1: > 7000 windows, several blocks
    assert isinstance(w.X, WindowArray) and len(w) > 3 * 2048
    full = np.asarray(w.X)
    ref, cols = extract_features(full, features, fs=w.fs, **params)
    out, cols2 = extract_features(w.X, features, fs=w.fs, **params)
    assert cols == cols2
    np.testing.assert_array_equal(out, ref)
    via_windows, _ = extract_features(w, features, chunk_size=333, **params)
    np.testing.assert_array_equal(
        via_windows, extract_features(full, features, w.fs, chunk_size=333, **params)[0]
    )


def test_chunked_features_name_the_nan_window() -> None:
    rec = make_recording(400, 2, seed=2)
    rec.emg[203, 1] = np.nan
    X = WindowArray([rec.emg], np.zeros(39, dtype=np.int64), np.arange(39) * 10, 20)
    with pytest.raises(ShapeError, match="first at window 19, channel 1"):
        extract_features(X, "mav")


def test_estimator_input_path_stays_lazy() -> None:
    from myoshift.learn.classical import ClassicalClassifier
    from myoshift.learn.data import check_windows, unpack

    lab = np.repeat([1, 2, 1, 2], 300)
    recs = [make_recording(1200, 4, seed=s, label=lab) for s in range(2)]
    for r in recs:
        r.emg[:, 0] *= np.where(r.labels == 1, 4.0, 1.0)
    w = make_windows(recs, 100, 25)
    X, y, groups = unpack(w)
    assert X is w.X and y is w.y
    np.testing.assert_array_equal(groups, w.groups)  # repetitions found from the runs
    assert set(groups.tolist()) == {1, 2}
    lazy = ClassicalClassifier("lda").fit(w)
    plain = ClassicalClassifier("lda", fs=w.fs).fit(np.asarray(w.X), w.y)
    np.testing.assert_array_equal(lazy.features_train_, plain.features_train_)
    np.testing.assert_array_equal(lazy.predict(w.X), plain.predict(np.asarray(w.X)))
    bad_src = recs[0].emg.copy()
    bad_src[130, 2] = np.nan
    bad = WindowArray([bad_src], np.zeros(10, dtype=np.int64), np.arange(10) * 20, 20)
    with pytest.raises(ShapeError, match=r"window 6 \(1 bad windows of 10\)"):
        check_windows(bad)
