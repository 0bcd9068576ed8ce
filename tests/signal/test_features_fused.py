"""The fused compiled Hudgins TD kernels (optional numba) against the NumPy path.

Both kernels compute sum|x|, sum|dx| and the ZC and SSC counts in one read: over a window
array (``extract_features``) and into block sums of continuous signals
(``features_from_signal(s)``). The numba parts skip when numba is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from myoshift.signal.features import _accel, extract_features, features_from_signals

HTD_LIKE = ["mav", "zc", "ssc", "wl", "iav", "mfl", "mavfd"]
THRESHOLDS = [{}, {"zc_threshold": 1.5, "ssc_threshold": 0.5}]

needs_numba = pytest.mark.skipif(
    not _accel.AVAILABLE, reason="numba not installed (or MYOSHIFT_NO_NUMBA=1)"
)


def spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count the calls of ``_accel.<name>`` (so a test knows the fused kernel ran)."""
    calls: list[int] = []
    real = getattr(_accel, name)

    def wrapped(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_accel, name, wrapped)
    return calls


def signal(rng: np.random.Generator, n: int, c: int, kind: str) -> np.ndarray:
    """Gaussian noise, or small integers (exact zeros and flat steps: the ZC/SSC edge cases)."""
    if kind == "int":
        return rng.integers(-3, 4, size=(n, c)).astype(np.float64)
    return rng.standard_normal((n, c)) * 3 + 0.5


def numpy_path(monkeypatch: pytest.MonkeyPatch, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_accel, "ENABLED", False)
    try:
        return fn(*args, **kwargs)
    finally:
        monkeypatch.setattr(_accel, "ENABLED", _accel.AVAILABLE)


@needs_numba
@pytest.mark.parametrize("params", THRESHOLDS)
@pytest.mark.parametrize("n_samples", [2, 3, 4, 17, 200])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16])
def test_fused_window_kernel_equals_numpy(
    monkeypatch: pytest.MonkeyPatch, params: dict, n_samples: int, dtype: type
) -> None:
    rng = np.random.default_rng(n_samples)
    x = np.stack([signal(rng, n_samples, 3, k).T for k in ("int", "normal") * 20])
    x = (x * 7 if dtype is np.int16 else x).astype(dtype)
    names = HTD_LIKE if n_samples >= 3 else [f for f in HTD_LIKE if f != "ssc"]
    calls = spy(monkeypatch, "row_htd")
    monkeypatch.setattr(_accel, "ENABLED", True)
    fused, cols = extract_features(x, names, **params)
    assert calls, "the fused kernel was not used"
    ref, ref_cols = numpy_path(monkeypatch, extract_features, x.astype(np.float64), names, **params)
    assert cols == ref_cols
    np.testing.assert_allclose(fused, ref, rtol=1e-12, atol=1e-12)
    counts = [i for i, c in enumerate(cols) if c.startswith(("zc", "ssc"))]
    np.testing.assert_array_equal(fused[:, counts], ref[:, counts])


@needs_numba
def test_fused_window_kernel_only_for_its_features(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(1).standard_normal((5, 2, 50))
    calls = spy(monkeypatch, "row_htd")
    monkeypatch.setattr(_accel, "ENABLED", True)
    extract_features(x, ["mav", "rms"])
    assert not calls
    with pytest.raises(Exception, match="NaN"):
        bad = x.copy()
        bad[3, 1, 7] = np.nan
        extract_features(bad, "hudgins-td")


@needs_numba
@pytest.mark.parametrize("params", THRESHOLDS)
@pytest.mark.parametrize(
    ("window", "step"),
    [(50, 25), (50, 7), (33, 33), (40, 60), (20, 8), (10, 4), (3, 1), (7, 2), (200, 100)],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_running_sums_equal_windows(
    monkeypatch: pytest.MonkeyPatch, params: dict, window: int, step: int, dtype: type
) -> None:
    rng = np.random.default_rng(window * 100 + step)
    # lengths that are and are not multiples of the block size, one without any window
    sigs = [
        signal(rng, n, 4, k).astype(dtype)
        for n, k in ((701, "int"), (window, "normal"), (window - 1, "int"), (640, "normal"))
    ]
    calls = spy(monkeypatch, "block_htd")
    monkeypatch.setattr(_accel, "ENABLED", True)
    fused, cols = features_from_signals(sigs, window, step, HTD_LIKE, **params)
    assert calls, "the fused kernel was not used"
    run_np, _ = numpy_path(
        monkeypatch, features_from_signals, sigs, window, step, HTD_LIKE, **params
    )
    views = [
        np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), window, axis=0)[::step]
        for x in sigs
        if len(x) >= window
    ]
    ref, ref_cols = numpy_path(
        monkeypatch, extract_features, np.concatenate(views), HTD_LIKE, **params
    )
    assert cols == ref_cols and fused.shape == ref.shape
    np.testing.assert_allclose(fused, ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fused, run_np, rtol=1e-9, atol=1e-9)
    counts = [i for i, c in enumerate(cols) if c.startswith(("zc", "ssc"))]
    np.testing.assert_array_equal(fused[:, counts], ref[:, counts])


@needs_numba
def test_fused_running_sums_with_explicit_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    x = signal(rng, 900, 3, "int")
    starts = np.array([0, 30, 90, 600, 700])
    monkeypatch.setattr(_accel, "ENABLED", True)
    fused, _ = features_from_signals([x], 200, 10, "hudgins-td", starts=[starts])
    view = np.lib.stride_tricks.sliding_window_view(x, 200, axis=0)[starts]
    ref, _ = numpy_path(monkeypatch, extract_features, view, "hudgins-td")
    np.testing.assert_allclose(fused, ref, rtol=1e-9, atol=1e-9)
    with pytest.raises(Exception, match="NaN"):
        x[650, 1] = np.inf
        features_from_signals([x], 200, 10, "hudgins-td", starts=[starts])


def test_no_numba_environment_variable() -> None:
    """``MYOSHIFT_NO_NUMBA=1`` turns the kernels off and the NumPy path still works."""
    code = (
        "import numpy as np\n"
        "from myoshift.signal.features import _accel, extract_features, features_from_signal\n"
        "assert not _accel.enabled()\n"
        "x = np.random.default_rng(0).standard_normal((300, 2))\n"
        "a = features_from_signal(x, 50, 25, 'hudgins-td')[0]\n"
        "w = np.lib.stride_tricks.sliding_window_view(x, 50, axis=0)[::25]\n"
        "np.testing.assert_allclose(a, extract_features(w, 'hudgins-td')[0], rtol=1e-9)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "MYOSHIFT_NO_NUMBA": "1", "PYTHONPATH": str(root / "src")}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
