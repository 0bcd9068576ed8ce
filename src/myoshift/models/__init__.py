"""Architectures (plain torch modules) behind one contract and one registry.

Importing this package registers every built-in architecture: ``atzori-cnn``,
``multiscale-cnn``, ``lstm-cnn-attention``, ``rcnn``, ``mobilenetv2``, ``tcn`` and ``zhai-cnn``;
the fusion networks ``imu-fusion`` and ``encoder-fusion`` (`myoshift.models.fusion`).

Every model checks the input shape (`myoshift.errors.ShapeError`) and its constructor
arguments (`myoshift.errors.ConfigError`). Models do NOT check for non-finite values:
a NaN in a window propagates to that window's outputs (in eval mode only to that
window; in training mode batch normalisation spreads it over the batch). Rejecting
non-finite batches is the job of the trainer in `myoshift.learn`.

Save and load with `save_model` / `load_model` (safetensors + JSON, see
`myoshift.models.io`); measure cost with `count_macs` (`myoshift.models.complexity`).
"""

from myoshift.models import (  # noqa: F401  (imported to register the architectures)
    atzori_cnn,
    fusion,
    lstm_cnn_attention,
    mobilenetv2,
    multiscale_cnn,
    multitask,
    rcnn,
    tcn,
    zhai_cnn,
)
from myoshift.models.base import (
    EMGModel,
    build_model,
    from_config,
    get_model_class,
    model_names,
    register_model,
)
from myoshift.models.complexity import count_macs
from myoshift.models.io import load_model, read_model_config, save_model

__all__ = [
    "EMGModel",
    "build_model",
    "count_macs",
    "from_config",
    "get_model_class",
    "load_model",
    "model_names",
    "read_model_config",
    "register_model",
    "save_model",
]
