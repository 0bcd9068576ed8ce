import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import Layout
from myoshift.signal.normalize import ChannelScaler, PerSubjectScaler, fit_per_subject
from myoshift.signal.windows import Windows


def windows(n: int = 50, c: int = 4, t: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    gains = np.array([1.0, 3.0, 0.5, 10.0][:c])
    offsets = np.array([0.0, 2.0, -1.0, 5.0][:c])
    x = rng.standard_normal((n, c, t)) * gains[None, :, None] + offsets[None, :, None]
    return x.astype(np.float32)


def test_zscore_per_channel_on_windows_and_samples() -> None:
    X = windows()
    Z = ChannelScaler("zscore").fit_transform(X)
    assert Z.shape == X.shape and Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(axis=(0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=(0, 2)), 1, atol=1e-4)
    S = X.transpose(0, 2, 1).reshape(-1, 4)  # (n_samples, C)
    s2 = ChannelScaler().fit(S)
    np.testing.assert_allclose(s2.scale_, ChannelScaler().fit(X).scale_, rtol=1e-6)
    np.testing.assert_allclose(s2.transform(S).std(axis=0), 1, atol=1e-4)


def test_statistics_come_from_fit_data_only() -> None:
    train, test = windows(seed=0), windows(seed=1) * 2 + 7
    s = ChannelScaler().fit(train)
    center = s.center_.copy()
    out = s.transform(test)
    np.testing.assert_array_equal(s.center_, center)  # transform does not refit
    assert abs(out.mean()) > 1  # shifted test data stays shifted


def test_robust_ignores_outliers() -> None:
    X = windows().astype(np.float64)
    X[0, 0, :5] = 1e6
    r = ChannelScaler("robust").fit(X)
    z = ChannelScaler("zscore").fit(X)
    assert r.scale_[0] == pytest.approx(1.349, rel=0.1)  # IQR of N(0, 1)
    assert z.scale_[0] > 1000


def test_mvc_divides_by_envelope_percentile() -> None:
    X = windows(c=2)
    s = ChannelScaler("mvc", percentile=100).fit(X)
    rms = np.sqrt((X.astype(np.float64) ** 2).mean(axis=2))
    np.testing.assert_allclose(s.scale_, rms.max(axis=0))
    np.testing.assert_array_equal(s.center_, 0)
    assert np.abs(s.transform(X)).max() > 1  # samples can exceed the envelope
    S = np.abs(np.random.default_rng(0).standard_normal((1000, 2)))
    s2 = ChannelScaler("mvc", percentile=100, envelope_samples=1).fit(S)
    np.testing.assert_allclose(s2.scale_, S.max(axis=0))
    s3 = ChannelScaler("mvc", percentile=100, envelope_samples=50).fit(S)
    assert (s3.scale_ < s2.scale_).all()  # smoothing lowers the peak


def test_inverse_and_constant_channel_and_clone() -> None:
    X = windows()
    X[:, 2] = 3.0
    s = ChannelScaler().fit(X)
    assert s.scale_[2] == 1.0
    np.testing.assert_allclose(s.inverse_transform(s.transform(X)), X, atol=1e-4)
    c = clone(s)
    assert c.get_params() == s.get_params() and not hasattr(c, "scale_")


def test_json_roundtrip() -> None:
    s = ChannelScaler("robust", quantile_range=(10, 90)).fit(windows())
    d = json.loads(json.dumps(s.to_dict()))
    s2 = ChannelScaler.from_dict(d)
    assert s2.quantile_range == (10, 90)
    np.testing.assert_array_equal(s2.transform(windows(seed=3)), s.transform(windows(seed=3)))


def test_bad_input() -> None:
    with pytest.raises(ConfigError, match="unknown scaling"):
        ChannelScaler("minmax").fit(windows())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="percentile"):
        ChannelScaler("mvc", percentile=0).fit(windows())
    with pytest.raises(ConfigError, match="not fitted"):
        ChannelScaler().transform(windows())
    with pytest.raises(ShapeError, match="channels"):
        ChannelScaler().fit(windows(c=3)).transform(windows(c=4))
    X = windows()
    X[1, 1, 1] = np.nan
    with pytest.raises(ShapeError, match="NaN"):
        ChannelScaler().fit(X)
    with pytest.raises(ShapeError, match="dtype"):
        ChannelScaler().fit(np.array([["a", "b"]]))
    with pytest.raises(ShapeError, match="2-D or 3-D"):
        ChannelScaler().fit(np.zeros(10))
    with pytest.raises(ShapeError, match="samples"):
        ChannelScaler().fit(np.zeros((0, 4, 10)))


def make_windows_obj() -> Windows:
    a, b = windows(seed=0), windows(seed=1) * 5 + 3
    X = np.concatenate([a, b])
    meta = pd.DataFrame({"subject": [1] * len(a) + [2] * len(b)})
    return Windows(X, np.zeros(len(X), dtype=np.int64), meta, 1000.0, Layout.ring(4))


def test_per_subject_scaler() -> None:
    w = make_windows_obj()
    ps = fit_per_subject(w)
    assert set(ps.scalers_) == {1, 2}
    out = ps.transform(w)
    for s in (1, 2):
        part = out[w.meta["subject"].to_numpy() == s]
        np.testing.assert_allclose(part.mean(axis=(0, 2)), 0, atol=1e-4)
    # a new subject: global fallback, then its own calibration
    new = windows(seed=5) * 2 - 4
    subj = np.full(len(new), 9)
    glob = ps.transform(new, subj)
    np.testing.assert_allclose(glob, ps.global_.transform(new))  # type: ignore[union-attr]
    ps.calibrate(new[:10], subject=9)
    cal = ps.transform(new, subj)
    assert abs(cal.mean()) < 0.3 < abs(glob.mean())
    strict = PerSubjectScaler(unknown="error").fit(w)
    with pytest.raises(ConfigError, match="calibrate"):
        strict.transform(new, subj)
    with pytest.raises(ConfigError, match="subjects"):
        strict.transform(new)
    with pytest.raises(ShapeError, match="subjects"):
        strict.transform(new, subj[:3])
    with pytest.raises(ConfigError, match="session"):
        fit_per_subject(w, subject_column="session")
