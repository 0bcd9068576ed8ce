"""Decision-level fusion of any estimators, its weights fitted on held-out data.

`DecisionFusion` joins the decisions of member estimators of any kind (deep, classical,
on different inputs of the same windows) by one of three rules (`fusion_rules`):
``soft-vote`` (weighted mean of probabilities), ``product`` (weighted product, i.e. sum
of log-probabilities; Kittler et al. 1998) or ``stacking`` (a meta-classifier on the
members' outputs; Wolpert 1992). Nothing is hand-picked: the weights, or the
meta-classifier, are fitted on *out-of-fold* member outputs of an inner split of the
training windows by group (repetition) — grouped k-fold (``cv`` an int) or one
held-out share of the groups (``cv`` a fraction) — and the members are then refitted
on all training windows. ``adapt`` calibrates every member with its own recipe and,
with ``refit_on_adapt``, refits the weights the same way on the calibration windows.

`ClassifierRegressorFusion` is the stacking of a classifier with a regressor trained
separately on a joint-angle stream (the windows' ``target:``): the regressor's
predicted angles join the classifier's probabilities as features of the
meta-classifier, and ``predict_targets`` gives the regressor's angles.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone, is_regressor
from sklearn.model_selection import GroupKFold
from sklearn.utils.multiclass import type_of_target

from myoshift.errors import ConfigError
from myoshift.learn.data import check_labels, check_windows, is_recordings
from myoshift.learn.ensemble import ProbabilityEnsemble, fit_estimator
from myoshift.learn.fusion_rules import METAS, RULES, combine, fit_meta, fit_weights
from myoshift.learn.multitask import labels_and_targets
from myoshift.learn.persistence import EstimatorState
from myoshift.learn.registry import register_estimator
from myoshift.learn.tasks.batching import take_rows
from myoshift.signal.windows import Windows

__all__ = ["ClassifierRegressorFusion", "DecisionFusion", "inner_splits"]


def _blocks(codes: np.ndarray, n_parts: int) -> np.ndarray:
    """Pseudo-groups without groups: each class's windows, in order, cut into
    ``n_parts`` contiguous blocks (never random windows: neighbours overlap)."""
    out = np.zeros(len(codes), dtype=np.int64)
    for c in np.unique(codes):
        pos = np.flatnonzero(codes == c)
        out[pos] = np.arange(len(pos)) * n_parts // len(pos)
    return out


def inner_splits(
    groups: np.ndarray | None, codes: np.ndarray, cv: int | float, seed: int, owner: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(fit, held-out)`` window indices of the inner split; a group is never on both sides.

    ``cv`` an int >= 2: grouped k-fold (every window held out once); a float in (0, 1):
    that share of the groups (at least one) held out once, chosen with ``seed``.
    ``groups`` None: contiguous blocks of each class (`_blocks`; 4 for a fraction).
    `ConfigError` naming ``owner`` when there are fewer groups than the split needs.
    """
    k_fold = isinstance(cv, int)
    need = int(cv) if k_fold else 2
    g = np.asarray(groups) if groups is not None else _blocks(codes, need if k_fold else 4)
    uniq = np.unique(g)
    if len(uniq) < need:
        raise ConfigError(
            f"{owner}: too little data for the inner split that fits the fusion: "
            f"{len(uniq)} group(s) (repetitions) of training windows, the split needs at "
            f"least {need} (cv={cv!r}); give more repetitions or a smaller cv"
        )
    if k_fold:
        return list(GroupKFold(n_splits=need).split(codes, groups=g))
    rng = np.random.default_rng(seed)
    n_held = int(np.clip(round(float(cv) * len(uniq)), 1, len(uniq) - 1))
    held = np.isin(g, rng.choice(uniq, size=n_held, replace=False))
    return [(np.flatnonzero(~held), np.flatnonzero(held))]


def _rows(X: Any, idx: np.ndarray) -> Any:
    return X.subset(idx) if isinstance(X, Windows) else take_rows(X, idx)


def _outputs(est: Any, X: Any, classes: np.ndarray) -> np.ndarray:
    """A member's decision on ``X``: probabilities over ``classes`` (zero for a class the
    member never saw) for a classifier, the predictions ``(n, k)`` for a regressor."""
    if is_regressor(est):
        out = np.asarray(est.predict(X), dtype=float)
        return out.reshape(len(out), -1)
    proba = np.asarray(est.predict_proba(X), dtype=float)
    own = np.asarray(est.classes_)
    if not np.isin(own, classes).all():
        raise ConfigError(f"a member predicts classes {own.tolist()} beyond {classes.tolist()}")
    full = np.zeros((len(proba), len(classes)))
    full[:, np.searchsorted(classes, own)] = proba
    return full


@register_estimator(task="classification")
class DecisionFusion(ProbabilityEnsemble):
    """Fusion of member decisions with fitted weights or a fitted meta-classifier.

    Parameters
    ----------
    estimators : list of (str, estimator)
        Named members (cloned on `fit`): classifiers with ``predict_proba``; regressors
        (stacking only) when the windows carry a regression target.
    rule : {"soft-vote", "product", "stacking"}
        How the decisions are combined (module docstring, `fusion_rules`).
    weights : "fit", None or list of float
        Voting rules: ``"fit"`` on held-out outputs (the default), None equal weights,
        or given numbers (the hand-picked reference). Stacking: ``"fit"`` or None.
    cv : int or float
        Inner split by group: grouped k-fold (int >= 2) or one held-out share of the
        groups (float in (0, 1)); the members are fitted once per fold, then on all.
    meta : {"logistic", "lda"}
        Stacking's meta-classifier, on standardised member outputs.
    refit_on_adapt : bool
        In `adapt`, refit the weights / meta-classifier on an inner split of the
        calibration windows (members adapted on one part, scored on the other).
    seed : int
        Chooses the held-out groups of a fractional ``cv``.
    name : str
        The method's name, for messages.

    Attributes
    ----------
    estimators_ : list
        The members fitted on all training windows (then adapted).
    classes_ : ndarray
    weights_ : ndarray
        Fitted member weights (voting rules; empty for stacking).
    meta_coef_, meta_intercept_ : ndarray
        Stacking's linear map from member outputs to class logits.
    inner_scores_ : dict
        Held-out accuracy of every classifier member and of the fusion (whose weights
        were fitted on those same outputs) in the last weight fit.
    """

    def __init__(
        self,
        estimators: list[tuple[str, Any]] | None = None,
        rule: str = "soft-vote",
        weights: str | list[float] | None = "fit",
        cv: int | float = 3,
        meta: str = "logistic",
        refit_on_adapt: bool = False,
        seed: int = 0,
        name: str = "",
    ) -> None:
        self.estimators = estimators
        self.rule = rule
        self.weights = weights  # type: ignore[assignment]
        self.cv = cv
        self.meta = meta
        self.refit_on_adapt = refit_on_adapt
        self.seed = seed
        self.name = name

    # ------------------------------------------------------------------ checks
    def _owner(self) -> str:
        return f"method {self.name!r}" if self.name else type(self).__name__

    def _check_params(self) -> None:
        where = self._owner()
        if self.rule not in RULES:
            raise ConfigError(f"{where}: rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        if self.meta not in METAS:
            raise ConfigError(f"{where}: meta must be one of {', '.join(METAS)}, got {self.meta!r}")
        cv = self.cv
        if isinstance(cv, bool) or not (
            (isinstance(cv, int) and cv >= 2) or (isinstance(cv, float) and 0 < cv < 1)
        ):
            raise ConfigError(
                f"{where}: cv must be an int >= 2 or a fraction in (0, 1), got {cv!r}"
            )
        if self.rule == "stacking" and self.weights not in ("fit", None):
            raise ConfigError(f"{where}: stacking fits a meta-classifier; weights must be 'fit'")
        if isinstance(self.weights, str) and self.weights != "fit":
            raise ConfigError(
                f"{where}: weights must be 'fit', None or numbers, got {self.weights!r}"
            )

    def _labels_targets(self, X: Any, y: Any) -> tuple[Any, np.ndarray | None]:
        return labels_and_targets(X, y, None, getattr(self, "target", None))

    def _member_y(self, est: Any, labels: Any, targets: np.ndarray | None, name: str) -> Any:
        if not is_regressor(est):
            return labels
        if self.rule != "stacking":
            raise ConfigError(f"{self._owner()}: regressor member {name!r} needs rule 'stacking'")
        if targets is None:
            raise ConfigError(
                f"{self._owner()}: regressor member {name!r} needs windows with a regression "
                "target (a method's 'target:')"
            )
        return targets

    # ------------------------------------------------------------------ fitting
    def _fit_rule(self, outputs: list[np.ndarray], codes: np.ndarray) -> None:
        """Weights or meta-classifier from held-out ``outputs`` (class codes ``codes``)."""
        k = len(self.classes_)
        self.weights_ = np.zeros(0)
        self.meta_coef_, self.meta_intercept_ = np.zeros((k, 0)), np.zeros(k)
        if self.rule == "stacking":
            feats = np.concatenate(outputs, axis=1)
            self.meta_coef_, self.meta_intercept_ = fit_meta(feats, codes, k, self.meta)
        elif self.weights == "fit":
            self.weights_ = fit_weights(self.rule, outputs, codes)
        else:
            self.weights_ = np.asarray(self._given_weights(len(outputs)), dtype=float)
        fused = self._combine(outputs).argmax(1)
        scores = {
            n: float((o.argmax(1) == codes).mean())
            for (n, e), o in zip(self._members(), outputs)
            if not is_regressor(e)
        }
        self.inner_scores_ = {**scores, "fusion": float((fused == codes).mean())}

    def _given_weights(self, m: int) -> np.ndarray:
        if self.weights is None:
            return np.full(m, 1.0 / m)
        return ProbabilityEnsemble._weights(self)  # checks and normalises the numbers

    def _held_out(
        self, X: Any, labels: Any, targets: Any, groups: Any, fitted: list[Any] | None = None
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Out-of-fold outputs of every member and the rows they cover.

        ``fitted`` None: clones of the members are fitted on each inner part; else copies
        of these fitted members are adapted on it (calibration).
        """
        codes = np.searchsorted(self.classes_, labels)
        splits = inner_splits(groups, codes, self.cv, self.seed, self._owner())
        members = self._members()
        outs: list[np.ndarray | None] = [None] * len(members)
        rows = np.sort(np.concatenate([te for _, te in splits]))
        for tr, te in splits:
            X_tr, X_te = _rows(X, tr), _rows(X, te)
            for i, (name, est) in enumerate(members):
                y_m = self._member_y(est, labels, targets, name)
                y_tr = np.asarray(y_m)[tr]
                if fitted is None:
                    g = None if groups is None else np.asarray(groups)[tr]
                    part = fit_estimator(clone(est), X_tr, y_tr, g)
                else:
                    part = copy.deepcopy(fitted[i]).adapt(X_tr, y_tr)
                out = _outputs(part, X_te, self.classes_)
                if outs[i] is None:
                    outs[i] = np.zeros((len(labels), out.shape[1]))
                outs[i][te] = out  # type: ignore[index]
        return [o[rows] for o in outs if o is not None], rows

    def _prepare(self, X: Any, y: Any, groups: Any) -> tuple[Any, Any, Any, Any]:
        if is_recordings(X):
            raise ConfigError(
                f"{self._owner()} takes windows; cut recordings first (a MethodChain does)"
            )
        labels, targets = self._labels_targets(X, y)
        if groups is None and isinstance(X, Windows):
            groups = X.groups
        if not isinstance(X, Windows):
            X = check_windows(X)
        labels = check_labels(labels, len(X))
        if type_of_target(labels) == "continuous":
            raise ConfigError(f"{self._owner()}: y has continuous values; fusion needs classes")
        if len(np.unique(labels)) < 2:
            raise ConfigError(f"{self._owner()}: need at least 2 classes, got {np.unique(labels)}")
        return X, labels, targets, groups

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> DecisionFusion:
        """Fit the rule on out-of-fold member outputs, then every member on all windows."""
        self._check_params()
        members = self._members()
        X, labels, targets, groups = self._prepare(X, y, groups)
        self.classes_ = np.unique(labels)
        outputs, rows = self._held_out(X, labels, targets, groups)
        self._fit_rule(outputs, np.searchsorted(self.classes_, labels[rows]))
        fitted = []
        for name, est in members:
            y_m = self._member_y(est, labels, targets, name)
            fitted.append(fit_estimator(clone(est), X, y_m, groups))
        for (name, _), est in zip(members, fitted):
            if not is_regressor(est) and not np.array_equal(est.classes_, self.classes_):
                raise ConfigError(
                    f"{self._owner()}: member {name!r} has classes {est.classes_.tolist()}, "
                    f"the windows {self.classes_.tolist()}"
                )
        self.estimators_ = fitted
        return self

    def adapt(self, X: Any, y: Any = None) -> DecisionFusion:
        """Calibrate every member with its own recipe (and refit the rule if asked)."""
        fitted = self._check_fitted()
        labels, targets = self._labels_targets(X, y)
        if self.refit_on_adapt:
            X, labels, targets, groups = self._prepare(X, y, None)
            outputs, rows = self._held_out(X, labels, targets, groups, fitted)
            codes = np.searchsorted(self.classes_, labels[rows])
            self._fit_rule(outputs, codes)
        for (name, _), est in zip(self._members(), fitted):
            if not hasattr(est, "adapt"):
                raise ConfigError(f"{self._owner()}: member {name!r} has no adapt()")
            est.adapt(X, self._member_y(est, labels, targets, name) if labels is not None else None)
        return self

    # ------------------------------------------------------------------ prediction
    def _combine(self, outputs: list[np.ndarray]) -> np.ndarray:
        return combine(self.rule, outputs, self.weights_, self.meta_coef_, self.meta_intercept_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Fused class probabilities ``(n_windows, n_classes)``."""
        fitted = self._check_fitted()
        return self._combine([_outputs(e, X, self.classes_) for e in fitted])

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> EstimatorState:
        state = super()._get_state()
        state.arrays.update(
            weights=self.weights_, meta_coef=self.meta_coef_, meta_intercept=self.meta_intercept_
        )
        state.fitted["inner_scores"] = self.inner_scores_
        return state

    @classmethod
    def _from_state(cls, params: dict[str, Any], state: EstimatorState, folder: Path) -> Any:
        est = super()._from_state(params, state, folder)
        est.weights_ = np.asarray(state.arrays["weights"], dtype=float)
        est.meta_coef_ = np.asarray(state.arrays["meta_coef"], dtype=float)
        est.meta_intercept_ = np.asarray(state.arrays["meta_intercept"], dtype=float)
        est.inner_scores_ = dict(state.fitted.get("inner_scores", {}))
        return est


@register_estimator(task="regression")
class ClassifierRegressorFusion(DecisionFusion):
    """Stacking of classifiers with regressors trained separately on a regression target.

    Each regressor member (e.g. ``rcnn-glove``) learns the windows' target stream (the
    joint angles of a data glove); its out-of-fold predicted angles join the classifier
    members' probabilities as features of the meta-classifier, which decides the class.
    Posture is a compact, continuous description of what the hand does, so angles
    predicted from the EMG can separate movements that the classifier confuses;
    the meta-classifier learns from held-out outputs how far to trust each. Registered
    as a regression estimator because it needs the ``target:`` stream; ``predict``
    gives the classes, ``predict_targets`` the regressors' (mean) prediction.

    Parameters
    ----------
    estimators, cv, meta, refit_on_adapt, seed, name
        As `DecisionFusion` (its rule is ``stacking``).
    target : str or None
        The `Windows.extra` stream the regressors learn (None: the only one).
    """

    rule = "stacking"
    weights = "fit"  # type: ignore[assignment]

    def __init__(
        self,
        estimators: list[tuple[str, Any]] | None = None,
        cv: int | float = 3,
        meta: str = "logistic",
        refit_on_adapt: bool = False,
        target: str | None = None,
        seed: int = 0,
        name: str = "",
    ) -> None:
        self.estimators = estimators
        self.cv = cv
        self.meta = meta
        self.refit_on_adapt = refit_on_adapt
        self.target = target
        self.seed = seed
        self.name = name

    def predict_targets(self, X: Any) -> np.ndarray:
        """The regressor members' mean prediction of the target stream."""
        regs = [e for e in self._check_fitted() if is_regressor(e)]
        if not regs:
            raise ConfigError(f"{self._owner()} has no regressor member to predict targets")
        return np.asarray(np.mean([np.asarray(e.predict(X)) for e in regs], axis=0))
