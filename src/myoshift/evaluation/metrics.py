"""Classification and regression metrics (thin, tested wrappers over scikit-learn).

Window-level metrics and metrics after a majority vote over consecutive windows of one
recording are reported separately (``accuracy`` vs ``accuracy_vote5``). The vote runs
as a live system would: over every window in time order, the unlabelled ones included
(marked ``UNLABELLED`` in ``y_true``), and only labelled windows are scored.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import metrics as skm

from myoshift.errors import ShapeError
from myoshift.recording import UNLABELLED


def _check_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape[0] != p.shape[0]:
        raise ShapeError(f"y_true has {t.shape[0]} rows, y_pred {p.shape[0]}")
    if t.shape[0] == 0:
        raise ShapeError("no predictions to score")
    return t, p


def majority_vote(y_pred: Any, groups: Any = None, n: int = 5) -> np.ndarray:
    """Causal majority vote over the last ``n`` windows (inclusive) of each group.

    ``groups`` (e.g. the recording of each window, windows in time order within it) keeps
    votes from crossing recordings; ties go to the smallest class code.
    """
    pred = np.asarray(y_pred)
    if n < 1:
        raise ShapeError(f"vote length must be >= 1, got {n}")
    if n == 1 or pred.size == 0:
        return pred.copy()
    g = np.zeros(len(pred), dtype=np.int64) if groups is None else np.asarray(groups)
    classes, inv = np.unique(pred, return_inverse=True)
    out = np.empty_like(pred)
    for gv in np.unique(g):
        pos = np.flatnonzero(g == gv)
        onehot = np.zeros((len(pos) + 1, len(classes)), dtype=np.int32)
        onehot[np.arange(1, len(pos) + 1), inv[pos]] = 1
        cum = np.cumsum(onehot, axis=0)
        hi = np.arange(1, len(pos) + 1)
        lo = np.maximum(hi - n, 0)
        out[pos] = classes[np.argmax(cum[hi] - cum[lo], axis=1)]
    return out


def confusion(y_true: Any, y_pred: Any, labels: Sequence[Any] | None = None) -> np.ndarray:
    """Confusion matrix: rows true class, columns predicted class, in ``labels`` order."""
    t, p = _check_pair(y_true, y_pred)
    labs = list(np.union1d(t, p)) if labels is None else list(labels)
    return skm.confusion_matrix(t, p, labels=labs)


def classification_metrics(
    y_true: Any,
    y_pred: Any,
    labels: Sequence[Any] | None = None,
    groups: Any = None,
    vote: int | None = 5,
) -> dict[str, Any]:
    """Every classification metric of the benchmark.

    Parameters
    ----------
    y_true, y_pred : array-like (n,)
        True and predicted class of every window, in time order within each group.
        Windows whose ``y_true`` is ``UNLABELLED`` (-1: unmarked time between gestures)
        are predicted but not scored: they count in the vote, as in a live system,
        and in no metric.
    labels : sequence or None
        Class order of ``confusion`` (default: the classes of the scored windows).
    groups : array-like (n,) or None
        Continuous stretch of each window (e.g. its recording); votes never cross one.
    vote : int or None
        Length of the causal majority vote (`majority_vote`) over the last ``vote``
        decisions of a group, labelled or not; ``None`` or 1: no vote metrics.

    Returns
    -------
    dict
        ``accuracy``, ``balanced_accuracy``, ``precision_macro``, ``recall_macro``,
        ``f1_macro`` (floats), ``recall_per_class`` (dict class -> recall),
        ``confusion`` (nested list, rows = true), ``labels``, ``n`` (scored windows),
        and with ``vote`` ``accuracy_vote{n}`` / ``balanced_accuracy_vote{n}``: the
        same windows scored after the vote.

    Raises
    ------
    ShapeError
        Lengths differ, or no labelled window to score.
    """
    t_all, p_all = _check_pair(y_true, y_pred)
    scored = t_all != UNLABELLED
    t, p = t_all[scored], p_all[scored]
    if t.shape[0] == 0:
        raise ShapeError("no labelled windows to score (every y_true is UNLABELLED)")
    labs = list(np.union1d(t, p) if labels is None else labels)
    present = [c for c in labs if c in set(t.tolist())]
    with warnings.catch_warnings():  # predicted classes absent from y_true are expected
        warnings.simplefilter("ignore", UserWarning)
        prec, rec, f1, _ = skm.precision_recall_fscore_support(
            t, p, labels=present, average="macro", zero_division=0
        )
        per_class = skm.recall_score(t, p, labels=present, average=None, zero_division=0)
    out: dict[str, Any] = {
        "accuracy": float(skm.accuracy_score(t, p)),
        "balanced_accuracy": float(np.mean(per_class)),
        "precision_macro": float(prec),
        "recall_macro": float(rec),
        "f1_macro": float(f1),
        "recall_per_class": {str(c): float(r) for c, r in zip(present, per_class)},
        "confusion": confusion(t, p, labs).tolist(),
        "labels": [int(c) if isinstance(c, (int, np.integer)) else str(c) for c in labs],
        "n": int(len(t)),
    }
    if vote and vote > 1:
        voted = majority_vote(p_all, groups, vote)[scored]
        out[f"accuracy_vote{vote}"] = float(skm.accuracy_score(t, voted))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            voted_rec = skm.recall_score(t, voted, labels=present, average=None, zero_division=0)
        out[f"balanced_accuracy_vote{vote}"] = float(np.mean(voted_rec))
    return out


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error over all outputs."""
    t, p = _check_pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t.astype(float) - p) ** 2)))


def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination, averaged uniformly over outputs."""
    t, p = _check_pair(y_true, y_pred)
    return float(skm.r2_score(t, p))


def pearson_r(y_true: Any, y_pred: Any) -> float:
    """Pearson correlation per output, averaged over outputs (constant outputs skipped)."""
    t, p = _check_pair(y_true, y_pred)
    t2 = t.reshape(len(t), -1).astype(float)
    p2 = p.reshape(len(p), -1).astype(float)
    rs = []
    for j in range(t2.shape[1]):
        if np.std(t2[:, j]) > 0 and np.std(p2[:, j]) > 0:
            rs.append(np.corrcoef(t2[:, j], p2[:, j])[0, 1])
    return float(np.mean(rs)) if rs else float("nan")


def nmse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error normalised by the variance of the target, averaged over outputs."""
    t, p = _check_pair(y_true, y_pred)
    t2 = t.reshape(len(t), -1).astype(float)
    p2 = p.reshape(len(p), -1).astype(float)
    var = t2.var(axis=0)
    mse = ((t2 - p2) ** 2).mean(axis=0)
    ok = var > 0
    return float(np.mean(mse[ok] / var[ok])) if ok.any() else float("nan")


#: the metrics of `regression_metrics`, headline first
REGRESSION_METRICS = ("r2", "pearson_r", "nmse", "rmse")


def regression_metrics(y_true: Any, y_pred: Any, per_output: bool = False) -> dict[str, float]:
    """``r2``, ``pearson_r``, ``nmse`` and ``rmse`` (`REGRESSION_METRICS`).

    ``per_output``: with several outputs (e.g. the joints of a data glove), also
    ``r2[j]`` and ``rmse[j]`` of each output column ``j``.
    """
    fns = {"r2": r2, "pearson_r": pearson_r, "nmse": nmse, "rmse": rmse}
    out = {name: fns[name](y_true, y_pred) for name in REGRESSION_METRICS}
    t, p = _check_pair(y_true, y_pred)
    if per_output and t.ndim == 2 and t.shape[1] > 1:
        for j in range(t.shape[1]):
            out[f"r2[{j}]"] = r2(t[:, j], p[:, j])
            out[f"rmse[{j}]"] = rmse(t[:, j], p[:, j])
    return out
