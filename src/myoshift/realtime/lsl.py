"""Lab Streaming Layer in and out (optional extra: ``pip install myoshift[lsl]``).

`LSLSource` reads an EMG stream found on the network by name or type and yields
`myoshift.realtime.sources.Chunk`s with LSL timestamps; it checks the stream's channel
count and rate against the model, and raises `StreamError` instead of hanging when the
stream cannot be found, disappears or falls silent. `LSLSink` publishes decisions as a
3-channel stream: label (-1: no decision), probability, latency in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from myoshift.errors import ConfigError, ShapeError
from myoshift.realtime.decision import Decision
from myoshift.realtime.sources import Chunk, StreamError

__all__ = ["LSLSink", "LSLSource", "lsl_unavailable"]


def lsl_unavailable() -> str | None:
    """Why LSL cannot be used here (None when ``pylsl`` and its liblsl load)."""
    try:
        import pylsl

        pylsl.library_version()
    except ImportError as exc:
        return f"pylsl is not installed ({exc}); pip install 'myoshift[lsl]'"
    except (OSError, RuntimeError) as exc:  # pylsl found but liblsl did not load
        return f"liblsl could not be loaded ({exc})"
    return None


def _pylsl() -> Any:
    reason = lsl_unavailable()
    if reason is not None:
        raise ConfigError(f"Lab Streaming Layer: {reason}")
    import pylsl

    return pylsl


class LSLSource:
    """Chunks from an LSL stream, resolved by name (or by type when no name is given).

    Parameters
    ----------
    name : str or None
        Stream name; None: the first stream of ``stream_type``.
    stream_type : str
        Stream type looked for when ``name`` is None.
    resolve_timeout : float
        Seconds to wait for the stream to appear.
    stall_timeout : float
        Seconds without samples after which the stream counts as gone.
    poll_s : float
        Longest wait of one pull.
    """

    def __init__(
        self,
        name: str | None = None,
        stream_type: str = "EMG",
        resolve_timeout: float = 5.0,
        stall_timeout: float = 2.0,
        poll_s: float = 0.02,
    ) -> None:
        lsl = _pylsl()
        if not (resolve_timeout > 0 and stall_timeout > 0):
            raise ConfigError(
                f"LSL: resolve_timeout and stall_timeout must be > 0 s, got "
                f"{resolve_timeout!r}, {stall_timeout!r}"
            )
        self.label = f"name {name!r}" if name else f"type {stream_type!r}"
        prop, value = ("name", name) if name else ("type", stream_type)
        found = lsl.resolve_byprop(prop, value, 1, resolve_timeout)
        if not found:
            raise StreamError(f"LSL: no stream with {self.label} found in {resolve_timeout:g} s")
        self.info = found[0]
        self.inlet = lsl.StreamInlet(self.info, recover=False)
        try:
            self.inlet.open_stream(timeout=resolve_timeout)
        except lsl.util.TimeoutError:
            raise StreamError(f"LSL: stream with {self.label} did not open") from None
        self.stall_timeout, self.poll_s = float(stall_timeout), float(poll_s)
        self._lsl = lsl

    @property
    def n_channels(self) -> int:
        return int(self.info.channel_count())

    @property
    def fs(self) -> float:
        """The stream's nominal rate (0 for irregular streams)."""
        return float(self.info.nominal_srate())

    def check(self, n_channels: int | None, fs: float) -> None:
        """Raise a one-line error when the stream does not match the model's input."""
        if n_channels is not None and self.n_channels != n_channels:
            raise ShapeError(
                f"LSL stream with {self.label} has {self.n_channels} channels, "
                f"the model takes {n_channels}"
            )
        if abs(self.fs - fs) > 1e-6 * fs:
            raise ConfigError(
                f"LSL stream with {self.label} runs at {self.fs:g} Hz, the model at {fs:g} Hz"
            )

    def __iter__(self) -> Iterator[Chunk]:
        last = time.monotonic()
        while True:
            try:
                samples, stamps = self.inlet.pull_chunk(timeout=self.poll_s, max_samples=1024)
            except self._lsl.util.LostError:
                raise StreamError(f"LSL stream with {self.label} disappeared") from None
            if len(stamps):
                last = time.monotonic()
                yield Chunk(np.asarray(samples, dtype=np.float64), np.asarray(stamps))
            elif time.monotonic() - last > self.stall_timeout:
                raise StreamError(
                    f"LSL stream with {self.label} sent nothing for {self.stall_timeout:g} s"
                )

    def close(self) -> None:
        """Close the inlet."""
        self.inlet.close_stream()


class LSLSink:
    """Publishes decisions as an LSL stream (label, probability, latency_s).

    Parameters
    ----------
    name : str
        Stream name.
    source_id : str
        Unique id, so consumers can reconnect to the same sink.
    """

    CHANNELS = ("label", "probability", "latency_s")

    def __init__(self, name: str = "myoshift-decisions", source_id: str = "myoshift") -> None:
        lsl = _pylsl()
        info = lsl.StreamInfo(
            name, "Markers", len(self.CHANNELS), lsl.IRREGULAR_RATE, lsl.cf_float32, source_id
        )
        self.outlet = lsl.StreamOutlet(info)

    def push(self, decision: Decision) -> None:
        """Send one decision (label -1 when there is none; NaN probability kept)."""
        label = -1.0 if decision.label is None else float(decision.label)
        self.outlet.push_sample([label, decision.probability, decision.latency_s])
