"""Fitted estimators as torch modules that export to ONNX with everything inside.

`build_graph` turns a fitted estimator (deep, classical TD + LDA / ridge, a soft-voting
ensemble of those) plus the in-graph represent steps of its chain into one
`ExportGraph`: a module whose positional inputs are the named windows of
``input_names`` and whose output is what the estimator decides from — class
probabilities (softmax) for a classifier, de-standardised outputs for a regressor.

Inside the graph:

* deep models: the `StandardizedNet` (channel ``order``, per-input z-scoring, network);
* classical models: the time-domain features with exactly the definitions and thresholds
  of `myoshift.signal.features` (MAV, IAV, RMS, WL, MAVFD, ZC, SSC), the scaler and the
  linear decision (LDA: softmax of the decision function, a two-class LDA as the
  sigmoid scikit-learn uses; ridge: the linear map), computed in float64 like the
  NumPy / scikit-learn path;
* represent steps that act on each window linearly (``standardize``, ``pca``), in
  float64 and cast back to float32 as `myoshift.signal.represent` does.

Anything else is refused with a `ConfigError` naming the estimator and what the graph
cannot express.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from myoshift.errors import ConfigError
from myoshift.learn.chain import MethodChain
from myoshift.learn.classical import ClassicalClassifier, ClassicalRegressor
from myoshift.learn.deep import DeepClassifier, DeepRegressor
from myoshift.learn.ensemble import ProbabilityEnsemble
from myoshift.learn.standardized_net import StandardizedNet
from myoshift.signal.features.registry import FEATURES, resolve_features, split_params
from myoshift.signal.steps import Step

Named = dict[str, torch.Tensor]
FeatureOp = Callable[[torch.Tensor, dict[str, Any]], torch.Tensor]


def _diff(x: torch.Tensor) -> torch.Tensor:
    return x[..., 1:] - x[..., :-1]


def _count(mask: torch.Tensor) -> torch.Tensor:
    return mask.to(torch.float64).sum(dim=-1)


#: features the classical graph computes, on float64 windows ``(n, C, T)`` -> ``(n, C)``
FEATURE_OPS: dict[str, FeatureOp] = {
    "mav": lambda x, p: x.abs().sum(-1) / x.shape[-1],
    "iav": lambda x, p: x.abs().sum(-1),
    "rms": lambda x, p: torch.sqrt((x * x).sum(-1) / x.shape[-1]),
    "wl": lambda x, p: _diff(x).abs().sum(-1),
    "mavfd": lambda x, p: _diff(x).abs().sum(-1) / (x.shape[-1] - 1),
    "zc": lambda x, p: _count(
        (x[..., :-1] * x[..., 1:] < 0) & (_diff(x).abs() >= float(p["threshold"]))
    ),
    "ssc": lambda x, p: _count(_diff(x)[..., :-1] * _diff(x)[..., 1:] <= -float(p["threshold"])),
}


def _f64(a: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


class Features(nn.Module):
    """Handcrafted features of float32 windows, float64 ``(n, n_features * C)``.

    Columns are feature-major, then channel, as `myoshift.signal.extract_features`.
    """

    def __init__(self, features: Any, params: dict[str, Any] | None, where: str) -> None:
        super().__init__()
        self.names = resolve_features(features)
        missing = [n for n in self.names if n not in FEATURE_OPS]
        if missing:
            raise ConfigError(
                f"{where}: ONNX export cannot express feature(s) {missing}; the graph has "
                f"{', '.join(sorted(FEATURE_OPS))}"
            )
        routed = split_params(self.names, dict(params or {}))
        self.params = {n: {**FEATURES[n].defaults, **routed[n]} for n in self.names}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x64 = x.to(torch.float64)
        return torch.cat([FEATURE_OPS[n](x64, self.params[n]) for n in self.names], dim=1)


class Linear64(nn.Module):
    """``softmax((F - mean) / scale @ W + b)`` (or without softmax) in float64."""

    mean: torch.Tensor
    scale: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(
        self, mean: Any, scale: Any, weight: Any, bias: Any, softmax: bool, binary: bool = False
    ) -> None:
        super().__init__()
        w, b = _f64(weight), _f64(bias).reshape(-1)
        if binary:  # sigmoid(d) == softmax([0, d])[1]: scikit-learn's two-class proba
            w = torch.cat([torch.zeros_like(w), w], dim=1)
            b = torch.cat([torch.zeros_like(b), b])
        self.register_buffer("mean", _f64(mean))
        self.register_buffer("scale", _f64(scale))
        self.register_buffer("weight", w)
        self.register_buffer("bias", b)
        self.softmax = softmax

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        z = ((f - self.mean) / self.scale) @ self.weight + self.bias
        return torch.softmax(z, dim=1) if self.softmax else z


class RepresentStandardize(nn.Module):
    """The ``standardize`` represent step: per-channel ``(x - mean) / std``."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, step: Step) -> None:
        super().__init__()
        self.register_buffer("mean", _f64(step.fitted("mean")).reshape(1, -1, 1))
        self.register_buffer("std", _f64(step.fitted("std")).reshape(1, -1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x.to(torch.float64) - self.mean) / self.std).to(x.dtype)


class RepresentPCA(nn.Module):
    """The ``pca`` represent step (``per-time-step`` or ``flattened``)."""

    mean: torch.Tensor
    components: torch.Tensor

    def __init__(self, step: Step) -> None:
        super().__init__()
        self.flat = step.params()["mode"] == "flattened"
        self.register_buffer("mean", _f64(step.fitted("mean")))
        self.register_buffer("components", _f64(step.fitted("components")))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x64 = x.to(torch.float64)
        if self.flat:
            out = ((x64.flatten(1) - self.mean) @ self.components.T).unsqueeze(-1)
        else:
            centred = x64 - self.mean.reshape(1, -1, 1)
            out = torch.einsum("kc,nct->nkt", self.components, centred)
        return out.to(x.dtype)


IN_GRAPH_STEPS: dict[str, type[nn.Module]] = {
    "standardize": RepresentStandardize,
    "pca": RepresentPCA,
}


class ExportGraph(nn.Module):
    """Positional named inputs -> probabilities (or regression outputs), see module doc."""

    #: True when the output is regression targets (else class probabilities)
    regression: bool = False

    def __init__(self, input_names: Sequence[str], represent: Sequence[nn.Module]) -> None:
        super().__init__()
        self.input_names = list(input_names)
        self.represent = nn.ModuleList(represent)

    def decide(self, named: Named) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        named = dict(zip(self.input_names, inputs))
        emg = named["emg"]
        for step in self.represent:
            emg = step(emg)
        return self.decide({**named, "emg": emg})


class DeepGraph(ExportGraph):
    """A deep estimator's `StandardizedNet`, then softmax or ``out * y_std + y_mean``."""

    def __init__(self, est: Any, represent: Sequence[nn.Module]) -> None:
        net: StandardizedNet = copy.deepcopy(est.net_).cpu().eval()  # rewritten by fix_pools
        super().__init__(net.input_names, represent)
        self.net = net
        self.regression = isinstance(est, DeepRegressor)
        if self.regression:
            self.register_buffer("y_mean", torch.as_tensor(est.y_mean_).reshape(1, -1))
            self.register_buffer("y_std", torch.as_tensor(est.y_std_).reshape(1, -1))

    def decide(self, named: Named) -> torch.Tensor:
        out = self.net(named if len(self.net.input_names) > 1 else named["emg"])
        if self.regression:
            return out * self.y_std + self.y_mean
        return torch.softmax(out, dim=1)


class ClassicalGraph(ExportGraph):
    """Features -> scaler -> LDA (softmax) or ridge, in float64; float32 output."""

    def __init__(self, est: Any, represent: Sequence[nn.Module], where: str) -> None:
        super().__init__(["emg"], represent)
        pipe = est.pipeline_
        model = pipe.named_steps["model"]
        kind = getattr(est, "classifier", None) or getattr(est, "regressor", None)
        if kind not in ("lda", "ridge"):
            raise ConfigError(
                f"{where}: ONNX export supports the classical 'lda' and 'ridge' models, not "
                f"{kind!r} (its decision is not a linear map)"
            )
        self.features = Features(est.features, est.feature_params, where)
        n = int(est.n_features_in_)
        scaler = pipe.named_steps.get("scaler")
        mean = scaler.mean_ if scaler is not None else np.zeros(n)
        scale = scaler.scale_ if scaler is not None else np.ones(n)
        coef = np.atleast_2d(model.coef_).T  # (features, outputs)
        classifier = isinstance(est, ClassicalClassifier)
        binary = classifier and len(est.classes_) == 2
        self.linear = Linear64(mean, scale, coef, model.intercept_, classifier, binary)
        self.regression = not classifier

    def decide(self, named: Named) -> torch.Tensor:
        return self.linear(self.features(named["emg"])).to(torch.float32)


class EnsembleGraph(ExportGraph):
    """Weighted mean of the members' probabilities (`ProbabilityEnsemble`)."""

    def __init__(
        self, members: Sequence[ExportGraph], weights: np.ndarray, represent: Sequence[nn.Module]
    ) -> None:
        names = ["emg"] + sorted({n for m in members for n in m.input_names} - {"emg"})
        super().__init__(names, represent)
        self.members = nn.ModuleList(members)
        self.weights = [float(w) for w in weights]

    def decide(self, named: Named) -> torch.Tensor:
        parts = []
        for w, m in zip(self.weights, self.members):
            member = cast(ExportGraph, m)
            parts.append(w * member.decide({k: named[k] for k in member.input_names}))
        return torch.stack(parts).sum(dim=0)


def _averaging(size: int, out: int) -> torch.Tensor:
    """``(size, out)`` matrix of adaptive average pooling along one axis (torch's bins)."""
    m = torch.zeros(size, out)
    for o in range(out):
        lo, hi = (o * size) // out, math.ceil((o + 1) * size / out)
        m[lo:hi, o] = 1.0 / (hi - lo)
    return m


class FixedAdaptivePool(nn.Module):
    """Adaptive average pooling for one known input size, as averaging matrices.

    ONNX has no adaptive pooling: the exporter refuses output sizes that do not divide
    the input and any size on a symbolic batch axis. For a fixed window length the bins
    are fixed, so pooling is a MatMul per pooled axis (same values up to rounding).
    """

    last: torch.Tensor
    first: torch.Tensor

    def __init__(self, sizes: Sequence[int], outs: Sequence[int]) -> None:
        super().__init__()
        self.two_d = len(sizes) == 2
        self.register_buffer("last", _averaging(sizes[-1], outs[-1]))  # (W, W_out)
        self.register_buffer("first", _averaging(sizes[0], outs[0]).T)  # (H_out, H), 2-D only

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x @ self.last
        return self.first @ x if self.two_d else x


def fix_pools(graph: ExportGraph, example: Sequence[torch.Tensor]) -> None:
    """Replace, in place, adaptive average pools that are not global by `FixedAdaptivePool`.

    The input size each pool sees is recorded on one forward pass of ``example``.
    """
    kinds = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
    pools = {
        name: m
        for name, m in graph.named_modules()
        if isinstance(m, kinds) and set(_pairs(m)) != {1}
    }
    seen: dict[str, tuple[int, ...]] = {}

    def record(name: str) -> Callable[[nn.Module, tuple[Any, ...]], None]:
        def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
            seen.setdefault(name, tuple(args[0].shape))

        return hook

    hooks = [m.register_forward_pre_hook(record(n)) for n, m in pools.items()]
    with torch.no_grad():
        graph(*example)
    for h in hooks:
        h.remove()
    for name, m in pools.items():
        if name not in seen:
            continue
        k = 1 if isinstance(m, nn.AdaptiveAvgPool1d) else 2
        sizes = tuple(int(v) for v in seen[name][-k:])
        outs = [s if o is None else int(o) for s, o in zip(sizes, _pairs(m))]
        parent, _, attr = name.rpartition(".")
        setattr(
            graph.get_submodule(parent) if parent else graph, attr, FixedAdaptivePool(sizes, outs)
        )


def _pairs(m: nn.Module) -> tuple[Any, ...]:
    out = m.output_size  # type: ignore[attr-defined]
    k = 1 if isinstance(m, nn.AdaptiveAvgPool1d) else 2
    return tuple(out) if isinstance(out, tuple | list) else (out,) * k


def represent_modules(steps: Sequence[Step], where: str) -> tuple[list[nn.Module], list[Step]]:
    """Split a chain's fitted represent steps into in-graph modules and outside steps.

    Steps that make an auxiliary input (``wavelet-packet``) run outside the graph and
    feed a named input; they must come before any step that changes the EMG windows,
    since the caller computes them from the raw windows.
    """
    inside: list[nn.Module] = []
    outside: list[Step] = []
    for step in steps:
        if step.name in IN_GRAPH_STEPS:
            inside.append(IN_GRAPH_STEPS[step.name](step))
        elif step.name == "wavelet-packet":
            if inside:
                raise ConfigError(
                    f"{where}: represent step 'wavelet-packet' after an in-graph step cannot "
                    "run outside the graph on the raw windows; put it first"
                )
            outside.append(step)
        else:
            raise ConfigError(
                f"{where}: ONNX export cannot express represent step {step.name!r} "
                f"(in the graph: {', '.join(sorted(IN_GRAPH_STEPS))}; outside: wavelet-packet)"
            )
    return inside, outside


def estimator_name(est: Any) -> str:
    """A short name for messages: the method, the model or the classifier."""
    if isinstance(est, MethodChain):
        return est.name or estimator_name(est.estimator_)
    if isinstance(est, DeepClassifier | DeepRegressor):
        return str(est.model)
    if isinstance(est, ClassicalClassifier):
        return f"{est.classifier}-features"
    if isinstance(est, ClassicalRegressor):
        return f"{est.regressor}-features"
    return type(est).__name__


def build_graph(est: Any, represent: Sequence[nn.Module] = (), where: str = "") -> ExportGraph:
    """The `ExportGraph` of a fitted estimator (not a chain: see `myoshift.realtime.export`)."""
    where = where or f"model {estimator_name(est)!r}"
    if isinstance(est, DeepClassifier | DeepRegressor):
        est._check_fitted()
        return DeepGraph(est, represent).eval()
    if isinstance(est, ClassicalClassifier | ClassicalRegressor):
        est._check_fitted()
        return ClassicalGraph(est, represent, where).eval()
    if isinstance(est, ProbabilityEnsemble):
        members = [build_graph(m, (), where) for m in est._check_fitted()]
        return EnsembleGraph(members, est._weights(), represent).eval()
    raise ConfigError(
        f"{where}: ONNX export supports deep, classical (lda / ridge) and ensemble "
        f"estimators, not {type(est).__name__}"
    )
