"""The relation module of relation networks (Sung et al. 2018), on embedding vectors.

Sung, Yang, Zhang, Xiang, Torr & Hospedales (2018), "Learning to compare: relation
network for few-shot learning", CVPR. A relation network embeds the support and query
windows with one encoder, then scores every (query, class) pair with a small learned
network ``g`` on the concatenated pair: ``score = sigmoid(g([z_query, c_class]))`` in
[0, 1], where ``c_class`` is the class's support embedding (here the mean over its
shots, so scores do not depend on K). ``g`` is an MLP (default) or, as in the paper's
module, two convolution blocks followed by two linear layers, here 1-D convolutions
over the pair stacked as two channels of length ``embed_dim``.

Plain torch: the module knows nothing of episodes or data (`myoshift.learn.tasks`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from myoshift.errors import ConfigError, ShapeError

KINDS = ("mlp", "conv")


class RelationModule(nn.Module):
    """``g([query, class])``: the relation logit of every (query, class) pair.

    Parameters
    ----------
    embed_dim : int
        Size of the encoder's embedding.
    hidden : int
        Units of the hidden linear layers.
    kind : {"mlp", "conv"}
        ``mlp``: Linear(2D, hidden) - BatchNorm - ReLU - Linear(hidden, hidden) - ReLU -
        Linear(hidden, 1). ``conv``: the pair as 2 channels of length D, two blocks
        Conv1d(k=3) - BatchNorm - ReLU - MaxPool(2) with ``channels`` maps, then Linear -
        ReLU - Linear(hidden, 1). Batch normalisation, as in the paper's module, lets the
        module leave the constant-score start quickly; in eval mode (prediction) every
        pair is scored alone.
    channels : int
        Feature maps of the ``conv`` kind.
    """

    def __init__(
        self, embed_dim: int, hidden: int = 32, kind: str = "mlp", channels: int = 8
    ) -> None:
        super().__init__()
        for key, value in (("embed_dim", embed_dim), ("hidden", hidden), ("channels", channels)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"relation module: {key} must be a positive int, got {value!r}")
        if kind not in KINDS:
            raise ConfigError(f"relation module: kind must be one of {KINDS}, got {kind!r}")
        if kind == "conv" and embed_dim < 4:
            raise ConfigError(f"relation module: kind 'conv' needs embed_dim >= 4, got {embed_dim}")
        self.embed_dim, self.hidden, self.kind, self.channels = embed_dim, hidden, kind, channels
        if kind == "mlp":
            self.body: nn.Module = nn.Sequential(
                nn.Linear(2 * embed_dim, hidden),
                nn.BatchNorm1d(hidden),
                nn.ReLU(),
                nn.Linear(hidden, hidden),
                nn.ReLU(),
            )
        else:
            self.body = nn.Sequential(
                nn.Conv1d(2, channels, 3, padding=1),
                nn.BatchNorm1d(channels),
                nn.ReLU(),
                nn.MaxPool1d(2),
                nn.Conv1d(channels, channels, 3, padding=1),
                nn.BatchNorm1d(channels),
                nn.ReLU(),
                nn.MaxPool1d(2),
                nn.Flatten(),
                nn.Linear(channels * (embed_dim // 4), hidden),
                nn.ReLU(),
            )
        self.out = nn.Linear(hidden, 1)

    def forward(self, query: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Relation logits ``(..., Q, N)`` of queries ``(..., Q, D)`` and classes ``(..., N, D)``.

        Leading batch dimensions (e.g. episodes) must match; `scores` gives the
        sigmoid.
        """
        if query.shape[-1] != self.embed_dim or classes.shape[-1] != self.embed_dim:
            raise ShapeError(
                f"relation module takes embeddings of size {self.embed_dim}, got queries "
                f"{tuple(query.shape)} and classes {tuple(classes.shape)}"
            )
        if query.shape[:-2] != classes.shape[:-2]:
            raise ShapeError(
                f"relation module: queries {tuple(query.shape)} and classes "
                f"{tuple(classes.shape)} differ in their leading dimensions"
            )
        q, n = query.shape[-2], classes.shape[-2]
        lead = query.shape[:-2]
        pairs = torch.cat(
            [
                query.unsqueeze(-2).expand(*lead, q, n, self.embed_dim),
                classes.unsqueeze(-3).expand(*lead, q, n, self.embed_dim),
            ],
            dim=-1,
        ).reshape(-1, 2 * self.embed_dim)
        if self.kind == "conv":
            pairs = pairs.view(-1, 2, self.embed_dim)
        return self.out(self.body(pairs)).view(*lead, q, n)  # type: ignore[no-any-return]

    def scores(self, query: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Relation scores in [0, 1] (the paper's output), ``(..., Q, N)``."""
        return torch.sigmoid(self(query, classes))

    def config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this module."""
        return {
            "embed_dim": self.embed_dim,
            "hidden": self.hidden,
            "kind": self.kind,
            "channels": self.channels,
        }
