"""`MethodChain`: recordings in, decisions out — preprocess, windows, represent, estimator.

A named method is more than an estimator: it says how the raw signal is cleaned
(``preprocess``: Recording -> Recording, e.g. a band-pass), how it is cut (window and
step), how windows are represented (``represent``: Windows -> Windows, e.g. PCA or a
wavelet-packet image as a second input) and which estimator decides. `MethodChain`
holds all of it as one scikit-learn style estimator over recordings: steps are fitted on
the training recordings only, applied unchanged to calibration and test data, and saved
with the estimator (one folder, safetensors + JSON), so the same chain replays offline,
on a stream and in an exported graph. This is the one place where a method's window
length and step live.

A chain whose ``preprocess`` is None applies what the dataset declares its raw signal
needs (`myoshift.datasets.Dataset.preprocess`, read with
`myoshift.signal.preprocess.dataset_preprocess`; e.g. flexemg's DC removal and
band-pass); ``preprocess=[]`` applies nothing.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import Tags, get_tags

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn.ensemble import fit_estimator
from myoshift.learn.few_shot import few_shot_predict
from myoshift.learn.persistence import EstimatorState, Persistent
from myoshift.learn.placement_align import (
    PlacementCorrection,
    aligned,
    check_mode,
    estimate_correction,
    placement_from_state,
    placement_state,
    reference_of,
)
from myoshift.learn.registry import register_estimator
from myoshift.recording import Recording, RecordingSet
from myoshift.signal.placement import PlacementReference
from myoshift.signal.preprocess import dataset_preprocess
from myoshift.signal.steps import (
    Step,
    apply_steps,
    fit_steps,
    make_steps,
    steps_from_json,
    steps_to_json,
)
from myoshift.signal.windows import Windows, make_windows


def _as_set(recordings: Any) -> RecordingSet:
    if isinstance(recordings, Recording):
        return RecordingSet([recordings])
    if isinstance(recordings, RecordingSet):
        return recordings
    if isinstance(recordings, list | tuple) and all(isinstance(r, Recording) for r in recordings):
        return RecordingSet(recordings)
    raise ConfigError(
        f"MethodChain takes recordings (a Recording, a RecordingSet or a list of them), got "
        f"{type(recordings).__name__}; pass windows to the estimator itself"
    )


@register_estimator(task="classification")
class MethodChain(Persistent, BaseEstimator):
    """Preprocess -> windows -> represent -> estimator, fitted and saved as one.

    Parameters
    ----------
    estimator : estimator
        Takes `Windows` (or arrays); cloned on `fit`.
    window_ms, step_ms : float
        Windowing of every recording the chain sees.
    preprocess : list of step specs or None
        Recording -> Recording steps (`myoshift.signal.steps`); None: the dataset's
        declared preprocessing; ``[]``: none.
    represent : list of step specs or None
        Windows -> Windows steps, fitted on the training windows.
    target : str or None
        Regression: the auxiliary stream (e.g. ``"glove"``) whose value at each window's
        end is the target; None: the window labels.
    aux : tuple of str
        Auxiliary streams cut into windows of their own beside the EMG (e.g. ``("imu",)``).
    name : str
        The method's name (for messages and saved files).
    placement : {None, "labelled", "unlabelled"}
        Armband placement compensation (ring layouts only;
        `myoshift.learn.placement_align`): ``adapt`` ("labelled": with the calibration
        labels; "unlabelled": labels ignored) or, for "unlabelled", ``recalibrate``
        estimates the rotation of the new recordings against the training recordings,
        then every input recording is rotated back before preprocessing.

    Attributes
    ----------
    estimator_ : the fitted estimator
    preprocess_, represent_ : list of fitted `Step`
    fs_, n_channels_ : float, int
        Rate and channel count of the raw recordings the chain was fitted on (what a
        stream must deliver).
    reference_, placement_ : PlacementReference, PlacementCorrection or None
        With ``placement``: the training recordings' placement reference and the
        rotation estimated at the last ``adapt``/``recalibrate`` (None before).
    """

    _child_params = ("estimator",)

    def __init__(
        self,
        estimator: Any = None,
        window_ms: float = 200.0,
        step_ms: float = 25.0,
        preprocess: list[Any] | None = None,
        represent: list[Any] | None = None,
        target: str | None = None,
        aux: tuple[str, ...] | list[str] = (),
        name: str = "",
        placement: str | None = None,
    ) -> None:
        self.estimator = estimator
        self.window_ms = window_ms
        self.step_ms = step_ms
        self.preprocess = preprocess
        self.represent = represent
        self.target = target
        self.aux = aux
        self.name = name
        self.placement = placement

    # ------------------------------------------------------------------ internals
    def _where(self) -> str:
        return f"method {self.name!r}" if self.name else "MethodChain"

    def _cut(self, recordings: RecordingSet, drop_unlabelled: bool = True) -> Windows:
        targets = () if self.target is None else (self.target,)
        try:
            return make_windows(
                recordings,
                self.window_ms,
                self.step_ms,
                drop_unlabelled=drop_unlabelled,
                targets=targets,
                aux=tuple(self.aux),
            )
        except ConfigError as exc:
            raise ConfigError(f"{self._where()}: {exc}") from None

    def _check_input(self, rset: RecordingSet) -> None:
        """Recordings at the rate and channel count the chain was fitted on (windows of
        another length or width would otherwise reach the estimator unnoticed)."""
        fs, n_channels = getattr(self, "fs_", None), getattr(self, "n_channels_", None)
        for r in rset:
            if fs is not None and abs(r.fs - fs) > 1e-9:
                raise ConfigError(
                    f"{self._where()} was fitted on {fs:g} Hz recordings; {r._name()} is at "
                    f"{r.fs:g} Hz (resample it first)"
                )
            if n_channels is not None and r.n_channels != n_channels:
                raise ShapeError(
                    f"{self._where()} was fitted on {n_channels} channels; {r._name()} has "
                    f"{r.n_channels}"
                )

    def targets(self, w: Windows) -> np.ndarray:
        """What the estimator learns from ``w``: labels, or the regression target."""
        return w.y if self.target is None else w.extra[self.target]

    def __sklearn_tags__(self) -> Tags:
        """Recordings in (neither a table nor windows); the wrapped estimator's kind."""
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        if isinstance(self.estimator, BaseEstimator):
            inner = get_tags(self.estimator)
            tags.estimator_type = inner.estimator_type
            tags.classifier_tags = inner.classifier_tags
            tags.regressor_tags = inner.regressor_tags
        return tags  # target_tags.required stays False: labels come from the recordings

    def __sklearn_is_fitted__(self) -> bool:
        return getattr(self, "estimator_", None) is not None

    def _check_fitted(self) -> Any:
        est = getattr(self, "estimator_", None)
        if est is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"{self._where()} is not fitted yet; call fit first")
        return est

    # ------------------------------------------------------------------ public API
    def fit(self, recordings: Any, y: Any = None) -> MethodChain:
        """Fit the steps and the estimator on training recordings (labels from them)."""
        if self.estimator is None:
            raise ConfigError(f"{self._where()}: no estimator to fit")
        rset = _as_set(recordings)
        check_mode(self.placement, self._where())
        ref = reference_of(rset, self._where()) if self.placement else None
        self.reference_: PlacementReference | None = ref
        self.placement_: PlacementCorrection | None = None
        specs = dataset_preprocess(rset) if self.preprocess is None else self.preprocess
        pre = make_steps("preprocess", specs, self._where())
        rep = make_steps("represent", self.represent, self._where())
        w = fit_steps(rep, self._cut(fit_steps(pre, rset)))
        est = fit_estimator(clone(self.estimator, safe=False), w, self.targets(w), w.groups)
        self.preprocess_: list[Step] = pre
        self.represent_: list[Step] = rep
        self.estimator_ = est
        self.n_train_ = len(w)
        self.fs_, self.n_channels_ = float(rset[0].fs), int(rset[0].n_channels)  # raw input
        return self

    def windows(self, recordings: Any, drop_unlabelled: bool = True) -> Windows:
        """The estimator's input for ``recordings``: preprocessed, cut and represented.

        ``drop_unlabelled=False`` keeps the windows of unlabelled stretches (label -1),
        so every window a live system would decide on is there, in time order.
        """
        self._check_fitted()
        raw = _as_set(recordings)
        self._check_input(raw)
        rset = apply_steps(self.preprocess_, aligned(raw, getattr(self, "placement_", None)))
        w = self._cut(rset, drop_unlabelled)
        return apply_steps(self.represent_, w)  # type: ignore[no-any-return]

    def predict(self, recordings: Any) -> np.ndarray:
        """One decision per window of ``recordings`` (in `windows` order)."""
        return np.asarray(self._check_fitted().predict(self.windows(recordings)))

    def predict_proba(self, recordings: Any) -> np.ndarray:
        return np.asarray(self._check_fitted().predict_proba(self.windows(recordings)))

    def score(self, recordings: Any, y: Any = None) -> float:
        w = self.windows(recordings)
        return float(self._check_fitted().score(w, self.targets(w)))

    def _realign(self, recordings: Any, use_labels: bool) -> None:
        """Estimate ``placement_`` on raw ``recordings`` against ``reference_``."""
        raw = _as_set(recordings)
        self._check_input(raw)
        ref = getattr(self, "reference_", None)
        if ref is None:
            raise ConfigError(f"{self._where()} was fitted without placement; fit it again")
        self.placement_ = estimate_correction(raw, ref, use_labels, self._where())

    def adapt(self, recordings: Any, labelled: bool = True) -> MethodChain:
        """Calibrate the estimator on target recordings (labels used when ``labelled``),
        after estimating the placement when ``placement`` asks for it."""
        est = self._check_fitted()
        realign = self.placement == "unlabelled" or (self.placement == "labelled" and labelled)
        if realign:
            self._realign(recordings, self.placement == "labelled")
        if not hasattr(est, "adapt"):
            if realign:  # the placement is the whole calibration
                self.n_adapt_ = 0
                return self
            raise ConfigError(f"{self._where()} has no adapt(); use calibration 0")
        w = self.windows(recordings, drop_unlabelled=labelled)  # unlabelled: keep all
        est.adapt(w, self.targets(w) if labelled else None)
        self.n_adapt_ = len(w)
        return self

    def recalibrate(self, recordings: Any) -> MethodChain:
        """Recalibrate the estimator on target recordings WITHOUT labels, in place.

        Every window is cut (unlabelled stretches included, labels ignored), the
        represent steps applied, then ``estimator_.recalibrate(windows)`` runs its policy
        (`myoshift.learn.recalibration`). `ConfigError` naming the method when it has
        none or one it cannot take. With ``placement="unlabelled"`` the placement is
        estimated first, and the estimator is left alone when it has no policy.
        """
        est = self._check_fitted()
        if self.placement == "unlabelled":
            self._realign(recordings, False)
            if getattr(est, "recalibrate_policy", None) is None:
                return self
        if not hasattr(est, "recalibrate"):
            raise ConfigError(f"{self._where()}: {type(est).__name__} has no recalibration policy")
        w = self.windows(recordings, drop_unlabelled=False)
        try:
            est.recalibrate(w)
        except ConfigError as exc:
            raise ConfigError(f"{self._where()}: {exc}") from None
        self.n_recalibrate_ = len(w)
        return self

    def few_shot(self, support: Any, query: Any) -> np.ndarray:
        """Labels of ``query`` learnt from the labelled ``support`` alone (an episode);
        the chain is not changed (`myoshift.learn.few_shot.few_shot_predict`).

        Each of ``support``/``query`` is recordings (preprocessed, cut and represented
        here) or `Windows` already made by `windows`.
        """
        est = self._check_fitted()
        s, q = (x if isinstance(x, Windows) else self.windows(x) for x in (support, query))
        try:
            return few_shot_predict(est, s, q)
        except ConfigError as exc:
            raise ConfigError(f"{self._where()}: {exc}") from None

    def copy(self) -> MethodChain:
        """A deep copy (to adapt without touching the fitted chain)."""
        return copy.deepcopy(self)

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> EstimatorState:
        est = self._check_fitted()
        pre_docs, pre_arrays = steps_to_json(self.preprocess_)
        rep_docs, rep_arrays = steps_to_json(self.represent_)
        fitted = {
            "preprocess": pre_docs,
            "represent": rep_docs,
            "fs": self.fs_,
            "n_channels": self.n_channels_,
            "n_train": self.n_train_,
        }
        place, place_arrays = placement_state(self.reference_, self.placement_)
        arrays = {**pre_arrays, **rep_arrays, **place_arrays}
        return EstimatorState({**fitted, **place}, arrays, {"estimator": est})

    @classmethod
    def _from_state(cls, params: dict[str, Any], state: EstimatorState, folder: Path) -> Any:
        est = state.children["estimator"]
        # the parameter stays an unfitted copy, as after fit: adapting estimator_ leaves it
        chain = cls(estimator=clone(est, safe=False), **params)
        chain.preprocess_ = steps_from_json("preprocess", state.fitted["preprocess"], state.arrays)
        chain.represent_ = steps_from_json("represent", state.fitted["represent"], state.arrays)
        chain.estimator_ = est
        if "fs" in state.fitted:  # files written before the chain recorded its input
            chain.fs_, chain.n_channels_ = state.fitted["fs"], state.fitted["n_channels"]
        chain.n_train_ = int(state.fitted.get("n_train", 0))
        chain.reference_, chain.placement_ = placement_from_state(state.fitted, state.arrays)
        return chain
