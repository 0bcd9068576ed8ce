"""The relation module of relation networks (Sung et al. 2018) on embedding vectors."""

from __future__ import annotations

import pytest
import torch

from myoshift.errors import ConfigError, ShapeError
from myoshift.models.relation import RelationModule


@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_every_pair_is_scored_by_the_same_network(kind: str) -> None:
    torch.manual_seed(0)
    rel = RelationModule(8, hidden=6, kind=kind).eval()
    query, classes = torch.randn(2, 5, 8), torch.randn(2, 3, 8)  # 2 episodes, Q=5, N=3
    logits = rel(query, classes)
    assert logits.shape == (2, 5, 3)
    for e, q, n in [(0, 0, 0), (1, 4, 2), (1, 2, 1)]:  # one pair alone gives the same value
        alone = rel(query[e, q][None], classes[e, n][None])
        torch.testing.assert_close(alone[0, 0], logits[e, q, n])
    scores = rel.scores(query, classes)
    assert ((scores > 0) & (scores < 1)).all()
    torch.testing.assert_close(scores, torch.sigmoid(logits))
    # the pair is ordered: query first, class second
    assert not torch.allclose(rel(classes[:, :1], query[:, :1]), logits[:, :1, :1])


def test_config_rebuilds_the_module() -> None:
    rel = RelationModule(12, hidden=4, kind="conv", channels=3)
    twin = RelationModule(**rel.config())
    twin.load_state_dict(rel.state_dict())
    q, c = torch.randn(4, 12), torch.randn(2, 12)
    torch.testing.assert_close(twin(q, c), rel(q, c))
    assert rel.config() == {"embed_dim": 12, "hidden": 4, "kind": "conv", "channels": 3}


def test_bad_arguments_and_shapes() -> None:
    with pytest.raises(ConfigError, match="kind must be one of"):
        RelationModule(8, kind="transformer")
    with pytest.raises(ConfigError, match="hidden must be a positive int"):
        RelationModule(8, hidden=0)
    with pytest.raises(ConfigError, match="embed_dim >= 4"):
        RelationModule(2, kind="conv")
    rel = RelationModule(8)
    with pytest.raises(ShapeError, match="embeddings of size 8"):
        rel(torch.randn(3, 7), torch.randn(2, 8))
    with pytest.raises(ShapeError, match="leading dimensions"):
        rel(torch.randn(2, 3, 8), torch.randn(3, 2, 8))
