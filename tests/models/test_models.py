"""Contract tests parametrised over every registered architecture, plus per-model checks."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from myoshift.errors import ConfigError, ShapeError
from myoshift.models import EMGModel, build_model, get_model_class, model_names
from myoshift.models.multiscale_cnn import effective_kernel
from myoshift.models.rcnn import FramedSpectrum

# tiny models: one thread is fastest and avoids oversubscribing shared CI cores
pytestmark = pytest.mark.usefixtures("one_torch_thread")


NAMES = model_names()
# (n_channels, n_samples): Myo 8 x 52 (260 ms at 200 Hz), 3DC-like 10 x 200, flexemg 64 x 200
INPUTS = [(8, 52), (10, 200), (64, 200)]


def hparams_for(name: str, n_channels: int) -> dict[str, Any]:
    """Realistic layout arguments: the flexemg sleeve is a 16 x 4 grid."""
    if name == "mobilenetv2" and n_channels == 64:
        return {"grid": [16, 4]}
    return {}


def make(name: str, n_channels: int = 8, n_samples: int = 52, n_outputs: int = 5) -> EMGModel:
    torch.manual_seed(0)
    return build_model(name, n_channels, n_samples, n_outputs, **hparams_for(name, n_channels))


def test_all_architectures_registered() -> None:
    expected = {"atzori-cnn", "multiscale-cnn", "lstm-cnn-attention", "rcnn", "mobilenetv2", "tcn"}
    assert expected <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_class_metadata(name: str) -> None:
    cls = get_model_class(name)
    assert cls.name == name
    assert cls.citation and "(" in cls.citation  # names a year
    assert {"window_ms", "optimizer", "epochs"} <= set(cls.recipe)
    assert cls.tasks and cls.tasks <= {"classification", "regression"}
    assert {"n_channels", "n_samples"} <= set(cls.default_input)
    assert cls.__doc__ and len(cls.__doc__) > 200


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("n_channels", "n_samples"), INPUTS)
def test_output_and_embed_shapes(name: str, n_channels: int, n_samples: int) -> None:
    model = make(name, n_channels, n_samples, n_outputs=5).eval()
    x = torch.randn(3, n_channels, n_samples)
    with torch.no_grad():
        out = model(x)
        z = model.embed(x)
    assert out.shape == (3, 5)
    assert z.shape == (3, model.embed_dim)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_reset_head(name: str) -> None:
    model = make(name).eval()
    x = torch.randn(2, 8, 52)
    with torch.no_grad():
        z_before = model.embed(x)
        model.reset_head(3)
        assert model(x).shape == (2, 3)
        torch.testing.assert_close(model.embed(x), z_before, rtol=0, atol=0)
    assert model.config()["n_outputs"] == 3


def _loss_after_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Any) -> tuple:
    # no dropout, so that the loss before and after is measured on the same function;
    # train mode, so that batch norm uses the batch statistics in both measurements
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
        elif isinstance(m, nn.RNNBase):
            m.dropout = 0.0
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()

    def loss_at() -> float:
        with torch.no_grad():
            return float(loss_fn(model(x), y))

    before = loss_at()
    for _ in range(5):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return before, loss_at()


@pytest.mark.parametrize("name", NAMES)
def test_training_steps_lower_the_loss(name: str) -> None:
    model = make(name, n_outputs=4)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(16, 8, 52, generator=gen)
    y = torch.arange(16) % 4
    before, after = _loss_after_steps(model, x, y, nn.CrossEntropyLoss())
    assert after < before


@pytest.mark.parametrize("name", [n for n in NAMES if "regression" in get_model_class(n).tasks])
def test_regression_steps_lower_the_loss(name: str) -> None:
    model = make(name, n_outputs=3)  # e.g. three joint angles
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(16, 8, 52, generator=gen)
    y = torch.randn(16, 3, generator=gen)
    before, after = _loss_after_steps(model, x, y, nn.MSELoss())
    assert after < before


@pytest.mark.parametrize("name", NAMES)
def test_seeded_init_is_deterministic(name: str) -> None:
    a, b = make(name).eval(), make(name).eval()
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb
        assert torch.equal(va, vb)
    x = torch.randn(2, 8, 52)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
    torch.manual_seed(1)
    c = build_model(name, 8, 52, 5)
    assert any(not torch.equal(va, vc) for va, vc in zip(a.parameters(), c.parameters()))


@pytest.mark.parametrize("name", NAMES)
def test_wrong_input_shapes_raise_shape_error(name: str) -> None:
    model = make(name)
    for bad in (torch.randn(2, 7, 52), torch.randn(2, 8, 51), torch.randn(8, 52)):
        with pytest.raises(ShapeError, match=r"expects .*\(batch, 8, 52\)"):
            model(bad)


@pytest.mark.parametrize("name", NAMES)
def test_impossible_configs_raise_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match="n_outputs"):
        build_model(name, 8, 52, 0)
    with pytest.raises(ConfigError, match="n_channels"):
        build_model(name, 0, 52, 3)
    with pytest.raises(ConfigError, match="unknown hyper-parameter"):
        build_model(name, 8, 52, 3, no_such_option=1)


@pytest.mark.parametrize("name", NAMES)
def test_nan_input_propagates_per_window(name: str) -> None:
    """Documented: models do not check NaNs; in eval mode a NaN stays in its own window."""
    model = make(name).eval()
    x = torch.randn(2, 8, 52)
    x[0, 3, 10] = float("nan")
    with torch.no_grad():
        out = model(x)
    assert not torch.isfinite(out[0]).all()
    assert torch.isfinite(out[1]).all()


@pytest.mark.parametrize("name", NAMES)
def test_config_is_json_native(name: str) -> None:
    import json

    model = make(name)
    cfg = model.config()
    assert json.loads(json.dumps(cfg)) == cfg


# --- model-specific behaviour ---------------------------------------------------------------


def test_tcn_is_mcu_sized_and_group_norm_option() -> None:
    model = build_model("tcn", 8, 52, 7)
    assert model.n_parameters() < 100_000
    gn = build_model("tcn", 8, 52, 7, norm="group").eval()
    assert not any(isinstance(m, nn.BatchNorm1d) for m in gn.modules())
    assert gn(torch.randn(1, 8, 52)).shape == (1, 7)  # batch of one works without BN
    with pytest.raises(ConfigError, match="kernel"):
        build_model("tcn", 8, 52, 7, kernel=4)
    with pytest.raises(ConfigError, match="norm"):
        build_model("tcn", 8, 52, 7, norm="layer")
    assert build_model("tcn", 8, 200, 7).config()["pool"] == 2
    amp = build_model("tcn", 8, 52, 7, amplitude_features=True).eval()
    assert amp.embed_dim == 2 * 32 + 2 * 8
    with torch.no_grad():
        assert amp.embed(torch.randn(2, 8, 52)).shape == (2, amp.embed_dim)
    with pytest.raises(ConfigError, match="at least 2 samples"):
        build_model("tcn", 8, 1, 7, amplitude_features=True)


def test_multiscale_kernels_shrink_for_short_windows() -> None:
    assert effective_kernel(57, 52) == 25
    assert effective_kernel(13, 52) == 13
    assert effective_kernel(57, 200) == 57
    assert effective_kernel(13, 4) == 1
    model = build_model("multiscale-cnn", 8, 52, 3)
    sizes = [branch[0].kernel_size for branch in model.branches]
    assert sizes == [(1, 13), (1, 25)]


def test_rcnn_frames_match_torch_stft() -> None:
    spec = FramedSpectrum(n_fft=16, hop=8)
    x = torch.randn(2, 3, 52, dtype=torch.float32)
    ours = spec(x)  # (batch, frames, C, F)
    ref = torch.stft(
        x.reshape(6, 52).double(),
        n_fft=16,
        hop_length=8,
        window=torch.hamming_window(16, periodic=False, dtype=torch.float64),
        center=False,
        return_complex=True,
    ).abs()
    ref = torch.log1p(ref).reshape(2, 3, 9, -1).permute(0, 3, 1, 2).float()
    assert ours.shape == (2, 5, 3, 9) == ref.shape
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)


def test_rcnn_rejects_too_short_windows() -> None:
    with pytest.raises(ConfigError, match="at least 4 samples"):
        build_model("rcnn", 8, 3, 2)
    model = build_model("rcnn", 8, 10, 2)  # n_fft clipped to the window
    assert model.config()["n_fft"] == 10 and model.n_frames == 1
    assert model(torch.randn(2, 8, 10)).shape == (2, 2)


def test_lstm_cnn_attention_wavelet_stream() -> None:
    torch.manual_seed(0)
    model = build_model("lstm-cnn-attention", 8, 52, 4, wavelet_shape=(8, 4)).eval()
    assert model.input_kind == "raw+wavelet"
    assert build_model("lstm-cnn-attention", 8, 52, 4).input_kind == "raw"
    raw, wpd = torch.randn(3, 8, 52), torch.randn(3, 8, 8, 4)
    with torch.no_grad():
        assert model((raw, wpd)).shape == (3, 4)
        assert model.embed((raw, wpd)).shape == (3, model.embed_dim) == (3, 64 + 32)
        # the wavelet stream matters
        assert not torch.equal(model((raw, wpd)), model((raw, wpd + 1)))
    with pytest.raises(ShapeError, match="x = \\(raw, wpd\\)"):
        model(raw)
    with pytest.raises(ShapeError, match="wavelet image"):
        model((raw, torch.randn(3, 8, 4, 8)))
    with pytest.raises(ShapeError, match="one tensor"):
        build_model("lstm-cnn-attention", 8, 52, 4)((raw, wpd))
    with pytest.raises(ConfigError, match="wavelet_shape"):
        build_model("lstm-cnn-attention", 8, 52, 4, wavelet_shape=(8,))


def test_mobilenetv2_grid_placement() -> None:
    # 8 channels on a 3 x 3 grid with one empty cell in the middle
    cmap = [0, 1, 2, 3, -1, 4, 5, 6, 7]
    model = build_model("mobilenetv2", 8, 6, 2, grid=(3, 3), channel_map=cmap)
    x = torch.arange(8, dtype=torch.float32)[None, :, None].repeat(1, 1, 6) + 1
    img = model.to_image(x)
    assert img.shape == (1, 6, 3, 3)
    assert img[0, 0].tolist() == [[1, 2, 3], [4, 0, 5], [6, 7, 8]]
    with torch.no_grad():
        assert model.eval()(x).shape == (1, 2)
    x = torch.randn(2, 8, 52)
    rms = build_model("mobilenetv2", 8, 52, 7)  # default: log-RMS frames of 4 samples
    assert rms.planes(x).shape == (2, 8, 13)
    torch.testing.assert_close(
        rms.planes(x)[:, :, 0], 0.5 * torch.log(x[:, :, :4].pow(2).mean(-1) + 1e-4)
    )
    raw = build_model("mobilenetv2", 8, 52, 7, representation="raw")
    assert raw.planes(x).shape == (2, 8, 52)
    with pytest.raises(ConfigError, match="representation"):
        build_model("mobilenetv2", 8, 52, 7, representation="cwt")
    ring = build_model("mobilenetv2", 8, 52, 7).eval()
    assert ring.config()["grid"] == [1, 8]
    with torch.no_grad():
        assert ring(torch.randn(2, 8, 52)).shape == (2, 7)
    with pytest.raises(ConfigError, match="channel_map"):
        build_model("mobilenetv2", 64, 52, 7, grid=(8, 4))
    with pytest.raises(ConfigError, match="entries"):
        build_model("mobilenetv2", 8, 52, 7, grid=(3, 3), channel_map=[0] * 8)
    with pytest.raises(ConfigError, match="-1 or channel"):
        build_model("mobilenetv2", 8, 52, 7, grid=(3, 3), channel_map=[9] * 9)


def test_atzori_rectify_sees_amplitude_not_sign() -> None:
    torch.manual_seed(0)
    plain = build_model("atzori-cnn", n_channels=8, n_samples=52, n_outputs=3)
    torch.manual_seed(0)
    rect = build_model("atzori-cnn", n_channels=8, n_samples=52, n_outputs=3, rectify=True)
    rect.eval()
    plain.eval()
    x = torch.randn(4, 8, 52)
    assert torch.allclose(rect(x), rect(-x)) and torch.allclose(rect(x), rect(x.abs()))
    assert torch.allclose(rect(x.abs()), plain(x.abs()))  # same weights, only the input differs
    assert not torch.allclose(plain(x), plain(-x))
    assert rect.config()["rectify"] is True and plain.config()["rectify"] is False
    with pytest.raises(ConfigError, match="unknown"):
        build_model("atzori-cnn", n_channels=8, n_samples=52, n_outputs=3, rectified=True)
