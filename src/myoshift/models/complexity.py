"""Multiply-accumulate (MAC) counts of a model for one input, measured with forward hooks.

`count_macs` runs one forward pass on a zero input of batch size 1 and sums, over every
leaf layer it knows, the multiply-accumulates that layer performs:

* ``Conv1d`` / ``Conv2d`` / ``Conv3d``: ``out.numel() * (in_channels / groups) * prod(kernel)``
  (zero padding counted as if it were data, as usual);
* ``Linear``: ``in_features * out_features`` per output vector (leading dimensions included);
* ``LSTM`` / ``GRU`` / ``RNN``: per time step, layer and direction,
  ``gates * hidden * (input + hidden)`` with 4 gates for LSTM, 3 for GRU, 1 for RNN
  (projections ``proj_size`` are not supported and counted as without them).

Modules may declare extra work the hooks cannot see (a functional convolution on a fixed
buffer, say) with a method ``extra_macs(inputs, output) -> int``; it is added.

Approximations (documented, deliberate): normalisation, activations, pooling, additions
of residual branches, softmax/attention weighting and the element-wise gate products of
recurrent cells are not counted; they are small next to the counted matrix products and
are commonly left out of published MAC figures. Biases are not counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from myoshift.errors import ConfigError

_RNN_GATES = {nn.LSTM: 4, nn.GRU: 3, nn.RNN: 1}


def _conv_macs(module: nn.modules.conv._ConvNd, output: torch.Tensor) -> int:
    per_output = (module.in_channels // module.groups) * math.prod(module.kernel_size)
    return int(output.numel() * per_output)


def _linear_macs(module: nn.Linear, output: torch.Tensor) -> int:
    return int(output.numel() // module.out_features * module.in_features * module.out_features)


def _rnn_macs(module: nn.RNNBase, inputs: tuple[Any, ...]) -> int:
    x = inputs[0]
    if isinstance(x, nn.utils.rnn.PackedSequence):
        steps = int(x.data.shape[0])  # total valid time steps over the batch
    elif x.ndim == 2:  # unbatched (time, features)
        steps = int(x.shape[0])
    else:  # time steps times batch
        steps = int(x.shape[0] * x.shape[1])
    gates = next(g for cls, g in _RNN_GATES.items() if isinstance(module, cls))
    directions = 2 if module.bidirectional else 1
    hidden = module.hidden_size
    total = 0
    for layer in range(module.num_layers):
        n_in = module.input_size if layer == 0 else hidden * directions
        total += gates * hidden * (n_in + hidden) * directions
    return total * steps


def _shapes(input_shape: Any) -> list[tuple[int, ...]]:
    """Normalise ``input_shape`` to a list of per-input shapes without batch."""
    if (
        isinstance(input_shape, Sequence)
        and input_shape
        and all(isinstance(s, int) for s in input_shape)
    ):
        return [tuple(int(s) for s in input_shape)]
    if (
        isinstance(input_shape, Sequence)
        and input_shape
        and all(isinstance(s, Sequence) and all(isinstance(d, int) for d in s) for s in input_shape)
    ):
        return [tuple(int(d) for d in s) for s in input_shape]
    raise ConfigError(
        "count_macs: input_shape must be a shape without batch such as (n_channels, n_samples), "
        f"or a tuple of such shapes for multi-input models; got {input_shape!r}"
    )


def count_macs(model: nn.Module, input_shape: Any = None) -> int:
    """Multiply-accumulates of one forward pass for a single example.

    Parameters
    ----------
    model
        Any ``torch.nn.Module``; it is run once in eval mode on zeros (its train/eval
        state is restored afterwards, no gradient is recorded, no statistic changes).
    input_shape
        Shape of ONE example, without the batch dimension, e.g. ``(8, 52)``; for a
        multi-input model a tuple of shapes, e.g. ``((8, 52), (8, 16, 4))``, passed as a
        tuple of tensors. ``None`` uses ``(model.n_channels, model.n_samples)``.

    Returns
    -------
    int
        Sum of the MACs of the Conv, Linear and recurrent layers (see module docstring
        for what is and is not counted).
    """
    if input_shape is None:
        try:
            input_shape = (int(model.n_channels), int(model.n_samples))  # type: ignore[arg-type]
        except AttributeError:
            raise ConfigError(
                "count_macs: give input_shape for a model without n_channels"
            ) from None
    shapes = _shapes(input_shape)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    tensors = [torch.zeros((1, *s), device=device, dtype=dtype) for s in shapes]
    total = [0]

    def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        if isinstance(module, nn.modules.conv._ConvNd):
            total[0] += _conv_macs(module, output)
        elif isinstance(module, nn.Linear):
            total[0] += _linear_macs(module, output)
        elif isinstance(module, nn.RNNBase):
            total[0] += _rnn_macs(module, inputs)
        extra = getattr(module, "extra_macs", None)
        if callable(extra):
            total[0] += int(extra(inputs, output))

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, nn.modules.conv._ConvNd | nn.Linear | nn.RNNBase)
        or callable(getattr(m, "extra_macs", None))
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(tensors[0] if len(tensors) == 1 else tuple(tensors))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return int(total[0])
