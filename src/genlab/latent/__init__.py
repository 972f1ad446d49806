"""Neural latent-variable models: autoencoders and variational autoencoders.

Every model here is a :class:`~genlab.latent.base.LatentModel` trained by
:func:`genlab.train.fit`, saved with ``model.save(path)`` and loaded with
:func:`~genlab.latent.base.load_latent_model` whatever its kind.
"""

from genlab.latent.autoencoder import AEConfig, Autoencoder
from genlab.latent.base import (
    MODEL_REGISTRY,
    ELBOTerms,
    LatentModel,
    Posterior,
    VariationalModel,
    load_latent_model,
    register_model,
)
from genlab.latent.betavae import BetaVAE, BetaVAEConfig
from genlab.latent.categorical_vae import CategoricalVAE, CategoricalVAEConfig
from genlab.latent.stacked import StackedBetaVAE
from genlab.latent.vae import VAE, DiagonalGaussian, VAEConfig

__all__ = [
    "AEConfig", "Autoencoder", "BetaVAE", "BetaVAEConfig", "CategoricalVAE",
    "CategoricalVAEConfig", "DiagonalGaussian", "ELBOTerms", "LatentModel", "MODEL_REGISTRY",
    "Posterior", "StackedBetaVAE", "VAE",
    "VAEConfig", "VariationalModel", "load_latent_model", "register_model",
]
