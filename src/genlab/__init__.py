"""genlab: classic and modern generative models of machine learning.

Hopfield networks, Boltzmann machines, autoencoders, variational autoencoders,
beta-VAEs and Gumbel-softmax (categorical) models, as a Python library and the
``genlab`` command-line tool.
"""

__version__ = "0.1.0"

from genlab.errors import GenlabError

__all__ = ["GenlabError", "__version__"]
