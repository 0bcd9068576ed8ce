"""`Recognizer`: streaming equals the offline path, vote, rejection, overload, bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from myoshift.errors import ConfigError, ModelFileError, ShapeError
from myoshift.evaluation.metrics import majority_vote
from myoshift.realtime.buffer import RingBuffer
from myoshift.realtime.decision import find_faults, hold_last_finite, vote
from myoshift.realtime.model import INPUT_INFO, stream_model, write_input_info
from myoshift.realtime.recognizer import Recognizer
from myoshift.recording import Recording
from tests.conftest import require_dataset
from tests.realtime.conftest import chunked, fit_chain


def stream(rec: Recognizer, emg: np.ndarray, sizes: list[int]) -> list[Any]:
    out = []
    for chunk in chunked(emg, sizes):
        out += rec.push(chunk)
    return out


def offline(chain: Any, rec: Recording, fs: float | None = None) -> tuple[np.ndarray, ...]:
    """``chain.predict`` on every window of ``rec`` (all labelled, so none is dropped)."""
    every = replace(rec, labels=np.zeros(rec.n_samples, dtype=np.int64))
    starts = chain.windows(every).meta["start"].to_numpy()
    return starts, chain.predict(every), chain.predict_proba(every).max(axis=1)


def assert_same(decisions: list[Any], chain: Any, rec: Recording, step: int) -> None:
    starts, labels, proba = offline(chain, rec)
    assert [d.window for d in decisions] == list(starts // step)
    np.testing.assert_array_equal([d.raw_label for d in decisions], labels)
    np.testing.assert_array_equal([d.label for d in decisions], labels)
    np.testing.assert_allclose([d.probability for d in decisions], proba, rtol=0, atol=1e-5)


# ---------------------------------------------------------------------------- equality
@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 120), min_size=1, max_size=12).filter(any))
def test_any_chunking_gives_the_offline_decisions(
    lda_chain: Any, held_out: Any, sizes: Any
) -> None:
    rec = Recognizer(lda_chain)
    decisions = stream(rec, held_out.emg, sizes)
    assert_same(decisions, lda_chain, held_out, rec.model.step)
    assert rec.stats.decisions == rec.stats.windows == len(decisions)
    assert rec.stats.dropped == 0


def test_one_inference_per_push(lda_chain: Any, held_out: Any) -> None:
    rec = Recognizer(lda_chain)
    decisions = rec.push(held_out.emg)  # one push completes every window
    assert len(decisions) > 300 and rec.stats.inferences == 2  # max_batch=256 per call
    rec = Recognizer(lda_chain, max_batch=1000)
    rec.warm_up()  # a zero window through the estimator: no state, no counts
    assert rec.stats.inferences == 0 and rec._ring is None
    assert len(rec.push(held_out.emg)) == len(decisions) and rec.stats.inferences == 1


def test_memory_is_bounded(lda_chain: Any, held_out: Any) -> None:
    rec = Recognizer(lda_chain, vote=3)
    for _ in range(3):
        stream(rec, held_out.emg, [37])
    assert rec._ring is not None and rec._ring.capacity == rec.model.window
    assert len(rec._history) == 3
    assert rec.stats.samples == 3 * held_out.n_samples


def test_timestamps_give_window_end_times(lda_chain: Any, held_out: Any) -> None:
    rec = Recognizer(lda_chain)
    emg, fs = held_out.emg[:600], held_out.fs
    t = 100.0 + np.arange(len(emg)) / fs
    a = rec.push(emg[:250], t[:250])
    b = rec.push(emg[250:], t[-1])  # the time of the chunk's last sample only
    ends = [d.window * rec.model.step + rec.model.window - 1 for d in a + b]
    np.testing.assert_allclose([d.t_end for d in a + b], t[ends])


# ---------------------------------------------------------------------------- real data
REAL = {
    "libemg-onesubject": ("OneSubjectMyoDataset", None),
    "myoarmband": ("MyoArmbandDataset", ["eval-Female0"]),
    "uci-gestures": ("UCI_EMG_data_for_gestures", [1]),
}


@pytest.fixture(scope="module")
def deep_chain() -> Any:
    """A tiny TCN (1 epoch) fitted on one libemg-onesubject trial; 8 channels at 200 Hz."""
    require_dataset("OneSubjectMyoDataset")
    from myoshift.datasets import get_dataset

    rs = get_dataset("libemg-onesubject").load()
    small = {"epochs": 1, "step_ms": 100, "threads": 1}
    small["model_params"] = {"width": 8, "dilations": [1, 2]}
    return fit_chain("tcn", [r for r in rs if r.meta["trial"] == 1][:5], **small)


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(REAL))
@pytest.mark.usefixtures("one_torch_thread")
def test_streaming_equals_offline_on_real_recordings(name: str, deep_chain: Any) -> None:
    from myoshift.datasets import get_dataset

    folder, subjects = REAL[name]
    require_dataset(folder)
    rs = list(get_dataset(name).load(subjects))
    half = len(rs) // 2
    emg = np.concatenate([r.emg for r in rs[half:]])[:3000]  # held out, as one stream
    test = Recording(emg, rs[0].fs, np.zeros(len(emg), dtype=np.int64), rs[0].layout)
    train = rs[: min(half, 12)]
    rng = np.random.default_rng(0)
    for chain, fs in ((fit_chain("lda-td", train), None), (deep_chain, 200.0)):
        rec = Recognizer(chain, fs=fs)
        sizes = [int(n) for n in rng.integers(1, 90, size=20)]
        decisions = stream(rec, test.emg, sizes)
        assert len(decisions) >= 50
        assert_same(decisions, chain, test, rec.model.step)


# ---------------------------------------------------------------------------- vote, rejection
def test_vote_is_the_causal_majority_vote(lda_chain: Any, held_out: Any) -> None:
    raw = [d.raw_label for d in Recognizer(lda_chain).push(held_out.emg)]
    voted = [d.label for d in Recognizer(lda_chain, vote=5).push(held_out.emg)]
    np.testing.assert_array_equal(voted, majority_vote(np.asarray(raw), n=5))
    assert voted != raw  # the vote changed something on this recording


def test_vote_ties_and_no_decision() -> None:
    assert vote([3, 1, 3, 1]) == 1  # ties to the smallest code
    assert vote([None, 2, None, 2]) is None  # "no decision" wins a tie
    assert vote([None, 2, 2]) == 2
    assert vote([]) is None


def test_rejection_gives_no_decision_below_the_threshold(lda_chain: Any, held_out: Any) -> None:
    rec = Recognizer(lda_chain, reject_below=0.9)
    decisions = rec.push(held_out.emg)
    low = [d for d in decisions if d.probability < 0.9]
    assert low and all(d.label is None and d.raw_label is not None for d in low)
    assert all(d.label == d.raw_label for d in decisions if d.probability >= 0.9)
    assert rec.stats.rejected == len(low)
    assert json.loads(json.dumps(low[0].to_dict()))["label"] is None


# ---------------------------------------------------------------------------- overload
def test_burst_in_realtime_mode_drops_old_windows_and_counts_them(
    lda_chain: Any, held_out: Any
) -> None:
    rec = Recognizer(lda_chain, realtime=True, max_latency_s=0.1)
    decisions = rec.push(held_out.emg)  # ten seconds arriving at once
    fs = held_out.fs
    assert 0 < len(decisions) <= 0.1 * fs / rec.model.step + 1
    assert decisions[0].dropped == rec.stats.dropped > 0
    assert sum(d.dropped for d in decisions) == rec.stats.dropped
    assert rec.stats.dropped + rec.stats.decisions == rec.stats.windows
    assert max(d.latency_s for d in decisions) <= 0.1 + 0.05  # a loaded machine's slack
    assert decisions[-1].window == rec.stats.windows - 1  # the newest window is decided


class SlowEstimator:
    """Wraps an estimator; every window it decides advances a fake clock by ``cost``."""

    def __init__(self, inner: Any, clock: list[float], cost: float) -> None:
        self.inner, self.clock, self.cost = inner, clock, cost
        self.classes_ = inner.classes_

    def predict_proba(self, X: Any) -> Any:
        self.clock[0] += self.cost * len(X)
        return self.inner.predict_proba(X)


def test_slow_inference_keeps_latency_bounded(lda_chain: Any, held_out: Any) -> None:
    now = [0.0]
    chain = lda_chain.copy()
    chain.estimator_ = SlowEstimator(lda_chain.estimator_, now, cost=0.02)  # 20 ms / window
    clock = {"fs": 200.0, "clock": lambda: now[0]}
    rec = Recognizer(chain, realtime=True, max_latency_s=0.1, **clock)
    latencies = []
    for chunk in chunked(held_out.emg, [40]):  # 200 ms of samples per push: 8 windows
        latencies += [d.latency_s for d in rec.push(chunk)]
    assert rec.stats.dropped > 0
    assert rec.stats.dropped + rec.stats.decisions == rec.stats.windows
    assert max(latencies[8:]) <= 0.1 + 1e-9  # once the cost is known, within the bound
    lazy = Recognizer(chain, realtime=False, **clock)
    late = [d.latency_s for c in chunked(held_out.emg, [40]) for d in lazy.push(c)]
    assert lazy.stats.dropped == 0 and max(late) > 0.2  # without realtime mode: late


# ---------------------------------------------------------------------------- bad input
def test_wrong_channel_count_is_one_line_and_harmless(lda_chain: Any, held_out: Any) -> None:
    rec = Recognizer(lda_chain)
    first = rec.push(held_out.emg[:500])
    with pytest.raises(ShapeError, match="chunk has 7 channels, the model .* takes 8"):
        rec.push(held_out.emg[500:600, :7])
    with pytest.raises(ShapeError, match="2-D"):
        rec.push(held_out.emg[0])
    rest = rec.push(held_out.emg[500:])
    assert_same(first + rest, lda_chain, held_out, rec.model.step)


def test_nan_chunk_raises_without_consuming_it(lda_chain: Any, held_out: Any) -> None:
    rec = Recognizer(lda_chain, on_fault="raise")
    bad = held_out.emg[500:600].copy()
    bad[10:13, 2] = np.nan
    first = rec.push(held_out.emg[:500])
    with pytest.raises(ShapeError) as err:
        rec.push(bad)
    assert "3 samples with NaN or Inf values from sample 510 on channels [2]" in str(err.value)
    assert "\n" not in str(err.value)
    assert_same(first + rec.push(held_out.emg[500:]), lda_chain, held_out, rec.model.step)


def test_nan_and_saturation_are_reported_and_the_stream_goes_on(
    lda_chain: Any, held_out: Any
) -> None:
    emg = held_out.emg.copy()
    emg[700:705, 1] = np.nan
    emg[1200, 4] = 50.0
    rec = Recognizer(lda_chain, saturation=40.0)
    decisions = stream(rec, emg, [50])
    faults = rec.pop_faults()
    assert [(f.kind, f.first, f.n_samples, f.channels) for f in faults] == [
        ("nan", 700, 5, (1,)),
        ("saturated", 1200, 1, (4,)),
    ]
    assert rec.pop_faults() == []
    w = rec.model.window
    for d in decisions:
        start = d.window * rec.model.step
        nan = start <= 704 and start + w > 700
        sat = start <= 1200 < start + w
        assert d.fault == ("nan" if nan else "saturated" if sat else None)
        assert (d.label is None) == (nan or sat)
        assert np.isfinite(d.probability) != (nan or sat)
    assert rec.stats.faulty_windows == sum(d.fault is not None for d in decisions)
    assert decisions[-1].label is not None  # the filters stayed finite after the NaN


def test_options_are_checked(lda_chain: Any) -> None:
    for kwargs, message in [
        ({"vote": 0}, "vote must be"),
        ({"reject_below": 1.5}, "reject_below must be"),
        ({"max_latency_s": 0}, "max_latency_s must be"),
        ({"saturation": -1.0}, "saturation must be"),
        ({"on_fault": "ignore"}, "on_fault must be"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Recognizer(lda_chain, **kwargs)


@pytest.mark.parametrize(
    ("preprocess", "message"),
    [
        (["scale-subject"], "step 0 'scale-subject' is not a causal filter"),
        ([{"bandpass": {"low": 20, "high": 90, "causal": False}}], "'bandpass' is not a causal"),
    ],
)
def test_non_causal_preprocessing_is_refused(
    synthetic: Any, preprocess: list[Any], message: str
) -> None:
    chain = fit_chain("lda-td", synthetic[:2], preprocess=preprocess)
    with pytest.raises(ConfigError, match=message):
        Recognizer(chain)
    assert stream_model(chain, streaming=False).fs == 200.0  # offline use is fine


def test_a_deep_chain_records_its_rate(deep_chain: Any) -> None:
    """Chains record the rate of their input; one saved before that needs it given."""
    import copy

    assert Recognizer(deep_chain).model.fs == deep_chain.fs_
    old = copy.deepcopy(deep_chain)
    del old.fs_, old.n_channels_
    with pytest.raises(ConfigError, match="does not record its sampling rate"):
        Recognizer(old)


# ---------------------------------------------------------------------------- saved models
def test_load_from_folder_and_refuse_bad_folders(
    lda_chain: Any, held_out: Any, tmp_path: Path
) -> None:
    folder = lda_chain.save(tmp_path / "m")
    write_input_info(folder, stream_model(lda_chain, class_names=("rest", "a")))
    rec = Recognizer.load(folder)
    assert rec.model.class_names == ("rest", "a") and rec.model.n_channels == 8
    assert_same(stream(rec, held_out.emg, [33]), lda_chain, held_out, rec.model.step)
    with pytest.raises(ModelFileError, match="no such model folder"):
        Recognizer.load(tmp_path / "none")
    with pytest.raises(ConfigError, match="takes 200 Hz input, not 1000 Hz"):
        Recognizer.load(folder, fs=1000.0)
    info = json.loads((folder / INPUT_INFO).read_text())
    (folder / INPUT_INFO).write_text(json.dumps({**info, "n_channels": 7}))
    with pytest.raises(ModelFileError, match="takes \\[8\\] channels"):
        Recognizer.load(folder)
    (folder / INPUT_INFO).write_text(json.dumps({**info, "estimator_json_sha256": "0" * 64}))
    with pytest.raises(ModelFileError, match="belongs to another model"):
        Recognizer.load(folder)
    (folder / INPUT_INFO).write_text("{")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        Recognizer.load(folder)


# ---------------------------------------------------------------------------- ring buffer
def test_ring_buffer_keeps_the_last_samples_in_order() -> None:
    ring = RingBuffer(5, 2)
    data = np.arange(26, dtype=np.float32).reshape(13, 2)
    ring.extend(data[:3])
    ring.extend(data[3:4])
    np.testing.assert_array_equal(ring.since(0), data[:4])
    ring.extend(data[4:13])  # wraps, and a chunk longer than the capacity
    assert (ring.first, ring.total) == (8, 13)
    np.testing.assert_array_equal(ring.since(9), data[9:13])
    assert ring.since(13).shape == (0, 2)
    with pytest.raises(ShapeError, match="not held"):
        ring.since(7)
    with pytest.raises(ShapeError, match="takes \\(n, 2\\)"):
        ring.extend(data[:, :1])
    with pytest.raises(ConfigError):
        RingBuffer(0, 2)


def test_nan_samples_hold_the_last_finite_value() -> None:
    x = np.array([[np.nan, 1.0], [2.0, np.inf], [np.nan, np.nan], [4.0, 5.0]])
    held = hold_last_finite(x, np.array([9.0, 8.0]))
    np.testing.assert_array_equal(held, [[9, 1], [2, 1], [2, 1], [4, 5]])
    codes, faults = find_faults(np.array([[0.0, 3.0], [np.nan, 0.0]]), 3.0, 100)
    assert codes.tolist() == [2, 1]
    assert [(f.kind, f.first, f.channels) for f in faults] == [
        ("nan", 101, (0,)),
        ("saturated", 100, (1,)),
    ]
