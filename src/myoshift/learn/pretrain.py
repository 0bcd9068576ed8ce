"""`ContrastiveEncoder`: self-supervised pre-training of a registered architecture's encoder.

The encoder (``embed`` of any registered model) is trained without labels on two EMG
views of every training window (`myoshift.learn.tasks.contrastive`: SimCLR's NT-Xent or
VICReg, through a projection head that is dropped afterwards). What follows, on the
labelled windows (all, or the share ``label_fraction`` of the labelled repetitions),
is the ``probe``:

* ``None``: nothing; the estimator is an encoder (`embed`), to be used by
  `EmbeddingClassifier` or saved and loaded by any deep method with ``init_from``;
* ``"linear"``: the head alone is trained on the frozen embeddings (a linear probe);
* ``"prototypes"``: the head is set to the nearest class mean in embedding space
  (logits ``-|z - mu_c|^2`` up to a per-window constant); ``adapt(mode="prototypes")``
  replaces the means of the classes seen in the calibration windows;
* ``"finetune"``: the whole network is trained from the pre-trained encoder.

Starting another method from a saved encoder::

    enc = ContrastiveEncoder(model="tcn", loss="vicreg").fit(unlabelled_windows)
    enc.save("encoders/tcn-vicreg")
    DeepClassifier(model="tcn", init_from="encoders/tcn-vicreg").fit(X, y)  # fine-tune

``init_from`` (every deep estimator) copies the encoder's weights, not its head, after
checking the architecture and window shape; ``label_fraction`` (every deep estimator)
keeps the labels of a seeded share of the units per class for the supervised stage.

In a benchmark, a method such as ``simclr-tcn`` (``estimator: ContrastiveEncoder``,
``probe: finetune``) pre-trains inside each ``fit`` on the fold's source windows,
ignoring their labels, then probes on them; ``--set simclr-tcn.probe=linear`` or
``=prototypes`` changes the probe, ``--set simclr-tcn.label_fraction=0.1`` keeps the
labels of a tenth of the source repetitions for the probe only, and
``--set tcn-transfer.init_from=PATH`` starts any deep method from a saved encoder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.utils import Tags
from torch import nn

from myoshift.errors import ConfigError
from myoshift.learn.data import check_labels, unpack
from myoshift.learn.deep import DeepClassifier
from myoshift.learn.persistence import EstimatorState
from myoshift.learn.registry import keyword_init, register_estimator
from myoshift.learn.standardized_net import StandardizedNet
from myoshift.learn.tasks.batching import predict_batches, take_rows
from myoshift.learn.tasks.contrastive import LOSSES, ContrastiveTask, ProjectedEncoder, make_views
from myoshift.learn.trainer import Trainer, TrainResult
from myoshift.models import EMGModel

PROBES = ("linear", "prototypes", "finetune")
#: bias of a class without labelled windows under the prototype probe (never chosen)
_ABSENT = -1e6


def set_prototypes(
    head: nn.Module, emb: np.ndarray, y: np.ndarray, n_classes: int, keep: bool = False
) -> list[int]:
    """Make linear ``head`` the nearest-class-mean rule of embeddings ``emb`` (labels ``y``).

    Class ``c`` gets weight ``2 mu_c`` and bias ``-|mu_c|^2``. ``keep``: classes absent
    from ``y`` keep their row; otherwise they get a bias no window can beat. Returns the
    classes set.
    """
    if not isinstance(head, nn.Linear) or head.out_features != n_classes:
        raise ConfigError(
            f"nearest prototypes need a linear head with {n_classes} outputs, got {head}"
        )
    present = np.unique(y).astype(int).tolist()
    with torch.no_grad():
        for c in range(n_classes):
            if c in present:
                mu = torch.as_tensor(emb[y == c].mean(axis=0), dtype=head.weight.dtype)
                head.weight[c] = 2 * mu.to(head.weight.device)
                head.bias[c] = -(mu**2).sum()
            elif not keep:
                head.weight[c] = 0.0
                head.bias[c] = _ABSENT
    return present


@register_estimator(task="classification")
@keyword_init
class ContrastiveEncoder(DeepClassifier):
    """An encoder pre-trained by contrastive views, then probed on labelled windows.

    Parameters
    ----------
    model, model_params
        Registered architecture (``myoshift models list``) and its hyper-parameters.
    loss : {"nt-xent", "vicreg"}
        SimCLR's NT-Xent (Chen et al. 2020) or VICReg (Bardes, Ponce & LeCun 2022).
    temperature : float
        NT-Xent temperature.
    views : list, dict, callable or None
        How one view of a window is drawn: an `Augmenter` spec (as ``augment``); None:
        noise, gain, time shift, channel dropout and ring rotation / grid translation
        (`myoshift.learn.tasks.contrastive.default_view_steps`).
    projection_dim : int
        Width of the projection head (dropped after pre-training).
    pretrain_epochs : int
        Contrastive epochs on every training window (0: none).
    pretrain_lr : float or None
        Learning rate of pre-training (None: ``lr``).
    probe : {None, "linear", "prototypes", "finetune"}
        What is learnt from the labels afterwards (see the module docstring); None fits
        without labels (``fit(X)``) and gives an encoder with `embed` only.
    **kwargs
        Every `DeepClassifier` parameter (keyword only): ``epochs``, ``lr`` ... are
        those of the supervised stage; ``init_from`` starts pre-training from a saved
        encoder; ``label_fraction`` as in the module docstring. `adapt` takes the
        modes of `DeepClassifier.adapt` and ``"prototypes"`` (the class means of the
        labelled calibration windows' embeddings replace those classes' prototypes).

    Attributes
    ----------
    pretrain_history_ : list of dict
        Per-epoch contrastive loss.
    """

    loss: str
    temperature: float
    views: Any
    projection_dim: int
    pretrain_epochs: int
    pretrain_lr: float | None
    probe: str | None

    def __init__(
        self,
        *,
        loss: str = "nt-xent",
        temperature: float = 0.1,
        views: Any = None,
        projection_dim: int = 64,
        pretrain_epochs: int = 20,
        pretrain_lr: float | None = None,
        probe: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.loss = loss
        self.temperature = temperature
        self.views = views
        self.projection_dim = projection_dim
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.probe = probe

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self.probe is not None
        return tags

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, groups: Any = None) -> ContrastiveEncoder:
        """Pre-train on windows ``X`` without labels, then probe on ``y`` (unless
        ``probe`` is None, when ``y`` is ignored). ``groups``: repetition of each window."""
        if self.probe is not None and self.probe not in PROBES:
            raise ConfigError(f"unknown probe {self.probe!r}; valid: None, {', '.join(PROBES)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown contrastive loss {self.loss!r}; valid: {', '.join(LOSSES)}")
        X = self._as_input(X)
        Xa, y, groups = unpack(X, y, groups)
        if self.probe is None:
            y = np.zeros(len(Xa), dtype=np.int64)
        else:
            check_labels(y, len(Xa))
        self._fit(X, y, groups)
        return self

    def _encode(self, y: Any) -> tuple[np.ndarray, int]:  # type: ignore[override]
        if self.probe is None:  # an encoder: no classes, a placeholder head
            self.classes_ = np.zeros(0, dtype=np.int64)
            return np.zeros(len(y), dtype=np.int64), 1
        return super()._encode(y)

    def _stage_config(self, stage: str, **overrides: Any) -> Any:
        ckpt = None if self.checkpoint_dir is None else Path(self.checkpoint_dir) / stage
        return self._train_config(checkpoint_dir=ckpt, **overrides)

    def _start(self, net: StandardizedNet, X: Any, inputs: Any) -> None:
        super()._start(net, X, inputs)  # init_from
        self.pretrain_history_: list[dict[str, float]] = []
        if self.pretrain_epochs == 0:
            return
        if isinstance(inputs, dict):
            raise ConfigError(
                f"contrastive pre-training takes single-input models; {self.model!r} takes "
                f"{sorted(inputs)}"
            )
        if type(net.model).embed is EMGModel.embed:
            raise ConfigError(f"model {self.model!r} has no embed(); it cannot be pre-trained")
        views = make_views(self.views, getattr(X, "layout", None), int(inputs.shape[2]))
        task = ContrastiveTask(inputs, views, loss=self.loss, temperature=self.temperature)
        with torch.random.fork_rng(devices=[]):  # the projector's weights from the seed alone
            torch.manual_seed(self.seed + 1)
            pair = ProjectedEncoder(net, int(net.model.embed_dim), int(self.projection_dim))
        cfg = self._stage_config(
            "pretrain",
            epochs=int(self.pretrain_epochs),
            lr=float(self.pretrain_lr or self.lr),
            patience=None,
            label_smoothing=0.0,
        )
        run_id = {**self._run_id(), "stage": "pretrain"}
        result = Trainer(cfg).run(pair, task, params=pair.trainable(), run_id=run_id)
        self.pretrain_history_ = result.history

    def _train(
        self,
        net: StandardizedNet,
        inputs: Any,
        y_enc: np.ndarray,
        tr: np.ndarray,
        va: np.ndarray,
        weights: np.ndarray | None,
    ) -> TrainResult:
        if self.probe is None:
            return TrainResult()
        if self.probe == "finetune":
            return super()._train(net, inputs, y_enc, tr, va, weights)
        net.to(self.device).eval()
        bs = max(256, self.batch_size)
        n_classes = len(self.classes_)
        if self.probe == "prototypes":
            idx = np.sort(np.concatenate([tr, va]))
            emb = predict_batches(net.embed, take_rows(inputs, idx), bs, self.device).numpy()
            set_prototypes(net.model.head, emb, y_enc[idx], n_classes)
            return TrainResult()
        emb_tr = predict_batches(net.embed, take_rows(inputs, tr), bs, self.device).numpy()
        emb_va = (
            predict_batches(net.embed, take_rows(inputs, va), bs, self.device).numpy()
            if len(va)
            else None
        )
        return Trainer(self._stage_config("probe")).fit(
            net.model.head,
            emb_tr,
            y_enc[tr],
            emb_va,
            y_enc[va] if len(va) else None,
            class_weight=weights,
            run_id={**self._run_id(), "stage": "probe"},
        )

    # ------------------------------------------------------------------ use
    def _outputs(self, X: Any, embed: bool = False) -> torch.Tensor:
        if not embed and self.__sklearn_is_fitted__() and len(self.classes_) == 0:
            raise ConfigError(
                "this ContrastiveEncoder was fitted without a probe (probe=None): it embeds "
                "windows (embed) but has no classes; fit it with probe='linear', "
                "'prototypes' or 'finetune', or start a method from it with init_from"
            )
        return super()._outputs(X, embed)

    def _adapt_own(self, mode: str, X: Any, y: Any) -> bool:
        """`adapt`'s own mode ``"prototypes"`` (see the class docstring); any mode is
        refused when fitted without a probe."""
        if self.__sklearn_is_fitted__() and len(self.classes_) == 0:
            raise ConfigError("a ContrastiveEncoder fitted without a probe has no classes to adapt")
        if mode != "prototypes":
            return False
        X, Xa, y_from = self._check_X(X, y)
        if y_from is None:
            raise ConfigError("adapt(mode='prototypes') needs labels y for the target windows")
        y_enc, n_classes = self._encode_adapt(y_from, len(Xa))
        set_prototypes(self.net_.model.head, self.embed(X), y_enc, n_classes, keep=True)
        return True

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> EstimatorState:
        state = super()._get_state()
        state.fitted["pretrain_history"] = getattr(self, "pretrain_history_", [])
        return state

    @classmethod
    def _from_state(cls, params: dict[str, Any], state: EstimatorState, folder: Path) -> Any:
        est = super()._from_state(params, state, folder)
        est.pretrain_history_ = list(state.fitted.get("pretrain_history", []))
        return est
