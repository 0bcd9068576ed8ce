"""The Zhai et al. (2017) CNN: layers, embedding, pooling guard, configuration errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from myoshift.errors import ConfigError, ShapeError
from myoshift.models import build_model, get_model_class
from myoshift.models.zhai_cnn import MAX_FLAT

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_one_convolution_two_dense_layers_with_dropout() -> None:
    torch.manual_seed(0)
    model = build_model("zhai-cnn", 12, 25, 50).eval()  # Ninapro DB2: 12 electrodes, 25 PCs
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    dense = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(convs) == 1 and len(dense) == 2 and model.pool == 1
    assert any(isinstance(m, nn.Dropout) and m.p == 0.5 for m in model.modules())
    assert dense[0].in_features == 32 * 12 * 25 and dense[0].out_features == 100
    x = torch.randn(3, 12, 25)
    with torch.no_grad():
        z = model.embed(x)
        assert z.shape == (3, 100) and (z >= 0).all()  # the first dense layer, after ReLU
        torch.testing.assert_close(model(x), model.head(z))
    assert get_model_class("zhai-cnn").input_kind == "spectrogram-pca"


def test_large_inputs_are_pooled_under_the_dense_limit() -> None:
    model = build_model("zhai-cnn", 64, 200, 4, filters=8)
    assert model.pool > 1
    assert model.dense[0].in_features <= MAX_FLAT
    assert model(torch.randn(2, 64, 200)).shape == (2, 4)
    assert build_model("zhai-cnn", 1, 1, 2)(torch.randn(2, 1, 1)).shape == (2, 2)


def test_bad_hyper_parameters_and_shapes() -> None:
    for bad in ({"filters": 0}, {"kernel": 2.5}, {"hidden": True}, {"dropout": 1.0}):
        with pytest.raises(ConfigError, match="zhai-cnn: "):
            build_model("zhai-cnn", 8, 25, 3, **bad)
    with pytest.raises(ShapeError, match=r"expects input \(batch, 8, 25\)"):
        build_model("zhai-cnn", 8, 25, 3)(torch.randn(2, 8, 24))
