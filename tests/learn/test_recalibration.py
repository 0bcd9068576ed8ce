"""Recalibration without labels: policies, votes, refusals, persistence, chains, methods."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from myoshift.errors import ConfigError
from myoshift.learn import ClassicalClassifier, ClassicalRegressor, DeepClassifier, DeepRegressor
from myoshift.learn.chain import MethodChain
from myoshift.learn.methods import build_estimator, get_method, spec_from_dict
from myoshift.learn.recalibration import parse_policy, pseudo_labels, vote_smooth
from myoshift.recording import UNLABELLED, Layout, Recording, RecordingSet
from myoshift.signal.windows import Windows, make_windows

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: day 2 of the toy: the armband put on again, every channel at another gain
GAINS = np.array([2.0, 0.5, 1.0, 1.0])
TINY = {"model": "test-tiny", "epochs": 8, "lr": 0.02, "batch_size": 32, "threads": 1}


def toy_day(gains: np.ndarray, seed: int, labelled: bool = True, reps: int = 4) -> RecordingSet:
    """3 gestures x ``reps`` recordings of 2 s at 200 Hz; gesture k is loud on channel k."""
    rng = np.random.default_rng(seed)
    recs = []
    for r in range(reps):
        for k in range(3):
            amp = np.ones(4)
            amp[k] = 4.0
            x = (rng.standard_normal((400, 4)) * amp * gains).astype(np.float32)
            labels = np.full(400, k if labelled else UNLABELLED)
            meta = {"dataset": "toy", "subject": 1, "day": int(seed) + 1, "rep": r}
            recs.append(Recording(x, 200.0, labels, Layout.ring(4), meta=meta))
    return RecordingSet(recs)


@pytest.fixture(scope="module")
def days() -> tuple[Windows, Windows]:
    return make_windows(toy_day(np.ones(4), 0), 200, 50), make_windows(toy_day(GAINS, 1), 200, 50)


@pytest.fixture(scope="module")
def fitted_deep(days: tuple[Windows, Windows]) -> DeepClassifier:
    torch.set_num_threads(1)
    return DeepClassifier(**TINY, val_fraction=0.0).fit(days[0])


def _weights(est: DeepClassifier) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in est.net_.state_dict().items()}


# ---------------------------------------------------------------------- votes and labels
def test_vote_smooth_on_a_hand_made_sequence() -> None:
    decisions = np.array([1, 1, 2, 1, 1, 3, 3, 1, 3, 3])
    out = vote_smooth(decisions, np.zeros(10), np.arange(10), radius=1)
    np.testing.assert_array_equal(out, [1, 1, 1, 1, 1, 3, 3, 3, 3, 3])
    # a tie keeps the window's own decision
    np.testing.assert_array_equal(vote_smooth(np.array([1, 2]), [0, 0], [0, 1], 1), [1, 2])
    # votes stay inside a recording and follow the start, not the row order
    rec, start = np.array([7, 7, 7, 5, 5, 5]), np.array([20, 0, 10, 0, 10, 20])
    dec = np.array([4, 4, 9, 9, 4, 9])
    np.testing.assert_array_equal(vote_smooth(dec, rec, start, 10), [4, 4, 4, 9, 9, 9])
    np.testing.assert_array_equal(vote_smooth(dec, rec, start, 0), dec)


def test_pseudo_labels_keep_confident_stretches(days: tuple[Windows, Windows]) -> None:
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.95, 0.05]])
    labels, kept = pseudo_labels(proba, np.zeros((3, 4, 40)), 500, 0.8)  # arrays: no vote
    np.testing.assert_array_equal(labels, [0, 1, 0])
    np.testing.assert_array_equal(kept, [True, False, True])
    w = days[1].subset(np.arange(9))  # one recording, starts 0, 10, ... 80 samples
    p = np.tile([[0.9, 0.1]], (9, 1))
    p[4] = [0.3, 0.7]  # one stray decision in a confident stretch
    labels, kept = pseudo_labels(p, w, 100.0, 0.8)  # +-50 ms: the 2 neighbours
    np.testing.assert_array_equal(labels, np.zeros(9))
    np.testing.assert_array_equal(kept, [True] * 3 + [False] * 3 + [True] * 3)


def test_parse_policy_forms_and_errors() -> None:
    assert parse_policy("tent")["epochs"] == 1
    assert parse_policy({"name": "zhai", "vote_ms": 1000})["vote_ms"] == 1000.0
    assert parse_policy({"self-training": {"confidence": 0.9}})["confidence"] == 0.9
    with pytest.raises(ConfigError, match="unknown recalibration policy 'dann'; valid: adabn"):
        parse_policy("dann")
    with pytest.raises(ConfigError, match="policy 'tent' has no option \\['vote_ms'\\]"):
        parse_policy({"name": "tent", "vote_ms": 3})
    with pytest.raises(ConfigError, match="'confidence' must be a number \\[0, 1\\]"):
        parse_policy({"name": "self-training", "confidence": 2})
    with pytest.raises(ConfigError, match="'epochs' must be an integer"):
        parse_policy({"name": "zhai", "epochs": 1.5})


# ---------------------------------------------------------------------- deep policies
@pytest.mark.parametrize("policy", ["adabn", "self-training", "tent", "zhai"])
def test_each_deep_policy_recovers_a_day_shift(
    policy: str, fitted_deep: DeepClassifier, days: tuple[Windows, Windows]
) -> None:
    est = copy.deepcopy(fitted_deep)
    before_w, before = _weights(est), est.score(days[1])
    assert before < 0.9  # the gains of day 2 hurt
    # labels of the target windows are never read: hide them
    hidden = Windows(**{**days[1].__dict__, "y": np.full(len(days[1]), UNLABELLED)})
    assert est.recalibrate(hidden, policy) is est
    assert est.recalibration_["policy"] == policy
    assert any(not torch.equal(v, est.net_.state_dict()[k]) for k, v in before_w.items())
    assert est.score(days[1]) > before + 0.05


def test_self_training_fine_tunes_on_kept_windows(
    fitted_deep: DeepClassifier, days: tuple[Windows, Windows]
) -> None:
    est = copy.deepcopy(fitted_deep)
    head = est.net_.model.head.weight.detach().clone()
    est.recalibrate(days[1], {"name": "self-training", "adabn": False, "confidence": 0.5})
    info = est.recalibration_
    assert 0 < info["n_kept"] <= info["n_windows"] == len(days[1])
    assert not torch.equal(head, est.net_.model.head.weight)  # fine-tuned, not only AdaBN
    assert est.adapt_align is None  # the alignment default is restored


def test_tent_updates_only_batch_norm_affine_parameters(
    fitted_deep: DeepClassifier, days: tuple[Windows, Windows]
) -> None:
    est = copy.deepcopy(fitted_deep)
    before = _weights(est)
    est.recalibrate(days[1], {"name": "tent", "epochs": 2})
    after = est.net_.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert {"model.bn.weight", "model.bn.bias"} <= changed
    assert changed <= {k for k in before if k.startswith("model.bn.")}  # + running statistics
    assert all(p.requires_grad for p in est.net_.parameters()) and not est.net_.training


def test_refusals_name_the_estimator_and_the_policy(
    fitted_deep: DeepClassifier, days: tuple[Windows, Windows]
) -> None:
    w = days[1]
    with pytest.raises(ConfigError, match=r"DeepClassifier\(model='test-tiny'\) has no recal"):
        copy.deepcopy(fitted_deep).recalibrate(w)
    with pytest.raises(ConfigError, match="cannot take recalibration policy 'lda-means'"):
        copy.deepcopy(fitted_deep).recalibrate(w, "lda-means")
    lda = ClassicalClassifier(recalibrate_policy="tent").fit(days[0])
    with pytest.raises(
        ConfigError, match=r"ClassicalClassifier\(classifier='lda'\) cannot take .*'tent'"
    ):
        lda.recalibrate(w)
    rf = ClassicalClassifier(classifier="rf").fit(days[0])
    with pytest.raises(ConfigError, match="'rf'.* 'lda-means': lda-means re-estimates"):
        rf.recalibrate(w, "lda-means")
    reg = DeepRegressor(**{**TINY, "epochs": 1}).fit(days[0], np.eye(3)[days[0].y])
    with pytest.raises(ConfigError, match="DeepRegressor.*'tent': a regressor"):
        reg.recalibrate(w, "tent")
    zhai = DeepClassifier(model="zhai-cnn", epochs=1, threads=1).fit(days[0])
    with pytest.raises(ConfigError, match="'zhai-cnn'.* 'adabn': its network has no batch-norm"):
        zhai.recalibrate(w, "adabn")


def test_save_and_load_keep_the_policy_and_its_effect(
    fitted_deep: DeepClassifier, days: tuple[Windows, Windows], tmp_path: Path
) -> None:
    est = copy.deepcopy(fitted_deep)
    est.set_params(recalibrate_policy={"name": "self-training", "epochs": 2})
    est.recalibrate(days[1])
    back = DeepClassifier.load(est.save(tmp_path / "deep"))
    assert back.recalibrate_policy == {"name": "self-training", "epochs": 2}
    np.testing.assert_allclose(back.predict_proba(days[1]), est.predict_proba(days[1]), atol=1e-6)
    lda = ClassicalClassifier(recalibrate_policy="lda-means").fit(days[0])
    lda.recalibrate(days[1])
    again = ClassicalClassifier.load(lda.save(tmp_path / "lda"))
    assert again.recalibrate_policy == "lda-means"
    np.testing.assert_allclose(again.predict_proba(days[1]), lda.predict_proba(days[1]))


# ---------------------------------------------------------------------- lda-means
def test_lda_means_moves_class_means_and_keeps_the_covariance(
    days: tuple[Windows, Windows],
) -> None:
    lda = ClassicalClassifier().fit(days[0])
    means, rows, y = lda.pipeline_[-1].means_.copy(), lda.features_train_.copy(), lda.y_train_
    before = lda.score(days[1])
    lda.recalibrate(days[1], "lda-means")
    assert lda.recalibration_["classes_moved"] == [0, 1, 2]
    assert not np.allclose(lda.pipeline_[-1].means_, means)
    for k in range(3):  # every class translated: the within-class scatter is unchanged
        a, b = rows[y == k], lda.features_train_[y == k]
        np.testing.assert_allclose(b - b.mean(0), a - a.mean(0), atol=1e-9)
    assert lda.score(days[1]) > before + 0.1


# ---------------------------------------------------------------------- chains and methods
def test_chain_recalibrates_from_unlabelled_recordings() -> None:
    lda = ClassicalClassifier(recalibrate_policy="lda-means")
    chain = MethodChain(lda, 200, 50, preprocess=[], name="lda-m").fit(toy_day(np.ones(4), 0))
    test = toy_day(GAINS, 1)
    before = chain.score(test)
    assert chain.recalibrate(toy_day(GAINS, 1, labelled=False)) is chain
    assert chain.n_recalibrate_ == 12 * 37 and chain.score(test) > before + 0.1
    none = MethodChain(ClassicalClassifier(), 200, 50, preprocess=[], name="lda-td")
    with pytest.raises(ConfigError, match="method 'lda-td': ClassicalClassifier.*has no recal"):
        none.fit(toy_day(np.ones(4), 0)).recalibrate(test)
    reg = MethodChain(ClassicalRegressor(), 200, 50, preprocess=[], name="ridge")
    with pytest.raises(ConfigError, match="method 'ridge': ClassicalRegressor has no recal"):
        reg.fit(toy_day(np.ones(4), 0)).recalibrate(test)


def test_methods_carry_the_recalibrate_key() -> None:
    assert build_estimator("zhai-cnn").recalibrate_policy["name"] == "zhai"
    assert get_method("lda-td-means").params["recalibrate_policy"]["name"] == "lda-means"
    for name, policy in (("tcn-adabn", "adabn"), ("tcn-tent", "tent")):
        assert parse_policy(get_method(name).params["recalibrate_policy"]).name == policy
    assert "recalibrate_policy" not in get_method("tcn-transfer").params
    base: dict[str, Any] = {"name": "x", "kind": "classical", "estimator": "ClassicalClassifier"}
    base.update(citation="c", window_ms=200)
    assert spec_from_dict({**base, "recalibrate": "lda-means"}).params == {
        "recalibrate_policy": "lda-means"
    }
    with pytest.raises(ConfigError, match="x.yaml: recalibrate: unknown recalibration policy"):
        spec_from_dict({**base, "recalibrate": "magic"}, "x.yaml")


def test_zhai_method_recalibrates_through_its_chain() -> None:
    from myoshift.evaluation.recipes import resolve_method

    method = resolve_method("zhai-cnn", {"epochs": 4, "threads": 1, "step_ms": 50})
    chain = method.chain(200.0, 0).fit(toy_day(np.ones(4), 0))
    w = chain.windows(toy_day(np.ones(4), 0))
    assert w.X.shape[1:] == (4, 25)  # spectrogram-pca: 25 components per channel
    before = _weights(chain.estimator_)
    chain.recalibrate(toy_day(GAINS, 1, labelled=False))
    info = chain.estimator_.recalibration_
    assert info["policy"] == "zhai" and info["n_kept"] == info["n_windows"]
    after = chain.estimator_.net_.state_dict()
    assert any(not torch.equal(v, after[k]) for k, v in before.items())
