"""Few-shot decisions of a fitted estimator: learn an episode's classes from a small
labelled support set, then label its queries, leaving the estimator as it was.

`few_shot_predict` is what the few-shot regime calls (through `MethodChain.few_shot`).
Its route (`few_shot_route`):

``own``
    the estimator has ``few_shot(support, query) -> labels`` (prototypical and relation
    networks, MAML, embedding classifiers) and decides itself;
``refit``
    an estimator calibrated on the target alone (``adapt_mode="target"``, e.g. LDA on TD
    features) is refitted on the support: the same as its ``adapt``, and classes it was
    not trained on are allowed;
``adapt``
    any other estimator with ``adapt``: a copy is calibrated on the support with the
    method's own recipe (e.g. a pre-trained network with its head fine-tuned) and
    decides among the episode's classes only;
``new-head``
    the support holds classes the estimator was never trained on (novel classes) and
    its ``adapt`` keeps the fitted classes: a new linear head (multinomial logistic
    regression on standardised embeddings) is trained on the support's ``embed`` — the
    pre-trained network with a head for the new classes, its body frozen.

The few-shot regime's third baseline, the nearest class mean on embeddings (Snell et al.
2017's decision without episodic training), is `myoshift.learn.nearest_mean`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from myoshift.errors import ConfigError
from myoshift.signal.windows import Windows

__all__ = ["ROUTES", "few_shot_predict", "few_shot_route"]

ROUTES = ("own", "refit", "adapt", "new-head")


def few_shot_route(estimator: Any, support_classes: Any) -> str:
    """How `few_shot_predict` decides for ``estimator`` on a support of these classes."""
    if callable(getattr(estimator, "few_shot", None)):
        return "own"
    if getattr(estimator, "adapt_mode", None) == "target":
        return "refit"
    known = getattr(estimator, "classes_", None)
    novel = np.setdiff1d(np.asarray(support_classes), [] if known is None else known)
    if known is None:
        novel = novel[:0]
    if len(novel) and callable(getattr(estimator, "embed", None)):
        return "new-head"
    if len(novel) or not callable(getattr(estimator, "adapt", None)):
        what = f"classes {novel.tolist()} it was not fitted on" if len(novel) else "a support set"
        raise ConfigError(
            f"{type(estimator).__name__} cannot learn {what}: it has no few_shot(), no "
            "target-only adapt and no embed() for a new head"
        )
    return "adapt"


def _among(model: Any, query: Windows, classes: np.ndarray) -> np.ndarray:
    """``model``'s decisions on ``query`` restricted to ``classes`` (N-way)."""
    known = getattr(model, "classes_", None)
    if known is None or not hasattr(model, "predict_proba") or set(known) <= set(classes):
        return np.asarray(model.predict(query))
    cols = np.searchsorted(known, classes)
    proba = np.asarray(model.predict_proba(query))[:, cols]
    return classes[np.argmax(proba, axis=1)]


def few_shot_predict(estimator: Any, support: Windows, query: Windows) -> np.ndarray:
    """Labels of ``query`` after learning from ``support`` (labelled windows) alone.

    ``estimator`` (fitted) is never changed. See the module docstring for the routes.

    Raises
    ------
    ConfigError
        The estimator can neither learn from a support set nor take its classes.
    """
    classes = np.unique(support.y)
    route = few_shot_route(estimator, classes)
    if route == "own":
        return np.asarray(estimator.few_shot(support, query))
    if route == "refit":
        try:
            model = clone(estimator).fit(support, support.y)
        except ValueError as exc:  # e.g. LDA on one window per class
            raise ConfigError(
                f"{type(estimator).__name__} refitted on the support alone ({len(support.y)} "
                f"windows of {len(classes)} classes) failed: {str(exc).strip()}"
            ) from None
        return _among(model, query, classes)
    if route == "new-head":
        head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        head.fit(estimator.embed(support), support.y)
        return np.asarray(head.predict(estimator.embed(query)))
    model = copy.deepcopy(estimator)
    model.adapt(support, support.y)
    return _among(model, query, classes)
