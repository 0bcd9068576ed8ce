"""The ``few-shot`` regime: seeded N-way K-shot episodes on targets never seen in training.

Run by the ``few-shot:N,K`` protocol (`myoshift.evaluation.few_shot`; its default
regime). Per group of folds sharing training data, `prepare` fits the method on it once
(as ``transfer`` does); `run_fold` cuts the target's windows once with the fitted chain
and plays the fold's episodes (`myoshift.evaluation.few_shot_episodes`): each episode
calls `MethodChain.few_shot` with the support and query windows (the estimator's own
``few_shot``, else a copy calibrated on the support; `myoshift.learn.few_shot`) and scores
the queries. The fitted chain never changes between episodes.

Conditions of a fold's result: ``""`` the method's own decision; ``"nearest-mean"`` the
nearest class mean on the fitted estimator's ``embed`` of the same episodes (when it has
one and ``nearest_mean``). Each holds the means over the episodes of ``accuracy``,
``balanced_accuracy`` and ``f1_macro`` (over the episode's N classes), ``accuracy_sd``
and ``accuracy_ci95`` (half-width of the t-interval over the person's episodes),
``support_seconds`` (the seconds of EMG the support set spans), ``n_query`` and
``n_episodes``. The main table adds a 95 % t-interval over people's means
(`few_shot_episodes.interval_text`). No majority vote: queries are not a stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from myoshift.errors import ConfigError
from myoshift.evaluation.few_shot import fold_spec
from myoshift.evaluation.few_shot_episodes import (
    EpisodePool,
    check_pool,
    sample_episodes,
    span_seconds,
    t_halfwidth,
    target_pool,
    window_unit_ids,
)
from myoshift.evaluation.metrics import classification_metrics
from myoshift.evaluation.protocols import Fold, Protocol
from myoshift.evaluation.recipes import Method
from myoshift.evaluation.regimes import FoldOutcome, Regime, register_regime
from myoshift.learn.few_shot import few_shot_route
from myoshift.learn.nearest_mean import nearest_mean
from myoshift.signal.windows import Windows, make_windows

__all__ = ["EPISODE_METRICS", "FewShotRegime", "episode_summary"]

#: metrics of every episode, averaged over a fold's episodes
EPISODE_METRICS = ("accuracy", "balanced_accuracy", "f1_macro")


def _pool(fold: Fold, w: Windows) -> EpisodePool:
    novel = fold.info.get("novel_classes") or ()
    return target_pool(fold.test, fold_spec(fold), novel, w.y, window_unit_ids(fold.test, w.meta))


def _score(y: np.ndarray, pred: np.ndarray, classes: Sequence[int]) -> dict[str, float]:
    m = classification_metrics(y, pred, list(classes), vote=None)
    return {k: float(m[k]) for k in EPISODE_METRICS}


def episode_summary(
    scores: Sequence[dict[str, float]], seconds: Sequence[float], n_query: Sequence[int]
) -> dict[str, float]:
    """A fold's condition: episode means, the accuracy's sd and 95 % t half-width over
    episodes, mean support seconds and query count, the episode count."""
    acc = np.array([s["accuracy"] for s in scores])
    sd = float(acc.std(ddof=1)) if len(acc) > 1 else float("nan")
    out = {k: float(np.mean([s[k] for s in scores])) for k in EPISODE_METRICS}
    out.update(
        accuracy_sd=sd,
        accuracy_ci95=t_halfwidth(sd, len(acc)),
        support_seconds=float(np.mean(seconds)),
        n_query=float(np.mean(n_query)),
        n_episodes=len(scores),
    )
    return out


@register_regime
class FewShotRegime(Regime):
    """Fit on the fold's training data, then N-way K-shot episodes on its target.

    Parameters
    ----------
    nearest_mean : bool
        Also score the nearest class mean on the estimator's embeddings (condition
        ``"nearest-mean"``) where the estimator has ``embed``.
    """

    name = "few-shot"

    def __init__(self, nearest_mean: bool = True) -> None:
        self.nearest_mean = bool(nearest_mean)

    def params(self) -> dict[str, Any]:
        return {"nearest_mean": self.nearest_mean}

    def check(self, protocol: Protocol, folds: Sequence[Fold]) -> None:
        for f in folds:
            fold_spec(f)

    def prepare(self, method: Method, folds: Sequence[Fold], seed: int) -> Any:
        """Check every target can make episodes at the method's windowing, then fit."""
        if method.target is not None:
            raise ConfigError(
                f"the few-shot regime classifies; method {method.name!r} predicts {method.target!r}"
            )
        for f in folds:
            w = make_windows(f.test, method.window_ms, method.step_ms)
            where = f"target {f.name} ({method.name}: {method.window_ms:g} ms windows every "
            check_pool(_pool(f, w), fold_spec(f), f"{where}{method.step_ms:g} ms)")
        chain = method.chain(float(folds[0].train[0].fs), seed)
        return chain.fit(folds[0].train)

    def run_fold(
        self, method: Method, prepared: Any, fold: Fold, seed: int, vote: int | None
    ) -> FoldOutcome:
        spec = fold_spec(fold)
        w = prepared.windows(fold.test)
        episodes = sample_episodes(_pool(fold, w), spec, seed, fold.name)
        est = prepared.estimator_
        emb = None
        if self.nearest_mean and callable(getattr(est, "embed", None)):
            emb = np.asarray(est.embed(w))
        scores: dict[str, list[dict[str, float]]] = {"": [], "nearest-mean": []}
        seconds, n_query = [], []
        window = w.window or w.n_samples
        for ep in episodes:
            s, q = w.subset(ep.support), w.subset(ep.query)
            seconds.append(span_seconds(s.meta, window, w.fs))
            n_query.append(len(q))
            scores[""].append(_score(q.y, prepared.few_shot(s, q), ep.classes))
            if emb is not None:
                pred = nearest_mean(emb[ep.support], s.y, emb[ep.query])
                scores["nearest-mean"].append(_score(q.y, pred, ep.classes))
        conditions = {c: episode_summary(v, seconds, n_query) for c, v in scores.items() if v}
        info = {
            "n_way": spec.n_way,
            "k_shot": spec.k_shot,
            "shots": spec.shots,
            "few_shot_route": few_shot_route(est, episodes[0].classes),
            "support_seconds": float(np.mean(seconds)),
        }
        return FoldOutcome(conditions, len(w), info, prepared)
