"""Preprocess steps: every registered step, causal = streaming, errors, dataset-declared."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from scipy import signal as sps

from myoshift.datasets import load_dataset
from myoshift.errors import ConfigError, ShapeError
from myoshift.recording import AuxStream, Recording, RecordingSet
from myoshift.signal import filters
from myoshift.signal.preprocess import BandPass, DCRemove, Notch, ScaleSubject, dataset_preprocess
from myoshift.signal.steps import (
    apply_steps,
    fit_steps,
    make_step,
    make_steps,
    step_names,
    steps_from_json,
    steps_to_json,
)
from tests.conftest import make_recording, require_dataset

FS = 1000.0
#: parameters for steps whose defaults do not suit 1 kHz test data
PARAMS: dict[str, dict[str, Any]] = {"resample": {"fs": 500}}


def _rec(seed: int, subject: int = 1, n: int = 1200, gain: float = 1.0) -> Recording:
    rec = make_recording(n, 4, fs=FS, label=np.arange(n) // 300, seed=seed, subject=subject)
    rng = np.random.default_rng(seed)
    emg = gain * rec.emg + 5.0 + np.linspace(0, 2, n)[:, None]  # offset and drift
    return rec.with_emg(
        emg.astype(np.float32),
        repetition=np.arange(n) // 400,
        aux={"imu": AuxStream(rng.standard_normal((n // 10, 3)), FS / 10)},
    )


def _set(seed: int) -> RecordingSet:
    return RecordingSet([_rec(seed, 1), _rec(seed + 1, 1), _rec(seed + 2, 2, gain=3.0)])


@pytest.mark.parametrize("name", step_names("preprocess"))
def test_every_preprocess_step_keeps_the_recordings(name: str) -> None:
    step = make_step("preprocess", {"name": name, **PARAMS.get(name, {})})
    train, test = _set(0), _set(10)
    step.fit(train)
    out = step.transform(test)
    assert isinstance(out, RecordingSet) and len(out) == len(test)
    for before, after in zip(test, out):
        assert after.emg.dtype == np.float32 and after.emg.shape[1] == before.n_channels
        assert np.isfinite(after.emg).all() and not np.array_equal(after.emg, before.emg)
        assert after.labels.shape == (after.n_samples,)
        assert after.layout == before.layout and after.aux is before.aux
        assert {k: v for k, v in after.meta.items() if k != "fs_original"} == before.meta
        if name != "resample":
            np.testing.assert_array_equal(after.labels, before.labels)
            np.testing.assert_array_equal(after.repetition, before.repetition)
    one = step.transform(test[0])  # a single Recording gives a Recording
    assert isinstance(one, Recording)
    # save and restore reproduce the transform exactly
    docs, arrays = steps_to_json([step])
    (again,) = steps_from_json("preprocess", json.loads(json.dumps(docs)), arrays)
    for a, b in zip(out, again.transform(test)):
        np.testing.assert_array_equal(a.emg, b.emg)


@pytest.mark.parametrize("chunk", [1, 37, 500])
def test_causal_bandpass_equals_streaming_chunk_by_chunk(chunk: int) -> None:
    rec = _rec(3)
    step = BandPass(low=20, high=300)
    offline = step.transform(rec).emg
    stream = step.stream(rec.fs)
    online = np.concatenate(
        [stream.process(rec.emg[i : i + chunk]) for i in range(0, rec.n_samples, chunk)]
    )
    np.testing.assert_allclose(online, offline, rtol=1e-6, atol=1e-6)
    sos = filters.butter_sos(FS, "bandpass", (20, 300), 4)
    zi = sps.sosfilt_zi(sos)[:, :, None] * rec.emg[0].astype(np.float64)
    ref, _ = sps.sosfilt(sos, rec.emg.astype(np.float64), axis=0, zi=zi)
    np.testing.assert_allclose(offline, ref, rtol=1e-5, atol=1e-5)
    assert step.is_causal


def test_zero_phase_bandpass_is_offline_only() -> None:
    rec = _rec(4)
    step = BandPass(low=20, high=300, causal=False)
    expected = filters.bandpass(rec.emg, FS, 20, 300, zero_phase=True)
    np.testing.assert_allclose(step.transform(rec).emg, expected, rtol=1e-6)
    assert not step.is_causal
    with pytest.raises(ConfigError, match="step 'bandpass': causal=False"):
        step.stream(FS)


@pytest.mark.parametrize(
    ("spec", "fs"),
    [
        ({"bandpass": {"low": 20, "high": 450}}, 200.0),
        ({"lowpass": {"cutoff": 100}}, 200.0),
        ({"highpass": {"cutoff": 600}}, 1000.0),
        ({"notch": {"freq": 50}}, 100.0),
    ],
)
def test_cutoff_at_or_above_nyquist_names_step_and_rate(spec: dict[str, Any], fs: float) -> None:
    step = make_step("preprocess", spec)
    with pytest.raises(ConfigError) as info:
        step.transform(make_recording(400, 2, fs=fs))
    text = str(info.value)
    assert text.startswith(f"step {step.name!r}: cannot filter data sampled at {fs:g} Hz")
    assert "Nyquist" in text and "\n" not in text


def test_bad_input_type_and_empty_recording() -> None:
    with pytest.raises(ConfigError, match="step 'notch': expects a Recording or RecordingSet"):
        Notch().transform(np.zeros((10, 2)))
    empty = make_recording(0, 2, fs=FS)
    with pytest.raises(ShapeError, match="step 'bandpass': .* has no samples"):
        BandPass().transform(empty)


def test_dc_remove_takes_out_offset_and_drift() -> None:
    rec = _rec(5, n=20000)
    out = DCRemove(cutoff=1.0).transform(rec).emg
    raw_mean = np.abs(rec.emg.mean(axis=0))
    assert (raw_mean > 5).all()
    assert (np.abs(out[2000:].mean(axis=0)) < 0.05).all()  # after a 2 s settling time
    # the band above the cut-off passes: the unit white noise keeps nearly all its power
    assert np.std(out[2000:]) == pytest.approx(1.0, rel=0.05)


def test_notch_removes_mains_only() -> None:
    t = np.arange(4000) / FS
    mains, emg = np.sin(2 * np.pi * 50 * t), np.sin(2 * np.pi * 80 * t)
    rec = make_recording(4000, 1, fs=FS).with_emg((mains + emg)[:, None].astype(np.float32))
    out = Notch(freq=50, harmonics=1).transform(rec).emg[2000:, 0]
    assert np.std(out - emg[2000:]) < 0.05


def test_scale_subject_uses_each_subjects_own_scale() -> None:
    train, test = _set(0), _set(20)
    step = ScaleSubject().fit(train)
    out = step.transform(test)
    for subject in (1, 2):
        x = np.concatenate([r.emg for r in out if r.meta["subject"] == subject])
        mad = 1.4826 * np.median(np.abs(x - np.median(x, axis=0)), axis=0)
        np.testing.assert_allclose(mad, 1.0, rtol=1e-3)
    # stateless: the result does not depend on the training set
    other = ScaleSubject().fit(_set(50)).transform(test)
    for a, b in zip(out, other):
        np.testing.assert_array_equal(a.emg, b.emg)
    dead = make_recording(100, 2, fs=FS).with_emg(np.zeros((100, 2), np.float32))
    np.testing.assert_array_equal(ScaleSubject().transform(dead).emg, 0.0)
    assert not ScaleSubject().is_causal


def test_resample_changes_rate_and_keeps_labels_on_the_clock() -> None:
    rec = _rec(6)
    out = make_step("preprocess", {"resample": {"fs": 500}}).transform(rec)
    assert out.fs == 500.0 and out.n_samples == rec.n_samples // 2
    np.testing.assert_array_equal(out.labels, np.arange(out.n_samples) // 150)


def test_dataset_preprocess_reads_the_dataset_declaration() -> None:
    specs = dataset_preprocess("flexemg")
    assert specs == [{"dc-remove": {"cutoff": 1.0}}, {"bandpass": {"low": 20, "high": 450}}]
    assert [s.name for s in make_steps("preprocess", specs)] == ["dc-remove", "bandpass"]
    specs[0]["dc-remove"]["cutoff"] = 9.0  # a copy: the dataset's declaration is unchanged
    assert dataset_preprocess("flexemg")[0] == {"dc-remove": {"cutoff": 1.0}}
    assert dataset_preprocess("uci-gestures") == []
    assert dataset_preprocess(_set(0)) == []  # recordings of an unregistered dataset
    flex = make_recording(10, 2, fs=FS).with_emg(np.zeros((10, 2), np.float32))
    flex.meta["dataset"] = "flexemg"
    assert dataset_preprocess(flex) == dataset_preprocess("flexemg")
    with pytest.raises(ConfigError, match="declare different preprocessing"):
        dataset_preprocess(RecordingSet([flex, make_recording(10, 2, dataset="uci-gestures")]))
    with pytest.raises(ConfigError, match="unknown dataset 'nope'"):
        dataset_preprocess("nope")


def test_flexemg_declared_preprocessing_removes_the_drift() -> None:
    folder = require_dataset("flexemg")
    rset = load_dataset("flexemg", subjects=[1], data_dir=folder.parent)
    sessions = [rset.select(session=s) for s in (1, 2)]
    assert all(len(s) for s in sessions)
    steps = make_steps("preprocess", dataset_preprocess(rset))
    for raw in sessions:
        clean = fit_steps(steps, raw)
        raw_means = np.stack([r.emg.mean(axis=0) for r in raw])  # (trials, channels)
        clean_means = np.stack([r.emg.mean(axis=0) for r in clean])
        raw_spread = np.ptp(raw_means, axis=0)  # offset drift across trials, per channel
        assert np.median(np.abs(raw_means)) > 10.0  # tens of mV of offset
        assert np.abs(clean_means).max() < 0.01 * np.median(raw_spread)
        assert np.median([r.emg.std() for r in clean]) > 0.01  # the EMG itself is kept
    again = apply_steps(steps, sessions[0][:1])
    np.testing.assert_array_equal(again[0].emg, fit_steps(steps, sessions[0][:1])[0].emg)
