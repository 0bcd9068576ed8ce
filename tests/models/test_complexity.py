"""MAC counting: exact counts on single layers, and behaviour on the registered models."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from myoshift.errors import ConfigError
from myoshift.models import build_model, count_macs, model_names
from myoshift.models.rcnn import FramedSpectrum


def test_linear_and_conv_counts_are_exact() -> None:
    assert count_macs(nn.Linear(10, 5), (10,)) == 50
    assert count_macs(nn.Linear(10, 5), (7, 10)) == 7 * 50  # applied to 7 vectors
    # Conv1d 2->4, kernel 3, 'same' padding on 10 samples: 10 outputs x 4 maps x (2 x 3)
    assert count_macs(nn.Conv1d(2, 4, 3, padding=1), (2, 10)) == 10 * 4 * 2 * 3
    # depthwise: groups = channels, one input map per output
    assert count_macs(nn.Conv1d(4, 4, 5, groups=4), (4, 9)) == 5 * 4 * 1 * 5
    # Conv2d 1->3, 2x2 kernel, stride 2 on 4x6 -> 2x3 outputs
    assert count_macs(nn.Conv2d(1, 3, 2, stride=2), (1, 4, 6)) == 2 * 3 * 3 * 4


def test_recurrent_counts() -> None:
    # LSTM: 4 gates x hidden x (input + hidden) per step
    assert count_macs(nn.LSTM(3, 4, batch_first=True), (5, 3)) == 4 * 4 * (3 + 4) * 5
    assert count_macs(nn.GRU(3, 4, batch_first=True), (5, 3)) == 3 * 4 * (3 + 4) * 5
    two = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    per_step = 2 * (4 * 4 * (3 + 4)) + 2 * (4 * 4 * (8 + 4))
    assert count_macs(two, (5, 3)) == per_step * 5


def test_extra_macs_of_the_framed_dft() -> None:
    class Wrap(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.spec = FramedSpectrum(16, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.spec(x)

    # 3 channels x 5 frames x (cos + sin) x 9 bins x 16 taps
    assert count_macs(Wrap(), (3, 52)) == 3 * 5 * 2 * 9 * 16


@pytest.mark.parametrize("name", model_names())
def test_models_have_positive_macs_growing_with_window(name: str) -> None:
    short = build_model(name, 8, 52, 7)
    long = build_model(name, 8, 200, 7)
    m_short, m_long = count_macs(short), count_macs(long)
    assert 0 < m_short < m_long
    assert count_macs(short, (8, 52)) == m_short


def test_counting_leaves_the_model_untouched() -> None:
    model = build_model("tcn", 8, 52, 7).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    count_macs(model)
    assert model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not any(m._forward_hooks for m in model.modules())


def test_multi_input_model_and_bad_shapes() -> None:
    model = build_model("lstm-cnn-attention", 8, 52, 3, wavelet_shape=(4, 6))
    raw_only = count_macs(build_model("lstm-cnn-attention", 8, 52, 3))
    assert count_macs(model, ((8, 52), (8, 4, 6))) > raw_only
    with pytest.raises(ConfigError, match="input_shape"):
        count_macs(model, "8x52")
    with pytest.raises(ConfigError, match="input_shape"):
        count_macs(nn.Linear(2, 2))
