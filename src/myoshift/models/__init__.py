"""Architectures (plain torch modules) behind one contract and one registry."""

from myoshift.models.base import (
    EMGModel,
    build_model,
    from_config,
    get_model_class,
    model_names,
    register_model,
)

__all__ = [
    "EMGModel",
    "build_model",
    "from_config",
    "get_model_class",
    "model_names",
    "register_model",
]
