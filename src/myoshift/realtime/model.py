"""What a stream needs to know about a fitted `MethodChain`: rate, channels, classes.

A saved `myoshift.learn.MethodChain` holds its preprocess and represent steps, its
windowing and its estimator, but not always the sampling rate and channel count of the
data it was fitted on (deep estimators do not record the rate). `StreamModel` joins the
chain with those facts and checks that the chain can run on a stream at all: every
preprocess step must be a causal filter (`myoshift.signal.preprocess.FilterStep` with
``causal=True``), the chain must classify EMG alone (no regression target, no
auxiliary streams).

``myoshift train`` writes the facts beside the saved chain in ``input.json``
(`write_input_info`), tied to the model by the SHA-256 of its ``estimator.json``, so a
sidecar copied next to another model is refused. Folders without it (e.g. written by
``myoshift benchmark --save-models``) work when the rate can be read from the estimator
(classical feature pipelines record it) or is given explicitly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from myoshift.errors import ConfigError, ModelFileError, ShapeError
from myoshift.hashing import file_sha256
from myoshift.recording import Layout, Recording
from myoshift.signal.filters import CausalFilter
from myoshift.signal.preprocess import FilterStep
from myoshift.signal.windows import ms_to_samples

if TYPE_CHECKING:  # the learn package imports torch; a stream model needs no more than this
    from myoshift.learn.placement_align import PlacementCorrection

__all__ = [
    "INPUT_INFO",
    "StreamModel",
    "load_stream_model",
    "stream_model",
    "write_input_info",
]

#: the sidecar `write_input_info` writes beside a saved chain
INPUT_INFO = "input.json"
_FORMAT = "myoshift-input"
_VERSION = 1


def _estimators(est: Any) -> Iterator[Any]:
    """``est`` and every estimator nested in it (a chain's estimator, ensemble members)."""
    yield est
    inner = getattr(est, "estimator_", None)
    if inner is not None and inner is not est:
        yield from _estimators(inner)
    for member in getattr(est, "estimators_", None) or []:
        yield from _estimators(member[-1] if isinstance(member, tuple) else member)


def _found(chain: Any, attr: str) -> list[Any]:
    """The chain's own ``attr`` (what its raw input is) when it records it; else, for
    chains saved before that, the distinct non-None values over its estimator tree."""
    own = getattr(chain, attr, None)
    if own is not None:
        return [own]
    values = [getattr(e, attr, None) for e in _estimators(chain)]
    return sorted({v for v in values if v is not None})


def _check_chain(chain: Any, where: str, streaming: bool) -> None:
    if getattr(chain, "estimator_", None) is None or not hasattr(chain, "preprocess_"):
        raise ConfigError(f"{where}: expected a fitted MethodChain, got {type(chain).__name__}")
    if getattr(chain, "target", None) is not None:
        raise ConfigError(
            f"{where}: a regression chain (target {chain.target!r}) cannot be streamed; "
            "the recogniser makes class decisions"
        )
    if tuple(getattr(chain, "aux", ()) or ()):
        raise ConfigError(
            f"{where}: the chain uses auxiliary streams {list(chain.aux)}; the recogniser "
            "streams EMG only"
        )
    if not hasattr(chain.estimator_, "predict_proba"):
        raise ConfigError(f"{where}: the estimator has no predict_proba; cannot stream it")
    for i, step in enumerate(chain.preprocess_ if streaming else []):
        if not (isinstance(step, FilterStep) and step.is_causal):
            raise ConfigError(
                f"{where}: preprocess step {i} {step.name!r} is not a causal filter and "
                "cannot run on a stream; train with causal steps only (e.g. --set "
                "METHOD.preprocess=[] or causal filters)"
            )


@dataclass(frozen=True)
class StreamModel:
    """A fitted chain that can run on a stream, with the input it expects.

    Attributes
    ----------
    chain : MethodChain
        Fitted; every preprocess step a causal filter.
    fs : float
        Sampling rate of the input in Hz.
    n_channels : int or None
        Channels of the input (None: unknown, fixed by the first chunk).
    class_names : tuple of str
        Name of each class code (may be empty).
    source : str
        Where the model came from (a folder, or ``"<chain>"``), for messages.
    streaming : bool
        Whether the preprocessing was checked causal (False: offline use only).
    """

    chain: Any
    fs: float
    n_channels: int | None
    class_names: tuple[str, ...] = ()
    source: str = "<chain>"
    streaming: bool = True

    @property
    def window(self) -> int:
        """Window length in samples."""
        return ms_to_samples(float(self.chain.window_ms), self.fs)

    @property
    def step(self) -> int:
        """Hop between windows in samples."""
        return ms_to_samples(float(self.chain.step_ms), self.fs)

    @property
    def classes(self) -> Any:
        """Class codes in the order of the estimator's ``predict_proba`` columns."""
        return self.chain.estimator_.classes_

    def filters(self) -> list[CausalFilter | PlacementCorrection]:
        """Fresh streaming filters of the preprocess steps, in order, after the chain's
        placement correction when it has one (`MethodChain.placement_`, stateless)."""
        placement = getattr(self.chain, "placement_", None)
        first = [] if placement is None else [placement]
        return first + [step.stream(self.fs) for step in self.chain.preprocess_]

    def predict_offline(self, emg: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The offline path on a whole signal ``(n_samples, n_channels)``.

        Returns every window's start sample, label (``chain.predict``'s) and class
        probabilities ``(n_windows, n_classes)``; the chain's causal filters start, as on
        a stream, from their steady state at the first sample.
        """
        arr = np.asarray(emg, dtype=np.float32)
        if arr.ndim != 2 or (self.n_channels is not None and arr.shape[1] != self.n_channels):
            raise ShapeError(
                f"signal must be (n_samples, {self.n_channels or 'channels'}), got {arr.shape}"
            )
        rec = Recording(arr, self.fs, np.zeros(len(arr), np.int64), Layout.plain(arr.shape[1]))
        w = self.chain.windows(rec)  # every window is kept: all samples are labelled 0
        est = self.chain.estimator_
        starts = w.meta["start"].to_numpy().astype(np.int64)
        return starts, np.asarray(est.predict(w)), np.asarray(est.predict_proba(w))

    def label_name(self, code: int | None) -> str:
        """The class name of ``code`` (its number when unnamed; ``""`` for None)."""
        if code is None:
            return ""
        if 0 <= code < len(self.class_names):
            return self.class_names[code]
        return str(code)


def stream_model(
    chain: Any,
    fs: float | None = None,
    n_channels: int | None = None,
    class_names: Sequence[str] = (),
    source: str = "<chain>",
    streaming: bool = True,
) -> StreamModel:
    """Check that ``chain`` can stream and find its input rate and channel count.

    Parameters
    ----------
    chain : MethodChain
        A fitted chain.
    fs, n_channels : optional
        The input's rate and channel count; found in the chain when None (the chain's
        own ``fs_`` / ``n_channels_`` if it records them, else the estimators').
    class_names : sequence of str
    source : str
        Named in error messages.
    streaming : bool
        Require causal preprocessing (False: the model is for offline use only, e.g.
        `StreamModel.predict_offline` with per-subject scaling).

    Raises
    ------
    ConfigError
        Not a fitted classification chain, a non-causal preprocess step, no way to know
        the rate, or given values contradicting the chain.
    """
    _check_chain(chain, source, streaming)
    rates = _found(chain, "fs_")
    if fs is None:
        if len(rates) != 1:
            raise ConfigError(
                f"{source}: the saved chain does not record its sampling rate; give it "
                "(fs=..., or --fs on the command line)"
            )
        fs = float(rates[0])
    elif rates and any(abs(float(r) - float(fs)) > 1e-9 for r in rates):
        raise ConfigError(f"{source}: the model was fitted at {rates} Hz, not {fs:g} Hz")
    if not (float(fs) > 0):
        raise ConfigError(f"{source}: sampling rate must be > 0, got {fs!r}")
    # the estimator's channel count is the input's only when no represent step reshapes
    known = _found(chain, "n_channels_") or (
        [] if chain.represent_ else _found(chain, "n_channels_in_")
    )
    if n_channels is None and len(known) == 1:
        n_channels = int(known[0])
    elif n_channels is not None and known and known != [n_channels]:
        raise ModelFileError(
            f"{source}: the estimator takes {known} channels but the model's input "
            f"description says {n_channels}"
        )
    return StreamModel(chain, float(fs), n_channels, tuple(class_names), source, streaming)


def _json_sha(folder: Path) -> str:
    return file_sha256(folder / "estimator.json")


def write_input_info(folder: str | Path, model: StreamModel, **extra: Any) -> Path:
    """Write ``folder/input.json``: rate, channels and class names of a saved chain.

    ``extra`` (e.g. dataset, subjects, method) is recorded for people reading the file.
    """
    d = Path(folder)
    doc = {
        "format": _FORMAT,
        "version": _VERSION,
        "fs": model.fs,
        "n_channels": model.n_channels,
        "class_names": list(model.class_names),
        "estimator_json_sha256": _json_sha(d),
        **extra,
    }
    path = d / INPUT_INFO
    path.write_text(json.dumps(doc, indent=1, default=str))
    return path


def read_input_info(d: Path) -> dict[str, Any]:
    """``d/input.json`` checked (format, version, that it belongs to the model beside it,
    field types), or ``{}`` when the folder has none."""
    if not (d / INPUT_INFO).is_file():
        return {}
    path = d / INPUT_INFO
    try:
        doc = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise ModelFileError(f"{path}: not a myoshift input description (format field)")
    if doc.get("version") != _VERSION:
        raise ModelFileError(f"{path}: unsupported version {doc.get('version')!r}")
    if doc.get("estimator_json_sha256") != _json_sha(d):
        raise ModelFileError(
            f"{path}: belongs to another model (estimator.json changed since it was written)"
        )
    fs, n_ch, names = doc.get("fs"), doc.get("n_channels"), doc.get("class_names", [])
    ok = isinstance(fs, int | float) and fs > 0 and (n_ch is None or isinstance(n_ch, int))
    if not ok or not isinstance(names, list):
        raise ModelFileError(
            f"{path}: fs must be a positive number, n_channels an integer, class_names a "
            f"list; got fs={fs!r}, n_channels={n_ch!r}"
        )
    return doc


def load_stream_model(
    folder: str | Path,
    fs: float | None = None,
    streaming: bool = True,
    precision: str | None = None,
) -> StreamModel:
    """Load a model folder as a `StreamModel`.

    ``folder`` is a saved chain (``myoshift train`` or ``benchmark --save-models``; its
    ``input.json`` read when present) or an export (``myoshift export``: the ONNX graph
    of ``precision`` runs as the estimator, `myoshift.realtime.exported`).

    Parameters
    ----------
    folder : path
    fs : float, optional
        The input rate, for models that do not record it (must agree when they do).
    streaming : bool
        False accepts chains with non-causal preprocessing (offline use only).
    precision : {"float32", "int8"} or None
        The exported graph to run (default float32); only for export folders.

    Raises
    ------
    ModelFileError
        A missing, corrupt or tampered model folder or input description, or one that
        contradicts the saved estimator.
    ConfigError
        A chain that cannot stream (see `stream_model`), ``fs`` contradicting the saved
        description, or ``precision`` given for a saved chain.
    """
    from myoshift.learn.persistence import load_estimator
    from myoshift.realtime.exported import is_export_folder, load_exported

    d = Path(folder)
    if not d.is_dir():
        raise ModelFileError(f"{d}: no such model folder")
    if is_export_folder(d):
        chain, rate, n_channels, names = load_exported(d, precision or "float32")
        info: dict[str, Any] = {} if rate is None else {"fs": rate}
        info.update(n_channels=n_channels, class_names=names)
    else:
        if precision is not None:
            raise ConfigError(
                f"{d}: a saved model runs as saved; precision {precision!r} needs an "
                "exported folder (myoshift export --int8)"
            )
        chain = load_estimator(d)
        info = read_input_info(d)
    if fs is not None and "fs" in info and abs(float(info["fs"]) - float(fs)) > 1e-9:
        raise ConfigError(f"{d}: the model takes {info['fs']:g} Hz input, not {fs:g} Hz")
    return stream_model(
        chain,
        float(info["fs"]) if "fs" in info else fs,
        info.get("n_channels"),
        [str(n) for n in info.get("class_names", [])],
        str(d),
        streaming,
    )
