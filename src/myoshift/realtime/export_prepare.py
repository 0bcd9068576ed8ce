"""Fitted model -> export graph, input shapes and rate (`prepare`), and graph inputs.

`prepare` loads a saved folder (and its ``input.json``, `myoshift.realtime.model`) or
takes a fitted estimator or `MethodChain`, builds its `ExportGraph`
(`myoshift.realtime.export_graph`) and works out the shapes of its named inputs and the
sampling rate: given, else from ``input.json``, else a classical estimator's ``fs``,
else a deep chain's window length in samples over ``window_ms``. `graph_inputs` turns
recordings or windows into the named float32 arrays the graph takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn.chain import MethodChain
from myoshift.learn.deep import DeepClassifier, DeepRegressor
from myoshift.learn.ensemble import ProbabilityEnsemble
from myoshift.learn.persistence import load_estimator
from myoshift.realtime.export_graph import (
    DeepGraph,
    ExportGraph,
    build_graph,
    estimator_name,
    fix_pools,
    represent_modules,
)
from myoshift.realtime.model import read_input_info
from myoshift.recording import Recording, RecordingSet
from myoshift.signal.steps import Step, apply_steps
from myoshift.signal.windows import Windows, make_windows

__all__ = ["Prepared", "example_inputs", "graph_inputs", "networks", "prepare"]


@dataclass
class Prepared:
    """A fitted model made ready for export (see `prepare`)."""

    graph: ExportGraph
    estimator: Any
    chain: MethodChain | None
    name: str
    shapes: dict[str, tuple[int, ...]]
    outside: list[Step]
    fs: float | None
    fs_source: str
    class_names: list[str]

    @property
    def quantizable(self) -> bool:
        """Whether the graph holds a network (int8 applies to networks only)."""
        return bool(networks(self.estimator))


def _walk(est: Any) -> list[Any]:
    return list(est._check_fitted()) if isinstance(est, ProbabilityEnsemble) else [est]


def networks(est: Any) -> list[Any]:
    """The deep estimators of ``est`` (itself, or an ensemble's deep members)."""
    return [m for m in _walk(est) if isinstance(m, DeepClassifier | DeepRegressor)]


def _rate(
    est: Any, chain: MethodChain | None, fs: float | None, given: str
) -> tuple[float | None, str]:
    """The sampling rate: given, else a classical estimator's, else from the window length."""
    if fs is not None:
        return float(fs), given
    if getattr(chain, "fs_", None):
        return float(chain.fs_), "MethodChain.fs_"  # type: ignore[union-attr]
    for member in _walk(est):
        rate = getattr(member, "fs_", None) or getattr(member, "fs", None)
        if rate:
            return float(rate), f"{type(member).__name__}.fs"
    deep = networks(est)
    if chain is not None and deep:
        return deep[0].n_samples_in_ * 1000.0 / chain.window_ms, "window samples / window_ms"
    return None, "unknown"


def _raw_shape(est: Any, inside: list[Any], T: int | None, where: str) -> tuple[int, int]:
    """``(channels, samples)`` of the graph's EMG input (before in-graph represent steps)."""
    deep = networks(est)
    if T is None and deep and not any(getattr(s, "flat", False) for s in inside):
        T = int(deep[0].n_samples_in_)
    if T is None:
        raise ConfigError(
            f"{where}: the window length of a bare {type(est).__name__} is unknown; export "
            "its MethodChain (which knows window_ms)"
        )
    if inside:
        n = int(inside[0].mean.numel())
        return (n // T if getattr(inside[0], "flat", False) else n), T
    return int(_walk(est)[0].n_channels_in_), T


def prepare(model: Any, fs: float | None = None) -> Prepared:
    """The export graph of a fitted estimator, a `MethodChain` or a saved model folder.

    Raises
    ------
    ConfigError
        A model or step the graph cannot express, or an unfitted model.
    """
    facts: dict[str, Any] = {}
    given = "given"
    if isinstance(model, str | Path):
        facts = read_input_info(Path(model))
        model = load_estimator(model)
        if fs is None and facts.get("fs"):
            fs, given = float(facts["fs"]), "input.json"
    chain = model if isinstance(model, MethodChain) else None
    est = chain._check_fitted() if chain is not None else model
    name = estimator_name(model)
    where = f"model {name!r}"
    if chain is not None and getattr(chain, "placement_", None) is not None:
        raise ConfigError(
            f"{where} corrects the armband's rotation (placement {chain.placement!r}), which "
            "the exported graph cannot carry; export the chain before adapting it, or stream "
            "the saved chain with `myoshift stream`"
        )
    inside, outside = represent_modules(chain.represent_ if chain else [], where)
    graph = build_graph(est, inside, where)
    rate, source = _rate(est, chain, fs, given)
    T = None
    if chain is not None and rate is not None:
        T = max(1, int(round(chain.window_ms * rate / 1000.0)))
    C, T = _raw_shape(est, inside, T, where)
    shapes: dict[str, tuple[int, ...]] = {"emg": (C, T)}
    for g in [graph, *getattr(graph, "members", [])]:
        if isinstance(g, DeepGraph):
            shapes.update({k: tuple(v) for k, v in g.net.model.inputs().items() if k != "emg"})
    names = [str(n) for n in facts.get("class_names") or []]
    prep = Prepared(graph, est, chain, name, shapes, outside, rate, source, names)
    example = example_inputs(prep, 2)
    fix_pools(graph, [example[k] for k in graph.input_names])
    return prep


def graph_inputs(model: Any, data: Any) -> dict[str, np.ndarray]:
    """The named graph inputs (float32) for ``data``.

    ``data``: recordings for a chain (preprocessed and cut as the chain does; the
    outside-graph represent steps computed from the raw windows), or `Windows` / an
    array ``(n, C, T)`` / a dict of named arrays for an estimator.
    """
    prep = model if isinstance(model, Prepared) else prepare(model)
    out = _named_windows(prep, data)
    for k, v in out.items():
        if v.shape[1:] != prep.shapes[k]:
            raise ShapeError(
                f"model {prep.name!r}: input {k!r} takes windows {prep.shapes[k]} (channels, "
                f"samples...), got {v.shape[1:]}"
            )
    return out


def _named_windows(prep: Prepared, data: Any) -> dict[str, np.ndarray]:
    names = prep.graph.input_names
    if isinstance(data, dict):
        return {k: np.asarray(data[k], dtype=np.float32) for k in names}
    if prep.chain is not None and not isinstance(data, Windows | np.ndarray):
        chain = prep.chain
        recs = (
            data
            if isinstance(data, RecordingSet)
            else RecordingSet([data] if isinstance(data, Recording) else list(data))
        )
        rset = apply_steps(chain.preprocess_, recs)
        data = make_windows(rset, chain.window_ms, chain.step_ms, aux=tuple(chain.aux))
    out = {"emg": np.asarray(data.X if isinstance(data, Windows) else data, dtype=np.float32)}
    extra = [n for n in names if n != "emg"]
    if extra:
        if not isinstance(data, Windows):
            raise ConfigError(f"model {prep.name!r} takes inputs {names}; pass Windows or a dict")
        w = apply_steps(prep.outside, data)
        out.update({n: np.asarray(w.aux[n].X, dtype=np.float32) for n in extra})
    return out


def example_inputs(prep: Prepared, n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """``n`` random windows for every graph input (tracing and the export's probe)."""
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn((n, *prep.shapes[k]), generator=gen) for k in prep.graph.input_names}
