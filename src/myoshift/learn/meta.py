"""`MetaClassifier`: gestures of a new person from a few examples, by meta-learning.

Any registered architecture's ``embed`` is trained on N-way K-shot episodes drawn within
each training person (support from one repetition, queries from the others; see
`myoshift.learn.tasks.episodic`) by one of three algorithms:

* ``"protonet"``: prototypical networks (Snell, Swersky & Zemel 2017, NeurIPS);
* ``"relation"``: relation networks (Sung et al. 2018, CVPR);
* ``"maml"``: MAML (Finn, Abbeel & Levine 2017, ICML), second- or first-order
  (`myoshift.learn.tasks.maml`).

After meta-training the estimator is an ordinary classifier of the training classes
(prototypes from every training window, or MAML's inner loop on a support of the
training people), so it also runs in the transfer protocol; `adapt` recomputes the
prototypes (or reruns the inner loop from the meta-learned weights) on labelled
calibration windows, and `few_shot` classifies queries from a support set without
changing the fitted estimator. For EMG few-shot recognition see also Rahimian et al.
(2020), "FS-HGR: few-shot learning for hand gesture recognition via electromyography",
arXiv:2011.06104.

Examples
--------
>>> clf = MetaClassifier(algorithm="protonet", n_way=5, k_shot=5).fit(windows)
>>> clf.few_shot((X_support, y_support), X_query)                   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from myoshift.errors import ConfigError, ModelFileError, ShapeError
from myoshift.learn.checkpoint import apply_state
from myoshift.learn.data import check_labels, unpack
from myoshift.learn.deep import DeepClassifier
from myoshift.learn.persistence import EstimatorState
from myoshift.learn.registry import register_estimator
from myoshift.learn.tasks.batching import as_float32, predict_batches, take_rows
from myoshift.learn.tasks.episodic import (
    EpisodeSampler,
    PrototypicalTask,
    RelationNetwork,
    RelationTask,
    class_means,
    embedding_size,
    pseudo_repetitions,
    squared_distances,
)
from myoshift.learn.tasks.maml import MAMLTask, adapt_detached, adapted_logits, meta_parameters
from myoshift.learn.trainer import Trainer
from myoshift.models.relation import RelationModule
from myoshift.signal.windows import Windows

#: the calibration each algorithm does in `MetaClassifier.adapt`
ADAPT_MODES = {"protonet": "prototypes", "relation": "prototypes", "maml": "inner-loop"}
ALGORITHMS = tuple(ADAPT_MODES)


@register_estimator(task="classification")
class MetaClassifier(DeepClassifier):
    """Episodic meta-learning over a registered encoder (see the module docstring).

    Parameters
    ----------
    model, model_params
        The encoder: a registered architecture whose ``embed`` is used (its own head is
        not trained; for protonet it holds the prototypes after fitting).
    algorithm : {"protonet", "relation", "maml"}
    n_way : int or None
        Classes per training episode; None: all the classes a repetition offers.
    k_shot, n_query : int
        Support windows per class (from one repetition) and query windows per class
        (from the person's other repetitions) of a training episode.
    episodes_per_epoch, epochs : int
    batch_size : int
        Episodes per optimiser step (inference runs on ``max(256, batch_size)`` windows).
    inner_steps, inner_lr, first_order, head_init
        MAML's inner loop: steps, step size, first-order approximation, and how its N-way
        layer starts (``"zero"`` or ``"prototypes"``, Proto-MAML).
    relation_params : dict or None
        `RelationModule` arguments (``hidden``, ``kind``, ``channels``).
    optimizer, lr, weight_decay, schedule, warmup_epochs, standardize, seed, device,
    threads, checkpoint_dir, verbose, window_ms, step_ms
        As `DeepClassifier`.
    adapt_mode : {"prototypes", "inner-loop"} or None
        None: the algorithm's (prototypes for protonet and relation, inner-loop for MAML).
    adapt_epochs, adapt_lr : int, float or None
        MAML's inner steps and step size at adaptation (None: ``inner_steps``,
        ``inner_lr``); unused by prototypes.

    Attributes
    ----------
    classes_ : ndarray
    net_ : StandardizedNet
        The encoder (for MAML: adapted to the current classes).
    prototypes_ : ndarray (n_classes, embed_dim)
        protonet and relation: each class's mean embedding.
    relation_ : RelationModule
    meta_weights_ : dict of str to Tensor
        MAML: the meta-learned weights every adaptation starts from.
    """

    # DeepClassifier settings that episodic training fixes (read by `_train_config`)
    label_smoothing = 0.0
    patience = None

    def __init__(
        self,
        model: str = "tcn",
        model_params: dict[str, Any] | None = None,
        algorithm: str = "protonet",
        n_way: int | None = 5,
        k_shot: int = 5,
        n_query: int = 5,
        episodes_per_epoch: int = 100,
        epochs: int = 10,
        batch_size: int = 1,
        inner_steps: int = 1,
        inner_lr: float = 0.1,
        first_order: bool = False,
        head_init: str = "zero",
        relation_params: dict[str, Any] | None = None,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        schedule: str = "cosine",
        warmup_epochs: float = 0.0,
        standardize: bool = True,
        seed: int = 0,
        device: str = "cpu",
        threads: int | None = None,
        checkpoint_dir: str | Path | None = None,
        verbose: bool = False,
        adapt_mode: str | None = None,
        adapt_epochs: int | None = None,
        adapt_lr: float | None = None,
        window_ms: float | None = None,
        step_ms: float | None = None,
    ) -> None:
        self.model, self.model_params, self.algorithm = model, model_params, algorithm
        self.n_way, self.k_shot, self.n_query = n_way, k_shot, n_query
        self.episodes_per_epoch, self.epochs, self.batch_size = (
            episodes_per_epoch,
            epochs,
            batch_size,
        )
        self.inner_steps, self.inner_lr, self.first_order = inner_steps, inner_lr, first_order
        self.head_init = head_init
        self.relation_params = relation_params
        self.optimizer, self.lr, self.weight_decay = optimizer, lr, weight_decay
        self.schedule, self.warmup_epochs, self.standardize = schedule, warmup_epochs, standardize
        self.seed, self.device, self.threads = seed, device, threads
        self.checkpoint_dir, self.verbose = checkpoint_dir, verbose
        self.adapt_mode = adapt_mode  # type: ignore[assignment]
        self.adapt_epochs = adapt_epochs  # type: ignore[assignment]
        self.adapt_lr = adapt_lr
        self.window_ms, self.step_ms = window_ms, step_ms

    # ------------------------------------------------------------------ fitting
    def fit(
        self, X: Any, y: Any = None, groups: Any = None, subjects: Any = None
    ) -> MetaClassifier:
        """Meta-train on windows of the training people.

        ``groups`` are the repetitions (a `Windows` object's by default; without any,
        each class's windows in order are cut into 4 blocks standing for repetitions);
        ``subjects`` the person of each window (default: the windows' ``subject``
        column, else one person).
        """
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(
                f"unknown algorithm {self.algorithm!r}; valid: {', '.join(ALGORITHMS)}"
            )
        X = self._as_input(X)
        Xa, y, groups = unpack(X, y, groups)
        y_enc, n_classes = self._encode(check_labels(y, len(Xa)))
        groups = pseudo_repetitions(y_enc) if groups is None else np.asarray(groups)
        people = _people(X, subjects)
        for what, arr in (("groups", groups), ("subjects", people)):
            if arr is not None and len(arr) != len(Xa):
                raise ShapeError(f"{what} has {len(arr)} entries but X has {len(Xa)} windows")
        n, C, T = Xa.shape
        net = self._build(C, T, n_classes, self._model_params(X))
        dim = embedding_size(net, self.model)
        inputs = self._named(X, Xa, net.input_names)
        if self.standardize:
            net.set_stats(inputs)
        episodes: dict[str, Any] = {
            "n_way": self.n_way,
            "k_shot": self.k_shot,
            "n_query": self.n_query,
            "episodes": self.episodes_per_epoch,
        }
        trained: torch.nn.Module = net
        if self.algorithm == "maml":
            task: Any = MAMLTask(
                inputs,
                y_enc,
                groups,
                people,
                **episodes,
                inner_steps=self.inner_steps,
                inner_lr=self.inner_lr,
                first_order=self.first_order,
                head_init=self.head_init,
            )
        elif self.algorithm == "relation":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed + 1)
                relation = RelationModule(dim, **(self.relation_params or {}))
            trained = RelationNetwork(net, relation)
            task = RelationTask(inputs, y_enc, groups, people, **episodes)
        else:
            task = PrototypicalTask(inputs, y_enc, groups, people, **episodes)
        result = Trainer(self._train_config()).run(trained, task, run_id=self._run_id())
        trained.eval()
        self.net_, self.algorithm_ = net, self.algorithm
        self.n_channels_in_, self.n_samples_in_ = C, T
        self.history_, self.best_epoch_ = result.history, result.best_epoch
        if self.algorithm == "relation":
            self.relation_ = relation
        self._classes_from_training(inputs, y_enc, n_classes, task.sampler)
        return self

    def _run_id(self) -> dict[str, Any]:
        params = self.get_params()
        for k in ("device", "threads", "verbose", "checkpoint_dir", "adapt_mode"):
            params.pop(k)
        for k in ("adapt_epochs", "adapt_lr"):  # they change the state only for MAML
            if self.algorithm != "maml":
                params.pop(k)
        return {"estimator": type(self).__name__, **params}

    def _classes_from_training(
        self, inputs: Any, y_enc: np.ndarray, n_classes: int, sampler: EpisodeSampler
    ) -> None:
        """Prototypes of every training window, or MAML adapted on a training support."""
        if self.algorithm_ != "maml":
            z = predict_batches(self.net_.embed, inputs, self._inference_batch, self.device)
            self._set_prototypes(class_means(z, torch.from_numpy(y_enc), n_classes))
            return
        self.meta_weights_ = {k: v.detach().clone() for k, v in meta_parameters(self.net_).items()}
        idx = sampler.support_per_person(np.random.default_rng(self.seed))
        self._adapt_inner(take_rows(inputs, idx), y_enc[idx], n_classes, None, None)

    # ------------------------------------------------------------------ internals
    @property
    def _inference_batch(self) -> int:
        return max(256, self.batch_size)

    def _set_prototypes(self, prototypes: torch.Tensor) -> None:
        """Keep the prototypes; for protonet also as the head: the logits ``2 c.z - |c|^2``
        equal ``-|z - c|^2`` up to a per-window constant, so softmax and argmax agree."""
        self.prototypes_ = prototypes.detach().cpu().numpy().astype(np.float32)
        if self.algorithm_ == "protonet":
            head = self._head(len(prototypes))
            with torch.no_grad():
                head.weight.copy_(2 * prototypes)
                head.bias.copy_(-prototypes.pow(2).sum(1))

    def _head(self, n_classes: int) -> torch.nn.Linear:
        """The network's head, replaced by one of ``n_classes`` outputs if it differs."""
        model = self.net_.model
        if model.head.out_features != n_classes:  # type: ignore[union-attr]
            with torch.random.fork_rng(devices=[]):
                model.reset_head(n_classes)
            model.head.to(self.device)
        return model.head  # type: ignore[return-value]

    def _inner(
        self, inputs: Any, y_enc: np.ndarray, n: int, steps: int | None, lr: float | None
    ) -> Any:
        """MAML's inner loop from the meta-learned weights: ``(fast weights, head)``."""
        self.net_.eval()
        dev = self.device
        x = (
            {k: as_float32(v[:]).to(dev) for k, v in inputs.items()}
            if isinstance(inputs, dict)
            else as_float32(inputs[:]).to(dev)
        )
        return adapt_detached(
            self.net_,
            self.meta_weights_,
            x,
            torch.from_numpy(np.asarray(y_enc, dtype=np.int64)).to(dev),
            n,
            steps=int(_first(steps, self.adapt_epochs, self.inner_steps)),
            lr=float(_first(lr, self.adapt_lr, self.inner_lr)),
            chunk=self._inference_batch,
            head_init=self.head_init,
        )

    def _adapt_inner(
        self, inputs: Any, y_enc: np.ndarray, n: int, steps: int | None, lr: float | None
    ) -> None:
        """MAML: the inner loop's weights and head written into ``net_``."""
        fast, (w, b) = self._inner(inputs, y_enc, n, steps, lr)
        self.net_.load_state_dict(fast, strict=False)
        head = self._head(n)
        with torch.no_grad():
            head.weight.copy_(w)
            head.bias.copy_(b)

    def _metric_logits(self, z: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
        """protonet: ``-|z - c|^2``; relation: the relation module's logits."""
        if self.algorithm_ == "relation":
            with torch.no_grad():
                return self.relation_(z.to(self.device), prototypes.to(self.device)).cpu()
        return -squared_distances(z, prototypes)

    @torch.no_grad()
    def _outputs(self, X: Any, embed: bool = False) -> torch.Tensor:
        if embed or getattr(self, "algorithm_", None) != "relation":
            return super()._outputs(X, embed)
        z = super()._outputs(X, embed=True)
        return self._metric_logits(z, torch.from_numpy(self.prototypes_))

    # ------------------------------------------------------------------ calibration
    def adapt(  # type: ignore[override]
        self,
        X: Any,
        y: Any = None,
        mode: str | None = None,
        epochs: int | None = None,
        lr: float | None = None,
        batch_size: int | None = None,
        align: str | None = None,
    ) -> MetaClassifier:
        """Calibrate on labelled windows of the new person, in place.

        ``prototypes`` (protonet, relation): the classes present get the mean embedding
        of their calibration windows; ``inner-loop`` (MAML): the inner loop runs from
        the meta-learned weights on the calibration windows (``epochs`` steps of size
        ``lr``; default ``adapt_epochs``/``inner_steps`` and ``adapt_lr``/``inner_lr``).
        Classes unknown to the fitted model are added (a new gesture from a few
        examples). ``batch_size`` and ``align`` do not apply.
        """
        self._check_fitted()
        expected = ADAPT_MODES[self.algorithm_]
        mode = mode or self.adapt_mode or expected
        if mode != expected or align is not None:
            raise ConfigError(
                f"adapt(mode={mode!r}, align={align!r}): {self.algorithm_} calibrates by "
                f"mode {expected!r} without alignment"
            )
        X, arr, y = self._check_X(X, y)
        if y is None:
            raise ConfigError(f"adapt(mode={mode!r}) needs labels y for the target windows")
        y = check_labels(y, len(arr))
        classes = np.union1d(self.classes_, np.unique(y))
        y_enc = np.searchsorted(classes, y)
        if mode == "inner-loop":
            self.classes_ = classes
            self._adapt_inner(
                self._named(X, arr, self.net_.input_names), y_enc, len(classes), epochs, lr
            )
            return self
        fresh = class_means(torch.from_numpy(self.embed(X)), torch.from_numpy(y_enc), len(classes))
        prototypes = torch.zeros_like(fresh)
        known = torch.from_numpy(np.searchsorted(classes, self.classes_))
        prototypes[known] = torch.from_numpy(self.prototypes_)
        present = torch.from_numpy(np.unique(y_enc))
        prototypes[present] = fresh[present]
        self.classes_ = classes
        self._set_prototypes(prototypes)
        return self

    def few_shot(self, support: Windows | tuple[Any, Any], query: Any) -> np.ndarray:
        """Labels of the ``query`` windows from a labelled ``support`` set, state unchanged.

        ``support`` is a `Windows` object or ``(X, y)``; the classes are the support's
        labels. protonet / relation: prototypes of the support; MAML: the inner loop
        from the meta-learned weights on the support, then the adapted network.
        """
        self._check_fitted()
        Xs, ys = (support, None) if isinstance(support, Windows) else _pair(support)
        Xs, arr, ys = self._check_X(Xs, ys)
        classes, y_enc = np.unique(
            check_labels(ys, len(arr), name="support labels"), return_inverse=True
        )
        if self.algorithm_ != "maml":
            prototypes = class_means(
                torch.from_numpy(self.embed(Xs)), torch.from_numpy(y_enc), len(classes)
            )
            logits = self._metric_logits(torch.from_numpy(self.embed(query)), prototypes)
            return classes[logits.argmax(1).numpy()]  # type: ignore[no-any-return]
        fast, head = self._inner(
            self._named(Xs, arr, self.net_.input_names), y_enc, len(classes), None, None
        )
        Xq, q_arr, _ = self._check_X(query)
        out = predict_batches(
            lambda x: adapted_logits(self.net_, fast, head, x),
            self._named(Xq, q_arr, self.net_.input_names),
            self._inference_batch,
            self.device,
        )
        return classes[out.argmax(1).numpy()]  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> EstimatorState:
        state = super()._get_state()
        state.fitted["algorithm"] = self.algorithm_
        if self.algorithm_ == "maml":
            for k, v in self.meta_weights_.items():
                state.arrays[f"__meta.{k}"] = v.cpu().numpy().copy()
            return state
        state.arrays["__prototypes"] = self.prototypes_
        if self.algorithm_ == "relation":
            state.fitted["relation"] = self.relation_.config()
            for k, v in self.relation_.state_dict().items():
                state.arrays[f"__relation.{k}"] = v.cpu().numpy().copy()
        return state

    @classmethod
    def _from_state(cls, params: dict[str, Any], state: EstimatorState, folder: Path) -> Any:
        arrays = dict(state.arrays)
        extra = {k: arrays.pop(k) for k in list(arrays) if k.startswith("__")}
        est = super()._from_state(params, EstimatorState(state.fitted, arrays), folder)
        est.algorithm_ = str(state.fitted["algorithm"])
        weights = folder / "weights.safetensors"

        def tensors(prefix: str) -> dict[str, torch.Tensor]:
            n = len(prefix)
            return {
                k[n:]: torch.from_numpy(np.array(v))
                for k, v in extra.items()
                if k.startswith(prefix)
            }

        if est.algorithm_ == "maml":
            est.meta_weights_ = {k: v.to(est.device) for k, v in tensors("__meta.").items()}
            if sorted(est.meta_weights_) != sorted(meta_parameters(est.net_)):
                raise ModelFileError(f"{weights}: meta-learned weights do not match the network")
            return est
        if "__prototypes" not in extra:
            raise ModelFileError(f"{weights}: no prototypes for a {est.algorithm_} model")
        est.prototypes_ = np.asarray(extra["__prototypes"], dtype=np.float32)
        if est.algorithm_ == "relation":
            est.relation_ = RelationModule(**state.fitted["relation"])
            apply_state(est.relation_, tensors("__relation."), weights)
            est.relation_.to(est.device).eval()
        return est


def _first(*values: Any) -> Any:
    """The first value that is not None."""
    return next(v for v in values if v is not None)


def _pair(support: Any) -> tuple[Any, Any]:
    if isinstance(support, tuple | list) and len(support) == 2:
        return support[0], support[1]
    raise ConfigError(
        f"few_shot: support must be a Windows object or (X, y), got {type(support).__name__}"
    )


def _people(X: Any, subjects: Any) -> np.ndarray | None:
    """The person of each window: ``subjects``, else a Windows' ``subject`` column."""
    if subjects is not None:
        return np.asarray(subjects)
    if isinstance(X, Windows) and "subject" in X.meta.columns:
        return X.meta["subject"].to_numpy()
    return None
