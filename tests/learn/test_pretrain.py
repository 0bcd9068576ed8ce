"""ContrastiveEncoder (fit without labels, probes, persistence) and init_from / label_fraction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from myoshift.errors import ConfigError, ModelFileError
from myoshift.learn import ClassicalClassifier, ContrastiveEncoder, DeepClassifier, load_estimator
from myoshift.learn.warm_start import labelled_subset, unit_codes
from myoshift.recording import Layout
from myoshift.signal.windows import Windows

from .conftest import separable

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"model": "test-tiny", "batch_size": 16, "threads": 1, "lr": 0.02, "val_fraction": 0.0}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return separable(n_per_class=24)


@pytest.fixture(scope="module")
def encoder_dir(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    X, _, _ = data
    enc = ContrastiveEncoder(pretrain_epochs=2, **SMALL).fit(X)
    return Path(enc.save(tmp_path_factory.mktemp("enc") / "tiny"))


def _encoder_state(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in net.model.state_dict().items() if not k.startswith("head.")}


def test_fits_without_labels(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    X, y, _ = data
    enc = ContrastiveEncoder(pretrain_epochs=4, loss="vicreg", **SMALL).fit(X)
    assert len(enc.pretrain_history_) == 4
    assert enc.pretrain_history_[-1]["train_loss"] < enc.pretrain_history_[0]["train_loss"]
    assert enc.embed(X).shape == (len(X), 8) and len(enc.classes_) == 0
    with pytest.raises(ConfigError, match="without a probe"):
        enc.predict(X)
    with pytest.raises(ConfigError, match="no classes to adapt"):
        enc.adapt(X, y)
    # labels are ignored without a probe: same encoder
    twin = ContrastiveEncoder(pretrain_epochs=4, loss="vicreg", **SMALL).fit(X, y)
    np.testing.assert_array_equal(twin.embed(X), enc.embed(X))


@pytest.mark.parametrize("probe", ["linear", "prototypes", "finetune"])
def test_probes_learn_the_classes(
    probe: str, data: tuple[np.ndarray, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, y, g = data
    epochs = 30 if probe == "linear" else 4
    est = ContrastiveEncoder(probe=probe, pretrain_epochs=2, epochs=epochs, **SMALL).fit(X, y, g)
    assert (est.predict(X) == y).mean() > 0.6
    back = load_estimator(est.save(tmp_path / probe))
    np.testing.assert_allclose(back.predict_proba(X), est.predict_proba(X), atol=1e-6)
    assert back.pretrain_history_ == est.pretrain_history_
    assert not any("projector" in k for k in back.net_.state_dict())  # the head is dropped


def test_prototype_probe_is_the_nearest_class_mean(
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    X, y, g = data
    est = ContrastiveEncoder(probe="prototypes", pretrain_epochs=1, **SMALL).fit(X, y, g)
    emb = est.embed(X)
    means = np.stack([emb[y == c].mean(0) for c in range(3)])
    nearest = ((emb[:, None] - means[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(est.predict(X), nearest)
    # adapt(mode="prototypes") moves only the classes it is shown
    head = est.net_.model.head
    before = head.weight.detach().clone()
    est.adapt(X[y == 1][:5], y[y == 1][:5], mode="prototypes")
    changed = (head.weight.detach() != before).any(dim=1).tolist()
    assert changed == [False, True, False]


def test_init_from_copies_the_encoder_exactly(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], encoder_dir: Path
) -> None:
    X, y, g = data
    source = load_estimator(encoder_dir)
    est = DeepClassifier(init_from=str(encoder_dir), epochs=1, **SMALL)
    net = est._build(4, 32, 3)
    est._start(net, X, X)
    for k, v in _encoder_state(source.net_).items():
        assert torch.equal(net.model.state_dict()[k], v), k
    assert net.model.head.weight.shape == (3, 8)  # the head is this estimator's own
    fresh = est._build(4, 32, 3)
    assert not torch.equal(fresh.model.conv.weight, net.model.conv.weight)
    # and a whole fit starts from it (ContrastiveEncoder too: pre-training resumes there)
    fitted = DeepClassifier(init_from=encoder_dir, epochs=2, **SMALL).fit(X, y, g)
    assert (fitted.predict(X) == y).mean() > 0.6
    ContrastiveEncoder(init_from=encoder_dir, pretrain_epochs=1, **SMALL).fit(X)


def test_init_from_refuses_bad_files(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], encoder_dir: Path, tmp_path: Path
) -> None:
    X, y, g = data
    with pytest.raises(ModelFileError, match=r"init_from='.*nowhere'.*missing"):
        DeepClassifier(init_from=str(tmp_path / "nowhere"), **SMALL).fit(X, y, g)
    tampered = tmp_path / "tampered"
    load_estimator(encoder_dir).save(tampered)
    weights = tampered / "weights.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="init_from=.*SHA-256"):
        DeepClassifier(init_from=str(tampered), **SMALL).fit(X, y, g)
    wider = DeepClassifier(init_from=encoder_dir, model_params={"width": 4}, **SMALL)
    with pytest.raises(ConfigError, match=r"init_from=.*'width': 8.*'width': 4"):
        wider.fit(X, y, g)
    with pytest.raises(ConfigError, match=r"'n_samples': 32.*'n_samples': 16"):
        DeepClassifier(init_from=encoder_dir, **SMALL).fit(X[:, :, :16], y, g)
    lda = ClassicalClassifier("lda").fit(X, y).save(tmp_path / "lda")
    with pytest.raises(ConfigError, match="holds a ClassicalClassifier, not a fitted deep"):
        DeepClassifier(init_from=lda, **SMALL).fit(X, y, g)


def test_label_fraction_keeps_a_share_of_the_units_per_class() -> None:
    y = np.repeat([0, 1, 2], 40)
    units = np.repeat(np.arange(30), 4)  # 10 units per class
    keep = labelled_subset(units, y, 0.2, seed=0)
    assert len(np.unique(units[keep])) == 6 and np.bincount(y[keep]).tolist() == [8, 8, 8]
    np.testing.assert_array_equal(keep, labelled_subset(units, y, 0.2, seed=0))
    assert len(np.unique(units[labelled_subset(units, y, 0.01)])) == 3  # one per class
    np.testing.assert_array_equal(labelled_subset(units, y, 1.0), np.arange(len(y)))
    with pytest.raises(ConfigError, match="label_fraction"):
        labelled_subset(units, y, 0.0)
    # units are (recording, repetition) pairs when windows say their recording
    meta = pd.DataFrame({"recording": [0, 0, 1, 1], "repetition": [1, 2, 1, 1]})
    w = Windows(np.zeros((4, 2, 8), np.float32), np.zeros(4, int), meta, 100.0, Layout.ring(2))
    assert unit_codes(w, w.groups, 4).tolist() == [0, 1, 2, 2]


def test_label_fraction_in_a_fit(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    X, y, g = data
    full = DeepClassifier(epochs=1, **SMALL)
    assert "label_fraction" not in full._run_id() and "init_from" not in full._run_id()
    a = DeepClassifier(epochs=1, label_fraction=0.25, **SMALL).fit(X, y, g)
    b = DeepClassifier(epochs=1, **SMALL).fit(X, y, g)
    assert not np.allclose(a.predict_proba(X), b.predict_proba(X))
    # the contrastive stage sees every window, the probe a quarter of the units
    enc = ContrastiveEncoder(probe="finetune", label_fraction=0.25, pretrain_epochs=1, **SMALL)
    assert len(enc.fit(X, y, g).classes_) == 3


def test_bad_settings(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    X, y, _ = data
    with pytest.raises(ConfigError, match="unknown probe"):
        ContrastiveEncoder(probe="svm", **SMALL).fit(X, y)
    with pytest.raises(ConfigError, match="unknown contrastive loss"):
        ContrastiveEncoder(loss="byol", **SMALL).fit(X)
    with pytest.raises(ConfigError, match="y is required"):
        ContrastiveEncoder(probe="linear", **SMALL).fit(X)


def test_init_from_a_saved_method_chain(tmp_path: Path) -> None:
    """``benchmark --save-models`` writes chains: their network is an encoder too."""
    from myoshift.learn import MethodChain
    from tests.evaluation.helpers import make_set

    rs = make_set(subjects=(1,), reps=2)
    chain = MethodChain(ContrastiveEncoder(pretrain_epochs=1, **SMALL), 200.0, 100.0).fit(rs)
    w = chain.windows(rs)
    est = DeepClassifier(init_from=chain.save(tmp_path / "chain"), epochs=1, **SMALL)
    net = est._build(w.n_channels, w.n_samples, 3)
    est._start(net, w, w.X)
    source = _encoder_state(chain.estimator_.net_)
    assert all(torch.equal(net.model.state_dict()[k], v) for k, v in source.items())
