"""Per-data-set presets: the model and the training genlab uses for each data set.

A ``Preset`` is everything ``genlab vae train DATA`` (or ``genlab ae train DATA``)
trains with no flags: the model's config, the ``TrainConfig`` of the
loop, and how the data are read. The commands read these presets and only override the
fields a flag gives, so Python code reproduces a command exactly:

    from genlab.latent import train_vae, vae_preset
    result = train_vae(vae_preset("fashion-mnist", seed=0), out="runs/vae")

The tables below are the only place the tuned values live; ``docs/vae.md`` tells how
they compare with the reference 784-400-20 network (``VAE(VAEConfig())``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from genlab.data import ImageDataset, load_dataset
from genlab.errors import GenlabError
from genlab.latent.autoencoder import AEConfig
from genlab.latent.base import MODEL_REGISTRY, LatentModel
from genlab.latent.categorical_vae import CategoricalVAEConfig
from genlab.latent.vae import VAEConfig
from genlab.train import TrainConfig, seeded_init

# Settings of ``vae train DATA``: "default" for every data set, updated by the data set's
# own entry. Keys are VAEConfig fields and TrainConfig fields.
VAE_PRESETS: dict[str, dict[str, Any]] = {
    # the shared default: a two-layer ELU MLP, a cosine schedule and a KL warm-up over the
    # first 30% of training (each beats the reference 784-400-20 ReLU network)
    "default": {"arch": "mlp", "hidden": (512, 256), "latent": 32, "activation": "elu",
                "epochs": 10, "batch_size": 128, "lr": 2e-3, "schedule": "cosine",
                "kl_warmup": 0.3, "iw_train": 1, "likelihood": "bernoulli",
                "channels": (32, 64), "amp": False},
    # measured on Fashion-MNIST (benchmarks/RESULTS.md): wider layers, SiLU, a higher
    # learning rate and a longer KL warm-up gain 3 nats over the shared default; bfloat16
    # products (where the CPU or GPU has them) pay for the width
    "fashion-mnist": {"hidden": (1024, 512), "activation": "silu", "lr": 3e-3,
                      "kl_warmup": 0.5, "amp": True},
    # 1,797 8x8 images: a small network, smaller batches and more passes
    "digits": {"hidden": (128,), "latent": 8, "epochs": 50, "batch_size": 64},
    # the disentanglement literature's settings for 64x64 dSprites (Adam 5e-4, batch 64)
    "dsprites": {"lr": 5e-4, "schedule": "constant", "batch_size": 64},
}

# Settings of ``ae train DATA``, read the same way.
AE_PRESETS: dict[str, dict[str, Any]] = {
    # one hidden ReLU layer and a 32-number code, trained on the Bernoulli cross-entropy
    "default": {"arch": "mlp", "hidden": (256,), "latent": 32, "activation": "relu",
                "epochs": 10, "batch_size": 128, "lr": 1e-3, "schedule": "cosine",
                "channels": (32, 64), "loss": "bce"},
    "digits": {"hidden": (128,), "latent": 8, "epochs": 50, "batch_size": 64},
}

# The keys of each table, in the order the commands print them as "settings".
VAE_SETTINGS = ("arch", "hidden", "latent", "activation", "epochs", "batch_size", "lr",
                "schedule", "kl_warmup", "iw_train", "likelihood", "channels", "amp")
AE_SETTINGS = ("arch", "hidden", "latent", "activation", "epochs", "batch_size", "lr",
               "schedule", "channels", "loss")

_DATA_FIELDS = ("binarize", "split", "limit", "val")
_SHAPES = {"digits": (8, 8), "dsprites": (64, 64)}  # built-in data sets not 28x28


@dataclass(frozen=True)
class Preset:
    """A model, its training and its data: what ``genlab vae|ae train DATA`` trains.

    ``model_config.image_shape`` is the data set's for built-in data sets; training
    (``genlab.latent.train_vae``) takes it from the loaded data in any case.
    """

    data_name: str                  # data set name or path (genlab.data.load_dataset)
    model_config: Any               # VAEConfig | AEConfig | CategoricalVAEConfig
    train_config: TrainConfig = field(default_factory=TrainConfig)
    binarize: str = "bernoulli"     # none | threshold | bernoulli (resampled each epoch)
    split: str = "train"            # train | test | all
    limit: int | None = None        # use at most this many images
    val: int = 0                    # hold out the last N images for validation
    table: tuple[tuple[str, Any], ...] = ()  # the table values it was made from

    def settings(self) -> dict[str, Any]:
        """The table values the preset was made from, overrides applied (what the
        commands print as ``settings``)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.table}

    def model(self, image_shape: tuple[int, int] | None = None) -> LatentModel:
        """The untrained model (weights fixed by ``train_config.seed`` through
        ``genlab.train.seeded_init``), for ``image_shape`` images if given."""
        config = self.model_config
        if image_shape is not None:
            config = dataclasses.replace(config, image_shape=tuple(image_shape))
        cls = next(c for c in MODEL_REGISTRY.values() if c.config_class is type(config))
        with seeded_init(self.train_config.seed):
            return cls.from_config(config)

    def load_data(self, data_dir: str | None = None
                  ) -> tuple[ImageDataset, ImageDataset | None]:
        """The training images and the held-out validation images (None when ``val`` = 0)."""
        from genlab.latent.runs import split_validation

        data = load_dataset(self.data_name, split=self.split, binarize=self.binarize,
                            limit=self.limit, data_dir=data_dir)
        return split_validation(data, self.val)


def preset_settings(table: dict[str, dict[str, Any]], data_name: str) -> dict[str, Any]:
    """The table's "default" entry updated by ``data_name``'s own entry."""
    return {**table["default"], **table.get(data_name, {})}


def _make(config_class: type, table: dict[str, dict[str, Any]], keys: tuple[str, ...],
          data_name: str, overrides: dict[str, Any]) -> Preset:
    values = {**preset_settings(table, data_name),
              "image_shape": _SHAPES.get(data_name, (28, 28))}
    values.update({k: v for k, v in overrides.items() if v is not None})
    model_keys = {f.name for f in dataclasses.fields(config_class)}
    train_keys = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - model_keys - train_keys - set(_DATA_FIELDS))
    if unknown:
        raise GenlabError(f"unknown preset setting {unknown[0]!r}; set fields of "
                          f"{config_class.__name__}, TrainConfig or {', '.join(_DATA_FIELDS)}")
    pick = lambda keys: {k: v for k, v in values.items() if k in keys}  # noqa: E731
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    config = config_class(**pick(model_keys))
    config.validate()
    train = TrainConfig(**pick(train_keys))
    train.validate()
    return Preset(data_name, config, train, **pick(_DATA_FIELDS),
                  table=tuple((k, values[k]) for k in keys))


def vae_preset(data_name: str, **overrides: Any) -> Preset:
    r"""The Gaussian-latent VAE genlab trains on ``data_name`` (``genlab vae train DATA``).

    Every data set starts from ``VAE_PRESETS`` ``["default"]``: an ELU MLP
    784-512-256-32 (decoder mirrored), Adam at 2e-3 with a cosine schedule, 10 epochs of
    batches of 128, and the KL weight $w$ of
    $\mathbb{E}_{q(z|x)}[\log p(x|z)] - w\,\mathrm{KL}(q(z|x)\,\|\,p(z))$ rising from 0 to 1
    over the first 30% of steps. Fashion-MNIST's preset is wider
    (1024-512, SiLU), learns at 3e-3, warms the KL up over half the run and computes in
    bfloat16 where the device has it; digits (8x8) uses a 128-unit layer and an 8-number
    code; dSprites uses Adam 5e-4, batch 64, constant rate.

    ``overrides`` replace any field of ``VAEConfig``, ``TrainConfig`` (``seed``,
    ``epochs``, ``max_steps`` ...) or of the data (``binarize``, ``split``, ``limit``,
    ``val``); None means "keep the preset's". ``VAE(VAEConfig())`` is the reference
    784-400-20 network instead, not a preset.
    """
    return _make(VAEConfig, VAE_PRESETS, VAE_SETTINGS, data_name, overrides)


def ae_preset(data_name: str, **overrides: Any) -> Preset:
    r"""The autoencoder genlab trains on ``data_name`` (``genlab ae train DATA``).

    From ``AE_PRESETS``: one 256-unit ReLU layer, a 32-number code $h = f(x)$ and the
    Bernoulli cross-entropy $-\sum_d \left[x_d \log g(h)_d + (1 - x_d) \log(1 - g(h)_d)\right]$,
    Adam at 1e-3 with a cosine schedule for 10 epochs (digits: 128 units, code 8, 50 epochs
    of 64). ``overrides`` as for ``vae_preset``, with the fields of
    ``AEConfig`` (``corrupt="mask:0.3"`` makes it a denoising autoencoder,
    ``code_noise`` a stochastic one).
    """
    return _make(AEConfig, AE_PRESETS, AE_SETTINGS, data_name, overrides)


def categorical_vae_preset(data_name: str, *, categories: tuple[int, int] = (20, 10),
                           estimator: str = "gumbel", tau0: float = 1.0,
                           tau_min: float = 0.5, anneal_rate: float = 1e-4,
                           **overrides: Any) -> Preset:
    r"""The categorical VAE ``genlab vae train DATA --latent-type categorical`` trains:
    the networks, training and data of ``vae_preset`` (``overrides`` as there), with
    $M \times K$ = ``categories`` one-hot latents under a uniform prior, trained with
    ``estimator`` at the temperature $\tau_t = \max(\tau_{\min}, \tau_0 e^{-r t})$ at step $t$,
    $r$ = ``anneal_rate``
    (Jang, Gu & Poole 2017; ``CategoricalVAE``).
    """
    base = vae_preset(data_name, **overrides)
    cfg = base.model_config
    config = CategoricalVAEConfig(
        image_shape=cfg.image_shape, arch=cfg.arch, hidden=cfg.hidden, n_latent=categories[0],
        n_categories=categories[1], activation=cfg.activation, channels=cfg.channels,
        estimator=estimator, tau0=tau0, tau_min=tau_min, anneal_rate=anneal_rate)
    config.validate()
    return dataclasses.replace(base, model_config=config)
