"""The shared base of the deep estimators: parameters, model building, fitting on named
inputs, prediction and persistence (see `myoshift.learn.deep`; `adapt` is
`myoshift.learn.adaptation.DeepAdaptation`)."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from myoshift.errors import ConfigError, ModelFileError, ShapeError
from myoshift.learn.adaptation import AdaptMode, DeepAdaptation
from myoshift.learn.data import RecordingInput, class_weights, unpack, validation_split
from myoshift.learn.persistence import EstimatorState, Persistent, jsonable
from myoshift.learn.recalibration import DeepRecalibration
from myoshift.learn.standardized_net import StandardizedNet
from myoshift.learn.tasks.batching import take_rows
from myoshift.learn.trainer import (
    Augment,
    TrainConfig,
    Trainer,
    TrainResult,
    apply_state,
    predict_batches,
)
from myoshift.learn.warm_start import copy_encoder, labelled_subset, unit_codes
from myoshift.models import EMGModel, build_model, from_config, get_model_class
from myoshift.signal.augment import as_augmenter
from myoshift.signal.window_array import WindowArray

log = logging.getLogger(__name__)


class _DeepEstimator(DeepAdaptation, DeepRecalibration, Persistent, RecordingInput, BaseEstimator):
    """Shared parameters, fitting and persistence of the deep estimators."""

    _task: str = "classification"

    def __init__(
        self,
        model: str = "tcn",
        model_params: dict[str, Any] | None = None,
        optimizer: str = "adamw",
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        epochs: int = 30,
        batch_size: int = 128,
        schedule: str = "cosine",
        warmup_epochs: float = 0.0,
        label_smoothing: float = 0.0,
        class_weight: str | dict[Any, float] | None = None,
        val_fraction: float = 0.15,
        patience: int | None = 10,
        augment: Augment | list[Any] | dict[str, Any] | None = None,
        standardize: bool = True,
        seed: int = 0,
        device: str = "cpu",
        threads: int | None = None,
        checkpoint_dir: str | Path | None = None,
        verbose: bool = False,
        adapt_mode: AdaptMode = "head",
        adapt_epochs: int = 10,
        adapt_lr: float | None = None,
        adapt_align: str | None = None,
        window_ms: float | None = None,
        step_ms: float | None = None,
        init_from: str | Path | None = None,
        label_fraction: float = 1.0,
        recalibrate_policy: str | dict[str, Any] | None = None,
    ) -> None:
        self.window_ms = window_ms
        self.step_ms = step_ms
        self.init_from = init_from
        self.label_fraction = label_fraction
        self.model = model
        self.model_params = model_params
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.schedule = schedule
        self.warmup_epochs = warmup_epochs
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.val_fraction = val_fraction
        self.patience = patience
        self.augment = augment
        self.standardize = standardize
        self.seed = seed
        self.device = device
        self.threads = threads
        self.checkpoint_dir = checkpoint_dir
        self.verbose = verbose
        self.adapt_mode = adapt_mode
        self.adapt_epochs = adapt_epochs
        self.adapt_lr = adapt_lr
        self.adapt_align = adapt_align
        self.recalibrate_policy = recalibrate_policy

    # ------------------------------------------------------------------ internals
    def _train_config(self, **overrides: Any) -> TrainConfig:
        cfg = TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            lr=self.lr,
            weight_decay=self.weight_decay,
            schedule=self.schedule,
            warmup_epochs=self.warmup_epochs,
            label_smoothing=self.label_smoothing if self._task == "classification" else 0.0,
            patience=self.patience,
            task=self._task,  # type: ignore[arg-type]
            seed=self.seed,
            device=self.device,
            threads=self.threads,
            checkpoint_dir=self.checkpoint_dir,
            verbose=self.verbose,
        )
        for k, v in overrides.items():
            setattr(cfg, k, v)
        return cfg

    def _run_id(self) -> dict[str, Any]:
        params = self.get_params()
        for k in (
            "device",
            "threads",
            "verbose",
            "checkpoint_dir",
            "adapt_mode",
            "adapt_epochs",
            "adapt_lr",
            "adapt_align",
            "recalibrate_policy",
        ):  # do not change the result of fit
            params.pop(k)
        for k, default in (("init_from", None), ("label_fraction", 1.0)):
            if params.get(k, default) == default:  # fingerprints of runs without them stay
                params.pop(k, None)
        if callable(self.augment):
            params["augment"] = repr(self.augment)
        return {"estimator": type(self).__name__, **params}

    def _model_params(self, X: Any) -> dict[str, Any]:
        """``model_params``, plus the electrode grid of a Windows input for grid models."""
        params = dict(self.model_params or {})
        layout = getattr(X, "layout", None)
        if layout is not None and layout.kind == "grid" and "grid" not in params:
            accepted = inspect.signature(get_model_class(self.model).__init__).parameters
            if "grid" in accepted:
                params["grid"] = list(layout.shape)
                if "channel_map" in accepted:
                    params["channel_map"] = layout.grid_index().ravel().tolist()
        aux = getattr(X, "aux", {}) or {}
        cls = get_model_class(self.model)
        for name, hparam in cls.extra_inputs.items():
            if name in aux and hparam not in params:  # e.g. wavelet_shape from aux["wpt"]
                first = 1 if name in cls.own_channel_inputs else 2  # imu_shape: (C_aux, T_aux)
                params[hparam] = list(aux[name].X.shape[first:])
        return params

    def _named(self, X: Any, arr: Any, names: list[str]) -> Any:
        """The network's input: the EMG array alone, or a dict with the extra inputs
        (auxiliary windows of a `Windows` object) the model declares."""
        if names == ["emg"]:
            return arr
        aux = getattr(X, "aux", {}) or {}
        missing = [n for n in names if n != "emg" and n not in aux]
        if missing:
            raise ConfigError(
                f"model {self.model!r} needs inputs {missing} that the windows do not carry "
                f"(auxiliary windows: {sorted(aux) or 'none'}); add the stream or the "
                "represent step that makes them"
            )
        return {n: arr if n == "emg" else aux[n].X for n in names}

    def _build(
        self, n_channels: int, n_samples: int, n_outputs: int, params: dict[str, Any] | None = None
    ) -> StandardizedNet:
        cls = get_model_class(self.model)
        if self._task not in cls.tasks:
            raise ConfigError(
                f"model {self.model!r} does not support {self._task} (supports "
                f"{', '.join(sorted(cls.tasks))})"
            )
        hp = self.model_params if params is None else params
        # initial weights from ``seed`` alone, on a forked CPU RNG: the caller's global
        # RNG is untouched (the network is built on the CPU, so CUDA RNGs are not involved)
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(self.seed)
            net = build_model(self.model, n_channels, n_samples, n_outputs, **(hp or {}))
        return StandardizedNet(net, n_channels)

    def __sklearn_is_fitted__(self) -> bool:
        return getattr(self, "net_", None) is not None

    def _check_fitted(self) -> StandardizedNet:
        net = getattr(self, "net_", None)
        if net is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first")
        return net

    def _check_X(self, X: Any, y: Any = None) -> tuple[Any, np.ndarray | WindowArray, Any]:
        """``(input, windows, labels)``: recordings cut once, windows checked once."""
        self._check_fitted()  # NotFittedError before any complaint about the input
        X = self._as_input(X)
        arr, y, _ = unpack(X, y)
        expected = (self.n_channels_in_, self.n_samples_in_)
        if tuple(arr.shape[1:]) != expected:
            raise ShapeError(
                f"X has windows of shape {tuple(arr.shape[1:])} (channels, samples) but "
                f"{type(self).__name__} was fitted on {expected}"
            )
        return X, arr, y

    def _encode(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _fit(self, X: Any, y: Any, groups: Any) -> TrainResult:
        hp = self._model_params(X)
        X = self._as_input(X)
        Xa, y, groups = unpack(X, y, groups)
        n, C, T = Xa.shape
        y_enc, n_out = self._encode(y)  # type: ignore[misc]
        net = self._build(C, T, n_out, hp)
        inputs = self._named(X, Xa, net.input_names)
        if self.standardize:
            net.set_stats(inputs)
        self._start(net, X, inputs)
        # label_fraction: the labels of a share of the units (all windows fed _start)
        units = unit_codes(X, groups, n)
        keep = labelled_subset(units, y_enc, getattr(self, "label_fraction", 1.0), self.seed)
        tr, va = validation_split(
            y_enc[keep] if y_enc.ndim == 1 else np.zeros(len(keep)),
            None if groups is None else np.asarray(groups)[keep],
            self.val_fraction,
            self.seed,
        )
        tr, va = keep[tr], keep[va]
        weights = None
        if self._task == "classification":
            weights = class_weights(y_enc[tr], n_out, self.class_weight, self.classes_)
        result = self._train(net, inputs, y_enc, tr, va, weights)
        net.eval()
        self.net_ = net
        self.n_channels_in_, self.n_samples_in_ = C, T
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        return result

    def _start(self, net: StandardizedNet, X: Any, inputs: Any) -> None:
        """Before supervised training: the encoder of ``init_from``, if given (subclasses
        add stages on all training windows ``inputs``, e.g. contrastive pre-training)."""
        if getattr(self, "init_from", None) is not None:
            copy_encoder(net.model, self.init_from)  # type: ignore[arg-type]

    def _train(
        self,
        net: StandardizedNet,
        inputs: Any,
        y_enc: np.ndarray,
        tr: np.ndarray,
        va: np.ndarray,
        weights: np.ndarray | None,
    ) -> TrainResult:
        """Supervised training of ``net`` on windows ``tr`` (validation ``va``)."""
        return Trainer(self._train_config()).fit(
            net,
            take_rows(inputs, tr),
            y_enc[tr],
            take_rows(inputs, va) if len(va) else None,
            y_enc[va] if len(va) else None,
            class_weight=weights,
            augment=as_augmenter(self.augment),
            run_id=self._run_id(),
        )

    @torch.no_grad()
    def _outputs(self, X: Any, embed: bool = False) -> torch.Tensor:
        X, arr, _ = self._check_X(X)
        net = self._check_fitted().to(self.device)
        net.eval()
        inputs = self._named(X, arr, net.input_names)
        fn = net.embed if embed else net
        return predict_batches(fn, inputs, max(256, self.batch_size), self.device)

    # ------------------------------------------------------------------ public API
    @torch.no_grad()
    def embed(self, X: Any) -> np.ndarray:
        """Features before the head, ``(n_windows, embed_dim)``, for hybrid pipelines."""
        return self._outputs(X, embed=True).numpy()

    @property
    def network_(self) -> EMGModel:
        """The fitted architecture (without the input standardisation)."""
        return self._check_fitted().model  # type: ignore[return-value]

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> EstimatorState:
        net = self._check_fitted()
        arrays = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
        fitted = {
            "model_config": jsonable(net.model.config()),
            "n_channels_in": self.n_channels_in_,
            "n_samples_in": self.n_samples_in_,
            "history": self.history_,
            "best_epoch": self.best_epoch_,
        }
        return EstimatorState(fitted, arrays)

    @classmethod
    def _from_state(cls, params: dict[str, Any], state: EstimatorState, folder: Path) -> Any:
        est = cls(**params)
        fitted, arrays = state.fitted, dict(state.arrays)
        est._restore_targets(fitted, arrays)
        n_channels = int(fitted["n_channels_in"])
        net = StandardizedNet(from_config(fitted["model_config"]), n_channels)
        tensors = {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}
        # files written before the channel-order buffer existed keep the identity order
        tensors.setdefault("order", torch.arange(n_channels))
        weights = folder / "weights.safetensors"
        apply_state(net, tensors, weights)
        order = net.order.numpy()
        if sorted(order.tolist()) != list(range(len(order))):
            raise ModelFileError(f"{weights}: channel order {order.tolist()} is not a permutation")
        if str(est.device).startswith("cuda") and not torch.cuda.is_available():
            log.warning("%s was saved with device=%r; no CUDA here, using cpu", folder, est.device)
            est.device = "cpu"
        net.eval()
        est.net_ = net.to(est.device)
        est.n_channels_in_, est.n_samples_in_ = n_channels, int(fitted["n_samples_in"])
        est.history_ = fitted.get("history", [])
        est.best_epoch_ = fitted.get("best_epoch", -1)
        return est

    def _restore_targets(self, fitted: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError
