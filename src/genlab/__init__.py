"""genlab: classic and modern generative models of machine learning.

Hopfield networks, Boltzmann machines, autoencoders, variational autoencoders,
beta-VAEs and Gumbel-softmax (categorical) models, as a Python library and the
``genlab`` command-line tool.
"""

__version__ = "0.1.0"

import os
from typing import Any

from genlab.errors import GenlabError


def load(path: str | os.PathLike[str], device: str = "cpu") -> Any:
    """Load the model saved as ``NAME`` (``NAME.safetensors`` + ``NAME.json``) whatever its
    kind: see ``genlab.registry.load``. Imports the model's package only when called."""
    from genlab.registry import load as load_any

    return load_any(path, device)


__all__ = ["GenlabError", "__version__", "load"]
