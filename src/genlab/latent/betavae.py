r"""beta-VAE (Higgins et al. 2017) and its capacity-annealed form (Burgess et al. 2018,
"Understanding disentangling in beta-VAE"), with the convolutional encoder and decoder
the disentanglement literature uses for 64x64 images.

Objective (to maximise), with $q(z|x) = \mathcal{N}(\mu(x), \mathrm{diag}\,\sigma^2(x))$,
$p(z) = \mathcal{N}(0, I)$ and a Bernoulli decoder:

* beta-VAE ($\beta = 1$: the VAE ELBO):

    $$
    \mathbb{E}_{q(z|x)}[\log p(x|z)] - \beta\,\mathrm{KL}(q(z|x)\,\|\,p(z))
    $$

* capacity, with $C = C_{\max} \min(1, \mathrm{step} / \mathrm{capacity\_steps})$ raised
  linearly from 0 nats:

    $$
    \mathbb{E}_{q(z|x)}[\log p(x|z)] - \gamma\,\left|\mathrm{KL}(q(z|x)\,\|\,p(z)) - C\right|
    $$

$\beta > 1$ presses $q(z|x)$ towards the factorised prior, which favours codes whose axes
are independent factors of variation; the capacity form instead lets the KL grow
slowly so that the latents take up one factor at a time, in the order of how much
reconstruction each buys.

Architecture (Higgins et al. 2017 appendix; Burgess et al. 2018; Locatello et al. 2019
table 1), for ``(h, w)`` divisible by 16:

* encoder: 4 x [Conv 4x4 stride 2 (32, 32, 64, 64 channels), ReLU] -> FC 256, ReLU ->
  FC 2L $(\mu, \log \sigma^2)$
* decoder: FC 256, ReLU -> FC 64 (h/16)(w/16), ReLU -> 4 x ConvTranspose 4x4 stride 2
  (64, 32, 32, 1 channels, ReLU between) -> Bernoulli logits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.latent.base import VariationalModel, register_model
from genlab.latent.networks import feature_maps
from genlab.latent.vae import GaussianLatentModel, bernoulli_log_prob
from genlab.train import LossOutput, seeded_init

CONV_CHANNELS = (32, 32, 64, 64)


@dataclass
class BetaVAEConfig:
    """A beta-VAE with the literature's 64x64 convolutional networks."""

    image_shape: tuple[int, int] = (64, 64)  # (h, w), each divisible by 16
    latent: int = 10                         # L, the dimension of z (10 in the literature)
    beta: float = 4.0                        # KL weight; 1 is the plain VAE
    capacity_max: float = 0.0                # C_max in nats; > 0 switches to |KL - C|
    capacity_steps: int = 100_000            # steps over which C rises from 0 to C_max
    gamma: float = 1000.0                    # weight of |KL - C| (Burgess et al.)
    hidden: int = 256                        # width of the fully connected layers

    def validate(self) -> None:
        """Raise ``GenlabError`` for impossible settings."""
        h, w = self.image_shape
        checks = [(h % 16 == 0 and w % 16 == 0 and h > 0 and w > 0,
                   f"the conv beta-VAE needs image sides divisible by 16, got {h}x{w}; "
                   "use 64x64 images such as dsprites"),
                  (self.latent >= 1, "the latent dimension must be >= 1"),
                  (self.beta >= 0, f"beta must be >= 0, got {self.beta}"),
                  (self.capacity_max >= 0, "the capacity C_max must be >= 0"),
                  (self.capacity_steps >= 1, "capacity steps must be >= 1"),
                  (self.gamma > 0, "gamma must be > 0"),
                  (self.hidden >= 1, "hidden must be >= 1")]
        for ok, msg in checks:
            if not ok:
                raise GenlabError(msg)


class Conv64Encoder(nn.Module):
    """``(B, h*w) -> (B, out)``: four stride-2 4x4 convolutions, then FC 256 -> FC out."""

    def __init__(self, image_shape: tuple[int, int], out: int, hidden: int = 256) -> None:
        super().__init__()
        self.image_shape = image_shape
        layers: list[nn.Module] = []
        c_in = 1
        for c in CONV_CHANNELS:
            layers += [nn.Conv2d(c_in, c, 4, stride=2, padding=1), nn.ReLU()]
            c_in = c
        self.conv = nn.Sequential(*layers)
        flat = c_in * (image_shape[0] // 16) * (image_shape[1] // 16)
        self.head = nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(feature_maps(x, (1, *self.image_shape)))  # (B, 64, h/16, w/16)
        return self.head(h.reshape(x.shape[0], -1))


class Conv64Decoder(nn.Module):
    """``(B, L) -> (B, h*w)`` logits: FC 256 -> FC 64 (h/16)(w/16) -> four 4x4 stride-2
    transposed convolutions (each doubles h and w)."""

    def __init__(self, image_shape: tuple[int, int], latent: int, hidden: int = 256) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.start = (CONV_CHANNELS[-1], image_shape[0] // 16, image_shape[1] // 16)
        self.head = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(),
                                  nn.Linear(hidden, self.start[0] * self.start[1]
                                            * self.start[2]), nn.ReLU())
        chans = (*reversed(CONV_CHANNELS), 1)  # 64, 64, 32, 32, 1
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:], strict=True)):
            layers.append(nn.ConvTranspose2d(a, b, 4, stride=2, padding=1))
            if i < len(chans) - 2:
                layers.append(nn.ReLU())
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.deconv(feature_maps(self.head(z), self.start)).reshape(z.shape[0], -1)


@register_model
class BetaVAE(GaussianLatentModel):
    """beta-VAE / capacity-annealed VAE on 64x64 binary images (see the module docs).

    For example:

        from genlab.data.dsprites import DSpritesData
        model = BetaVAE(BetaVAEConfig(beta=4.0))
        fit(model, DSpritesData(), TrainConfig(batch_size=64, lr=5e-4, max_steps=2000))
    """

    kind = "betavae"
    config_class = BetaVAEConfig

    def __init__(self, config: BetaVAEConfig) -> None:
        config.validate()
        super().__init__(config)
        self.encoder = Conv64Encoder(config.image_shape, 2 * config.latent, config.hidden)
        self.decoder = Conv64Decoder(config.image_shape, config.latent, config.hidden)
        # Convolution weights channels-last: a one-channel image is row-major and
        # channels-last at once, so without this the encoder's maps stayed row-major and
        # every step converted between the two layouts (6% of a CPU step, measured by
        # benchmarks/profile_betavae_step.py).
        self.to(memory_format=torch.channels_last)
        self._step = 0

    def decoder_log_prob(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return bernoulli_log_prob(x, self.decode(z))

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode(z))

    @torch.no_grad()
    def init_output_bias(self, mean_image: torch.Tensor) -> None:
        r"""Start the decoder at the data's mean intensity: last bias
        $= \mathrm{logit}(\bar x)$, the logit of the mean pixel.

        dSprites is 96% black; starting from the mean saves the first steps' work and
        makes it less likely that the decoder settles on a blank image with an unused code.
        """
        last = self.decoder.deconv[-1]
        m = mean_image.float().mean().clamp(1e-3, 1 - 1e-3)
        last.bias.fill_(float(torch.logit(m)))

    # ----- training -------------------------------------------------------------------------
    uses_run_length = False  # its schedules count steps, not a fraction of the run

    def set_progress(self, step: int, total_steps: int) -> None:
        """Called by ``genlab.train.fit`` before each step (drives the capacity C)."""
        self._step = step

    def capacity(self) -> float:
        r"""$C = C_{\max} \min(1, \mathrm{step} / \mathrm{capacity\_steps})$ in nats (0 when
        annealing is off)."""
        c = self.config
        return c.capacity_max * min(1.0, self._step / c.capacity_steps)

    def kl_weight(self) -> float:
        return self.config.beta

    def loss(self, x: torch.Tensor, generator: torch.Generator) -> LossOutput:
        r"""$-(\mathbb{E}_q \log p(x|z) - \beta\,\mathrm{KL})$ or
        $-(\mathbb{E}_q \log p(x|z) - \gamma\,|\mathrm{KL} - C|)$, batch mean, one
        reparameterised sample $z = \mu + \sigma \odot \epsilon$ per image."""
        x = self.check_input(x)
        t = self.elbo_terms(x, generator)
        recon, kl = t.log_px_z.mean(), t.kl.mean()
        if self.config.capacity_max > 0:
            c = self.capacity()
            loss = -recon + self.config.gamma * (kl - c).abs()
        else:
            c = 0.0
            loss = -recon + self.config.beta * kl
        return LossOutput(loss, {"elbo": (recon - kl).detach(), "recon": -recon.detach(),
                                 "kl": kl.detach(), "capacity": c})

    @torch.no_grad()
    def kl_per_latent(self, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        r"""$\frac{1}{N} \sum_n \mathrm{KL}(q(z_j|x_n)\,\|\,\mathcal{N}(0, 1))$ for each latent
        $j$: ``(L,)`` nats.

        Latents the model does not use have KL near 0 (their posterior is the prior).
        """
        return kl_per_latent(self, x, batch_size)


def build_betavae(config: BetaVAEConfig, seed: int) -> BetaVAE:
    """The beta-VAE of ``config`` with the initial weights of ``seed``.

    The one way genlab builds a seeded beta-VAE (``disentangle train``, its ``--seeds``
    stacks, ``vae train --latent-type beta`` and the benchmarks): the layers are built
    inside ``genlab.train.seeded_init``, so the same seed gives the same weights
    whichever command or function asks, and the caller's global random state is left
    as it was.
    """
    with seeded_init(seed):
        return BetaVAE(config)


def _posterior_moments(model: VariationalModel, x: torch.Tensor, batch_size: int,
                       what: str) -> torch.Tensor:
    r"""``(4, L)`` float64 means over images ``x`` of $\mu$, $\mu^2$, $\sigma^2$ and
    $\log \sigma^2$ of a Gaussian-latent model's posterior, encoded ``batch_size`` at a
    time in eval mode; ``what`` names the caller in its errors."""
    if len(x) == 0:
        raise GenlabError(f"{what} needs at least one image")
    sums = torch.zeros(4, model.latent_dim, dtype=torch.float64)
    was = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            q = model.posterior(model.check_input(x[start:start + batch_size]))
            if not hasattr(q, "logvar"):
                raise GenlabError(f"{what} needs a Gaussian-latent model (a VAE or beta-VAE)")
            mu, logvar = q.mu.double(), q.logvar.double()
            sums += torch.stack([mu.sum(0), (mu ** 2).sum(0), logvar.exp().sum(0),
                                 logvar.sum(0)]).cpu()
    model.train(was)
    return sums / len(x)


def kl_per_latent(model: VariationalModel, x: torch.Tensor, batch_size: int = 256
                  ) -> torch.Tensor:
    r"""Mean per-dimension
    $\mathrm{KL}(\mathcal{N}(\mu_j, \sigma_j^2)\,\|\,\mathcal{N}(0, 1))
    = \frac{1}{2}(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2)$ of a Gaussian-latent model
    over images ``x`` ``(N, D)``: ``(L,)``."""
    _, mean_mu2, mean_var, mean_logvar = _posterior_moments(model, x, batch_size,
                                                            "per-latent KL")
    return (0.5 * (mean_mu2 + mean_var - 1.0 - mean_logvar)).float()


class KLSplit(NamedTuple):
    """Each latent's mean KL as ``information + mismatch`` (see ``kl_split``)."""

    information: torch.Tensor  # (L,) 1/2 log(1 + Var_n(mu_nj) / E_n sigma_nj^2), nats
    mismatch: torch.Tensor     # (L,) mean KL_j - information_j, nats (the rest)
    mu_variance: torch.Tensor  # (L,) Var_n(mu_nj): below ACTIVE_VARIANCE the latent is inactive


# A latent is active when its posterior mean moves with the image: Var_x(E_q[z_j]) > 0.01
# (the "active units" of Burda, Grosse & Salakhutdinov 2016), a hundredth of the prior's
# variance; an inactive latent's traversal leaves the image as it is.
ACTIVE_VARIANCE = 0.01


def kl_split(model: VariationalModel, x: torch.Tensor, batch_size: int = 256) -> KLSplit:
    r"""Split each latent's mean KL over images ``x`` ``(N, D)`` into an estimate of the
    information the latent carries about the image and the rest.

    The mean KL is exactly

    $$
    \mathbb{E}_x \mathrm{KL}(q(z|x)\,\|\,p(z)) = I_q(x; z) + \mathrm{KL}(q(z)\,\|\,p(z)),
    $$

    with $q(z) = \mathbb{E}_x q(z|x)$ the aggregate posterior. Per latent,
    $z_j = \mu_j(x) + \sigma_j \epsilon$ is a Gaussian channel: with $\sigma_j$ the same for
    every image,
    $I(x; z_j) \le \frac{1}{2} \log\left(1 + \mathrm{Var}_n(\mu_{nj}) / \sigma_j^2\right)$
    (a Gaussian $\mu_j$ has the most entropy for its variance), with equality for Gaussian
    $\mu_j$. ``information`` is that expression with $\mathbb{E}_n \sigma_{nj}^2$ in place of
    $\sigma_j^2$ (no longer a bound when $\sigma_j$ varies with the image), and
    ``mismatch`` $= \mathrm{KL}_j -$ ``information``. Read them per latent: the latents'
    informations need not add up to $I(x; z)$, which for $N$ distinct images is at most
    $\log N$. The split is exact where it matters most: a latent whose posterior
    mean does not move with the image has information 0 and its whole KL as mismatch; it
    tells the decoder nothing through its mean. ``information + mismatch`` equals
    ``kl_per_latent``; ``mu_variance`` is $\mathrm{Var}_n(\mu_{nj})$, which
    ``ACTIVE_VARIANCE`` compares to call a latent active.
    """
    mean_mu, mean_mu2, mean_var, mean_logvar = _posterior_moments(model, x, batch_size,
                                                                  "the KL split")
    kl = 0.5 * (mean_mu2 + mean_var - 1.0 - mean_logvar)
    mu_variance = (mean_mu2 - mean_mu ** 2).clamp(min=0.0)
    information = 0.5 * torch.log1p(mu_variance / mean_var)
    return KLSplit(information.float(), (kl - information).float(), mu_variance.float())
