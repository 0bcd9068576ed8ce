"""Self-supervised contrastive pre-training on unlabelled windows: two views per window.

Each window of a batch is augmented twice, independently (`make_views`: noise at an
SNR, per-channel gain, time shift, channel dropout and, by layout, electrode rotation
of a ring or translation of a grid, from `myoshift.signal.augment`); a network maps both
views through its encoder (``embed``) and a small projection head (`ProjectedEncoder`),
and the loss pulls the two views of one window together:

* ``"nt-xent"``: the normalised temperature-scaled cross-entropy of SimCLR (Chen,
  Kornblith, Norouzi & Hinton 2020, "A simple framework for contrastive learning of
  visual representations", ICML): each view must pick its partner among the other
  ``2n - 1`` views of the batch by cosine similarity (`nt_xent`);
* ``"vicreg"``: variance-invariance-covariance regularisation (Bardes, Ponce & LeCun
  2022, "VICReg", ICLR), without negatives: mean squared distance between the views,
  a hinge keeping every dimension's standard deviation at 1, and a penalty on the
  off-diagonal covariance (`vicreg_terms`).

The projection head serves the loss only and is dropped after pre-training
(`myoshift.learn.pretrain.ContrastiveEncoder` keeps the encoder).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn.tasks.base import ArrayLike, Batch, EpochPlan, TrainingTask
from myoshift.learn.tasks.batching import as_float32, shuffled_batches
from myoshift.learn.tasks.registry import register_task
from myoshift.learn.tasks.supervised import Augment
from myoshift.recording import Layout
from myoshift.signal.augment import Augmenter, as_augmenter

LOSSES = ("nt-xent", "vicreg")
#: VICReg's invariance, variance and covariance weights (Bardes et al. 2022, sec. 4.1)
VICREG_WEIGHTS = (25.0, 25.0, 1.0)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """NT-Xent loss of SimCLR for projections ``z1``, ``z2`` ``(n, d)`` of two views.

    The ``2n`` projections are L2-normalised; view ``i``'s logits are its cosine
    similarities to the other ``2n - 1`` divided by ``temperature``, its target the other
    view of the same window; the loss is the mean cross-entropy over all ``2n`` views.
    """
    if z1.shape != z2.shape or z1.ndim != 2 or len(z1) < 2:
        raise ShapeError(f"nt_xent needs two (n >= 2, d) batches, got {z1.shape} and {z2.shape}")
    if not temperature > 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, target)


def vicreg_terms(z1: torch.Tensor, z2: torch.Tensor, eps: float = 1e-4) -> dict[str, torch.Tensor]:
    """VICReg's three terms for embeddings ``z1``, ``z2`` ``(n, d)`` of two views.

    ``invariance``: mean squared difference of the views; ``variance``: mean over
    dimensions of ``relu(1 - sqrt(var + eps))``, averaged over the two branches;
    ``covariance``: sum of squared off-diagonal covariances divided by ``d``, summed
    over the branches.
    """
    if z1.shape != z2.shape or z1.ndim != 2 or len(z1) < 2:
        raise ShapeError(f"vicreg needs two (n >= 2, d) batches, got {z1.shape} and {z2.shape}")
    n, d = z1.shape
    variance = z1.new_zeros(())
    covariance = z1.new_zeros(())
    for z in (z1, z2):
        zc = z - z.mean(dim=0)
        variance = variance + F.relu(1.0 - torch.sqrt(zc.var(dim=0) + eps)).mean() / 2
        cov = zc.T @ zc / (n - 1)
        off = cov - torch.diag(torch.diagonal(cov))
        covariance = covariance + off.pow(2).sum() / d
    return {"invariance": F.mse_loss(z1, z2), "variance": variance, "covariance": covariance}


def vicreg(
    z1: torch.Tensor, z2: torch.Tensor, weights: tuple[float, float, float] = VICREG_WEIGHTS
) -> torch.Tensor:
    """VICReg loss: ``weights`` times (invariance, variance, covariance), summed."""
    terms = vicreg_terms(z1, z2)
    return (
        weights[0] * terms["invariance"]
        + weights[1] * terms["variance"]
        + weights[2] * terms["covariance"]
    )


def projection_head(in_dim: int, dim: int = 64) -> nn.Sequential:
    """SimCLR's projection MLP: linear -> batch norm -> ReLU -> linear, ``in_dim -> dim``."""
    if dim < 1 or in_dim < 1:
        raise ConfigError(f"projection dimensions must be positive, got {in_dim} -> {dim}")
    return nn.Sequential(
        nn.Linear(in_dim, dim), nn.BatchNorm1d(dim), nn.ReLU(), nn.Linear(dim, dim)
    )


class ProjectedEncoder(nn.Module):
    """``projector(encoder.embed(x))``: the network a `ContrastiveTask` trains.

    ``encoder`` is any module with ``embed`` (an `EMGModel` or the estimators'
    `StandardizedNet`); its ``head`` is not used. Only ``encoder`` is kept afterwards.
    """

    def __init__(self, encoder: nn.Module, embed_dim: int, dim: int = 64) -> None:
        super().__init__()
        self.encoder = encoder
        self.projector = projection_head(embed_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.encoder.embed(x))  # type: ignore[operator]

    def trainable(self) -> list[nn.Parameter]:
        """Every parameter but the encoder's classification head (which gets no gradient)."""
        head = getattr(self.encoder, "head", None)
        skip = {id(p) for p in head.parameters()} if isinstance(head, nn.Module) else set()
        return [p for p in self.parameters() if id(p) not in skip]


def default_view_steps(layout: Layout | None, n_samples: int) -> list[tuple[str, dict[str, Any]]]:
    """The EMG views used when none are given.

    White noise at 10-30 dB SNR, a gain of 0.7-1.3 per channel, a circular time shift of
    up to an eighth of the window, channel dropout (p 0.15) and, for a ring, a rotation
    by up to one electrode or, for a grid, a translation by up to one electrode.
    """
    steps: list[tuple[str, dict[str, Any]]] = [
        ("noise", {"snr_db": (10.0, 30.0)}),
        ("scale", {"low": 0.7, "high": 1.3, "per_channel": True}),
        ("shift", {"max_shift": max(1, n_samples // 8)}),
        ("dropout", {"p": 0.15}),
    ]
    if layout is not None and layout.kind == "ring":
        steps.append(("rotate", {"max_shift": 1}))
    elif layout is not None and layout.kind == "grid":
        steps.append(("translate", {"layout": layout, "max_shift": 1}))
    return steps


def make_views(spec: Any, layout: Layout | None, n_samples: int, p: float = 0.8) -> Augment:
    """The view generator ``(X, y, rng) -> (X, y)`` of a contrastive task.

    ``spec`` None: `default_view_steps` (each step on a window with probability ``p``);
    else an `Augmenter` spec as the estimators' ``augment`` takes (a list of steps or
    ``{"steps": [...], "p": ...}``) or a callable. A ``translate`` step without a
    ``layout`` gets ``layout`` (the windows' electrode grid).
    """
    if spec is None:
        return Augmenter(default_view_steps(layout, n_samples), p=p)
    if callable(spec):
        return spec  # type: ignore[no-any-return]
    steps, rest = (
        (spec["steps"], {k: v for k, v in spec.items() if k != "steps"})
        if (isinstance(spec, dict) and "steps" in spec)
        else (spec, {"p": p})
    )
    if not isinstance(steps, list | tuple):
        raise ConfigError(f"views must be a list of augmentation steps or a dict, got {spec!r}")
    fixed = []
    for step in steps:
        name, kwargs = (step, {}) if isinstance(step, str) else (step[0], dict(step[1]))
        if name == "translate" and "layout" not in kwargs:
            if layout is None or layout.kind != "grid":
                raise ConfigError(f"view step 'translate' needs a grid layout, got {layout}")
            kwargs["layout"] = layout
        fixed.append([name, kwargs])
    return cast(Augment, as_augmenter({"steps": fixed, **rest}))


@register_task
class ContrastiveTask(TrainingTask):
    """Two augmented views of every window; NT-Xent or VICReg on their projections.

    Parameters
    ----------
    X : array ``(n, C, T)`` or lazy array
        Unlabelled windows (each batch is cut with ``X[idx]``).
    views : callable
        ``(X, y, rng) -> (X, y)`` drawing one view of a batch (see `make_views`); it is
        called twice per batch with the epoch's generator.
    loss : {"nt-xent", "vicreg"}
    temperature : float
        NT-Xent temperature.
    weights : (float, float, float)
        VICReg's invariance, variance and covariance weights.

    Batches are ``{"view1": tensor, "view2": tensor}``; the model (a `ProjectedEncoder`)
    gets both views in one call, so batch normalisation sees the ``2n`` windows together.
    """

    name = "contrastive"

    def __init__(
        self,
        X: ArrayLike,
        views: Augment,
        *,
        loss: str = "nt-xent",
        temperature: float = 0.1,
        weights: tuple[float, float, float] = VICREG_WEIGHTS,
    ) -> None:
        if loss not in LOSSES:
            raise ConfigError(f"unknown contrastive loss {loss!r}; valid: {', '.join(LOSSES)}")
        if not temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        if len(X.shape) != 3 or len(X) < 2:
            raise ShapeError(
                f"contrastive pre-training needs >= 2 windows (n, C, T), got {X.shape}"
            )
        self.X = X
        self.views = views
        self.loss_name = loss
        self.temperature = float(temperature)
        self.weights = tuple(float(w) for w in weights)

    @property
    def n_items(self) -> int:
        return len(self.X)

    def batches(self, plan: EpochPlan) -> Iterator[Batch]:
        dummy = np.zeros(plan.batch_size, dtype=np.int64)
        for idx in shuffled_batches(self.n_items, plan):
            x = np.ascontiguousarray(self.X[idx], dtype=np.float32)
            if not np.isfinite(x).all():
                raise ShapeError(f"epoch {plan.epoch}: windows {idx[:5].tolist()}... hold NaN/Inf")
            v1, _ = self.views(x, dummy[: len(x)], plan.rng)
            v2, _ = self.views(x, dummy[: len(x)], plan.rng)
            yield {"view1": as_float32(v1), "view2": as_float32(v2)}

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        z1, z2 = model(torch.cat([batch["view1"], batch["view2"]])).chunk(2)
        if self.loss_name == "nt-xent":
            return nt_xent(z1, z2, self.temperature)
        return vicreg(z1, z2, self.weights)  # type: ignore[arg-type]

    def fingerprint(self) -> list[Any]:
        return [self.name, self.loss_name, self.temperature, self.weights, repr(self.views), self.X]
