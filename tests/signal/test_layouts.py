import numpy as np
import pytest

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import Layout
from myoshift.signal.layouts import (
    from_image,
    reshape_channels,
    rotate_ring,
    to_image,
    translate_grid,
)


def ramp(n: int = 2, c: int = 8, t: int = 5) -> np.ndarray:
    """Window i, channel c, sample t holds 100 * i + c + t / 10 (easy to read back)."""
    i, ch, tt = np.meshgrid(np.arange(n), np.arange(c), np.arange(t), indexing="ij")
    return (100.0 * i + ch + tt / 10.0).astype(np.float32)


def test_to_image_ring_and_grid_with_channel_map() -> None:
    X = ramp(c=6)
    img = to_image(X, Layout.ring(6))
    assert img.shape == (2, 1, 6, 5)
    np.testing.assert_array_equal(img[:, 0], X)
    cmap = [[5, 3, -1], [0, 1, 2], [-1, 4, -1]]
    layout = Layout.grid(3, 3, cmap)
    img = to_image(X, layout, fill=-7.0)
    assert img.shape == (2, 3, 3, 5) and img.dtype == np.float32
    for r in range(3):
        for c in range(3):
            ch = cmap[r][c]
            want = np.full((2, 5), -7.0) if ch < 0 else X[:, ch]
            np.testing.assert_array_equal(img[:, r, c], want)
    np.testing.assert_array_equal(from_image(img, layout), X)


def test_to_image_row_major_grid_equals_reshape() -> None:
    X = ramp(c=64)
    np.testing.assert_array_equal(to_image(X, Layout.grid(16, 4)), reshape_channels(X, (16, 4)))


def test_reshape_channels_hd_and_padding() -> None:
    X = ramp(c=192, t=3)
    img = reshape_channels(X, (8, 24))
    assert img.shape == (2, 8, 24, 3)
    np.testing.assert_array_equal(img[:, 1, 0], X[:, 24])
    padded = reshape_channels(ramp(c=10), (3, 4), pad=True)
    assert padded.shape == (2, 3, 4, 5) and (padded[:, 2, 2:] == 0).all()
    with pytest.raises(ShapeError, match="pad=True"):
        reshape_channels(ramp(c=10), (3, 4))
    with pytest.raises(ShapeError):
        reshape_channels(ramp(c=10), (2, 4), pad=True)


def test_rotate_ring_integer_equals_roll() -> None:
    X = ramp()
    for k in (-9, -1, 0, 1, 3, 8):
        np.testing.assert_array_equal(rotate_ring(X, k), np.roll(X, k, axis=1))
    out = rotate_ring(X, np.array([1, -2]))
    np.testing.assert_array_equal(out[0], np.roll(X[0], 1, axis=0))
    np.testing.assert_array_equal(out[1], np.roll(X[1], -2, axis=0))


def test_rotate_ring_fractional_interpolates_neighbours() -> None:
    X = ramp(n=1, t=1).astype(np.float64)
    out = rotate_ring(X, 0.25)
    expected = 0.75 * X + 0.25 * np.roll(X, 1, axis=1)
    np.testing.assert_allclose(out, expected)
    # k = 2.5 lies halfway between the rotations by 2 and by 3
    np.testing.assert_allclose(rotate_ring(X, 2.5), 0.5 * (np.roll(X, 2, 1) + np.roll(X, 3, 1)))
    np.testing.assert_allclose(rotate_ring(X, -0.5), 0.5 * (X + np.roll(X, -1, 1)))


def test_translate_grid_zero_and_edge() -> None:
    layout = Layout.grid(2, 3)  # channels 0 1 2 / 3 4 5
    X = ramp(n=1, c=6, t=1)[..., 0:1]
    down = translate_grid(X, layout, dr=1, dc=0)[0, :, 0]
    np.testing.assert_array_equal(down, [0, 0, 0, 0, 1, 2])
    right = translate_grid(X, layout, dr=0, dc=1, mode="edge")[0, :, 0]
    np.testing.assert_array_equal(right, [0, 0, 1, 3, 3, 4])
    left_up = translate_grid(X, layout, dr=-1, dc=-1)[0, :, 0]
    np.testing.assert_array_equal(left_up, [4, 5, 0, 0, 0, 0])
    np.testing.assert_array_equal(translate_grid(X, layout), X)


def test_translate_grid_per_window_and_channel_map() -> None:
    layout = Layout.grid(2, 2, [[3, 2], [1, 0]])
    X = ramp(n=2, c=4, t=2)
    out = translate_grid(X, layout, dr=np.array([0, 1]), dc=np.array([1, 0]))
    img_in, img_out = to_image(X, layout), to_image(out, layout)
    np.testing.assert_array_equal(img_out[0, :, 1], img_in[0, :, 0])
    np.testing.assert_array_equal(img_out[0, :, 0], 0)
    np.testing.assert_array_equal(img_out[1, 1, :], img_in[1, 0, :])


def test_bad_layout_input() -> None:
    with pytest.raises(ShapeError, match="channels"):
        to_image(ramp(c=6), Layout.grid(2, 2))
    with pytest.raises(ConfigError, match="grid"):
        translate_grid(ramp(), Layout.ring(8), 1, 0)
    with pytest.raises(ConfigError, match="integer"):
        translate_grid(ramp(c=4), Layout.grid(2, 2), 0.5, 0)
    with pytest.raises(ShapeError, match="3-D"):
        rotate_ring(np.zeros((8, 5)), 1)
    with pytest.raises(ShapeError, match="one value per window"):
        rotate_ring(ramp(), np.array([1, 2, 3]))
    with pytest.raises(ShapeError, match="NaN"):
        rotate_ring(np.full((1, 8, 2), np.nan), 1)


def test_rotate_ring_per_window_equals_one_by_one() -> None:
    X = np.random.default_rng(0).standard_normal((5, 8, 7)).astype(np.float32)
    k = np.array([0.0, 1.5, -2.25, 3.0, -0.75])
    out = rotate_ring(X, k)
    assert out.dtype == np.float32
    for i in range(5):
        np.testing.assert_allclose(out[i], rotate_ring(X[i : i + 1], k[i])[0], rtol=1e-6)
