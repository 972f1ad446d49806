"""Data sets: built-in (digits, mnist5k, fashion-mnist) and user files, plus IDX I/O."""

from genlab.data.datasets import (
    BUILTIN,
    FASHION_CLASSES,
    ImageDataset,
    fashion_mnist_dir,
    list_datasets,
    load_dataset,
)
from genlab.data.idx import read_idx, write_idx
from genlab.data.transforms import binarize, from_spins, to_spins

__all__ = [
    "BUILTIN", "FASHION_CLASSES", "ImageDataset", "binarize", "fashion_mnist_dir", "from_spins",
    "list_datasets", "load_dataset", "read_idx", "to_spins", "write_idx",
]
