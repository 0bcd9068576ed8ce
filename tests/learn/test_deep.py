"""DeepClassifier / DeepRegressor: sklearn contract, fit/predict, adapt, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn import DeepClassifier, DeepRegressor
from myoshift.signal.windows import make_windows
from tests.conftest import make_recording

from .conftest import separable

FAST = dict(model="test-tiny", epochs=8, batch_size=16, lr=1e-2, threads=1, patience=None)


@pytest.fixture(scope="module")
def fitted() -> DeepClassifier:
    X, y, g = separable()
    return DeepClassifier(**FAST).fit(X, y, groups=g)


def test_sklearn_params_and_clone() -> None:
    clf = DeepClassifier(model="test-tiny", lr=0.5, model_params={"width": 4})
    assert clf.get_params()["lr"] == 0.5
    twin = clone(clf)
    assert twin.get_params() == clf.get_params() and twin is not clf
    assert twin.set_params(epochs=3).epochs == 3


def test_fit_predict_beats_chance(fitted: DeepClassifier) -> None:
    X, y, _ = separable(seed=1)
    assert fitted.score(X, y) > 0.8  # chance is 1/3
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert fitted.embed(X).shape == (len(X), 8)
    assert list(fitted.classes_) == [0, 1, 2]
    assert fitted.history_ and "val_loss" in fitted.history_[0]


def test_string_labels_and_windows_input() -> None:
    recs = [make_recording(n_samples=600, n_channels=4, label=k, seed=k, subject=1) for k in (0, 1)]
    for k, r in enumerate(recs):
        r.emg[:, k] *= 5
        r.repetition = np.repeat([1, 2, 3], 200)
    w = make_windows(recs, 160, 40)
    clf = DeepClassifier(**FAST).fit(w)
    assert clf.score(w) > 0.8
    names = np.array(["rest", "fist"])[w.y]
    clf2 = DeepClassifier(**FAST).fit(w.X, names)
    assert set(clf2.predict(w.X)) <= {"rest", "fist"}


def test_determinism_with_seed() -> None:
    X, y, g = separable()
    a = DeepClassifier(**{**FAST, "epochs": 2}).fit(X, y, g).predict_proba(X)
    b = DeepClassifier(**{**FAST, "epochs": 2}).fit(X, y, g).predict_proba(X)
    assert np.array_equal(a, b)


def test_bad_inputs(fitted: DeepClassifier) -> None:
    X, y, g = separable()
    with pytest.raises(ShapeError, match="fitted on"):
        fitted.predict(X[:, :3])
    with pytest.raises(ShapeError, match="3-D"):
        fitted.predict(X[:, 0])
    Xn = X.copy()
    Xn[5, 1, 1] = np.inf
    with pytest.raises(ShapeError, match="window 5"):
        DeepClassifier(**FAST).fit(Xn, y)
    with pytest.raises(ConfigError, match="unknown model"):
        DeepClassifier(model="nope").fit(X, y)
    with pytest.raises(ConfigError, match="2 classes"):
        DeepClassifier(**FAST).fit(X, np.zeros(len(X)))


def _split(net: torch.nn.Module) -> tuple[dict, dict, dict]:
    head = {f"model.head.{k}" for k in net.head.state_dict()}
    params = {k: v.clone() for k, v in net.named_parameters()}
    buffers = {k: v.clone() for k, v in net.named_buffers()}
    return head, params, buffers


def test_adapt_head_changes_only_head(fitted: DeepClassifier) -> None:
    clf = clone(fitted).set_params(**FAST)
    X, y, g = separable()
    clf.fit(X, y, g)
    head, p0, b0 = _split(clf.net_)
    Xt, yt, _ = separable(seed=3)
    clf.adapt(Xt * 1.5, yt, mode="head", epochs=2)
    _, p1, b1 = _split(clf.net_)
    changed = {k for k in p0 if not torch.equal(p0[k], p1[k])}
    assert changed and changed <= head
    assert all(torch.equal(b0[k], b1[k]) for k in b0)  # BN statistics frozen
    assert all(p.requires_grad for p in clf.net_.parameters())


def test_adapt_adabn_changes_only_bn_buffers(fitted: DeepClassifier) -> None:
    _, p0, b0 = _split(fitted.net_)
    Xt, _, _ = separable(seed=4)
    fitted.adapt(Xt * 3 + 1, mode="adabn")
    _, p1, b1 = _split(fitted.net_)
    assert all(torch.equal(p0[k], p1[k]) for k in p0)
    changed = {k for k in b0 if not torch.equal(b0[k], b1[k])}
    assert changed and all(k.startswith("model.bn.") for k in changed)


def test_adapt_full_and_errors(fitted: DeepClassifier) -> None:
    X, y, _ = separable(seed=5)
    _, p0, _ = _split(fitted.net_)
    fitted.adapt(X, y, mode="full", epochs=1)
    _, p1, _ = _split(fitted.net_)
    assert not torch.equal(p0["model.conv.weight"], p1["model.conv.weight"])
    fitted.adapt(X, y, mode="adabn+head", epochs=1)
    _, p2, _ = _split(fitted.net_)
    _, p3, _ = _split(fitted.set_params(adapt_mode="head", adapt_epochs=1).adapt(X, y).net_)
    assert torch.equal(p2["model.conv.weight"], p3["model.conv.weight"])  # default = head
    assert not torch.equal(p2["model.head.weight"], p3["model.head.weight"])
    with pytest.raises(ConfigError, match="class set must match"):
        fitted.adapt(X, y + 1, mode="head")
    with pytest.raises(ConfigError, match="needs labels"):
        fitted.adapt(X, mode="full")
    with pytest.raises(ConfigError, match="unknown adapt mode"):
        fitted.adapt(X, y, mode="tent")  # type: ignore[arg-type]


@pytest.mark.parametrize("k", [0, 1, 3])
def test_ring_alignment_undoes_a_rotated_armband(tmp_path: Path, k: int) -> None:
    """Target windows rotated by k electrodes: alignment finds the inverse rotation."""
    X, y, g = separable(n_classes=4, n_channels=4, seed=0)
    clf = DeepClassifier(**FAST).fit(X, y, g)
    Xt, yt, _ = separable(n_classes=4, n_channels=4, seed=6)
    rotated = np.roll(Xt, k, axis=1)  # data channel c holds electrode c - k
    unrotated = clf.predict_proba(Xt)
    clf.adapt(rotated, yt, mode="head", epochs=0, align="ring")
    assert clf.alignment_["rotation"] == k
    assert len(clf.alignment_["loss"]) == 4
    assert np.argmin(clf.alignment_["loss"]) == k
    # the kept channel order undoes the rotation exactly
    np.testing.assert_array_equal(clf.predict_proba(rotated), unrotated)
    assert clf.score(rotated, yt) > 0.9
    clf.save(tmp_path / "m")  # the rotation is part of the saved network
    back = DeepClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(back.predict_proba(rotated), clf.predict_proba(rotated))


def test_ring_alignment_errors(fitted: DeepClassifier) -> None:
    X, y, _ = separable(seed=7)
    with pytest.raises(ConfigError, match="unknown alignment"):
        fitted.adapt(X, y, align="grid")
    with pytest.raises(ConfigError, match="align='ring'.*needs labels"):
        fitted.adapt(X, mode="adabn", align="ring")


def test_adabn_without_batchnorm_is_refused() -> None:
    X, y, g = separable(n_per_class=8)
    clf = DeepClassifier(**{**FAST, "epochs": 1, "model": "tcn"}, model_params={"norm": "group"})
    clf.fit(X, y, g)
    with pytest.raises(ConfigError, match="batch-norm"):
        clf.adapt(X, mode="adabn")


def test_checkpoint_resume_through_estimator(tmp_path: Path) -> None:
    X, y, g = separable(n_per_class=16)
    params = {**FAST, "epochs": 3}
    ref = DeepClassifier(**params).fit(X, y, g)
    DeepClassifier(**params, checkpoint_dir=tmp_path).fit(X, y, g)
    again = DeepClassifier(**params, checkpoint_dir=tmp_path).fit(X, y, g)  # finished: reloads
    assert np.array_equal(ref.predict_proba(X), again.predict_proba(X))


def test_regressor_learns_linear_target() -> None:
    X, y, g = separable()
    target = np.stack([np.abs(X[:, 0]).mean(1), np.abs(X[:, 1]).mean(1)], axis=1) * 10
    reg = DeepRegressor(**FAST).fit(X, target, g)
    pred = reg.predict(X)
    assert pred.shape == target.shape
    assert reg.score(X, target) > 0.5
    reg1 = DeepRegressor(**{**FAST, "epochs": 1}).fit(X, target[:, 0])
    assert reg1.predict(X).shape == (len(X),)
    with pytest.raises(ConfigError, match="target columns"):
        reg.adapt(X, target[:, :1], mode="head")
    with pytest.raises(ConfigError, match="regression"):
        DeepRegressor(model="tcn").fit(X, target)


def test_grid_layout_reaches_grid_models() -> None:
    import pandas as pd

    from myoshift.recording import Layout
    from myoshift.signal.windows import Windows

    X, y, g = separable(n_per_class=8, n_channels=8, n_samples=52)
    layout = Layout.grid(2, 4, channel_map=[[0, 1, 2, 3], [7, 6, 5, 4]])
    w = Windows(X, y, pd.DataFrame({"repetition": g}), 200.0, layout)
    clf = DeepClassifier(model="mobilenetv2", epochs=1, batch_size=16, threads=1).fit(w)
    cfg = clf.network_.config()
    assert cfg["grid"] == [2, 4] and cfg["channel_map"] == [0, 1, 2, 3, 7, 6, 5, 4]
