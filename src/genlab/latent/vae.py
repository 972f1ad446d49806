r"""The variational autoencoder (Kingma & Welling 2014) with Gaussian latents.

Encoder $q(z|x) = \mathcal{N}(\mu(x), \mathrm{diag}\,\sigma^2(x))$, prior
$p(z) = \mathcal{N}(0, I)$, decoder $p(x|z)$ Bernoulli
($x_d \sim \mathrm{Bernoulli}(\mathrm{sigmoid}(l_d(z)))$) or Gaussian
($\mathcal{N}(m_d(z), s_d^2)$ with a learned per-pixel scale). Training maximises the ELBO

$$
\mathcal{L}(x) = \mathbb{E}_{q(z|x)}[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z)),
$$

$$
\mathrm{KL}(q(z|x)\,\|\,p(z))
    = \frac{1}{2} \sum_j \left(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\right)
$$

(the closed form of Appendix B), with the reparameterisation
$z = \mu + \sigma \odot \epsilon$, $\epsilon \sim \mathcal{N}(0, I)$, so that the gradient
flows through the sample. Optionally (``iw_train`` $= K > 1$) it maximises the IWAE bound
$\log \frac{1}{K} \sum_{k=1}^{K} \frac{p(x, z_k)}{q(z_k|x)}$ instead (Burda et al. 2016).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import GenlabError
from genlab.latent.base import VariationalModel, register_model
from genlab.latent.networks import ARCHITECTURES, build_decoder, build_encoder, output_layer
from genlab.train import LossOutput

LOG_2PI = math.log(2 * math.pi)
LIKELIHOODS = ("bernoulli", "gaussian")


@dataclass
class VAEConfig:
    """A Gaussian-latent VAE."""

    image_shape: tuple[int, int] = (28, 28)  # (h, w); D = h * w
    arch: str = "mlp"                        # mlp | conv
    hidden: tuple[int, ...] = (400,)         # encoder hidden sizes (decoder: reversed)
    latent: int = 20                         # L, the dimension of z
    likelihood: str = "bernoulli"            # bernoulli (binary data) | gaussian
    activation: str = "relu"                 # relu | elu | gelu | silu | tanh
    channels: tuple[int, ...] = (32, 64)     # conv channels (arch=conv)
    kl_warmup: float = 0.0                   # fraction of training with KL weight 0 -> 1
    iw_train: int = 1                        # K > 1: train on the IWAE bound with K samples

    def validate(self) -> None:
        """Raise ``GenlabError`` for impossible settings."""
        ok = [(self.arch in ARCHITECTURES, f"unknown architecture {self.arch!r}; choose "
               f"one of {', '.join(ARCHITECTURES)}"),
              (self.likelihood in LIKELIHOODS, f"unknown likelihood {self.likelihood!r}; "
               f"choose one of {', '.join(LIKELIHOODS)}"),
              (self.latent >= 1, "the latent dimension must be >= 1"),
              (all(h >= 1 for h in self.hidden), "hidden sizes must be >= 1"),
              (len(self.channels) >= 1 and all(c >= 1 for c in self.channels),
               "conv channels must be >= 1"),
              (0.0 <= self.kl_warmup < 1.0, "kl_warmup must be in [0, 1)"),
              (self.iw_train >= 1, "iw_train must be >= 1"),
              (len(self.image_shape) == 2 and min(self.image_shape) >= 1,
               "image_shape must be (h, w)")]
        for good, msg in ok:
            if not good:
                raise GenlabError(msg)


class DiagonalGaussian:
    r"""$q(z|x) = \mathcal{N}(\mu, \mathrm{diag}\,\exp(\mathrm{logvar}))$ for a batch: ``mu``,
    ``logvar`` ``(B, L)``."""

    def __init__(self, mu: torch.Tensor, logvar: torch.Tensor) -> None:
        self.mu, self.logvar = mu, logvar

    @property
    def mean(self) -> torch.Tensor:
        return self.mu

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    def rsample(self, k: int, generator: torch.Generator) -> torch.Tensor:
        r"""$z = \mu + \sigma \odot \epsilon$, $\epsilon \sim \mathcal{N}(0, I)$: ``(k, B, L)``."""
        eps = torch.randn((k, *self.mu.shape), generator=generator, device=self.mu.device,
                          dtype=self.mu.dtype)
        return self.mu + self.std * eps

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        r"""$\log \mathcal{N}(z; \mu, \sigma^2)$ summed over the $L$ latents: ``(k, B)``."""
        return -0.5 * (((z - self.mu) ** 2) * torch.exp(-self.logvar) + self.logvar
                       + LOG_2PI).sum(-1)

    def kl_to_prior(self) -> torch.Tensor:
        r"""$\mathrm{KL}(\mathcal{N}(\mu, \sigma^2)\,\|\,\mathcal{N}(0, I)) =
        \frac{1}{2} \sum_j (\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2)$: ``(B,)``."""
        return 0.5 * (self.mu ** 2 + torch.exp(self.logvar) - 1.0 - self.logvar).sum(-1)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    r"""$\log \mathcal{N}(z; 0, I)$ summed over the last dimension."""
    return -0.5 * (z ** 2 + LOG_2PI).sum(-1)


def bernoulli_log_prob(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    r"""$\sum_d x_d \log s(l_d) + (1 - x_d) \log(1 - s(l_d))$ with $s$ the sigmoid and $l$
    the logits (computed stably), summed over the last dimension."""
    x = x.expand_as(logits)
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


class GaussianLatentModel(VariationalModel):
    r"""The pieces every VAE with Gaussian latents shares.

    $q(z|x) = \mathcal{N}(\mu(x), \mathrm{diag}\,\sigma^2(x))$ with the encoder giving
    $(\mu, \log \sigma^2)$, each ``(B, L)``; the prior $p(z) = \mathcal{N}(0, I)$; the
    decoder maps codes ``(..., L)`` to
    ``(..., D)`` outputs (Bernoulli logits or Gaussian means). Subclasses build
    ``self.encoder`` and ``self.decoder``.
    """

    encoder: nn.Module
    decoder: nn.Module

    def posterior(self, x: torch.Tensor) -> DiagonalGaussian:
        r"""$q(z|x)$: the encoder outputs $(\mu, \log \sigma^2)$, each ``(B, L)``, in float32
        (also under bfloat16 autocast, so that the KL and the code keep their precision)."""
        mu, logvar = self.encoder(x).float().chunk(2, dim=-1)
        return DiagonalGaussian(mu, logvar.clamp(-30.0, 20.0))

    def prior_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return standard_normal_log_prob(z)

    def prior_sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn((n, self.config.latent), generator=generator, device=self.device)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder outputs for codes ``(..., L)``: Bernoulli logits or Gaussian means."""
        lead = z.shape[:-1]
        out = self.decoder(z.reshape(-1, z.shape[-1]))
        return out.reshape(*lead, self.data_dim)


@register_model
class VAE(GaussianLatentModel):
    """Gaussian VAE with an MLP or convolutional encoder/decoder (see the module docs).

    For example:

        model = VAE(VAEConfig(image_shape=(28, 28), hidden=(400,), latent=20))
        fit(model, load_dataset("fashion-mnist", binarize="bernoulli"), TrainConfig())
    """

    kind = "vae"
    config_class = VAEConfig

    def __init__(self, config: VAEConfig) -> None:
        config.validate()
        super().__init__(config)
        c = config
        self.encoder = build_encoder(c.arch, c.image_shape, c.hidden, 2 * c.latent,
                                     c.activation, c.channels)
        self.decoder = build_decoder(c.arch, c.image_shape, c.hidden, c.latent,
                                     c.activation, c.channels)
        if c.likelihood == "gaussian":
            self.log_scale = nn.Parameter(torch.full((self.data_dim,), math.log(0.1)))
        self._progress = 1.0

    # ----- the pieces -----------------------------------------------------------------------

    def decoder_log_prob(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        out = self.decode(z)                            # (k, B, D)
        if self.config.likelihood == "bernoulli":
            return bernoulli_log_prob(x, out)
        s = self.log_scale
        return -0.5 * (((x - out) ** 2) * torch.exp(-2 * s) + 2 * s + LOG_2PI).sum(-1)

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decode(z)
        return torch.sigmoid(out) if self.config.likelihood == "bernoulli" else out

    # ----- training -------------------------------------------------------------------------
    def set_progress(self, step: int, total_steps: int) -> None:
        """Called by ``genlab.train.fit`` before each step (drives KL warm-up)."""
        self._progress = step / max(1, total_steps)

    @property
    def uses_run_length(self) -> bool:
        """The KL warm-up is a fraction of the run, so a run with one depends on its length."""
        return self.config.kl_warmup > 0

    def kl_weight(self) -> float:
        r"""Linear KL warm-up: the weight $\min(1, (s / S) / f)$ at step $s$ of $S$, with $f$ the
        ``kl_warmup`` fraction (1 at evaluation)."""
        w = self.config.kl_warmup
        if not self.training or w <= 0:
            return 1.0
        return min(1.0, self._progress / w)

    def loss(self, x: torch.Tensor, generator: torch.Generator) -> LossOutput:
        """Negative ELBO (or negative IWAE bound when ``iw_train > 1``), batch mean."""
        k = self.config.iw_train
        if k == 1:
            return super().loss(x, generator)
        q = self.posterior(x)
        z = q.rsample(k, generator)
        log_px_z = self.decoder_log_prob(x, z)          # (k, B)
        log_w = log_px_z + self.prior_log_prob(z) - q.log_prob(z)
        bound = torch.logsumexp(log_w, 0) - math.log(k)  # (B,)
        kl = q.kl_to_prior()
        return LossOutput(-bound.mean(), {"iwae": bound.mean().detach(),
                                          "elbo": (log_px_z[0] - kl).mean().detach(),
                                          "kl": kl.mean().detach()})

    @torch.no_grad()
    def init_output_bias(self, mean_image: torch.Tensor) -> None:
        r"""Start the decoder at the data mean: bias $= \mathrm{logit}(\bar x)$ (Bernoulli) or
        $\bar x$ (Gaussian).

        A cheap trick that removes the first epoch's work of learning the average image.
        """
        layer = output_layer(self.decoder)
        if layer is None:
            return
        m = mean_image.reshape(-1).to(layer.bias.device, layer.bias.dtype)
        if self.config.likelihood == "bernoulli":
            m = torch.logit(m.clamp(1e-3, 1 - 1e-3))
        layer.bias.copy_(m)
