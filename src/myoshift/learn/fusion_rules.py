"""Combining rules of decision-level fusion and their fitting (pure NumPy / SciPy).

* ``soft-vote``: the weighted mean of the members' class probabilities, weights on the
  simplex (Kittler et al. 1998's sum rule, weighted);
* ``product``: the normalised weighted product of the probabilities, i.e. a softmax of
  the weighted sum of log-probabilities, weights >= 0 (Kittler's product rule; the
  weights' scale also calibrates the confidence);
* ``stacking``: a linear meta-classifier (multinomial logistic regression or LDA) on
  the members' outputs side by side (Wolpert 1992): class probabilities of classifiers,
  predictions of regressors.

Weights minimise the negative log-likelihood of the fused probabilities on held-out
member outputs (`fit_weights`); the meta-classifier is stored as one linear map with
the feature standardisation folded in (`fit_meta`), so a fitted rule is a few arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from myoshift.errors import ConfigError

RULES = ("soft-vote", "product", "stacking")
METAS = ("logistic", "lda")
#: probability floor before a logarithm
EPS = 1e-6
#: logit of a class the meta-classifier never saw (never chosen)
_ABSENT = -50.0


def _nll(proba: np.ndarray, codes: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(codes)), codes], EPS, None))))


def combine(
    rule: str,
    outputs: Sequence[np.ndarray],
    weights: np.ndarray,
    coef: np.ndarray | None = None,
    intercept: np.ndarray | None = None,
) -> np.ndarray:
    """Fused class probabilities ``(n, n_classes)`` of the members' ``outputs``.

    ``outputs`` are class probabilities ``(n, n_classes)`` (every member for the
    voting rules) or, for stacking, any member outputs ``(n, d_m)``; ``weights`` one per
    member (voting rules); ``coef (n_classes, sum d_m)`` and ``intercept`` the stacking
    map.
    """
    if rule == "soft-vote":
        return np.asarray(sum(w * p for w, p in zip(weights, outputs, strict=True)))
    if rule == "product":
        logits = sum(
            w * np.log(np.clip(p, EPS, None)) for w, p in zip(weights, outputs, strict=True)
        )
        return np.asarray(softmax(logits, axis=1))
    if rule == "stacking":
        if coef is None or intercept is None:
            raise ConfigError("stacking needs a fitted meta-classifier")
        features = np.concatenate([o.reshape(len(o), -1) for o in outputs], axis=1)
        return np.asarray(softmax(features @ coef.T + intercept, axis=1))
    raise ConfigError(f"unknown fusion rule {rule!r}; valid: {', '.join(RULES)}")


def fit_weights(rule: str, probas: Sequence[np.ndarray], codes: np.ndarray) -> np.ndarray:
    """Member weights that minimise the negative log-likelihood of the fused probabilities.

    ``soft-vote``: non-negative, summing to 1 (a softmax parametrisation, starting from
    equal weights); ``product``: non-negative (bounded L-BFGS, starting from 1 each).
    """
    m = len(probas)
    if rule == "soft-vote":

        def loss_sv(a: np.ndarray) -> float:
            return _nll(combine(rule, probas, softmax(a)), codes)

        res = minimize(loss_sv, np.zeros(m), method="L-BFGS-B")
        return np.asarray(softmax(res.x))
    if rule == "product":
        logs = [np.log(np.clip(p, EPS, None)) for p in probas]

        def loss_pr(w: np.ndarray) -> float:
            logits = sum(wi * lp for wi, lp in zip(w, logs, strict=True))
            lp = log_softmax(logits, axis=1)
            return float(-np.mean(lp[np.arange(len(codes)), codes]))

        res = minimize(loss_pr, np.ones(m), method="L-BFGS-B", bounds=[(0.0, None)] * m)
        return np.asarray(res.x)
    raise ConfigError(f"weights are fitted for soft-vote and product, not {rule!r}")


def fit_meta(
    features: np.ndarray, codes: np.ndarray, n_classes: int, meta: str = "logistic"
) -> tuple[np.ndarray, np.ndarray]:
    """``(coef (n_classes, d), intercept (n_classes,))`` of a linear meta-classifier.

    Fitted on standardised ``features`` with class codes ``0..n_classes-1``; the
    standardisation is folded into the returned map. A class absent from ``codes``
    gets a logit no window reaches.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression

    if meta not in METAS:
        raise ConfigError(f"unknown meta-classifier {meta!r}; valid: {', '.join(METAS)}")
    mean = features.mean(axis=0)
    sd = features.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    z = (features - mean) / sd
    model = (
        LogisticRegression(max_iter=1000) if meta == "logistic" else LinearDiscriminantAnalysis()
    ).fit(z, codes)
    seen = np.asarray(model.classes_, dtype=np.int64)
    w, b = np.atleast_2d(model.coef_), np.ravel(model.intercept_)
    if len(seen) == 2:  # one row: the log-odds of the second class
        w, b = np.vstack([np.zeros_like(w), w]), np.array([0.0, b[0]])
    coef = np.zeros((n_classes, features.shape[1]))
    intercept = np.full(n_classes, _ABSENT)
    coef[seen], intercept[seen] = w / sd, b - (w / sd) @ mean
    return coef, intercept
