"""The multi-task model: a registered encoder with a gesture head and a joint-angle head."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from myoshift.errors import ConfigError
from myoshift.models import build_model, from_config, load_model, save_model
from myoshift.models.multitask import MultiTaskNet, TwoHeads

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TCN = {"encoder": "tcn", "encoder_params": {"width": 8, "dilations": [1, 2]}}


def test_outputs_are_logits_then_targets_from_one_embedding() -> None:
    torch.manual_seed(0)
    net = build_model("multitask", 8, 52, 7, n_targets=3, **TCN).eval()
    assert isinstance(net, MultiTaskNet) and isinstance(net.head, TwoHeads)
    assert (net.n_classes, net.n_targets) == (4, 3)
    x = torch.randn(5, 8, 52)
    with torch.no_grad():
        out, z = net(x), net.embed(x)
        assert out.shape == (5, 7) and z.shape == (5, net.embed_dim)
        torch.testing.assert_close(out[:, :4], net.head.classes(z))
        torch.testing.assert_close(out[:, 4:], net.head.targets(z))  # type: ignore[misc]
        torch.testing.assert_close(z, net.encoder.embed(x))  # the encoder is shared


def test_without_targets_it_is_the_encoder_with_a_class_head() -> None:
    torch.manual_seed(0)
    net = build_model("multitask", 8, 52, 4, **TCN)
    assert net.n_targets == 0 and net.head.targets is None
    assert net(torch.randn(2, 8, 52)).shape == (2, 4)


def test_reset_head_keeps_the_targets() -> None:
    net = build_model("multitask", 8, 52, 6, n_targets=2, **TCN)
    net.reset_head(5)
    assert (net.n_classes, net.n_targets, net.config()["n_outputs"]) == (3, 2, 5)
    with pytest.raises(ConfigError, match="must exceed n_targets"):
        net.reset_head(2)


def test_save_and_rebuild_from_config(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = build_model("multitask", 8, 52, 6, n_targets=2, **TCN).eval()
    x = torch.randn(3, 8, 52)
    again = from_config(net.config())
    again.load_state_dict(net.state_dict())
    loaded = load_model(save_model(net, tmp_path / "m"))
    with torch.no_grad():
        torch.testing.assert_close(again.eval()(x), net(x))
        torch.testing.assert_close(loaded.eval()(x), net(x))


def test_bad_configurations() -> None:
    with pytest.raises(ConfigError, match="at least one class"):
        build_model("multitask", 8, 52, 3, n_targets=3, **TCN)
    with pytest.raises(ConfigError, match="n_targets must be an int"):
        build_model("multitask", 8, 52, 3, n_targets=-1, **TCN)
    with pytest.raises(ConfigError, match="registered EMG model"):
        build_model("multitask", 8, 52, 3, encoder="multitask")
    with pytest.raises(ConfigError, match="unknown model"):
        build_model("multitask", 8, 52, 3, encoder="nope")
    with pytest.raises(ConfigError, match="encoder_params must be a mapping"):
        build_model("multitask", 8, 52, 3, encoder="tcn", encoder_params=[1])
