"""Episodes within one person (support and queries from different repetitions), the
prototypical and relation tasks, their training and resume through `Trainer.run`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn.standardized_net import StandardizedNet
from myoshift.learn.tasks import EpisodeSampler, EpochPlan, get_task
from myoshift.learn.tasks.episodic import (
    PrototypicalTask,
    RelationNetwork,
    RelationTask,
    class_means,
    embedding_size,
    pseudo_repetitions,
    squared_distances,
)
from myoshift.learn.trainer import TrainConfig, Trainer
from myoshift.models import EMGModel
from myoshift.models.relation import RelationModule

from ..conftest import TinyNet, separable

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _labels(
    people: int = 2, classes: int = 4, reps: int = 3, per: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y, groups, subjects)``: every person does every class ``reps`` times, ``per``
    windows each; repetition ids 1..reps are shared by people and classes."""
    grid = np.array(np.meshgrid(range(people), range(classes), range(1, reps + 1), range(per)))
    subjects, y, groups, _ = grid.reshape(4, -1)
    return y, groups, np.array(["p1", "p2", "p3"])[subjects]


def _plan(batch_size: int = 1, seed: int = 0, world_size: int = 1) -> EpochPlan:
    gen, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    return EpochPlan(0, batch_size, gen, rng, world_size=world_size)


def _people_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two people, 4 separable classes, 4 repetitions each."""
    parts = [separable(n_per_class=16, n_classes=4, seed=seed + p) for p in range(2)]
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    g = np.concatenate([p[2] for p in parts])
    subjects = np.repeat([1, 2], len(parts[0][1]))
    return X, y, g, subjects


# ---------------------------------------------------------------- the episode rule
def test_episodes_keep_one_person_and_separate_repetitions() -> None:
    y, groups, subjects = _labels()
    sampler = EpisodeSampler(y, groups, subjects, n_way=3, k_shot=4, n_query=6)
    rng = np.random.default_rng(0)
    seen_people, seen_reps = set(), set()
    for _ in range(200):
        e = sampler.sample(rng)
        assert e.support.shape == (3 * 4,) and e.query.shape == (3 * 6,)
        both = np.concatenate([e.support, e.query])
        assert len(np.unique(subjects[both])) == 1  # one person
        assert len(np.unique(groups[e.support])) == 1  # the support is ONE repetition
        assert groups[e.support[0]] not in set(groups[e.query])  # never on both sides
        assert len(set(e.classes)) == 3
        # class-major: shots and queries of label i are those of class classes[i]
        np.testing.assert_array_equal(y[e.support], np.repeat(sampler.labels[e.classes], 4))
        np.testing.assert_array_equal(y[e.query], np.repeat(sampler.labels[e.classes], 6))
        assert len(np.unique(e.support)) == 12 and len(np.unique(e.query)) == 18
        seen_people.add(subjects[both[0]])
        seen_reps.add(groups[e.support[0]])
    assert seen_people == {"p1", "p2"} and seen_reps == {1, 2, 3}


def test_episodes_are_reproducible_and_n_way_none_takes_every_class() -> None:
    y, groups, subjects = _labels()
    a = EpisodeSampler(y, groups, subjects, n_way=None, k_shot=2, n_query=2)
    b = EpisodeSampler(y, groups, subjects, n_way=None, k_shot=2, n_query=2)
    assert a.n_way == 4 and a.n_anchors == 2 * 3
    ea, eb = a.sample(np.random.default_rng(5)), b.sample(np.random.default_rng(5))
    np.testing.assert_array_equal(ea.support, eb.support)
    np.testing.assert_array_equal(ea.query, eb.query)
    # windows without people: one person
    assert EpisodeSampler(y, groups, None, n_way=4, k_shot=1, n_query=1).n_anchors == 3


def test_support_per_person_covers_every_person_and_class() -> None:
    y, groups, subjects = _labels(per=5)
    idx = EpisodeSampler(y, groups, subjects, n_way=4, k_shot=3, n_query=1).support_per_person(
        np.random.default_rng(0)
    )
    assert len(idx) == 2 * 4 * 3
    for p in ("p1", "p2"):
        for c in range(4):
            mine = idx[(subjects[idx] == p) & (y[idx] == c)]
            assert len(mine) == 3 and len(np.unique(groups[mine])) == 1


def test_impossible_episodes_say_what_exists() -> None:
    y, groups, subjects = _labels(classes=3, reps=2, per=5)
    with pytest.raises(ConfigError, match=r"n_way=4, but a training person has at most 3 classes"):
        EpisodeSampler(y, groups, subjects, n_way=4, k_shot=1, n_query=1)
    with pytest.raises(ConfigError, match="k_shot=6 .*a repetition gives at most 5 windows"):
        EpisodeSampler(y, groups, subjects, n_way=3, k_shot=6, n_query=1)
    with pytest.raises(ConfigError, match="n_query=6.*the other repetitions at most 5"):
        EpisodeSampler(y, groups, subjects, n_way=3, k_shot=1, n_query=6)
    with pytest.raises(ConfigError, match="n_way must be an int >= 2"):
        EpisodeSampler(y, groups, subjects, n_way=1)
    with pytest.raises(ConfigError, match="k_shot must be a positive int"):
        EpisodeSampler(y, groups, subjects, k_shot=0)
    with pytest.raises(ShapeError, match="groups"):
        EpisodeSampler(y, groups[1:], subjects)
    # one repetition only: no queries anywhere
    with pytest.raises(ConfigError, match="other repetitions at most 0"):
        EpisodeSampler(y, np.ones_like(groups), subjects, n_way=3, k_shot=1, n_query=1)


def test_pseudo_repetitions_cut_each_class_into_ordered_blocks() -> None:
    y = np.array([0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0])
    g = pseudo_repetitions(y, n_blocks=3)
    np.testing.assert_array_equal(g[y == 0], [1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(g[y == 1], [1, 1, 2, 2, 3, 3])


# ---------------------------------------------------------------- helpers
def test_distances_and_class_means() -> None:
    a, b = torch.randn(2, 5, 3), torch.randn(2, 4, 3)
    expected = ((a[:, :, None] - b[:, None]) ** 2).sum(-1)
    torch.testing.assert_close(squared_distances(a, b), expected)
    z, y = torch.randn(6, 3), torch.tensor([2, 0, 2, 2, 0, 0])
    means = class_means(z, y, 4)
    torch.testing.assert_close(means[0], z[[1, 4, 5]].mean(0))
    torch.testing.assert_close(means[2], z[[0, 2, 3]].mean(0))
    assert torch.equal(means[1], torch.zeros(3)) and torch.equal(means[3], torch.zeros(3))


class _NoEmbed(EMGModel):
    name = "test-no-embed"

    def __init__(self, n_channels: int, n_samples: int, n_outputs: int) -> None:
        super().__init__(n_channels, n_samples, n_outputs)
        self.head = nn.Linear(n_channels, n_outputs)


def test_embedding_size_needs_an_embed() -> None:
    assert embedding_size(StandardizedNet(TinyNet(4, 32, 3, width=6), 4), "test-tiny") == 6
    with pytest.raises(ConfigError, match="'test-no-embed' has no usable embed"):
        embedding_size(StandardizedNet(_NoEmbed(4, 32, 3), 4), "test-no-embed")


# ---------------------------------------------------------------- tasks
def test_batches_hold_whole_episodes() -> None:
    X, y, g, s = _people_data()
    task = get_task("protonet")(X, y, g, s, n_way=3, k_shot=2, n_query=3, episodes=5)  # type: ignore[call-arg]
    batches = list(task.batches(_plan(batch_size=2)))
    assert [len(b["target"]) for b in batches] == [30, 30, 15]  # 2 + 2 + 1 episodes
    assert task.steps_per_epoch(2, 1) == 3 and task.n_items == 5
    first = batches[0]
    assert first["emg"].shape == (30, 4, 32) and [task.batch_weight(b) for b in batches] == [
        2,
        2,
        1,
    ]
    np.testing.assert_array_equal(
        first["target"][:15], [0, 0, 1, 1, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    )
    again = list(task.batches(_plan(batch_size=2)))  # the plan's rng fixes the episodes
    assert all(torch.equal(a["emg"], b["emg"]) for a, b in zip(batches, again))
    with pytest.raises(ConfigError, match="one process"):
        next(task.batches(_plan(world_size=2)))
    with pytest.raises(ConfigError, match="episodes must be a positive int"):
        PrototypicalTask(X, y, g, s, episodes=0)


def _fit(task: PrototypicalTask, net: nn.Module, epochs: int = 6, **kw: object) -> list[float]:
    cfg = TrainConfig(epochs=epochs, batch_size=2, lr=0.01, threads=1, patience=None, **kw)  # type: ignore[arg-type]
    return [h["train_loss"] for h in Trainer(cfg).run(net, task).history]


def test_prototypical_loss_decreases_on_separable_people() -> None:
    X, y, g, s = _people_data()
    task = PrototypicalTask(X, y, g, s, n_way=3, k_shot=2, n_query=4, episodes=12)
    torch.manual_seed(0)
    loss = _fit(task, TinyNet(4, 32, 4, width=8), epochs=10)
    assert loss[-1] < 0.6 * loss[0]


def test_relation_loss_decreases_and_trains_the_module() -> None:
    X, y, g, s = _people_data()
    task = RelationTask(X, y, g, s, n_way=3, k_shot=2, n_query=4, episodes=12)
    torch.manual_seed(0)
    net = RelationNetwork(TinyNet(4, 32, 4, width=8), RelationModule(8))
    before = {k: v.clone() for k, v in net.relation.state_dict().items()}
    loss = _fit(task, net, epochs=25)
    assert loss[-1] < 0.5 * loss[0]
    assert any(not torch.equal(before[k], v) for k, v in net.relation.state_dict().items())


class Killed(Exception):
    pass


def test_episodic_training_resumes_bit_identically(tmp_path: Path) -> None:
    X, y, g, s = _people_data()
    task = PrototypicalTask(X, y, g, s, n_way=3, k_shot=2, n_query=2, episodes=4)

    def net() -> nn.Module:
        torch.manual_seed(1)
        return TinyNet(4, 32, 4, width=6)

    full = net()
    _fit(task, full, epochs=3)

    def kill(epoch: int, record: dict[str, float]) -> None:
        if epoch == 1:
            raise Killed

    cfg = TrainConfig(epochs=3, batch_size=2, lr=0.01, threads=1, patience=None)
    ckpt = tmp_path / "ckpt"
    with pytest.raises(Killed):
        Trainer(TrainConfig(**{**vars(cfg), "checkpoint_dir": ckpt}), [kill]).run(net(), task)
    assert json.loads((ckpt / "state.json").read_text())["epoch"] == 2
    resumed = net()
    res = Trainer(TrainConfig(**{**vars(cfg), "checkpoint_dir": ckpt})).run(resumed, task)
    assert res.resumed_from == 2
    for k, v in full.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    # other episodes (another shape) are another run
    other = PrototypicalTask(X, y, g, s, n_way=3, k_shot=1, n_query=2, episodes=4)
    with pytest.raises(ConfigError, match="another run"):
        Trainer(TrainConfig(**{**vars(cfg), "checkpoint_dir": ckpt})).run(net(), other)
