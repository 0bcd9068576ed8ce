"""Imports every built-in dataset module so that it registers itself."""

import importlib
import logging

log = logging.getLogger(__name__)

_MODULES = (
    "myoarmband",
    "three_dc",
    "kanoga",
    "uci_gestures",
    "ninapro",
    "flexemg",
    "libemg_onesubject",
    "electrode_shift",
    "multiday",
    "contraction_intensity",
    "synthetic",
)

for _m in _MODULES:
    try:
        importlib.import_module(f"myoshift.datasets.{_m}")
    except ModuleNotFoundError as exc:  # module not written yet
        if exc.name != f"myoshift.datasets.{_m}":
            raise
