"""Sources: file loading, replay speed, the callback queue, the loop, LSL in and out."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from myoshift.errors import ConfigError, DataFormatError, DataNotFoundError, ShapeError
from myoshift.realtime.decision import Decision
from myoshift.realtime.lsl import LSLSink, LSLSource, lsl_unavailable
from myoshift.realtime.recognizer import Recognizer
from myoshift.realtime.sources import CallbackSource, Chunk, StreamError, load_samples, replay, run

DATA = np.arange(40, dtype=np.float32).reshape(10, 4) - 7.5


# ---------------------------------------------------------------------------- files
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("a.csv", "\n".join(",".join(str(v) for v in row) for row in DATA)),
        ("b.csv", "c1;c2;c3;c4\n" + "\n".join(";".join(str(v) for v in row) for row in DATA)),
        ("c.txt", "\n".join("\t".join(str(v) for v in row) for row in DATA) + "\n\n"),
        ("d.txt", "\n".join("  ".join(str(v) for v in row) for row in DATA)),
    ],
)
def test_text_files_load_as_samples_by_channels(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    out = load_samples(path)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, DATA)


def test_npy_loads_and_bad_files_are_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", DATA.astype(np.int16))
    np.testing.assert_array_equal(load_samples(tmp_path / "x.npy"), DATA.astype(np.int16))
    np.save(tmp_path / "one.npy", DATA[:, 0])
    np.save(tmp_path / "obj.npy", np.array(["a", "b"]))
    (tmp_path / "ragged.csv").write_text("1,2,3\n4,5\n")
    (tmp_path / "words.csv").write_text("a,b\n1,x\n")
    (tmp_path / "empty.txt").write_text("\n")
    (tmp_path / "x.wav").write_bytes(b"RIFF")
    cases = [
        ("missing.csv", DataNotFoundError, "no such file"),
        ("one.npy", DataFormatError, "has shape \\(10,\\); expected \\(samples, channels\\)"),
        ("obj.npy", DataFormatError, "holds <U1 values"),
        ("ragged.csv", DataFormatError, "different numbers of columns \\[2, 3\\]"),
        ("words.csv", DataFormatError, "non-numeric value"),
        ("empty.txt", DataFormatError, "is empty"),
        ("x.wav", DataFormatError, "unknown suffix '.wav'"),
    ]
    for name, error, message in cases:
        with pytest.raises(error, match=message) as err:
            load_samples(tmp_path / name)
        assert name in str(err.value) and "\n" not in str(err.value)


# ---------------------------------------------------------------------------- replay
class FakeTime:
    """A clock that only moves when `sleep` is called."""

    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_replay_releases_chunks_at_speed(speed: float) -> None:
    data = np.zeros((1000, 2), dtype=np.float32)
    fake = FakeTime()
    times, chunks = [], []
    for chunk in replay(data, 200.0, speed=speed, chunk_ms=25, clock=fake.clock, sleep=fake.sleep):
        times.append(fake.now)
        chunks.append(chunk.samples)
    assert [len(c) for c in chunks] == [5] * 200
    # chunk k is released when its last sample would have been acquired
    np.testing.assert_allclose(times, np.arange(1, 201) * 5 / 200.0 / speed)


def test_replay_as_fast_as_possible_never_sleeps(synthetic: Any) -> None:
    fake = FakeTime()
    rec = synthetic[0]
    chunks = list(replay(rec, speed=0, chunk_ms=40, clock=fake.clock, sleep=fake.sleep))
    assert fake.sleeps == []
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]), rec.emg)
    with pytest.raises(ConfigError, match="at 200 Hz, not 1000 Hz"):
        next(replay(rec, 1000.0))
    with pytest.raises(ConfigError, match="needs the sampling rate"):
        next(replay(rec.emg))
    with pytest.raises(ConfigError, match="speed must be >= 0"):
        next(replay(rec.emg, 200.0, speed=-1))


def test_replay_a_file_at_real_time_takes_real_time(tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", np.zeros((40, 3), dtype=np.float32))
    start = time.perf_counter()
    n = sum(len(c.samples) for c in replay(tmp_path / "s.npy", 200.0, chunk_ms=50))
    took = time.perf_counter() - start
    assert n == 40 and 0.19 <= took < 1.0


# ---------------------------------------------------------------------------- callbacks
def test_callback_source_and_the_loop(lda_chain: Any, held_out: Any) -> None:
    source = CallbackSource(timeout=5.0)

    def device() -> None:  # a driver calling back with 32 samples at a time
        for i in range(0, held_out.n_samples, 32):
            source.put(held_out.emg[i : i + 32])
        source.put(held_out.emg[:10, :5])  # a broken packet
        source.close()

    seen: list[Decision] = []
    errors: list[Exception] = []
    thread = threading.Thread(target=device)
    thread.start()
    stats = run(Recognizer(lda_chain), source, seen.append, on_error=errors.append)
    thread.join()
    offline = Recognizer(lda_chain).push(held_out.emg)
    assert [d.label for d in seen] == [d.label for d in offline]
    assert stats.decisions == len(seen)
    assert len(errors) == 1 and isinstance(errors[0], ShapeError)


def test_the_loop_reports_faults_and_raises_without_on_error(lda_chain: Any) -> None:
    emg = np.zeros((100, 8), dtype=np.float32)
    emg[50, 0] = np.nan
    faults: list[Any] = []
    run(Recognizer(lda_chain), [emg[:60], Chunk(emg[60:])], on_fault=faults.append)
    assert [f.kind for f in faults] == ["nan"]
    with pytest.raises(ShapeError, match="channels"):
        run(Recognizer(lda_chain), [emg[:, :3]])


def test_a_silent_producer_times_out() -> None:
    source = CallbackSource(timeout=0.2)
    source.put(np.zeros((4, 2)))
    start = time.perf_counter()
    with pytest.raises(StreamError, match="no samples for 0.2 s"):
        list(source)
    assert time.perf_counter() - start < 30.0  # nothing hangs (a bound, not a timing)
    full = CallbackSource(maxsize=1)
    full.put(np.zeros((1, 2)))
    with pytest.raises(StreamError, match="not keeping up"):
        full.put(np.zeros((1, 2)))


# ---------------------------------------------------------------------------- LSL
needs_lsl = pytest.mark.skipif(
    lsl_unavailable() is not None, reason=f"Lab Streaming Layer: {lsl_unavailable()}"
)


def _outlet(name: str, n_channels: int = 8, fs: float = 200.0) -> Any:
    import pylsl

    info = pylsl.StreamInfo(name, "EMG", n_channels, fs, pylsl.cf_float32, name)
    return pylsl.StreamOutlet(info)


@needs_lsl
def test_lsl_in_and_out(lda_chain: Any, held_out: Any) -> None:
    import pylsl

    name = f"myoshift-test-{uuid.uuid4().hex[:8]}"
    outlet = _outlet(name)
    source = LSLSource(name, resolve_timeout=5.0, stall_timeout=1.0)
    source.check(8, 200.0)
    with pytest.raises(ShapeError, match="has 8 channels, the model takes 10"):
        source.check(10, 200.0)
    with pytest.raises(ConfigError, match="runs at 200 Hz, the model at 1000 Hz"):
        source.check(8, 1000.0)
    sink_name = f"{name}-out"
    sink = LSLSink(sink_name, source_id=sink_name)
    found = pylsl.resolve_byprop("name", sink_name, 1, 5.0)
    decisions_in = pylsl.StreamInlet(found[0])
    decisions_in.open_stream(timeout=5.0)
    emg = held_out.emg[:800]

    def send() -> None:
        time.sleep(0.2)
        for i in range(0, len(emg), 40):
            outlet.push_chunk(emg[i : i + 40].tolist())
            time.sleep(0.01)

    thread = threading.Thread(target=send)
    thread.start()
    rec = Recognizer(lda_chain)
    got = []
    with pytest.raises(StreamError, match="sent nothing for 1 s"):
        for chunk in source:  # ends when the sender falls silent
            assert chunk.timestamps is not None and len(chunk.timestamps) == len(chunk.samples)
            got.append(chunk.samples)
            for d in rec.push(chunk.samples, chunk.timestamps):
                sink.push(d)
    thread.join()
    np.testing.assert_array_equal(np.concatenate(got), emg)
    offline = Recognizer(lda_chain).push(emg)
    published, _ = decisions_in.pull_chunk(timeout=2.0, max_samples=1000)
    assert [int(p[0]) for p in published] == [d.label for d in offline]
    source.close()


@needs_lsl
def test_lsl_stream_that_disappears_is_a_clear_error() -> None:
    name = f"myoshift-gone-{uuid.uuid4().hex[:8]}"
    senders = [_outlet(name, 2)]
    source = LSLSource(name, stall_timeout=3.0)
    senders[0].push_chunk([[1.0, 2.0]] * 10)
    start = time.perf_counter()
    with pytest.raises(StreamError, match=f"'{name}' (disappeared|sent nothing)"):
        for _ in source:
            senders.clear()  # the sender goes away mid-run
    assert time.perf_counter() - start < 30.0  # nothing hangs (a bound, not a timing)


@needs_lsl
def test_lsl_stream_not_found_times_out() -> None:
    start = time.perf_counter()
    with pytest.raises(StreamError, match="no stream with name 'no-such-stream-x' found in 0.5 s"):
        LSLSource("no-such-stream-x", resolve_timeout=0.5)
    assert time.perf_counter() - start < 30.0  # nothing hangs (a bound, not a timing)
