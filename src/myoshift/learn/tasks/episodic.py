"""Episodic training: N-way K-shot episodes within one person (metric meta-learning).

An episode imitates what a new user gives: one repetition of each of N gestures as the
support set (K windows per class from that ONE repetition), and windows of the person's
OTHER repetitions as queries (Q per class). Episodes are drawn from the training people
only, each within a single person, so the network learns to recognise a person's
gestures from that person's own few examples.

* `EpisodeSampler`: the episode rule, on labels, repetition groups and people;
* `PrototypicalTask` (``"protonet"``): Snell, Swersky & Zemel (2017), "Prototypical
  networks for few-shot learning", NeurIPS: each class is the mean embedding of its
  support windows, queries are classified by softmax over negative squared Euclidean
  distances;
* `RelationTask` (``"relation"``): Sung et al. (2018), "Learning to compare", CVPR: a
  learned relation module scores each (query, class) pair in [0, 1], trained by mean
  squared error against the one-hot match (`RelationNetwork` joins encoder and module).

A batch holds ``batch_size`` episodes, each laid out as its N*K support windows then its
N*Q queries, class-major, with the episode-local label (0..N-1) of every window as
``"target"``. Episodes are drawn from the epoch's ``plan.rng``, so a resumed run draws
the same ones. Episodic tasks run in one process (no data-parallel sharding).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn.standardized_net import StandardizedNet
from myoshift.learn.tasks.base import Batch, EpochPlan, TrainingTask
from myoshift.learn.tasks.batching import Inputs, as_float32, call_net, named_inputs
from myoshift.learn.tasks.registry import register_task
from myoshift.models.relation import RelationModule


@dataclass(frozen=True)
class Episode:
    """Window indices of one episode, class-major, and its classes in label order."""

    support: np.ndarray
    query: np.ndarray
    classes: np.ndarray


class EpisodeSampler:
    """N-way K-shot episodes: one person, support from one repetition, queries from others.

    Parameters
    ----------
    y : array (n,)
        Class label of every window (any dtype).
    groups : array (n,)
        Repetition unit of every window (what `Windows.groups` gives). One repetition
        id holds the support of every class of an episode.
    subjects : array (n,) or None
        Person of every window; None: all windows belong to one person.
    n_way : int or None
        Classes per episode; None: as many as the best repetition offers (at least 2).
    k_shot, n_query : int
        Support windows per class (from the support repetition) and query windows per
        class (from the person's other repetitions).

    Raises
    ------
    ConfigError
        No (person, repetition) can give ``n_way`` classes with ``k_shot`` windows in
        the repetition and ``n_query`` in the others; the message says what exists.
    """

    def __init__(
        self,
        y: Any,
        groups: Any,
        subjects: Any = None,
        *,
        n_way: int | None = 5,
        k_shot: int = 5,
        n_query: int = 5,
    ) -> None:
        labels, y_code = np.unique(np.asarray(y), return_inverse=True)
        g = np.asarray(groups)
        n = len(y_code)
        people = np.zeros(n, dtype=np.int64) if subjects is None else np.asarray(subjects)
        if len(g) != n or len(people) != n:
            raise ShapeError(f"episodes: {n} labels but {len(g)} groups and {len(people)} subjects")
        if n == 0:
            raise ShapeError("episodes: no training windows")
        for key, value in (("k_shot", k_shot), ("n_query", n_query)):
            if not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"{key} must be a positive int, got {value!r}")
        if n_way is not None and (not isinstance(n_way, int | np.integer) or n_way < 2):
            raise ConfigError(f"n_way must be an int >= 2 or None (all classes), got {n_way!r}")
        self.labels, self.k_shot, self.n_query = labels, int(k_shot), int(n_query)
        person_ids, p_code = np.unique(people, return_inverse=True)
        # pools[(person, class)][repetition] = window indices in input order
        self._pools: dict[tuple[int, int], dict[Any, np.ndarray]] = {}
        order = np.lexsort((np.arange(n), g, y_code, p_code))
        keys = np.stack([p_code[order], y_code[order]], axis=1)
        for (p, c), part in _runs(keys, order):
            reps, inv = np.unique(g[part], return_inverse=True)
            self._pools[(p, c)] = {r: part[inv == i] for i, r in enumerate(reps.tolist())}
        candidates = []  # (person, repetition, eligible classes)
        for p in range(len(person_ids)):
            classes = [c for (pp, c) in self._pools if pp == p]
            for r in sorted({r for c in classes for r in self._pools[(p, c)]}):
                ok = [c for c in classes if self._hosts(p, c, r)]
                candidates.append((p, r, np.asarray(ok, dtype=np.int64)))
        best = max((len(ok) for _, _, ok in candidates), default=0)
        self.n_way = int(n_way) if n_way is not None else max(best, 2)
        self._anchors = [a for a in candidates if len(a[2]) >= self.n_way]
        if not self._anchors:
            raise ConfigError(self._why_none(n_way, person_ids))

    def _hosts(self, p: int, c: int, r: Any) -> bool:
        reps = self._pools[(p, c)]
        inside = len(reps.get(r, ()))
        outside = sum(len(v) for rr, v in reps.items() if rr != r)
        return inside >= self.k_shot and outside >= self.n_query

    def _why_none(self, n_way: int | None, person_ids: np.ndarray) -> str:
        per_person: dict[int, list[int]] = {}
        for p, c in self._pools:
            per_person.setdefault(p, []).append(c)
        p_most = max(per_person, key=lambda p: len(per_person[p]))
        most = per_person[p_most]
        asked = f"n_way={n_way}" if n_way is not None else "n_way=None (all, at least 2)"
        if self.n_way > len(most):
            names = ", ".join(map(str, self.labels[sorted(most)].tolist()))
            return (
                f"{asked}, but a training person has at most {len(most)} classes "
                f"(person {person_ids[p_most].tolist()!r}: {names})"
            )
        inside = max(len(v) for reps in self._pools.values() for v in reps.values())
        outside = max(
            sum(len(v) for rr, v in reps.items() if rr != r)
            for reps in self._pools.values()
            for r in reps
        )
        return (
            f"{asked} with k_shot={self.k_shot} and n_query={self.n_query}: no repetition of "
            f"a training person gives {self.n_way} classes with k_shot windows in it and "
            f"n_query windows in the person's other repetitions (a repetition gives at most "
            f"{inside} windows of a class; the other repetitions at most {outside})"
        )

    @property
    def n_anchors(self) -> int:
        """(person, repetition) pairs that can hold an episode's support."""
        return len(self._anchors)

    def sample(self, rng: np.random.Generator) -> Episode:
        """One episode drawn with ``rng``."""
        p, r, eligible = self._anchors[int(rng.integers(len(self._anchors)))]
        classes = rng.choice(eligible, self.n_way, replace=False)
        support, query = [], []
        for c in classes.tolist():
            reps = self._pools[(p, c)]
            support.append(rng.choice(reps[r], self.k_shot, replace=False))
            others = np.concatenate([v for rr, v in reps.items() if rr != r])
            query.append(rng.choice(others, self.n_query, replace=False))
        return Episode(np.concatenate(support), np.concatenate(query), classes)

    def support_per_person(self, rng: np.random.Generator) -> np.ndarray:
        """Up to ``k_shot`` windows of every (person, class) from one of its repetitions."""
        out = []
        for reps in self._pools.values():
            pool = list(reps.values())[int(rng.integers(len(reps)))]
            out.append(rng.choice(pool, min(self.k_shot, len(pool)), replace=False))
        return np.sort(np.concatenate(out))


def _runs(keys: np.ndarray, order: np.ndarray) -> Iterator[tuple[tuple[int, int], np.ndarray]]:
    """``((person, class), indices)`` for each run of equal rows of the sorted ``keys``."""
    change = np.flatnonzero((np.diff(keys, axis=0) != 0).any(axis=1)) + 1
    for start, stop in zip(np.r_[0, change], np.r_[change, len(keys)]):
        yield (int(keys[start, 0]), int(keys[start, 1])), order[start:stop]


def pseudo_repetitions(y: Any, n_blocks: int = 4) -> np.ndarray:
    """Repetition ids 1..n_blocks: each class's windows, in order, cut into contiguous blocks.

    For windows given without groups (time order assumed), as the validation split does.
    """
    y = np.asarray(y)
    out = np.zeros(len(y), dtype=np.int64)
    for c in np.unique(y):
        for b, part in enumerate(np.array_split(np.flatnonzero(y == c), n_blocks), start=1):
            out[part] = b
    return out


def squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``||a_i - b_j||^2``: ``(..., n, D)`` and ``(..., m, D)`` to ``(..., n, m)``."""
    return (a.unsqueeze(-2) - b.unsqueeze(-3)).pow(2).sum(-1)


def class_means(z: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean embedding ``(n_classes, D)`` of each class ``0..n_classes-1`` of ``z`` ``(n, D)``."""
    sums = torch.zeros(n_classes, z.shape[1], dtype=z.dtype, device=z.device)
    sums.index_add_(0, y, z)
    counts = torch.bincount(y, minlength=n_classes).clamp(min=1).to(z.dtype)
    return sums / counts[:, None]


def embedding_size(net: StandardizedNet, name: str) -> int:
    """Size of the embedding of model ``name``; `ConfigError` when it has no usable ``embed``."""
    x = {k: torch.zeros((2, *shape)) for k, shape in net.model.inputs().items()}
    net.eval()
    try:
        with torch.no_grad():
            z = call_net(net.embed, x)
    except (NotImplementedError, AttributeError) as exc:
        raise ConfigError(
            f"model {name!r} has no usable embed() ({type(exc).__name__}); meta-learning "
            "needs an encoder whose embed(x) returns (batch, features)"
        ) from None
    if not isinstance(z, torch.Tensor) or z.ndim != 2:
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ConfigError(f"model {name!r}: embed() must return (batch, features), got {got}")
    return int(z.shape[1])


class RelationNetwork(nn.Module):
    """An encoder (anything with ``embed``) and a `RelationModule`, trained together."""

    def __init__(self, encoder: nn.Module, relation: RelationModule) -> None:
        super().__init__()
        self.encoder = encoder
        self.relation = relation

    def embed(self, x: Any) -> torch.Tensor:
        return self.encoder.embed(x)  # type: ignore[operator, no-any-return]


class EpisodicTask(TrainingTask):
    """Batches of episodes from an `EpisodeSampler`; subclasses give the loss.

    Parameters
    ----------
    X : array ``(n, C, T)`` or mapping of named arrays (as `SupervisedTask`)
    y, groups, subjects : arrays ``(n,)``
        Labels, repetition units and people (None: one person), see `EpisodeSampler`.
    n_way, k_shot, n_query : see `EpisodeSampler`
    episodes : int
        Episodes per epoch; ``batch_size`` of the loop is episodes per optimiser step.
    """

    def __init__(
        self,
        X: Inputs,
        y: Any,
        groups: Any,
        subjects: Any = None,
        *,
        n_way: int | None = 5,
        k_shot: int = 5,
        n_query: int = 5,
        episodes: int = 100,
    ) -> None:
        if not isinstance(episodes, int | np.integer) or episodes < 1:
            raise ConfigError(f"episodes must be a positive int, got {episodes!r}")
        self.inputs = named_inputs(X, "X")
        n = len(next(iter(self.inputs.values())))
        if len(y) != n:
            raise ShapeError(f"y has {len(y)} entries but X has {n} windows")
        self.sampler = EpisodeSampler(
            y, groups, subjects, n_way=n_way, k_shot=k_shot, n_query=n_query
        )
        self.y, self.groups = np.asarray(y), np.asarray(groups)
        self.subjects = None if subjects is None else np.asarray(subjects)
        self.episodes = int(episodes)
        N, K, Q = self.sampler.n_way, self.sampler.k_shot, self.sampler.n_query
        self.shape = (N, K, Q)
        self.labels = np.concatenate([np.repeat(np.arange(N), K), np.repeat(np.arange(N), Q)])

    @property
    def n_items(self) -> int:
        return self.episodes

    @property
    def episode_size(self) -> int:
        """Windows per episode: ``N * (K + Q)``."""
        return len(self.labels)

    def batches(self, plan: EpochPlan) -> Iterator[Batch]:
        if plan.world_size > 1:
            raise ConfigError(f"{type(self).__name__} runs in one process, not data-parallel")
        left = self.episodes
        while left > 0:
            n = min(plan.batch_size, left)
            left -= n
            episodes = [self.sampler.sample(plan.rng) for _ in range(n)]
            idx = np.concatenate([np.concatenate([e.support, e.query]) for e in episodes])
            batch = {k: as_float32(x[idx]) for k, x in self.inputs.items()}
            batch["target"] = torch.from_numpy(np.tile(self.labels, n))
            yield batch

    def batch_weight(self, batch: Batch) -> int:
        """Episodes in the batch: the epoch's loss is the mean over episodes."""
        return len(batch["target"]) // self.episode_size

    def fingerprint(self) -> list[Any]:
        names = sorted(self.inputs)
        people = np.zeros(0) if self.subjects is None else self.subjects.astype(str)
        shape = {"n_way_k_shot_n_query": list(self.shape), "episodes": self.episodes}
        return [self.name, shape, *(self.inputs[k] for k in names), self.y, self.groups, people]

    def embed_split(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Class means of the support ``(E, N, D)`` and query embeddings ``(E, N*Q, D)``."""
        N, K, Q = self.shape
        inputs = {k: v for k, v in batch.items() if k != "target"}
        z = call_net(model.embed, inputs)  # type: ignore[arg-type]
        z = z.view(-1, self.episode_size, z.shape[-1])
        support = z[:, : N * K].reshape(len(z), N, K, -1).mean(dim=2)
        return support, z[:, N * K :]

    def query_target(self, batch: Batch) -> torch.Tensor:
        """Episode labels of the queries, ``(E, N*Q)``."""
        N, K, _ = self.shape
        return batch["target"].view(-1, self.episode_size)[:, N * K :]


@register_task
class PrototypicalTask(EpisodicTask):
    """Prototypical networks (Snell et al. 2017): softmax over -squared distances.

    The model needs ``embed`` (an `EMGModel` or a `StandardizedNet`).
    """

    name = "protonet"

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        prototypes, queries = self.embed_split(model, batch)
        logits = -squared_distances(queries, prototypes)
        return F.cross_entropy(
            logits.reshape(-1, self.shape[0]), self.query_target(batch).flatten()
        )


@register_task
class RelationTask(EpisodicTask):
    """Relation networks (Sung et al. 2018): MSE of relation scores against the match.

    The model is a `RelationNetwork` (``embed`` and ``relation``).
    """

    name = "relation"

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        prototypes, queries = self.embed_split(model, batch)
        scores = model.relation.scores(queries, prototypes)  # type: ignore[operator, union-attr]
        match = F.one_hot(self.query_target(batch), self.shape[0]).to(scores.dtype)
        return F.mse_loss(scores, match)
