"""`MetaClassifier`: meta-training, prototypes, adapt, few_shot, persistence, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from myoshift.errors import ConfigError, ModelFileError
from myoshift.hashing import file_sha256
from myoshift.learn import MetaClassifier, load_estimator
from myoshift.learn.tasks.episodic import class_means, squared_distances
from myoshift.models import EMGModel, base
from myoshift.recording import Layout
from myoshift.signal.windows import Windows

from .conftest import separable

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST: dict[str, Any] = {
    "model": "test-tiny",
    "n_way": 3,
    "k_shot": 2,
    "n_query": 4,
    "episodes_per_epoch": 8,
    "epochs": 4,
    "batch_size": 2,
    "lr": 0.02,
    "threads": 1,
}
ALGORITHMS = {
    "protonet": {},
    "relation": {"epochs": 10, "lr": 0.01},
    "maml": {"inner_steps": 2, "inner_lr": 3.0, "lr": 0.03, "epochs": 6},
}


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two people x 4 separable classes x 4 repetitions of 4 windows."""
    parts = [separable(n_per_class=16, n_classes=4, seed=p) for p in range(2)]
    X, y, g = (np.concatenate([p[i] for p in parts]) for i in range(3))
    return X, y, g, np.repeat([1, 2], len(parts[0][1]))


@pytest.fixture(scope="module")
def fitted() -> dict[str, MetaClassifier]:
    X, y, g, s = _data()
    with torch.random.fork_rng():
        torch.set_num_threads(1)
        return {
            a: MetaClassifier(**{**FAST, "algorithm": a, **kw}).fit(X, y, g, subjects=s)
            for a, kw in ALGORITHMS.items()
        }


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_meta_training_gives_a_classifier_of_the_training_classes(
    algorithm: str, fitted: dict[str, MetaClassifier]
) -> None:
    X, y, _, _ = _data()
    est = fitted[algorithm]
    np.testing.assert_array_equal(est.classes_, [0, 1, 2, 3])
    assert len(est.history_) == est.epochs
    assert est.history_[-1]["train_loss"] < est.history_[0]["train_loss"]
    assert (est.predict(X) == y).mean() > 0.85
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(est.classes_[proba.argmax(1)], est.predict(X))


def test_protonet_prototypes_are_the_class_means_and_the_head(
    fitted: dict[str, MetaClassifier],
) -> None:
    X, y, _, _ = _data()
    est = fitted["protonet"]
    z = torch.from_numpy(est.embed(X))
    protos = class_means(z, torch.from_numpy(y), 4)
    np.testing.assert_allclose(est.prototypes_, protos.numpy(), rtol=1e-5, atol=1e-6)
    # the head's logits are -squared distance up to a per-window constant
    expected = torch.softmax(-squared_distances(z, protos), dim=1).numpy()
    np.testing.assert_allclose(est.predict_proba(X), expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_few_shot_leaves_the_estimator_unchanged(
    algorithm: str, fitted: dict[str, MetaClassifier]
) -> None:
    X, y, g, s = _data()
    est = fitted[algorithm]
    before = joblib.hash(vars(est))
    person2 = s == 2
    support = person2 & (g == 0) & (y < 3)
    query = person2 & (g != 0) & (y < 3)
    names = np.array(["fist", "open", "pinch", "rest"])  # an episode's own label set
    pred = est.few_shot((X[support], names[y[support]]), X[query])
    assert set(pred) <= {"fist", "open", "pinch"}
    assert (pred == names[y[query]]).mean() > 0.8
    assert joblib.hash(vars(est)) == before
    # a Windows support gives the same decisions
    meta = pd.DataFrame({"recording": 0, "start": np.arange(support.sum()), "repetition": 1})
    windows = Windows(X[support], names[y[support]], meta, 200.0, Layout.ring(4))
    np.testing.assert_array_equal(est.few_shot(windows, X[query]), pred)


def test_adapt_sets_prototypes_and_adds_new_classes(fitted: dict[str, MetaClassifier]) -> None:
    X, y, g, s = _data()
    est = MetaClassifier(**{**FAST, "epochs": 1}).fit(X, y, g, subjects=s)
    old = est.prototypes_.copy()
    calib = (s == 2) & (g == 1) & (y < 2)
    labels = np.where(y == 1, 7, y)  # class 7 is new, class 0 is recalibrated
    est.adapt(X[calib], labels[calib])
    np.testing.assert_array_equal(est.classes_, [0, 1, 2, 3, 7])
    z = est.embed(X[calib])
    np.testing.assert_allclose(est.prototypes_[0], z[y[calib] == 0].mean(0), rtol=1e-5)
    np.testing.assert_allclose(est.prototypes_[4], z[y[calib] == 1].mean(0), rtol=1e-5)
    np.testing.assert_array_equal(est.prototypes_[1:4], old[1:4])  # not in calibration: kept
    assert est.net_.head.out_features == 5 and set(est.predict(X)) <= {0, 1, 2, 3, 7}
    with pytest.raises(ConfigError, match="calibrates by mode 'prototypes'"):
        est.adapt(X[calib], y[calib], mode="full")
    with pytest.raises(ConfigError, match="needs labels"):
        est.adapt(X[calib])


def test_maml_adapt_runs_the_inner_loop_from_the_meta_weights(
    fitted: dict[str, MetaClassifier],
) -> None:
    import copy

    X, y, g, s = _data()
    est = copy.deepcopy(fitted["maml"])
    meta = {k: v.clone() for k, v in est.meta_weights_.items()}
    calib = (s == 2) & (g == 1)
    est.adapt(X[calib], y[calib], epochs=5)
    assert all(torch.equal(meta[k], v) for k, v in est.meta_weights_.items())
    assert (est.predict(X[calib]) == y[calib]).mean() > 0.9
    weights = dict(est.net_.named_parameters())
    assert any(not torch.equal(weights[k], v) for k, v in meta.items())  # encoder adapted too


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_save_load_round_trip(
    algorithm: str, fitted: dict[str, MetaClassifier], tmp_path: Path
) -> None:
    X, y, g, _ = _data()
    est = fitted[algorithm]
    back = load_estimator(est.save(tmp_path / algorithm))
    assert isinstance(back, MetaClassifier) and back.algorithm_ == algorithm
    np.testing.assert_allclose(back.predict_proba(X), est.predict_proba(X), atol=1e-6)
    support = (g == 0) & (y < 3)
    np.testing.assert_array_equal(
        back.few_shot((X[support], y[support]), X[~support]),
        est.few_shot((X[support], y[support]), X[~support]),
    )
    extra = "__meta." if algorithm == "maml" else "__prototypes"
    from safetensors.numpy import load_file, save_file

    weights = tmp_path / algorithm / "weights.safetensors"
    arrays = {k: v for k, v in load_file(str(weights)).items() if not k.startswith(extra)}
    save_file(arrays, str(weights))  # drop the meta-learned part, with a valid hash
    doc = json.loads((tmp_path / algorithm / "estimator.json").read_text())
    doc["weights_sha256"] = file_sha256(weights)
    (tmp_path / algorithm / "estimator.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="no prototypes|meta-learned weights do not match"):
        load_estimator(tmp_path / algorithm)


def test_resume_from_checkpoint(tmp_path: Path) -> None:
    X, y, g, s = _data()
    params = {**FAST, "algorithm": "relation", "epochs": 2}
    ref = MetaClassifier(**params).fit(X, y, g, subjects=s)
    MetaClassifier(**params, checkpoint_dir=tmp_path).fit(X, y, g, subjects=s)
    again = MetaClassifier(**params, checkpoint_dir=tmp_path).fit(X, y, g, subjects=s)  # reloads
    assert again.history_ == ref.history_
    np.testing.assert_array_equal(again.predict_proba(X), ref.predict_proba(X))
    with pytest.raises(ConfigError, match="another run"):  # other episodes: another run
        MetaClassifier(**{**params, "k_shot": 1}, checkpoint_dir=tmp_path).fit(X, y, g, subjects=s)


def test_windows_give_groups_and_people() -> None:
    X, y, g, s = _data()
    meta = pd.DataFrame({"recording": 0, "start": 0, "repetition": g + 1, "subject": s})
    w = Windows(X, y, meta, 200.0, Layout.ring(4))
    a = MetaClassifier(**{**FAST, "epochs": 1}).fit(w)
    b = MetaClassifier(**{**FAST, "epochs": 1}).fit(X, y, g + 1, subjects=s)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


class _NoEmbed(EMGModel):
    name = "test-meta-no-embed"

    def __init__(self, n_channels: int, n_samples: int, n_outputs: int) -> None:
        super().__init__(n_channels, n_samples, n_outputs)
        self.head = torch.nn.Linear(n_channels, n_outputs)


def test_bad_input_names_what_was_asked_and_what_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y, g, s = _data()
    monkeypatch.setitem(base._REGISTRY, _NoEmbed.name, _NoEmbed)
    with pytest.raises(ConfigError, match="'test-meta-no-embed' has no usable embed"):
        MetaClassifier(**{**FAST, "model": _NoEmbed.name}).fit(X, y, g, subjects=s)
    with pytest.raises(ConfigError, match="n_way=5, but a training person has at most 4 classes"):
        MetaClassifier(**{**FAST, "n_way": 5}).fit(X, y, g, subjects=s)
    with pytest.raises(ConfigError, match="k_shot=3 and n_query=20.*at most 4 windows"):
        MetaClassifier(**{**FAST, "k_shot": 3, "n_query": 20}).fit(X, y, g, subjects=s)
    with pytest.raises(ConfigError, match="unknown algorithm 'siamese'"):
        MetaClassifier(**{**FAST, "algorithm": "siamese"}).fit(X, y, g)
    est = MetaClassifier(**FAST)
    with pytest.raises(NotFittedError):
        est.few_shot((X, y), X)
    est.set_params(epochs=1).fit(X, y, g, subjects=s)
    with pytest.raises(ConfigError, match=r"support must be a Windows object or \(X, y\)"):
        est.few_shot(X, X)
