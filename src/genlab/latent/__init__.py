"""Neural latent-variable models: autoencoders and variational autoencoders.

Every model here is a :class:`~genlab.latent.base.LatentModel` trained by
:func:`genlab.train.fit`, saved with ``model.save(path)`` and loaded with
:func:`~genlab.latent.base.load_latent_model` whatever its kind.
"""

from genlab.latent.base import (
    MODEL_REGISTRY,
    ELBOTerms,
    LatentModel,
    Posterior,
    VariationalModel,
    load_latent_model,
    register_model,
)
from genlab.latent.categorical_vae import CategoricalVAE, CategoricalVAEConfig
from genlab.latent.vae import VAE, DiagonalGaussian, VAEConfig

__all__ = [
    "CategoricalVAE", "CategoricalVAEConfig",
    "MODEL_REGISTRY", "VAE", "DiagonalGaussian", "ELBOTerms", "LatentModel", "Posterior",
    "VAEConfig", "VariationalModel", "load_latent_model", "register_model",
]
