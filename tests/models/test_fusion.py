"""Model-level fusion: the EMG + IMU two-stream network and the two-encoder network."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from myoshift.errors import ConfigError, ShapeError
from myoshift.models import build_model, count_macs, from_config, load_model, save_model
from myoshift.models.fusion import JOINS, Join

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {"encoder_params": {"width": 8, "dilations": [1, 2]}, "imu_width": 4, "fusion_dim": 8}


def pair(batch: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "emg": torch.randn(batch, 8, 52, generator=gen),
        "imu": torch.randn(batch, 4, 13, generator=gen),
    }


@pytest.mark.parametrize("fusion", JOINS)
def test_two_stream_shapes_and_the_imu_matters(fusion: str) -> None:
    torch.manual_seed(0)
    model = build_model("imu-fusion", 8, 52, 5, imu_shape=[4, 13], fusion=fusion, **TINY).eval()
    assert model.inputs() == {"emg": (8, 52), "imu": (4, 13)}
    x = pair()
    with torch.no_grad():
        out, z = model(x), model.embed(x)
        assert out.shape == (3, 5) and z.shape == (3, model.embed_dim)
        moved = model({"emg": x["emg"], "imu": x["imu"] + 1.0})
        assert model((x["emg"], x["imu"])).equal(out)  # a pair works too (count_macs)
    assert not torch.allclose(out, moved)
    emg_dim = 2 * 8  # tcn width 8: mean and max pooled
    expected = emg_dim + 2 * 4 + 4 if fusion == "concat" else 8
    assert model.embed_dim == expected


def test_without_imu_shape_it_is_the_emg_encoder_alone() -> None:
    torch.manual_seed(0)
    fused = build_model("imu-fusion", 8, 52, 5, **TINY).eval()
    torch.manual_seed(0)
    tcn = build_model("tcn", 8, 52, 1, **TINY["encoder_params"]).eval()
    x = torch.randn(2, 8, 52)
    with torch.no_grad():
        torch.testing.assert_close(fused.embed(x), tcn.embed(x), rtol=0, atol=0)
    assert fused.inputs() == {"emg": (8, 52)} and fused.embed_dim == tcn.embed_dim
    with pytest.raises(ShapeError, match=r"takes inputs \['emg'\], got \['emg', 'imu'\]"):
        fused(pair())
    with pytest.raises(ShapeError, match="without imu_shape"):
        fused((x, x))


def test_gate_weights_the_two_streams() -> None:
    join = Join([6, 4], "gated", 5)
    parts = [torch.randn(2, 6), torch.randn(2, 4)]
    logits = join.gate(torch.cat(parts, dim=1)).view(2, 2, 5)
    gates = torch.softmax(logits, dim=1)
    torch.testing.assert_close(gates.sum(dim=1), torch.ones(2, 5))
    tokens = torch.stack([p(z) for p, z in zip(join.proj, parts, strict=True)], dim=1)
    torch.testing.assert_close(join(parts), (gates * tokens).sum(dim=1))
    # attention: a convex combination of the projected streams, one weight per stream
    att = Join([6, 4], "attention", 5)
    out = att(parts)
    tokens = torch.stack([p(z) for p, z in zip(att.proj, parts, strict=True)], dim=1)
    lo, hi = tokens.min(dim=1).values, tokens.max(dim=1).values
    assert (out >= lo - 1e-6).all() and (out <= hi + 1e-6).all()


def test_two_stream_learns_from_the_imu_alone() -> None:
    """Labels carried by the IMU only: the fused network fits them, training end to end."""
    torch.manual_seed(0)
    model = build_model("imu-fusion", 8, 52, 2, imu_shape=[4, 13], fusion="gated", **TINY)
    x = pair(batch=32, seed=1)
    y = (x["imu"][:, 0, -1] > 0).long()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        assert (model(x).argmax(1) == y).float().mean() > 0.9
    assert all(p.grad is not None for p in model.imu.parameters())  # type: ignore[union-attr]


def test_config_round_trip_save_and_macs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("imu-fusion", 8, 52, 5, imu_shape=[4, 13], fusion="attention", **TINY)
    model.eval()
    x = pair()
    torch.manual_seed(1)
    rebuilt = from_config(model.config())
    rebuilt.load_state_dict(model.state_dict())
    loaded = load_model(save_model(model, tmp_path / "m"))
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(x), model(x), rtol=0, atol=0)
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    emg_only = count_macs(build_model("imu-fusion", 8, 52, 5, **TINY))
    assert count_macs(model, ((8, 52), (4, 13))) > emg_only


def test_two_families_joined_before_one_head() -> None:
    torch.manual_seed(0)
    params = [{"width": 0.25}, {"width": 8}]
    for fusion in JOINS:
        model = build_model(
            "encoder-fusion", 8, 52, 4, encoder_params=params, fusion=fusion, fusion_dim=8
        ).eval()
        x = torch.randn(2, 8, 52)
        with torch.no_grad():
            assert model(x).shape == (2, 4)
            parts = [e.embed(x) for e in model.encoders]
        assert [type(e).__name__ for e in model.encoders] == ["MobileNetV2", "TCN"]
        assert model.embed_dim == (sum(p.shape[1] for p in parts) if fusion == "concat" else 8)
    assert all(isinstance(e.head, torch.nn.Identity) for e in model.encoders)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("imu-fusion", {"fusion": "sum"}, "fusion must be one of"),
        ("imu-fusion", {"imu_shape": [4], "fusion": "concat"}, "imu_shape"),
        ("imu-fusion", {"encoder": "imu-fusion"}, "encoder must be a registered EMG model"),
        ("imu-fusion", {"encoder": "nope"}, "unknown model 'nope'"),
        ("imu-fusion", {"encoder_params": {"widht": 3}}, "unknown hyper-parameter"),
        ("imu-fusion", {"imu_width": 0}, "imu_width"),
        ("imu-fusion", {"imu_shape": [4, 13], "fusion_dim": 0}, "fusion_dim"),
        ("encoder-fusion", {"encoders": ["tcn"]}, "at least two"),
        ("encoder-fusion", {"encoders": ["tcn", "tcn"], "encoder_params": [{}]}, "one mapping"),
        ("encoder-fusion", {"encoders": ["tcn", "encoder-fusion"]}, "encoder must be"),
        ("encoder-fusion", {"dropout": 1.0}, "dropout"),
    ],
)
def test_impossible_fusion_configs(name: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_model(name, 8, 52, 3, **kwargs)


def test_wrong_imu_inputs_are_shape_errors() -> None:
    model = build_model("imu-fusion", 8, 52, 3, imu_shape=[4, 13], **TINY)
    x = pair()
    with pytest.raises(ShapeError, match=r"imu input \(batch, 4, points\)"):
        model({"emg": x["emg"], "imu": torch.randn(3, 3, 13)})
    with pytest.raises(ShapeError, match="EMG batch size 2"):
        model({"emg": x["emg"][:2], "imu": x["imu"]})
    # another number of points (an IMU at another rate): pooled over time, accepted
    with torch.no_grad():
        assert model.eval()({"emg": x["emg"], "imu": x["imu"][:, :, :11]}).shape == (3, 3)
    with pytest.raises(ShapeError, match="built with imu_shape"):
        model(x["emg"])
    with pytest.raises(ShapeError, match="takes inputs"):
        model({"emg": x["emg"]})
    with pytest.raises(ShapeError, match=r"expects input \(batch, 8, 52\)"):
        model({"emg": torch.randn(3, 8, 50), "imu": x["imu"]})
