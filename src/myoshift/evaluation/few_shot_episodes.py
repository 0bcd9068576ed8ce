"""Few-shot episodes as pure functions: the spec, the target's pool, seeded sampling.

An *episode* (`sample_episode`) on a target (a fold of the ``few-shot:N,K`` protocol,
`myoshift.evaluation.few_shot`) is:

* N of the target's classes (rest excluded unless ``rest``; with ``novel`` only the
  novel classes);
* per class, K support windows from ONE repetition of it (``shots=repetitions``: K
  whole repetitions);
* queries: the windows of those classes in the target's OTHER repetitions (or
  ``queries=Q`` of them per class, at random). A repetition of a class is its windows in
  one repetition unit (`myoshift.evaluation.units`), so support and queries never share
  one.

Episode ``e`` of fold ``f`` under run seed ``s`` draws from a generator seeded by
``(s, e, f)`` (`episode_seed`): every method of a run sees the same classes and the same
support and query repetitions; the K windows picked in a repetition are the same for
methods of the same windowing. Classes and repetitions are drawn as permutations of the
target's classes and repetitions, fixed before any window is looked at, of which the first
eligible are taken; so a method whose windowing leaves a short repetition too few
windows departs from the others only where that repetition would have been drawn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from myoshift.errors import ConfigError
from myoshift.evaluation.units import unit_table
from myoshift.recording import REST, UNLABELLED, RecordingSet

SHOTS = ("windows", "repetitions")


# -- the argument ----------------------------------------------------------------------------
@dataclass(frozen=True)
class FewShotSpec:
    """What an episode is: ``n_way`` classes, ``k_shot`` shots, and the options."""

    n_way: int = 5
    k_shot: int = 5
    episodes: int = 100
    shots: str = "windows"
    queries: int | None = None
    rest: bool = False
    novel: bool = False
    n_novel: int | None = None
    by: str | None = None

    def __post_init__(self) -> None:
        for name in ("n_way", "k_shot", "episodes"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"few-shot: {name} must be >= 1, got {getattr(self, name)}")
        if self.n_way < 2:
            raise ConfigError(f"few-shot: N must be >= 2 classes, got {self.n_way}")
        if self.shots not in SHOTS:
            raise ConfigError(f"few-shot: shots={self.shots!r}; valid: {', '.join(SHOTS)}")
        if self.queries is not None and self.queries < 1:
            raise ConfigError(f"few-shot: queries must be >= 1, got {self.queries}")
        if self.n_novel is not None and self.n_novel < 1:
            raise ConfigError(f"few-shot: novel=M needs M >= 1, got {self.n_novel}")

    @classmethod
    def parse(cls, arg: str) -> FewShotSpec:
        """``"5,5"`` or ``"5,1,shots=repetitions,novel"`` (see the module docstring)."""
        usage = (
            "few-shot:N,K[,episodes=E,shots=windows|repetitions,queries=Q,rest,novel[=M],by=COLUMN]"
        )
        parts = [p.strip() for p in arg.split(",")] if arg else []
        if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
            raise ConfigError(f"protocol few-shot needs N,K (got few-shot:{arg}); usage: {usage}")
        kw: dict[str, Any] = {"n_way": int(parts[0]), "k_shot": int(parts[1])}
        for opt in parts[2:]:
            key, eq, value = opt.partition("=")
            if key in ("rest", "novel") and not eq:
                kw[key] = True
            elif key == "novel" and value.isdigit():
                kw.update(novel=True, n_novel=int(value))
            elif key in ("episodes", "queries") and value.isdigit():
                kw[key] = int(value)
            elif key in ("shots", "by") and value:
                kw[key] = value
            else:
                raise ConfigError(f"few-shot: bad option {opt!r}; usage: {usage}")
        return cls(**kw)

    @property
    def label(self) -> str:
        """``few-shot:N,K`` plus the options that differ from their defaults."""
        out = [str(self.n_way), str(self.k_shot)]
        for f in fields(self)[2:]:
            value, default = getattr(self, f.name), f.default
            if value == default or f.name == "n_novel":
                continue
            if f.name == "novel":
                out.append("novel" if self.n_novel is None else f"novel={self.n_novel}")
            elif f.name == "rest":
                out.append("rest")
            else:
                out.append(f"{f.name}={value}")
        return "few-shot:" + ",".join(out)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# -- repetition units of samples and windows ----------------------------------------------------
def _unit_lookup(rset: RecordingSet) -> tuple[dict[tuple[int, int], int], list[Any]]:
    table, per_rec = unit_table(rset)
    keys = zip(table["_rec"].astype(int), table["_rep"].astype(int), table["_uorder"].astype(int))
    return {(r, u): o for r, u, o in keys}, per_rec


def sample_unit_ids(rset: RecordingSet) -> list[np.ndarray]:
    """Per recording, the repetition unit (``unit_table``'s ``_uorder``) of every sample."""
    lookup, per_rec = _unit_lookup(rset)
    out = []
    for i, (rec, u) in enumerate(zip(rset, per_rec)):
        if isinstance(u, np.ndarray):
            values, inv = np.unique(u, return_inverse=True)
            out.append(np.array([lookup[(i, int(v))] for v in values])[inv])
        else:
            only = [o for (r, _), o in lookup.items() if r == i]
            out.append(np.full(rec.n_samples, only[0], dtype=np.int64))
    return out


def window_unit_ids(rset: RecordingSet, meta: pd.DataFrame) -> np.ndarray:
    """The repetition unit of every window cut from ``rset`` (``meta``: its `Windows.meta`,
    with ``recording`` and ``repetition``); -1 for a window in no known unit."""
    lookup, per_rec = _unit_lookup(rset)
    single = {r: o for (r, _), o in lookup.items() if not isinstance(per_rec[r], np.ndarray)}
    recs = meta["recording"].to_numpy().astype(int)
    reps = meta["repetition"].to_numpy().astype(int)
    return np.array(
        [single[r] if r in single else lookup.get((r, u), -1) for r, u in zip(recs, reps)],
        dtype=np.int64,
    )


# -- episodes --------------------------------------------------------------------------------
@dataclass(frozen=True)
class EpisodePool:
    """A target's material: candidate ``classes`` and repetition ``units`` (from its
    samples, independent of windowing) and the window positions of each (class, unit)."""

    classes: tuple[int, ...]
    units: tuple[int, ...]
    windows: dict[tuple[int, int], np.ndarray]

    def count(self, c: int, u: int) -> int:
        return len(self.windows.get((c, u), ()))


@dataclass(frozen=True)
class Episode:
    """One episode: its classes, support and query window positions, support units."""

    index: int
    classes: tuple[int, ...]
    support: np.ndarray
    query: np.ndarray
    support_units: dict[int, tuple[int, ...]]


def _pairs(y: np.ndarray, units: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    keep = (y != UNLABELLED) & (units >= 0)
    order = np.flatnonzero(keep)
    out: dict[tuple[int, int], np.ndarray] = {}
    if not len(order):
        return out
    codes = np.stack([y[order], units[order]], axis=1)
    uniq, inv = np.unique(codes, axis=0, return_inverse=True)
    for j, (c, u) in enumerate(uniq):
        out[(int(c), int(u))] = order[inv.ravel() == j]
    return out


def candidate_classes(labels: np.ndarray, spec: FewShotSpec, novel: Sequence[int]) -> list[int]:
    """Classes an episode may draw from among ``labels``: gestures (and rest with
    ``rest``), only the novel ones when ``novel`` is given."""
    present = {int(c) for c in np.unique(labels)} - {UNLABELLED}
    if not spec.rest:
        present.discard(REST)
    if novel:
        present &= set(novel) | ({REST} if spec.rest else set())
    return sorted(present)


def target_pool(
    rset: RecordingSet, spec: FewShotSpec, novel: Sequence[int], y: Any = None, units: Any = None
) -> EpisodePool:
    """The pool of target ``rset``: classes and units from its samples; window positions
    from ``y``/``units`` (one per window) or, without them, per sample (a check)."""
    sample_units = sample_unit_ids(rset)
    labels = np.concatenate([r.labels for r in rset])
    all_units = np.concatenate(sample_units)
    classes = candidate_classes(labels, spec, novel)
    if y is None:
        y, units = labels, all_units
    wins = _pairs(np.asarray(y), np.asarray(units))
    wins = {k: v for k, v in wins.items() if k[0] in classes}
    return EpisodePool(tuple(classes), tuple(sorted({int(u) for u in all_units})), wins)


def _eligible(pool: EpisodePool, c: int, order: Sequence[int], spec: FewShotSpec, k: int) -> Any:
    """The support units of class ``c`` (first eligible in ``order``) or None."""
    have = [u for u in order if pool.count(c, u) > 0]
    if spec.shots == "repetitions":
        return tuple(have[:k]) if len(have) > k else None
    for u in have:
        if pool.count(c, u) >= k:
            return (u,) if len(have) > 1 else None
    return None


def check_pool(pool: EpisodePool, spec: FewShotSpec, who: str, what: str = "windows") -> None:
    """`ConfigError` unless N classes of ``pool`` can make an episode (N too large, too few
    repetitions per class, K larger than a repetition's ``what``)."""
    label = spec.label
    if len(pool.classes) < spec.n_way:
        raise ConfigError(
            f"{label}: {who} has {len(pool.classes)} classes to draw from {list(pool.classes)}; "
            f"N={spec.n_way} is larger"
        )
    k = spec.k_shot if what == "windows" or spec.shots == "repetitions" else 1
    ok = [c for c in pool.classes if _eligible(pool, c, pool.units, spec, k) is not None]
    if len(ok) >= spec.n_way:
        return
    reps = {c: sum(pool.count(c, u) > 0 for u in pool.units) for c in pool.classes}
    if spec.shots == "repetitions" or min(reps.values()) < 2:
        need = spec.k_shot + 1 if spec.shots == "repetitions" else 2
        raise ConfigError(
            f"{label}: {who} has {len(ok)} classes with {need}+ repetitions (support and "
            f"queries from different ones), N={spec.n_way} needs {spec.n_way}; repetitions "
            f"per class: {reps}"
        )
    most = {c: max(pool.count(c, u) for u in pool.units) for c in pool.classes}
    raise ConfigError(
        f"{label}: K={spec.k_shot} support {what} from one repetition, but only {len(ok)} of "
        f"{who}'s classes have a repetition that long; most {what} in one repetition per "
        f"class: {most}"
    )


def episode_seed(seed: int, key: str, index: int) -> np.random.SeedSequence:
    """The seed of episode ``index`` of target ``key`` (the fold) under run ``seed``."""
    return np.random.SeedSequence([int(seed), int(index), *key.encode()])


def sample_episode(
    pool: EpisodePool, spec: FewShotSpec, seed: int, key: str, index: int
) -> Episode:
    """Episode ``index`` of target ``key`` (see the module docstring for the rule)."""
    draw, pick = (np.random.default_rng(s) for s in episode_seed(seed, key, index).spawn(2))
    class_order = [pool.classes[i] for i in draw.permutation(len(pool.classes))]
    unit_orders = {
        c: [pool.units[i] for i in draw.permutation(len(pool.units))] for c in pool.classes
    }
    k = spec.k_shot
    chosen: dict[int, tuple[int, ...]] = {}
    for c in class_order:
        units = _eligible(pool, c, unit_orders[c], spec, k)
        if units is not None:
            chosen[c] = units
        if len(chosen) == spec.n_way:
            break
    if len(chosen) < spec.n_way:
        check_pool(pool, spec, f"target {key}")  # names what is missing
    support, query = [], []
    for c in sorted(chosen):
        sup = [pool.windows[(c, u)] for u in chosen[c]]
        if spec.shots == "windows":
            sup = [np.sort(pick.choice(sup[0], k, replace=False))]
        others = [u for u in pool.units if u not in chosen[c] and (c, u) in pool.windows]
        q = np.concatenate([pool.windows[(c, u)] for u in others])
        if spec.queries is not None and len(q) > spec.queries:
            q = np.sort(pick.choice(q, spec.queries, replace=False))
        support += sup
        query.append(q)
    return Episode(
        index,
        tuple(sorted(chosen)),
        np.sort(np.concatenate(support)),
        np.concatenate(query),
        chosen,
    )


def sample_episodes(pool: EpisodePool, spec: FewShotSpec, seed: int, key: str) -> list[Episode]:
    """The ``spec.episodes`` episodes of target ``key`` (checked first: `check_pool`)."""
    check_pool(pool, spec, f"target {key}")
    return [sample_episode(pool, spec, seed, key, e) for e in range(spec.episodes)]


def span_seconds(meta: pd.DataFrame, window: int, fs: float) -> float:
    """Seconds of signal the windows of ``meta`` (``recording``, ``start``) span together."""
    total = 0
    for _, starts in meta.groupby("recording")["start"]:
        s = np.sort(starts.to_numpy())
        total += window + int(np.minimum(np.diff(s), window).sum())
    return total / float(fs)


def t_halfwidth(sd: float, n: int, level: float = 0.95) -> float:
    """Half-width of the t-interval of a mean of ``n`` values of spread ``sd`` (NaN, n < 2)."""
    if n < 2 or not np.isfinite(sd):
        return float("nan")
    return float(stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n))


def interval_text(accuracy: Mapping[str, Any], episode_ci: Mapping[str, Any] | None) -> str:
    """The 95 % interval of a summary row's mean accuracy, in points, saying what it is
    over: a t-interval over people's means (n >= 2), else over the person's folds, else
    (one fold) over its episodes (``episode_ci``: the ``accuracy_ci95`` summary row)."""
    n, n_folds = int(accuracy["n"]), int(accuracy.get("n_folds", accuracy["n"]))
    if n >= 2:
        half, over = t_halfwidth(float(accuracy["std"]), n), "people"
    elif n_folds >= 2:
        half, over = t_halfwidth(float(accuracy["std_folds"]), n_folds), "folds"
    else:
        half = float(episode_ci["mean"]) if episode_ci is not None else float("nan")
        over = "episodes"
    return f"±{100 * half:.1f} ({over})" if np.isfinite(half) else ""
