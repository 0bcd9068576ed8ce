"""Unit tests of the handcrafted features: hand-computed values, shapes, names, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from myoshift.errors import ConfigError, ShapeError
from myoshift.signal import make_windows
from myoshift.signal.features import (
    FEATURE_GROUPS,
    FEATURES,
    RUNNING_FEATURES,
    _accel,
    extract_features,
    features_from_recordings,
    features_from_signal,
    list_features,
)
from myoshift.signal.features.autoregressive import cepstrum_from_ar
from tests.conftest import make_recording


def one(x: list[float], feature: str, **kw: object) -> np.ndarray:
    """Feature values of a single 1-channel window."""
    return extract_features(np.asarray(x, dtype=float)[None, None, :], [feature], **kw)[0][0]


X4 = [1.0, -2.0, 3.0, -4.0]


@pytest.mark.parametrize(
    ("feature", "params", "expected"),
    [
        ("mav", {}, 2.5),
        ("iav", {}, 10.0),
        ("rms", {}, np.sqrt(7.5)),
        ("var", {}, 7.25),
        ("mean", {}, -0.5),
        ("mpk", {}, 3.0),
        ("isd", {}, 30.0),
        ("act", {}, 7.5),
        ("wl", {}, 15.0),
        ("mfl", {}, np.log10(15.0)),
        ("mavfd", {}, 5.0),
        ("dasdv", {}, np.sqrt((9 + 25 + 49) / 3)),
        ("mdiff", {}, (9 + 25 + 49) / 4),
        ("zc", {}, 3.0),
        ("zc", {"zc_threshold": 4.0}, 2.0),
        ("ssc", {}, 2.0),
        ("ssc", {"ssc_threshold": 20.0}, 1.0),
        ("wamp", {"wamp_threshold": 4.0}, 2.0),
        ("wamp", {"wamp_threshold": 5.0}, 1.0),
        ("tm", {"tm_order": 2}, 7.5),
        ("mob", {}, np.sqrt(83 / 30)),
        ("comp", {}, np.sqrt((64 + 144) / 83)),
        ("log", {"log_offset": 0.0}, np.exp(np.mean(np.log([1, 2, 3, 4])))),
    ],
)
def test_hand_computed_values(feature: str, params: dict, expected: float) -> None:
    assert one(X4, feature, **params)[0] == pytest.approx(expected, rel=1e-12)


def test_zero_breaks_crossing_and_flat_counts_as_slope_change() -> None:
    assert one([-1.0, 0.0, 1.0], "zc")[0] == 0  # LibEMG: an exact zero is no crossing
    assert one([0.0, 1.0, 1.0, 0.0], "ssc")[0] == 2  # >= 0: flats count (LibEMG, Hudgins)
    assert one([0.0, 1.0, 1.0, 0.0], "ssc", ssc_threshold=1e-9)[0] == 0


def test_log_detector_offset_and_mavslp() -> None:
    assert one([0.0, np.e - 1], "log")[0] == pytest.approx(np.exp(0.5))
    assert one([1.0, -1.0, 3.0, 3.0], "mavslp")[0] == pytest.approx(2.0)
    v, cols = extract_features(np.array([[[1.0, 1, 2, 2, 4, 4]]]), ["mavslp"], mavslp_segments=3)
    np.testing.assert_allclose(v[0], [1.0, 2.0])
    assert cols == ["mavslp1_ch0", "mavslp2_ch0"]


def test_moments_match_scipy() -> None:
    x = np.random.default_rng(1).gamma(2.0, size=(5, 3, 50))
    f, _ = extract_features(x, ["skew", "kurt"])
    np.testing.assert_allclose(f[:, :3], stats.skew(x, axis=2), rtol=1e-10)
    np.testing.assert_allclose(f[:, 3:], stats.kurtosis(x, axis=2, fisher=False), rtol=1e-10)
    const, _ = extract_features(np.ones((1, 1, 10)), ["skew", "kurt", "mob", "comp", "sampen"])
    assert np.isfinite(const).all()


def test_ls_is_second_l_moment() -> None:
    x = np.array([3.0, 1.0, 2.0, 4.0])
    # l2 = 1/2 E|X1 - X2| over distinct pairs = mean |xi - xj| / 2
    pairs = [abs(a - b) for i, a in enumerate(x) for b in x[i + 1 :]]
    assert one(list(x), "ls")[0] == pytest.approx(np.mean(pairs) / 2)


def test_msr_complex_root() -> None:
    assert one([4.0, -4.0], "msr")[0] == pytest.approx(abs((2 + 2j) / 2))


def test_histogram_counts() -> None:
    x = np.array([[[-10.0, -1, 0, 0, 1, 10]]])
    h, cols = extract_features(x, ["hist"], hist_bins=3, hist_width=1.0)
    assert cols == ["hist1_ch0", "hist2_ch0", "hist3_ch0"]
    assert h.sum() == 6
    np.testing.assert_array_equal(h[0], [1, 4, 1])  # std = 5.8: only +-10 fall outside
    h, _ = extract_features(np.zeros((2, 2, 7)), ["hist"])
    assert (h.reshape(2, 2, 9)[..., 4] == 7).all()


def test_frequency_features_of_a_sine() -> None:
    fs, n = 1000.0, 256
    f0 = 20 * fs / n
    t = np.arange(n) / fs
    x = np.sin(2 * np.pi * f0 * t)[None, None, :]
    v, cols = extract_features(x, ["pkf", "mdf", "mnf", "mnp", "sm"], fs=fs, sm_order=0)
    assert cols == ["pkf_ch0", "mdf_ch0", "mnf_ch0", "mnp_ch0", "sm_ch0"]
    assert v[0, 0] == pytest.approx(f0)
    assert v[0, 1] == pytest.approx(f0)
    assert v[0, 2] == pytest.approx(f0, rel=1e-6)
    # Parseval: one-sided power of a unit sine is 1/4 in the two bins we keep ... and sm0
    assert v[0, 4] == pytest.approx(0.25, rel=1e-6)
    assert v[0, 3] == pytest.approx(0.25 / (n // 2), rel=1e-6)


def test_ar_recovers_an_ar1_process_and_cepstrum_formula() -> None:
    rng = np.random.default_rng(0)
    e = rng.standard_normal(20000)
    x = np.zeros_like(e)
    for i in range(1, len(e)):
        x[i] = 0.8 * x[i - 1] + e[i]
    a, cols = extract_features(x[None, None, :], ["ar"], ar_order=2)
    assert cols == ["ar1_ch0", "ar2_ch0"]
    assert a[0, 0] == pytest.approx(-0.8, abs=0.02)
    assert a[0, 1] == pytest.approx(0.0, abs=0.02)
    c = cepstrum_from_ar(np.array([0.5, 0.0, 0.0, 0.0]))
    np.testing.assert_allclose(c, [(-0.5) ** n / n for n in range(1, 5)])


def _sampen_reference(x: np.ndarray, dim: int, tol: float) -> float:
    """Brute-force LibEMG counting (templates k < N - m against all patterns j != k)."""
    s = (x - x.mean()) / x.std()
    n = len(s)
    res = []
    for m in (dim, dim + 1):
        pats = np.array([s[i : i + m] for i in range(n - m + 1)])
        cnt = [(np.max(np.abs(pats - pats[k]), axis=1) <= tol).sum() - 1 for k in range(n - m)]
        res.append(np.mean(np.array(cnt) / (n - dim - 1)))
    return float(np.log((res[0] + np.spacing(1)) / (res[1] + np.spacing(1))))


@pytest.mark.parametrize(("dim", "tol"), [(2, 0.3), (3, 0.5)])
def test_sample_entropy_matches_brute_force(dim: int, tol: float) -> None:
    x = np.random.default_rng(3).standard_normal((3, 2, 40)).cumsum(axis=2)
    v, _ = extract_features(x, ["sampen"], sampen_dim=dim, sampen_tolerance=tol)
    ref = [_sampen_reference(x[i, c], dim, tol) for i in range(3) for c in range(2)]
    np.testing.assert_allclose(v.reshape(-1), ref, rtol=1e-12)


def test_shapes_names_groups_and_aliases() -> None:
    x = np.random.default_rng(0).standard_normal((7, 3, 50))
    f, cols = extract_features(x, "hudgins-td")
    assert f.shape == (7, 12) and len(cols) == 12
    assert cols[:4] == ["mav_ch0", "mav_ch1", "mav_ch2", "zc_ch0"]
    f2, cols2 = extract_features(x, ["MAV", "ZC", "SSC", "WL"])
    np.testing.assert_array_equal(f, f2)
    assert cols2 == cols
    f3, cols3 = extract_features(x, "td-ar", ar_order=3)
    assert f3.shape == (7, 3 * (4 + 3))
    assert cols3[12:15] == ["ar1_ch0", "ar2_ch0", "ar3_ch0"]
    _, c4 = extract_features(x, ["TDPSD", "LS4", "mav"], SSC_threshold=0.1)
    assert len(c4) == 3 * 11
    for group, members in FEATURE_GROUPS.items():
        assert members and all(m in FEATURES for m in members), group


def test_list_features_describes_everything() -> None:
    info = list_features()
    required = {
        "mav", "rms", "wl", "zc", "ssc", "wamp", "var", "iav", "log", "dasdv", "mavfd",
        "mavslp", "skew", "kurt", "act", "mob", "comp", "ar", "cc", "hist", "mnf", "mdf",
        "mnp", "pkf", "sm", "m0", "m2", "m4", "sparsi", "irf", "wlf", "sampen",
    }  # fmt: skip
    assert required <= set(info["features"])
    assert info["features"]["ssc"]["params"] == {"threshold": 0.0}
    assert info["features"]["mnf"]["needs_fs"] is True
    assert {"hudgins-td", "td-ar", "td-psd", "ls4", "hjorth"} <= set(info["groups"])
    assert all(v["description"] for v in info["features"].values())


def test_chunking_and_dtypes_do_not_change_values() -> None:
    x = np.random.default_rng(0).integers(-100, 100, size=(37, 4, 30))
    names = [n for n in FEATURES if not FEATURES[n].needs_fs]
    a, _ = extract_features(x, names)
    b, _ = extract_features(x.astype(np.float32), names, chunk_size=5)
    np.testing.assert_allclose(a, b, rtol=1e-12, equal_nan=True)
    empty, cols = extract_features(np.zeros((0, 4, 30)), "hudgins-td")
    assert empty.shape == (0, 16) and len(cols) == 16


def test_windows_object_carries_fs() -> None:
    w = make_windows(make_recording(600, 3, fs=200.0), 200, 100)
    f, _ = extract_features(w, ["mnf", "mav"])
    ref, _ = extract_features(w.X, ["mnf", "mav"], fs=200.0)
    np.testing.assert_array_equal(f, ref)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((np.zeros((4, 10)), "mav"), {}, ShapeError, "3-D"),
        ((np.zeros((2, 2, 10), dtype=bool), "mav"), {}, ShapeError, "dtype"),
        ((np.full((2, 2, 10), np.nan), "mav"), {}, ShapeError, "NaN"),
        ((np.zeros((2, 2, 10)), "mnf"), {}, ConfigError, "fs="),
        ((np.zeros((2, 2, 10)), "mnf"), {"fs": -1.0}, ConfigError, "fs"),
        ((np.zeros((2, 2, 10)), "nope"), {}, ConfigError, "unknown feature"),
        ((np.zeros((2, 2, 10)), []), {}, ConfigError, "no features"),
        ((np.zeros((2, 2, 10)), "ssc"), {"ssc_treshold": 1.0}, ConfigError, "no parameter"),
        ((np.zeros((2, 2, 10)), "ssc"), {"threshold": 1.0}, ConfigError, "<feature>_<param>"),
        ((np.zeros((2, 2, 10)), "ssc"), {"ssc_threshold": -1.0}, ConfigError, ">= 0"),
        ((np.zeros((2, 2, 10)), "ar"), {"ar_order": 0}, ConfigError, "integer"),
        ((np.zeros((2, 2, 10)), "ar"), {"ar_order": 10}, ConfigError, "longer"),
        ((np.zeros((2, 2, 2)), "ssc"), {}, ShapeError, "at least 3"),
        ((np.zeros((2, 2, 10)), "sampen"), {"sampen_tolerance": 0.0}, ConfigError, "> 0"),
    ],
)
def test_bad_input_raises_clear_errors(args: tuple, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        extract_features(*args, **kwargs)


# -- fast path --------------------------------------------------------------------------
ALL_FAST = [*RUNNING_FEATURES, "ar", "sampen", "skew"]


@pytest.fixture(params=[True, False], ids=["compiled", "numpy"])
def accel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Run a test with the optional numba kernels on (when installed) and off."""
    if request.param and not _accel.AVAILABLE:
        pytest.skip("numba not installed")
    monkeypatch.setattr(_accel, "ENABLED", request.param)
    return bool(request.param)


def test_compiled_and_numpy_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    if not _accel.AVAILABLE:
        pytest.skip("numba not installed")
    x = np.random.default_rng(5).integers(-50, 50, size=(20, 3, 64)).astype(float)
    names = ["mav", "iav", "rms", "var", "wl", "zc", "ssc", "wamp", "dasdv", "mob", "m0"]
    params = {"zc_threshold": 3.0, "ssc_threshold": 2.0, "wamp_threshold": 4.0}
    monkeypatch.setattr(_accel, "ENABLED", True)
    a, _ = extract_features(x, names, **params)
    monkeypatch.setattr(_accel, "ENABLED", False)
    b, _ = extract_features(x, names, **params)
    np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize(("window", "step"), [(50, 25), (50, 7), (33, 33), (40, 60)])
def test_running_sums_equal_materialised_windows(window: int, step: int, accel: bool) -> None:
    rng = np.random.default_rng(window + step)
    x = rng.standard_normal((700, 3)) * 50 + 20
    params = {"wamp_threshold": 10.0, "zc_threshold": 5.0, "ssc_threshold": 1.0}
    fast, cols = features_from_signal(x, window, step, ALL_FAST, **params)
    # without LOG every running feature has a compiled block kernel
    no_log = [f for f in ALL_FAST if f != "log"]
    fast2, _ = features_from_signal(x, window, step, no_log, **params)
    np.testing.assert_allclose(fast2, np.delete(fast, slice(21, 24), axis=1), rtol=1e-12)
    view = np.lib.stride_tricks.sliding_window_view(x, window, axis=0)[::step]
    ref, ref_cols = extract_features(view, ALL_FAST, **params)
    assert cols == ref_cols and fast.shape == ref.shape
    np.testing.assert_allclose(fast, ref, rtol=1e-9, atol=1e-9)


def test_features_from_recordings_equals_make_windows(accel: bool) -> None:
    lab = np.repeat([0, 1, -1, 2], 250)
    recs = [make_recording(1000, 4, label=lab, seed=s, subject=s) for s in range(3)]
    recs.append(make_recording(90, 4, seed=9))  # shorter than one window: skipped
    table = features_from_recordings(recs, 200, 50, "hudgins-td", ssc_threshold=0.01)
    w = make_windows(recs, 200, 50)
    ref, cols = extract_features(w, "hudgins-td", ssc_threshold=0.01)
    np.testing.assert_allclose(table.X, ref, rtol=1e-6, atol=1e-9)  # windows are float32
    np.testing.assert_array_equal(table.y, w.y)
    assert table.columns == cols
    assert table.meta[["recording", "start", "repetition"]].equals(
        w.meta[["recording", "start", "repetition"]]
    )


def test_fast_path_bad_input() -> None:
    with pytest.raises(ShapeError, match="2-D"):
        features_from_signal(np.zeros(100), 10, 5, "mav")
    with pytest.raises(ShapeError, match="longer than the signal"):
        features_from_signal(np.zeros((10, 2)), 20, 5, "mav")
    with pytest.raises(ConfigError, match="positive"):
        features_from_signal(np.zeros((100, 2)), 10, 0, "mav")
    with pytest.raises(ShapeError, match="NaN"):
        features_from_signal(np.full((100, 2), np.nan), 10, 5, "mav")
    with pytest.raises(ConfigError, match="no recordings"):
        features_from_recordings([], 200, 50, "mav")
