"""Dataset loaders: one module per public dataset, a folder loader and a simulator."""

from myoshift.datasets.base import (
    Dataset,
    Download,
    Unit,
    dataset_names,
    get_dataset,
    load_dataset,
    register_dataset,
)
from myoshift.datasets.folder import FolderDataset

# Dataset modules register themselves on import.
from myoshift.datasets import _builtin  # noqa: F401  isort: skip

__all__ = [
    "Dataset",
    "Download",
    "FolderDataset",
    "Unit",
    "dataset_names",
    "get_dataset",
    "load_dataset",
    "register_dataset",
]
