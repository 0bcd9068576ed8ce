"""Represent steps: every registered step keeps rows aligned, chunking, state, shapes."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import AuxStream
from myoshift.signal import represent
from myoshift.signal.represent import PCA, Spectrogram, Standardize, WaveletPacket
from myoshift.signal.spectral import log_spectrogram
from myoshift.signal.steps import make_step, step_names, steps_from_json, steps_to_json
from myoshift.signal.wavelet import wavelet_packet_image
from myoshift.signal.windows import Windows, make_windows
from tests.conftest import make_recording

FS = 200.0
C = 6
#: parameters for steps whose defaults do not suit the 6-channel test windows
PARAMS: dict[str, dict[str, Any]] = {"pca": {"n_components": 4}}


def _step(name: str) -> Any:
    return make_step("represent", {"name": name, **PARAMS.get(name, {})})


def _windows(seed: int, n_recs: int = 3) -> Windows:
    recs = []
    for i in range(n_recs):
        rec = make_recording(800, C, fs=FS, label=np.arange(800) // 200, seed=seed + i)
        mixing = np.random.default_rng(seed).standard_normal((C, C)) + 2 * np.eye(C)
        rng = np.random.default_rng(seed + i)
        recs.append(
            rec.with_emg(
                (rec.emg @ mixing + 3.0).astype(np.float32),  # correlated channels, offset
                repetition=np.arange(800) // 100,
                aux={"imu": AuxStream(rng.standard_normal((80, 3)), FS / 10)},
            )
        )
    w = make_windows(recs, 200, 50, aux=("imu",))
    return replace(w, extra={"row": np.arange(len(w))})


def _assert_rows_aligned(before: Windows, after: Windows) -> None:
    assert len(after) == len(before)
    np.testing.assert_array_equal(after.y, before.y)
    np.testing.assert_array_equal(after.groups, before.groups)
    assert after.meta.equals(before.meta)
    assert after.extra.keys() == before.extra.keys()
    for key, value in before.extra.items():
        np.testing.assert_array_equal(after.extra[key], value)
    for key, stream in before.aux.items():
        np.testing.assert_array_equal(after.aux[key].X, stream.X)
    assert (after.fs, after.layout, after.class_names) == (
        before.fs,
        before.layout,
        before.class_names,
    )


@pytest.mark.parametrize("name", step_names("represent"))
def test_every_represent_step_keeps_rows_aligned_and_saves_its_state(name: str) -> None:
    step = _step(name)
    train, test = _windows(0), _windows(10)
    step.fit(train)
    out = step.transform(test)
    _assert_rows_aligned(test, out)
    main = np.asarray(out.X)
    assert len(main) == len(test) and np.isfinite(main).all()
    # a window's output depends on that window only: shuffled input, shuffled output
    perm = np.random.default_rng(0).permutation(len(test))
    shuffled = step.transform(test.subset(perm))
    _assert_rows_aligned(test.subset(perm), shuffled)
    np.testing.assert_allclose(np.asarray(shuffled.X), main[perm], rtol=1e-5, atol=1e-5)
    for key in out.aux:
        np.testing.assert_allclose(shuffled.aux[key].X, out.aux[key].X[perm], rtol=1e-5)
    # save and restore reproduce the transform exactly
    docs, arrays = steps_to_json([step])
    (again,) = steps_from_json("represent", json.loads(json.dumps(docs)), arrays)
    restored = again.transform(test)
    np.testing.assert_array_equal(np.asarray(restored.X), main)
    for key in out.aux:
        np.testing.assert_array_equal(restored.aux[key].X, out.aux[key].X)
    assert step.is_causal


@pytest.mark.parametrize("name", step_names("represent"))
def test_chunk_size_does_not_change_the_result(name: str, monkeypatch: Any) -> None:
    train, test = _windows(0), _windows(10)
    ref = _step(name).fit(train)
    ref_out = ref.transform(test)
    monkeypatch.setattr(represent, "CHUNK", 7)
    small = _step(name).fit(train)
    out = small.transform(test)
    for key, value in ref.state().items():
        np.testing.assert_allclose(small.state()[key], value, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.asarray(out.X), np.asarray(ref_out.X), rtol=1e-5, atol=1e-6)


def test_plain_array_windows_work_like_lazy_ones() -> None:
    lazy = _windows(0)
    plain = replace(lazy, X=np.asarray(lazy.X))
    for name in step_names("represent"):
        a = _step(name).fit_transform(lazy)
        b = _step(name).fit_transform(plain)
        np.testing.assert_allclose(np.asarray(a.X), np.asarray(b.X), rtol=1e-6, atol=1e-7)


def test_spectrogram_shape_and_values() -> None:
    w = _windows(0)
    out = Spectrogram(nperseg=16, noverlap=8, fmax=60).transform(w)
    expected = log_spectrogram(np.asarray(w.X), FS, 16, 8, 60, "hann")
    np.testing.assert_allclose(out.X, expected, rtol=1e-6)
    frames = 1 + (w.n_samples - 16) // 8
    freqs = int(np.sum(np.fft.rfftfreq(16, 1 / FS) <= 60))
    assert out.X.shape == (len(w), C, freqs, frames)
    with pytest.raises(ShapeError, match="step 'spectrogram': nperseg = 64 is longer"):
        Spectrogram(nperseg=64).transform(replace(w, X=np.asarray(w.X)[:, :, :40]))


def test_standardize_gives_zero_mean_unit_std_per_channel() -> None:
    w = _windows(0)
    out = np.asarray(Standardize().fit_transform(w).X, dtype=np.float64)
    np.testing.assert_allclose(out.mean(axis=(0, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2)), 1.0, rtol=1e-5)
    # also after a spectrogram (channel axis 1 of 4-D images)
    spec = Spectrogram().transform(w)
    img = np.asarray(Standardize().fit_transform(spec).X, dtype=np.float64)
    np.testing.assert_allclose(img.mean(axis=(0, 2, 3)), 0.0, atol=1e-4)
    with pytest.raises(ShapeError, match="step 'standardize': windows have 3 channels"):
        Standardize().fit(w).transform(replace(w, X=np.asarray(w.X)[:, :3]))


def test_pca_per_time_step_matches_numpy_svd() -> None:
    w = _windows(0)
    step = PCA(n_components=3).fit(w)
    rows = np.moveaxis(np.asarray(w.X, dtype=np.float64), 1, -1).reshape(-1, C)
    centred = rows - rows.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    comps = step.state()["components"]
    np.testing.assert_allclose(np.abs(comps @ vt[:3].T), np.eye(3), atol=1e-6)
    out = np.asarray(step.transform(w).X, dtype=np.float64)
    assert out.shape == (len(w), 3, w.n_samples)
    var = out.transpose(1, 0, 2).reshape(3, -1).var(axis=1, ddof=1)
    np.testing.assert_allclose(var, s[:3] ** 2 / (len(rows) - 1), rtol=1e-4)
    # all components: an orthogonal rotation, the centred data is recovered exactly
    full = PCA(n_components=C).fit(w)
    back = np.einsum("kc,nkt->nct", full.state()["components"], np.asarray(full.transform(w).X))
    np.testing.assert_allclose(back + full.state()["mean"][None, :, None], w.X, atol=1e-3)


def test_pca_flattened_and_its_errors() -> None:
    w = _windows(0)
    out = PCA(n_components=5, mode="flattened").fit_transform(w)
    assert out.X.shape == (len(w), 5, 1)
    with pytest.raises(ConfigError, match="step 'pca': n_components = 7 exceeds the 6"):
        PCA(n_components=7).fit(w)
    big = replace(w, X=np.zeros((4, 64, 200), np.float32))
    with pytest.raises(ConfigError, match="step 'pca': mode='flattened' on windows of 12800"):
        PCA(mode="flattened").fit(big)


def test_wavelet_packet_adds_a_second_input_and_keeps_x() -> None:
    w = _windows(0)
    out = WaveletPacket(level=3, n_segments=4).transform(w)
    assert out.X is w.X and set(out.aux) == {"imu", "wpt"}
    wpt = out.aux["wpt"]
    np.testing.assert_allclose(wpt.X, wavelet_packet_image(np.asarray(w.X), "db4", 3, 4))
    assert wpt.X.shape == (len(w), C, 8, 4)  # lstm-cnn-attention wavelet_shape=(8, 4)
    assert wpt.fs == pytest.approx(4 / (w.n_samples / FS))
    np.testing.assert_array_equal(out.subset([2, 0]).aux["wpt"].X, wpt.X[[2, 0]])
    assert WaveletPacket(key="wp2").transform(out).aux.keys() == {"imu", "wpt", "wp2"}


def test_represent_steps_refuse_other_input() -> None:
    rec = make_recording(400, C, fs=FS)
    with pytest.raises(ConfigError, match="step 'pca': expects Windows, got Recording"):
        PCA().fit(rec)
    w = _windows(0)
    with pytest.raises(ShapeError, match="step 'standardize': got no windows"):
        Standardize().fit(w.subset(np.zeros(0, dtype=int)))
