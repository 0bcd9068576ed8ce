import numpy as np
import pytest

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import Layout
from myoshift.signal.augment import (
    Augmenter,
    add_noise_snr,
    as_augmenter,
    channel_dropout,
    mixup,
    one_hot,
    rotate_electrodes,
    scale_magnitude,
    time_shift,
    time_warp,
    translate_electrodes,
)


def batch(n: int = 64, c: int = 8, t: int = 100, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    gains = np.linspace(0.5, 4.0, c)
    return (rng.standard_normal((n, c, t)) * gains[None, :, None]).astype(np.float32)


ALL = [
    lambda X, rng: add_noise_snr(X, 20.0, rng),
    lambda X, rng: scale_magnitude(X, rng),
    lambda X, rng: rotate_electrodes(X, rng, max_shift=2),
    lambda X, rng: translate_electrodes(X, rng, Layout.grid(2, 4)),
    lambda X, rng: channel_dropout(X, rng, p=0.3),
    lambda X, rng: time_shift(X, rng, max_shift=5),
    lambda X, rng: time_warp(X, rng),
]


@pytest.mark.parametrize("fn", ALL)
def test_seeded_shape_dtype_and_input_untouched(fn) -> None:  # type: ignore[no-untyped-def]
    X = batch()
    before = X.copy()
    a = fn(X, np.random.default_rng(1))
    b = fn(X, 1)  # an int seed is accepted and equivalent
    assert a.shape == X.shape and a.dtype == X.dtype
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, before)
    assert not np.array_equal(a, X)


def test_rng_is_required() -> None:
    with pytest.raises(ConfigError, match="rng"):
        scale_magnitude(batch(), None)  # type: ignore[arg-type]


def test_noise_snr_is_per_window_and_channel() -> None:
    X = batch(n=200, t=400).astype(np.float64)
    noisy = add_noise_snr(X, 10.0, np.random.default_rng(0))
    noise = noisy - X
    ratio = (X**2).mean(axis=(0, 2)) / (noise**2).mean(axis=(0, 2))
    np.testing.assert_allclose(10 * np.log10(ratio), 10.0, atol=0.2)  # every channel
    ranged = add_noise_snr(X, (0.0, 40.0), 0) - X
    per_window = 10 * np.log10((X**2).mean(axis=(1, 2)) / (ranged**2).mean(axis=(1, 2)))
    assert per_window.min() < 10 < per_window.max()
    assert add_noise_snr(np.zeros((1, 1, 5)), 10, 0).sum() == 0  # silent stays silent


def test_scale_and_dropout() -> None:
    X = batch()
    s = scale_magnitude(X, 0, low=2.0, high=2.0)
    np.testing.assert_allclose(s, 2 * X)
    g = scale_magnitude(X, 0, per_channel=True) / X
    assert np.ptp(g[0, :, 0]) > 0 and np.allclose(g[0, 0], g[0, 0, 0])
    d = channel_dropout(X, 0, p=0.5)
    zero = (d == 0).all(axis=2)
    assert 0.4 < zero.mean() < 0.6
    np.testing.assert_array_equal(d[~zero], X[~zero])
    np.testing.assert_array_equal(channel_dropout(X, 0, p=0.0), X)


def test_rotation_and_translation_permute_channels() -> None:
    X = batch(n=20)
    r = rotate_electrodes(X, 0, max_shift=3)
    for i in range(20):
        k = [k for k in range(-3, 4) if np.array_equal(np.roll(X[i], k, 0), r[i])]
        assert k, "each window is an integer rotation"
    f = rotate_electrodes(X, 0, max_shift=0.5, fractional=True)
    assert not np.array_equal(f, X)
    t = translate_electrodes(X, 0, Layout.grid(2, 4), max_shift=(0, 1))
    for i in range(20):
        kept = np.isin(t[i, :, 0], X[i, :, 0]) | (t[i, :, 0] == 0)
        assert kept.all()


def test_time_shift_roll_and_pad() -> None:
    X = np.arange(10, dtype=np.float64)[None, None].repeat(50, axis=0)
    r = time_shift(X, 0, max_shift=3)
    for row in r[:, 0]:  # output sample t reads input t - shift (circular)
        np.testing.assert_array_equal(row, np.roll(X[0, 0], -int(row[0])))
    p = time_shift(X, 0, max_shift=3, mode="pad")
    assert (p[:, 0] == 0).any()
    with pytest.raises(ConfigError, match="mode"):
        time_shift(X, 0, mode="wrap")


def test_time_warp_is_smooth_monotone_resampling() -> None:
    X = np.linspace(0, 1, 100)[None, None].repeat(10, axis=0)
    w = time_warp(X, 0, sigma=0.3)
    assert (np.diff(w, axis=2) >= -1e-12).all()  # a ramp stays monotone
    np.testing.assert_allclose(w[..., 0], 0)
    np.testing.assert_allclose(w[..., -1], 1)
    assert np.abs(w - X).max() > 0.01
    np.testing.assert_allclose(time_warp(X, 0, sigma=0.0), X, atol=1e-12)


def test_mixup_soft_labels_and_pairs() -> None:
    X = batch(n=32)
    y = np.arange(32) % 4
    xm, ysoft = mixup(X, y, 0, alpha=0.4)
    assert xm.shape == X.shape and ysoft.shape == (32, 4)
    np.testing.assert_allclose(ysoft.sum(1), 1)
    xm2, ya, yb, lam = mixup(X, y, 0, alpha=0.4, return_pairs=True)
    np.testing.assert_array_equal(xm, xm2)
    np.testing.assert_allclose(
        ysoft, lam[:, None] * one_hot(ya, 4) + (1 - lam[:, None]) * one_hot(yb, 4)
    )
    _, same = mixup(X, y, 0, p=0.0)
    np.testing.assert_array_equal(same, one_hot(y))
    with pytest.raises(ConfigError, match="UNLABELLED"):
        mixup(X, np.full(32, -1), 0)
    with pytest.raises(ShapeError, match="rows"):
        mixup(X, y[:3], 0)


def test_augmenter_composes_and_is_reproducible() -> None:
    X = batch()
    y = np.arange(64) % 3
    aug = Augmenter(
        [("noise", {"snr_db": (10, 30)}), "scale", ("rotate", {"max_shift": 1}), "warp", "mixup"],
        p=0.5,
    )
    a, ya = aug(X, y, 7)
    b, yb = aug(X, y, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert a.shape == X.shape and ya.shape == (64, 3)
    untouched = Augmenter(["scale", "dropout"], p=0.0)(X, y, 0)
    np.testing.assert_array_equal(untouched[0], X)
    custom = Augmenter([lambda X, rng: -X], p=1.0)(X, y, 0)
    np.testing.assert_array_equal(custom[0], -X)
    assert "noise" in repr(aug)


def test_augmenter_bad_config() -> None:
    with pytest.raises(ConfigError, match="unknown augmentation"):
        Augmenter(["flip"])
    with pytest.raises(ConfigError, match="snr_db"):
        Augmenter(["noise"])
    with pytest.raises(ConfigError, match="layout"):
        Augmenter(["translate"])
    with pytest.raises(ConfigError, match="probabilities"):
        Augmenter(["scale", "dropout"], p=[0.5])
    with pytest.raises(ConfigError, match="probabilities"):
        Augmenter(["scale"], p=1.5)
    with pytest.raises(ShapeError, match="3-D"):
        Augmenter(["scale"])(np.zeros((4, 10)), np.zeros(4), 0)


def test_as_augmenter_from_plain_data() -> None:
    """A JSON/YAML spec builds the same chain as the Augmenter it describes."""
    X, y = batch(), np.arange(64) % 3
    steps = [["noise", {"snr_db": [10, 30]}], "scale", ["rotate", {"max_shift": 1}]]
    direct = Augmenter([("noise", {"snr_db": (10, 30)}), "scale", ("rotate", {"max_shift": 1})])
    for spec in (steps, {"steps": steps, "p": 0.5}):
        aug = as_augmenter(spec)
        assert aug is not None
        np.testing.assert_array_equal(aug(X, y, 3)[0], direct(X, y, 3)[0])
    per_step = as_augmenter({"steps": ["scale", "dropout"], "p": [1.0, 0.0]})
    assert isinstance(per_step, Augmenter) and per_step.p == [1.0, 0.0]
    assert as_augmenter(None) is None
    assert as_augmenter(direct) is direct


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"stepz": ["scale"]}, "list of steps"),
        ("scale", "callable, a list"),
        ([["noise", 20]], "name, kwargs"),
        (["flip"], "unknown augmentation"),
    ],
)
def test_as_augmenter_bad_spec(spec: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        as_augmenter(spec)
