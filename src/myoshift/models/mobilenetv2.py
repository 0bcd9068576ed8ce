"""MobileNetV2 with a width multiplier on electrode-grid images (HD-sEMG, rings)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from myoshift.errors import ConfigError
from myoshift.models.base import EMGModel, register_model

#: (expansion t, output channels c, repeats n, stride s) of Sandler et al. (2018), Table 2.
_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _divisible(v: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor`` (as in the reference implementation)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def _stride(size: int, s: int) -> int:
    """Stride along one grid axis: ``s`` only while the map is at least 4 cells long."""
    return s if s > 1 and size >= 4 else 1


def _conv_bn(
    cin: int, cout: int, k: int, stride: tuple[int, int], groups: int = 1
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(),
    )


class InvertedResidual(nn.Module):
    """Expand 1x1, depthwise 3x3, linear project 1x1; residual when shapes match."""

    def __init__(self, cin: int, cout: int, stride: tuple[int, int], expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn(cin, hidden, 1, (1, 1)))
        layers += [
            _conv_bn(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == (1, 1) and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


@register_model
class MobileNetV2(EMGModel):
    """MobileNetV2 (Sandler et al. 2018) on electrode-grid images, width multiplier ``width``.

    Image layout (time frames as input channels): the window ``(batch, C, T)`` becomes
    ``(batch, P, rows, cols)`` on the electrode grid ``grid=(rows, cols)``; each of the
    ``P`` input planes is one time frame, the spatial axes are the electrode array, so
    the first 3 x 3 convolution mixes neighbouring electrodes over the whole window.
    With ``representation="rms"`` (default) the planes are log-RMS amplitude maps of
    consecutive frames of ``frame`` samples (``P = ceil(T / frame)``), the HD-sEMG
    "RMS image" of the image-based CNNs and EffiE edge models; with
    ``representation="raw"`` every sample is one plane (``P = T``), which proved much
    weaker on Myo windows (a linear mix of zero-mean EMG samples carries little
    amplitude information).

    The input first goes through a per-electrode ``BatchNorm1d`` (the ReLU6 activations
    saturate on raw amplitudes; batch norm also lets AdaBN re-estimate it on a new user).

    ``channel_map`` (optional, length ``rows * cols``, row-major) gives the EMG channel
    at each grid cell, ``-1`` for an empty cell (zeros); without it channel ``i`` sits
    at ``(i // cols, i % cols)`` and ``rows * cols`` must equal ``n_channels``. The
    default grid is a ring unrolled as ``(1, n_channels)`` (Myo: 1 x 8); the flexemg
    sleeve is ``grid=(16, 4)``.

    Grids are tiny next to ImageNet, so a stage's stride 2 is applied along an axis only
    while that axis is at least 4 cells long. The last 1x1 layer has
    ``1280 * min(1, width)`` channels (the reference keeps 1280 for width < 1; we scale
    it to stay MCU-sized). ``embed`` is the global average pool (``embed_dim`` = last
    layer's channels) followed by dropout.

    Recipe (myoshift defaults for EffiE-style edge models): 200 ms windows, Adam lr 1e-3,
    30 epochs, batch 64.
    """

    name = "mobilenetv2"
    citation = (
        "Sandler, Howard, Zhu, Zhmoginov & Chen (2018), MobileNetV2: inverted residuals and "
        "linear bottlenecks, CVPR; applied to sEMG electrode images on edge devices as in "
        "EffiE (2023), an efficient CNN for real-time EMG pattern recognition on edge "
        "devices"
    )
    recipe = {
        "window_ms": 200,
        "optimizer": "adam",
        "lr": 1e-3,
        "epochs": 30,
        "batch_size": 64,
        "note": "myoshift defaults for this architecture",
    }
    default_input = {"n_channels": 8, "n_samples": 52, "grid": [1, 8]}
    cell_index: torch.Tensor

    def __init__(
        self,
        n_channels: int,
        n_samples: int,
        n_outputs: int,
        *,
        grid: list[int] | tuple[int, int] | None = None,
        channel_map: list[int] | tuple[int, ...] | None = None,
        width: float = 0.5,
        dropout: float = 0.2,
        representation: str = "rms",
        frame: int = 4,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigError(f"mobilenetv2: unknown hyper-parameter(s) {sorted(unknown)}")
        super().__init__(n_channels, n_samples, n_outputs)  # validates the shapes first
        if grid is None:
            grid = [1, n_channels]
        g = [int(v) for v in grid]
        if len(g) != 2 or min(g) < 1:
            raise ConfigError(f"mobilenetv2: grid must be (rows, cols) positive ints, got {grid!r}")
        cells = g[0] * g[1]
        cmap: list[int] | None = None
        if channel_map is not None:
            cmap = [int(v) for v in channel_map]
            if len(cmap) != cells:
                raise ConfigError(
                    f"mobilenetv2: channel_map has {len(cmap)} entries, grid {g[0]}x{g[1]} "
                    f"needs {cells}"
                )
            bad = [v for v in cmap if not -1 <= v < n_channels]
            if bad:
                raise ConfigError(
                    f"mobilenetv2: channel_map entries must be -1 or channel indices < "
                    f"{n_channels}, got {bad[:5]}"
                )
        elif cells != n_channels:
            raise ConfigError(
                f"mobilenetv2: grid {g[0]}x{g[1]} has {cells} cells but the input has "
                f"{n_channels} channels; give channel_map to place them"
            )
        if not (isinstance(width, int | float) and width > 0):
            raise ConfigError(f"mobilenetv2: width must be > 0, got {width!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"mobilenetv2: dropout must be in [0, 1), got {dropout!r}")
        if representation not in ("rms", "raw"):
            raise ConfigError(
                f"mobilenetv2: representation must be 'rms' or 'raw', got {representation!r}"
            )
        if not isinstance(frame, int) or frame < 1:
            raise ConfigError(f"mobilenetv2: frame must be a positive int, got {frame!r}")
        frame = min(frame, n_samples)
        n_planes = -(-n_samples // frame) if representation == "rms" else n_samples
        self.hparams = {
            "grid": g,
            "channel_map": cmap,
            "width": float(width),
            "dropout": float(dropout),
            "representation": representation,
            "frame": frame,
        }
        self.grid = (g[0], g[1])
        # per-electrode input normalisation (ReLU6 saturates on raw amplitudes; AdaBN-able)
        self.input_norm = nn.BatchNorm1d(n_channels)
        index = torch.tensor(cmap if cmap is not None else list(range(cells)), dtype=torch.long)
        # gather index into the input padded with one zero channel (index n_channels)
        self.register_buffer(
            "cell_index", torch.where(index < 0, n_channels, index), persistent=False
        )
        cin = _divisible(32 * width)
        rows, cols = g
        stride = (_stride(rows, 2), _stride(cols, 2))
        self.representation, self.frame = representation, frame
        layers: list[nn.Module] = [_conv_bn(n_planes, cin, 3, stride)]
        rows, cols = -(-rows // stride[0]), -(-cols // stride[1])
        for t, c, n, s in _SETTINGS:
            cout = _divisible(c * width)
            for i in range(n):
                stride = (_stride(rows, s), _stride(cols, s)) if i == 0 else (1, 1)
                layers.append(InvertedResidual(cin, cout, stride, t))
                rows, cols = -(-rows // stride[0]), -(-cols // stride[1])
                cin = cout
        last = _divisible(1280 * min(1.0, width))
        layers += [_conv_bn(cin, last, 1, (1, 1)), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.embed_dim = last
        self.head = nn.Linear(self.embed_dim, n_outputs)

    def planes(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, C, T)`` -> ``(batch, C, P)``: log-RMS frames, or ``x`` itself (raw)."""
        if self.representation == "raw":
            return x
        power = nn.functional.avg_pool1d(x * x, self.frame, ceil_mode=True)
        return 0.5 * torch.log(power + 1e-4)

    def to_image(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, C, P)`` -> ``(batch, P, rows, cols)`` with empty cells zero."""
        padded = torch.cat([x, x.new_zeros(x.shape[0], 1, x.shape[2])], dim=1)
        img = padded.index_select(1, self.cell_index)  # (batch, rows*cols, T)
        return img.transpose(1, 2).reshape(x.shape[0], x.shape[2], *self.grid)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        img = self.to_image(self.planes(self.input_norm(x)))
        return self.dropout(self.features(img))
