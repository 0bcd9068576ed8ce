"""Recalibration without labels: policies that follow a fitted estimator to a new day.

A policy runs on unlabelled target windows (a new day, the armband put on again). The
windows of a `Windows` object are put in time order within each recording (its
``meta["recording"]`` and ``meta["start"]``), so a policy can correct the model's
decisions by a majority vote over neighbouring decisions, as a user's gesture lasts
longer than one window; plain arrays carry no time and get no vote. Labels carried by
the windows are never read.

Policies of the deep estimators (``recalibrate_policy`` / ``recalibrate(X, policy)``):

``adabn``
    Batch-norm statistics re-estimated on the target windows (Li et al. 2018, "Adaptive
    batch normalization for practical domain adaptation", Pattern Recognition 80;
    `myoshift.learn.adaptation.adabn`). No weight changes.
``self-training``
    After Côté-Allard et al. (2020), "Unsupervised domain adversarial self-calibration
    for electromyography-based gesture recognition" (SCADANN), IEEE Access 8: AdaBN
    first (when the network has batch norm), then pseudo-labels: the model's decisions
    corrected by a majority vote over the decisions within ``vote_ms`` of each window,
    kept where the model's mean probability of that label over the neighbourhood is at
    least ``confidence``; then the whole network is fine-tuned on the kept windows
    (``epochs``, ``lr``; the estimator's `adapt` in mode ``full``). The adversarial
    domain branch of SCADANN is not used.
``tent``
    Wang, Shelhamer, Liu, Olshausen & Darrell (2021), "Tent: fully test-time adaptation
    by entropy minimization", ICLR: AdaBN, then the mean prediction entropy on the
    target windows is minimised (Adam, ``lr``, ``epochs`` passes) updating only the
    batch-norm affine weights and biases, batch norm normalising with batch statistics
    (its running statistics follow them) and every other layer in eval mode.
``zhai``
    Zhai, Jelfs, Chan & Tin (2017), "Self-recalibrating surface EMG pattern recognition
    for neuroprosthesis control based on convolutional neural network", Front.
    Neurosci. 11:379: every recent window relabelled with the model's own decision
    corrected by the majority vote over neighbouring decisions, then the network
    fine-tuned on all of them (no confidence filter, no AdaBN).

Policy of `ClassicalClassifier` with LDA:

``lda-means``
    The class means re-estimated from the confident, vote-corrected pseudo-labels of
    the target windows, the shared covariance kept: the stored training rows of each
    class with at least 2 confident target windows are translated by ``weight`` times
    (target class mean - training class mean) and the pipeline refitted on them, which
    leaves every within-class scatter (so the pooled covariance) and the priors as they
    were. The translated rows are the estimator's training rows from then on, so the
    saved file keeps the recalibration.

A policy is a name or a mapping with options (defaults in `POLICY_OPTIONS`)::

    recalibrate: tent
    recalibrate: {name: self-training, confidence: 0.9, epochs: 3}
    recalibrate: {zhai: {vote_ms: 1000}}
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pandas as pd
import torch

from myoshift.errors import ConfigError
from myoshift.learn import adaptation
from myoshift.learn.tasks import EntropyTask
from myoshift.learn.trainer import Trainer
from myoshift.signal.windows import Windows

log = logging.getLogger(__name__)

#: every policy and its options with their defaults
POLICY_OPTIONS: dict[str, dict[str, Any]] = {
    "adabn": {},
    "self-training": {"confidence": 0.8, "vote_ms": 500.0, "epochs": 5, "lr": None, "adabn": True},
    "tent": {"epochs": 1, "lr": 1e-3},
    "zhai": {"vote_ms": 500.0, "epochs": 5, "lr": None},
    "lda-means": {"confidence": 0.8, "vote_ms": 500.0, "weight": 1.0},
}
DEEP_POLICIES = ("adabn", "self-training", "tent", "zhai")
CLASSICAL_POLICIES = ("lda-means",)
#: (low, high, integer) bounds of the numeric options; high None: unbounded
_BOUNDS: dict[str, tuple[float, float | None, bool]] = {
    "confidence": (0.0, 1.0, False),
    "vote_ms": (0.0, None, False),
    "epochs": (1.0, None, True),
    "lr": (0.0, None, False),
    "weight": (0.0, 1.0, False),
}


@dataclass(frozen=True)
class Policy:
    """A recalibration policy: its ``name`` and every option (defaults filled in)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.options[key]


def _check_option(where: str, key: str, value: Any) -> Any:
    if key == "adabn":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: option 'adabn' must be true or false, got {value!r}")
        return value
    low, high, integer = _BOUNDS[key]
    if value is None and key == "lr":
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)
    if ok and integer:
        ok = float(value) == int(value)
    if not ok or value < low or (high is not None and value > high) or (key == "lr" and value == 0):
        span = f"[{low:g}, {high:g}]" if high is not None else f">= {low:g}"
        raise ConfigError(
            f"{where}: option {key!r} must be {'an integer' if integer else 'a number'} "
            f"{span}{' (positive)' if key == 'lr' else ''}, got {value!r}"
        )
    return int(value) if integer else float(value)


def parse_policy(spec: Any, where: str = "recalibration") -> Policy:
    """A `Policy` from a name, ``{name: NAME, option: value}`` or ``{NAME: {options}}``.

    Raises
    ------
    ConfigError
        Unknown policy or option, or an option value out of range (one line, naming
        ``where``).
    """
    if isinstance(spec, Policy):
        return spec
    if isinstance(spec, str):
        name, given = spec, {}
    elif isinstance(spec, dict) and "name" in spec:
        name, given = spec["name"], {k: v for k, v in spec.items() if k != "name"}
    elif isinstance(spec, dict) and len(spec) == 1:
        ((name, given),) = spec.items()
        given = {} if given is None else given
    else:
        raise ConfigError(
            f"{where}: a recalibration policy is a name or a mapping with 'name', got {spec!r}"
        )
    if name not in POLICY_OPTIONS:
        raise ConfigError(
            f"{where}: unknown recalibration policy {name!r}; valid: {', '.join(POLICY_OPTIONS)}"
        )
    if not isinstance(given, dict):
        raise ConfigError(f"{where}: options of policy {name!r} must be a mapping, got {given!r}")
    defaults = POLICY_OPTIONS[name]
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ConfigError(
            f"{where}: policy {name!r} has no option {unknown}; valid: "
            f"{', '.join(defaults) or 'none'}"
        )
    checked = {k: _check_option(f"{where}: policy {name!r}", k, v) for k, v in given.items()}
    return Policy(name, {**defaults, **checked})


def check_policy(spec: Any, owner: str, allowed: Sequence[str], why: str = "") -> Policy:
    """The parsed policy ``spec`` of estimator ``owner``, refused unless in ``allowed``."""
    if spec is None:
        raise ConfigError(
            f"{owner} has no recalibration policy; set recalibrate_policy (YAML "
            f"'recalibrate:') to one of: {', '.join(allowed) or 'none available'}"
        )
    policy = parse_policy(spec, owner)
    if policy.name not in allowed:
        because = f": {why}" if why else ""
        raise ConfigError(
            f"{owner} cannot take recalibration policy {policy.name!r}{because} (valid: "
            f"{', '.join(allowed) or 'none'})"
        )
    return policy


# ---------------------------------------------------------------------- time and votes
def _neighbourhoods(
    recording: np.ndarray, start: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time order and, per window in that order, the bounds ``[lo, hi)`` of the windows
    of its recording whose start is within ``radius`` samples of its own."""
    order = np.lexsort((start, recording))
    rec, st = recording[order], start[order].astype(np.float64)
    lo, hi = np.empty(len(order), np.int64), np.empty(len(order), np.int64)
    cuts = [0, *(np.flatnonzero(np.diff(rec)) + 1).tolist(), len(order)]
    for a, b in zip(cuts[:-1], cuts[1:]):
        s = st[a:b]
        lo[a:b] = a + np.searchsorted(s, s - radius, side="left")
        hi[a:b] = a + np.searchsorted(s, s + radius, side="right")
    return order, lo, hi


def vote_smooth(decisions: Any, recording: Any, start: Any, radius: float) -> np.ndarray:
    """Centred majority vote over the decisions within ``radius`` samples, per recording.

    Every window takes the most frequent decision among the windows of its recording
    whose start is at most ``radius`` samples from its own (itself included); a tie
    keeps the window's own decision when it is among the most frequent, else goes to
    the smallest code. Unlike the causal vote of `myoshift.evaluation.metrics` (what a
    live system can do), this one looks ahead: it relabels data already recorded.
    """
    dec = np.asarray(decisions)
    codes, inv = np.unique(dec, return_inverse=True)
    order, lo, hi = _neighbourhoods(np.asarray(recording), np.asarray(start), radius)
    n = len(dec)
    cum = np.zeros((n + 1, len(codes)))
    cum[np.arange(1, n + 1), inv[order]] = 1.0
    cum = np.cumsum(cum, axis=0)
    counts = cum[hi] - cum[lo]
    counts[np.arange(n), inv[order]] += 0.5
    out = np.empty_like(dec)
    out[order] = codes[np.argmax(counts, axis=1)]
    return out


def _timeline(X: Any) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Recording code and start (samples) of each window and the rate; None for arrays."""
    meta = getattr(X, "meta", None)
    if not isinstance(X, Windows) or meta is None or not {"recording", "start"} <= set(meta):
        return None
    rec = pd.factorize(meta["recording"])[0]
    return rec, meta["start"].to_numpy(dtype=np.float64), float(X.fs)


def pseudo_labels(
    proba: np.ndarray, X: Any, vote_ms: float, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Vote-corrected decisions (column indices of ``proba``) and the windows to keep.

    A window is kept when the probability the model gives its (vote-corrected) label,
    averaged over the windows within ``vote_ms`` (centred) of it, is at least
    ``confidence``: a confident stretch, not a stray decision. Without a timeline (plain
    arrays) or with ``vote_ms`` 0, each window's own decision and top probability count.
    """
    proba = np.asarray(proba, dtype=np.float64)
    decisions = proba.argmax(axis=1)
    timeline = _timeline(X)
    if timeline is None or vote_ms <= 0:
        return decisions, proba.max(axis=1) >= confidence
    rec, start, fs = timeline
    radius = vote_ms / 2000.0 * fs
    labels = vote_smooth(decisions, rec, start, radius)
    order, lo, hi = _neighbourhoods(rec, start, radius)
    cum = np.concatenate([np.zeros((1, proba.shape[1])), np.cumsum(proba[order], axis=0)])
    support = np.empty(len(labels))
    support[order] = (cum[hi] - cum[lo])[np.arange(len(order)), labels[order]] / (hi - lo)
    return labels, support >= confidence


# ---------------------------------------------------------------------- deep policies
def _deep_owner(est: Any) -> str:
    return f"{type(est).__name__}(model={est.model!r})"


@contextmanager
def _no_alignment(est: Any) -> Iterator[None]:
    """``est.adapt`` without ring alignment (pseudo-labels cannot choose a rotation)."""
    saved, est.adapt_align = est.adapt_align, None
    try:
        yield
    finally:
        est.adapt_align = saved


def _bn_or_refuse(est: Any, inputs: Any, policy: Policy) -> list[Any]:
    layers = adaptation.batchnorm_layers(est.net_)
    if not layers or isinstance(inputs, dict):
        why = "several inputs" if layers else "no batch-norm layer"
        raise ConfigError(
            f"{_deep_owner(est)} cannot take recalibration policy {policy.name!r}: its "
            f"network has {why} (use 'self-training' or 'zhai')"
        )
    return layers


def _tent(est: Any, inputs: Any, policy: Policy, batch: int) -> None:
    layers = _bn_or_refuse(est, inputs, policy)
    net = est.net_
    adaptation.adabn(net, inputs, batch, est.device)
    params = [p for m in layers for p in (m.weight, m.bias) if p is not None]
    if not params:
        raise ConfigError(
            f"{_deep_owner(est)} cannot take recalibration policy 'tent': its batch-norm "
            "layers have no affine parameters"
        )
    ids = {id(p) for p in params}
    for p in net.parameters():
        p.requires_grad_(id(p) in ids)

    def bn_batch_statistics(m: torch.nn.Module) -> None:
        m.eval()
        for layer in layers:
            layer.train()

    cfg = est._train_config(
        epochs=int(policy["epochs"]),
        lr=float(policy["lr"]),
        optimizer="adam",
        weight_decay=0.0,
        schedule="constant",
        warmup_epochs=0.0,
        patience=None,
        checkpoint_dir=None,
        batch_size=batch,
    )
    try:
        Trainer(cfg).run(net, EntropyTask(inputs), params=params, train_mode=bn_batch_statistics)
    finally:
        for p in net.parameters():
            p.requires_grad_(True)
        net.eval()


def _self_label(est: Any, X: Any, arr: Any, policy: Policy, batch: int) -> dict[str, Any]:
    """Pseudo-label the target windows and fine-tune on those kept (self-training, zhai)."""
    single = est.net_.input_names == ["emg"]
    if policy.options.get("adabn") and single and adaptation.batchnorm_layers(est.net_):
        adaptation.adabn(est.net_, arr, batch, est.device)
    proba = est.predict_proba(X)
    labels, kept = pseudo_labels(proba, X, policy["vote_ms"], policy.options.get("confidence", 0.0))
    info = {
        "n_kept": int(kept.sum()),
        "changed_by_vote": float(np.mean(labels != proba.argmax(axis=1))),
    }
    if kept.sum() < 2:
        log.warning(
            "%s: %s kept %d windows; not fine-tuned", _deep_owner(est), policy.name, kept.sum()
        )
        return info
    idx = np.flatnonzero(kept)
    target = X.subset(idx) if isinstance(X, Windows) else arr[idx]
    with _no_alignment(est):
        est.adapt(
            target,
            est.classes_[labels[idx]],
            mode="full",
            epochs=policy["epochs"],
            lr=policy["lr"],
            batch_size=batch,
        )
    return info


def recalibrate_deep(est: Any, X: Any, spec: Any) -> dict[str, Any]:
    """Apply policy ``spec`` to the fitted deep estimator ``est`` on unlabelled ``X``.

    Returns a summary (policy, windows seen, and for the self-labelling policies the
    windows kept and the share of decisions the vote changed).
    """
    classify = est._task == "classification"
    policy = check_policy(
        spec,
        _deep_owner(est),
        DEEP_POLICIES if classify else ("adabn",),
        "" if classify else "a regressor has no class decisions to learn from",
    )
    X, arr, _ = est._check_X(X)  # labels are ignored
    net = est._check_fitted().to(est.device)
    inputs = est._named(X, arr, net.input_names)
    batch = int(est.batch_size)
    info: dict[str, Any] = {"policy": policy.name, "n_windows": len(arr)}
    if policy.name == "adabn":
        _bn_or_refuse(est, inputs, policy)
        adaptation.adabn(net, arr, batch, est.device)
    elif policy.name == "tent":
        _tent(est, inputs, policy, batch)
    else:
        info.update(_self_label(est, X, arr, policy, batch))
    net.eval()
    return info


# ---------------------------------------------------------------------- classical policy
def recalibrate_classical(est: Any, X: Any, spec: Any) -> dict[str, Any]:
    """``lda-means`` on the fitted `ClassicalClassifier` ``est`` (see the module doc)."""
    lda = getattr(est, "classifier", None) == "lda"
    policy = check_policy(
        spec,
        f"{type(est).__name__}(classifier={getattr(est, 'classifier', None)!r})",
        CLASSICAL_POLICIES if lda else (),
        "" if lda else "lda-means re-estimates the class means of LDA",
    )
    est._check_fitted()
    X = est._as_input(X)
    F = est._features(X)
    labels, kept = pseudo_labels(
        est.pipeline_.predict_proba(F), X, policy["vote_ms"], policy["confidence"]
    )
    rows, y_train = np.array(est.features_train_, copy=True), est.y_train_
    moved = []
    for k, cls in enumerate(est.classes_):
        target = kept & (labels == k)
        source = y_train == cls
        if target.sum() < 2 or not source.any():
            continue
        rows[source] += policy["weight"] * (F[target].mean(axis=0) - rows[source].mean(axis=0))
        moved.append(cls)
    if moved:
        est._refit(rows, y_train)
    else:
        log.warning("%s: lda-means found no class with 2 confident windows", type(est).__name__)
    return {
        "policy": policy.name,
        "n_windows": len(F),
        "n_kept": int(kept.sum()),
        "classes_moved": np.asarray(moved).tolist(),
    }


# ---------------------------------------------------------------------- estimator mixins
class DeepRecalibration:
    """``recalibrate(X, policy)`` of the deep estimators (parameter ``recalibrate_policy``)."""

    recalibrate_policy: Any

    def recalibrate(self, X: Any, policy: Any = None) -> Self:
        """Follow a new domain from unlabelled windows ``X``, in place.

        ``policy``: ``"adabn"``, ``"self-training"``, ``"tent"`` or ``"zhai"``, or a
        mapping with options (`parse_policy`); None uses ``recalibrate_policy``. Labels
        in ``X`` are never read. The changes live in the network's weights (saved with
        them); ``recalibration_`` summarises the call. A policy the estimator cannot
        take, or none, is a one-line `ConfigError`.
        """
        spec = self.recalibrate_policy if policy is None else policy
        self.recalibration_ = recalibrate_deep(self, X, spec)
        return self


class ClassicalRecalibration:
    """``recalibrate(X, policy)`` of `ClassicalClassifier` (only ``lda-means``, with LDA)."""

    recalibrate_policy: Any

    def recalibrate(self, X: Any, policy: Any = None) -> Self:
        """Follow a new domain from unlabelled windows ``X``, in place: ``lda-means``
        (None uses ``recalibrate_policy``). The recalibrated training rows are saved
        with the estimator; ``recalibration_`` summarises the call."""
        spec = self.recalibrate_policy if policy is None else policy
        self.recalibration_ = recalibrate_classical(self, X, spec)
        return self
