"""Neural latent-variable models: autoencoders and variational autoencoders.

Every model here is a ``LatentModel`` trained by
``genlab.train.fit``, saved with ``model.save(path)`` and loaded with
``load_latent_model`` whatever its kind.

What ``genlab vae train DATA`` trains is the preset ``vae_preset(DATA)``
(``genlab.latent.presets``), and ``train_vae`` trains it in one call:

    from genlab.latent import train_vae, vae_preset
    result = train_vae(vae_preset("fashion-mnist", seed=0), out="runs/vae")

(the same for autoencoders with ``ae_preset`` and ``train_ae``). The tasks of
``genlab.latent.tasks`` evaluate, sample and draw a trained run.
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
from genlab.latent.presets import Preset, ae_preset, vae_preset
from genlab.latent.stacked import StackedBetaVAE
from genlab.latent.training import AETrainResult, VAETrainResult, train_ae, train_vae
from genlab.latent.vae import VAE, DiagonalGaussian, VAEConfig

__all__ = [
    "AEConfig", "AETrainResult", "Autoencoder", "BetaVAE", "BetaVAEConfig", "CategoricalVAE",
    "CategoricalVAEConfig", "DiagonalGaussian", "ELBOTerms", "LatentModel", "MODEL_REGISTRY",
    "Posterior", "Preset", "StackedBetaVAE", "VAE", "VAEConfig", "VAETrainResult",
    "VariationalModel", "ae_preset", "load_latent_model", "register_model", "train_ae",
    "train_vae", "vae_preset",
]
