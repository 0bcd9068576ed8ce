"""The few-shot protocol (``few-shot:N,K``): one fold per target, never seen in training.

A target is a person left out of training (leave-one-subject-out over the people
present), or, where the dataset has its own source -> target split (`PREDEFINED`, e.g.
myoarmband's 22 pre-training -> 18 evaluation people), each of its target people; with
``by=COLUMN``, one person's data of a held-out value of another column (kanoga
``by=day``: a day no training recording comes from; ``by=subject`` forces
leave-one-subject-out). The ``few-shot`` regime (`myoshift.evaluation.few_shot_regime`)
fits a method on the fold's training data and runs seeded episodes on the target
(`myoshift.evaluation.few_shot_episodes` says what an episode is).

``novel[=M]``: M gesture classes (default half of those present, rounded up) are held out
from training: the first M of a permutation of the gesture codes present in the data,
seeded by the protocol's ``sampler_seed`` (0), the same in every fold. Their samples are
unlabelled in the training recordings (no training window carries them) and episodes
draw their N classes among them (and rest, with ``rest``).

Argument: ``few-shot:N,K[,OPTION...]``, options ``episodes=E`` (default 100),
``shots=windows|repetitions``, ``queries=Q``, ``rest``, ``novel[=M]``, ``by=COLUMN``
(e.g. ``few-shot:5,1,novel,shots=repetitions``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from myoshift.errors import ConfigError
from myoshift.evaluation.few_shot_episodes import FewShotSpec, check_pool, target_pool
from myoshift.evaluation.plan import (
    PREDEFINED,
    Fold,
    FoldPlan,
    _datasets,
    _groups,
    _in_dataset,
    _label,
    _match,
    _subject,
    held_out_values,
)
from myoshift.evaluation.protocol_base import Protocol, register_protocol
from myoshift.evaluation.units import take, unit_table
from myoshift.recording import REST, UNLABELLED, RecordingSet
from myoshift.signal.repetitions import sample_units

__all__ = ["FewShot", "FewShotSpec", "fold_spec", "hide_classes", "novel_classes"]


def novel_classes(classes: Iterable[int], n_novel: int | None, seed: int = 0) -> tuple[int, ...]:
    """The held-out gesture classes: the first ``n_novel`` (default half, rounded up) of a
    permutation of the gesture codes (rest excluded) seeded by ``seed``; sorted."""
    gestures = sorted(int(c) for c in set(classes) if c not in (REST, UNLABELLED))
    m = math.ceil(len(gestures) / 2) if n_novel is None else int(n_novel)
    if not 1 <= m < len(gestures):
        raise ConfigError(
            f"few-shot: novel={m} classes, but the data have {len(gestures)} gesture classes "
            f"({gestures}); some must stay for training"
        )
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), *b"novel"]))
    return tuple(sorted(gestures[i] for i in rng.permutation(len(gestures))[:m]))


def hide_classes(rset: RecordingSet, hidden: Sequence[int]) -> RecordingSet:
    """``rset`` with the samples of ``hidden`` classes unlabelled (no window carries them);
    recordings left without a labelled sample are dropped."""
    out = []
    for rec in rset:
        labels = np.where(np.isin(rec.labels, hidden), UNLABELLED, rec.labels)
        if (labels != UNLABELLED).any():
            out.append(replace(rec, labels=labels) if (labels != rec.labels).any() else rec)
    return RecordingSet(out)


# -- the protocol ----------------------------------------------------------------------------
@register_protocol
class FewShot(Protocol):
    """``few-shot:N,K``: one fold per target (see the module docstring); budget 0 only."""

    name = "few-shot"
    usage = "few-shot:N,K"
    default_regime = "few-shot"
    cross_domain = False

    def __init__(self, spec: FewShotSpec | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.spec = spec or FewShotSpec()

    @classmethod
    def from_arg(cls, arg: str, **kwargs: Any) -> Protocol:
        return cls(FewShotSpec.parse(arg), **kwargs)

    @property
    def label(self) -> str:
        return self.spec.label

    def params(self) -> dict[str, Any]:
        return {**super().params(), "few_shot": self.spec.to_dict()}

    @classmethod
    def candidates(cls, table: pd.DataFrame) -> list[Protocol]:
        """None: whether N,K fit depends on the labels, which a unit table lacks, so
        few-shot is never offered as an alternative (`protocol_names` lists its usage)."""
        return []

    def _predefined(self, table: pd.DataFrame) -> bool:
        return self.spec.by is None and all(str(d) in PREDEFINED for d in _datasets(table))

    def describe(self, table: pd.DataFrame) -> str:
        return " (predefined split)" if self._predefined(table) else ""

    def plan(self, table: pd.DataFrame) -> list[FoldPlan]:
        if self._predefined(table):
            return self._predefined_plans(table)
        col = self.spec.by or "subject"
        if col not in table.columns:
            known = sorted(c for c in table.columns if not c.startswith("_"))
            raise ConfigError(
                f"{self.label}: no metadata column {col!r} to take targets by; known: {known}"
            )
        plans = []
        why = " (targets are held out from training)"
        for h in held_out_values(table, col, self.label, why):
            for key, m in _groups(table, h.held, ["subject"]):
                name = _label(key) if col == "subject" else f"{col}={h.value}/{_label(key)}"
                info = {"subject": _subject(table, m), "test_domain": str(h.value)}
                if col != "subject":
                    info["column"] = col
                plans.append(FoldPlan(name, info, h.rows & ~h.held, m, m))
        return plans

    def _predefined_plans(self, table: pd.DataFrame) -> list[FoldPlan]:
        plans = []
        for ds in _datasets(table):
            rule, in_ds = PREDEFINED[str(ds)], _in_dataset(table, ds)
            source = in_ds & _match(table, rule["source"])
            for key, m in _groups(table, in_ds & _match(table, rule["target"]), ["subject"]):
                info = {"subject": _subject(table, m), "train_domain": "source"}
                plans.append(FoldPlan(_label(key), {**info, "test_domain": "target"}, source, m, m))
        return plans

    def split(self, rset: RecordingSet, calibration: int | Sequence[int] | None = 0) -> list[Fold]:
        """One fold per target; folds with the same training data share one RecordingSet
        (the regime fits once for them). Bad N, too few repetitions or a dataset without
        repetitions are a `ConfigError` here, before anything is trained."""
        self._budgets(calibration)
        if len(rset) == 0:
            raise ConfigError(f"{self.label}: the recording set is empty")
        table, per_rec = unit_table(rset)
        plans = self._checked_plans(table)
        novel: tuple[int, ...] = ()
        if self.spec.novel:
            labels = np.concatenate([np.unique(r.labels) for r in rset])
            novel = novel_classes(labels, self.spec.n_novel, self.sampler_seed)
        trains: dict[bytes, RecordingSet] = {}
        folds = []
        for p in plans:
            key = np.packbits(p.train).tobytes()
            if key not in trains:
                train = take(rset, per_rec, table, p.train)
                trains[key] = hide_classes(train, novel) if novel else train
            test = take(rset, per_rec, table, p.test)
            self._check_target(test, p.name, novel)
            info = {
                **p.info,
                "protocol": self.label,
                "fold": p.name,
                "calibration": 0,
                "n_calibration_units": 0,
                "few_shot": self.spec.to_dict(),
                "novel_classes": list(novel),
            }
            folds.append(Fold(p.name, trains[key], RecordingSet(), test, info))
        return folds

    def _check_target(self, test: RecordingSet, name: str, novel: Sequence[int]) -> None:
        if all(sample_units(r) is None for r in test):
            names = ", ".join(str(d) for d in test.unique("dataset")) or "the data"
            raise ConfigError(
                f"{self.label}: {names} has no repetitions (no repetition array, no "
                "repetition/cycle/trial field, no repeated gesture runs): support and queries "
                "must come from different repetitions"
            )
        check_pool(target_pool(test, self.spec, novel), self.spec, f"target {name}", "samples")


def fold_spec(fold: Fold) -> FewShotSpec:
    """The episode spec a few-shot fold carries (`ConfigError` for other folds)."""
    spec = fold.info.get("few_shot")
    if not isinstance(spec, dict):
        raise ConfigError(
            f"fold {fold.name!r} ({fold.info.get('protocol')}) has no few-shot episodes; "
            "use --protocol few-shot:N,K"
        )
    return FewShotSpec(**spec)
