"""The ``tcn-transfer`` method: pre-train on source people, fine-tune on a few target cycles."""

from __future__ import annotations

import copy

import numpy as np

from myoshift.learn import DeepClassifier
from myoshift.learn.methods import build_estimator, get_method

from .conftest import separable


def test_spec_carries_the_calibration_recipe() -> None:
    spec = get_method("tcn-transfer")
    assert spec.kind == "deep" and spec.window_ms == 260
    assert "Côté-Allard" in spec.citation and "Bai" in spec.citation
    assert spec.params["model"] == "tcn"
    assert spec.adapt == {"mode": "full", "epochs": 5, "lr": 0.001}
    est = build_estimator(spec, fs=200.0, seed=3)
    assert isinstance(est, DeepClassifier)
    params = est.get_params()
    assert (params["adapt_mode"], params["adapt_epochs"], params["adapt_lr"]) == ("full", 5, 0.001)
    assert params["model_params"] == {"width": 16, "dilations": [1, 2, 4], "pool": 2}
    assert params["seed"] == 3


def test_pretrain_then_adapt_to_a_shifted_person() -> None:
    # source: the class sets which channel is loud; target: the same, armband rotated by
    # 2 electrodes, so a source model is poor until it is fine-tuned on target windows
    X, y, groups = separable(n_per_class=24, n_classes=4, n_channels=8, n_samples=52)
    Xt, yt, _ = separable(n_per_class=24, n_classes=4, n_channels=8, n_samples=52, seed=1)
    Xt = np.roll(Xt, 2, axis=1)
    est = build_estimator("tcn-transfer", fs=200.0, epochs=15, batch_size=16)
    est.fit(X, y, groups=groups)
    assert est.score(X, y) > 0.9
    before = est.score(Xt, yt)
    adapted = copy.deepcopy(est).adapt(Xt[::2], yt[::2], epochs=15)
    head0 = est.network_.head.weight.detach().clone()
    stem = [p.detach().clone() for p in est.network_.stem.parameters()]
    assert adapted.score(Xt[1::2], yt[1::2]) > max(before + 0.3, 0.6)
    # the whole network moved (mode "full"), the pre-trained copy did not
    moved = [
        not np.allclose(a.numpy(), b.detach().numpy())
        for a, b in zip(stem, adapted.network_.stem.parameters())
    ]
    assert any(moved)
    assert np.allclose(head0.numpy(), est.network_.head.weight.detach().numpy())
    assert adapted.predict_proba(Xt).shape == (len(Xt), 4)
