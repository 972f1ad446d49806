r"""The categorical VAE (Jang, Gu & Poole 2017): M categorical latents with K classes each.

Latent $z = (z_1, \dots, z_M)$, each $z_m$ one-hot of length $K$; stored flat as a
``(..., M*K)`` vector. Prior $p(z) = \prod_m \mathrm{Uniform}\{1..K\}$, so
$\log p(z) = -M \log K$. Encoder $q(z|x) = \prod_m \mathrm{Categorical}(\pi_m(x))$,
$\pi_m = \mathrm{softmax}(\mathrm{logits}_m)$; decoder Bernoulli $p(x|z)$ with logits from
an MLP (or conv net) of $z$. The ELBO

$$
\mathcal{L}(x) = \mathbb{E}_{q(z|x)}[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z)),
\qquad
\mathrm{KL}(q(z|x)\,\|\,p(z)) = \sum_{m=1}^{M} \sum_{k=1}^{K} \pi_{mk} (\log \pi_{mk} + \log K)
$$

(the KL in closed form) is trained with one of three gradient estimators for the
reconstruction term:

* ``gumbel``: the decoder sees the relaxed sample
  $y = \mathrm{softmax}((\mathrm{logits} + G) / \tau)$
  (biased, low variance; Jang et al. 2017, Maddison et al. 2017);
* ``straight-through``: the decoder sees $\mathrm{one\_hot}(\arg\max y)$ in the forward
  pass and the gradient of $y$ in the backward pass;
* ``reinforce``: the score function $(f(z) - b) \nabla \log q(z|x)$ with an exact sample
  $z$ and $f = -\log p(x|z)$, $b$ an exponential moving average of $f$
  (unbiased, high variance; Williams 1992).

The KL term is differentiated exactly in every case. The temperature is annealed with
the training step $t$ as $\tau_t = \max(\tau_{\min}, \tau_0 e^{-r t})$.

Evaluation (``elbo_terms``, ``log_importance_weights``) always uses exact one-hot samples
$z \sim q(z|x)$ (Gumbel-max), so the ELBO and the IWAE bound are bounds on $\log p(x)$ of
the discrete model, whatever estimator trained it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from genlab.errors import GenlabError
from genlab.latent.base import VariationalModel, register_model
from genlab.latent.gumbel import gumbel_max, gumbel_softmax
from genlab.latent.networks import ARCHITECTURES, build_decoder, build_encoder, output_layer
from genlab.train import LossOutput

__all__ = ["ESTIMATORS", "CategoricalPosterior", "CategoricalVAE", "CategoricalVAEConfig",
           "categorical_kl_uniform", "parse_categories", "temperature"]

ESTIMATORS = ("gumbel", "straight-through", "reinforce")


@dataclass
class CategoricalVAEConfig:
    r"""A VAE with $M \times K$ categorical latents (default $20 \times 10$ as in Jang et al.
    2017)."""

    image_shape: tuple[int, int] = (28, 28)  # (h, w); D = h * w
    arch: str = "mlp"                        # mlp | conv
    hidden: tuple[int, ...] = (512, 256)     # encoder hidden sizes (decoder: reversed)
    n_latent: int = 20                       # M categorical variables
    n_categories: int = 10                   # K classes each
    activation: str = "relu"                 # relu | elu | gelu | silu | tanh
    channels: tuple[int, ...] = (32, 64)     # conv channels (arch=conv)
    estimator: str = "gumbel"                # gumbel | straight-through | reinforce
    tau0: float = 1.0                        # initial temperature
    tau_min: float = 0.5                     # temperature floor
    anneal_rate: float = 1e-4                # r in tau_t = max(tau_min, tau0 exp(-r t))
    baseline_decay: float = 0.99             # EMA decay of the REINFORCE baseline

    def validate(self) -> None:
        """Raise ``GenlabError`` for impossible settings."""
        ok = [(self.arch in ARCHITECTURES, f"unknown architecture {self.arch!r}; choose one "
               f"of {', '.join(ARCHITECTURES)}"),
              (self.estimator in ESTIMATORS, f"unknown estimator {self.estimator!r}; choose "
               f"one of {', '.join(ESTIMATORS)}"),
              (self.n_latent >= 1, "the number of categorical latents M must be >= 1"),
              (self.n_categories >= 2, "each categorical latent needs K >= 2 classes"),
              (all(h >= 1 for h in self.hidden), "hidden sizes must be >= 1"),
              (self.tau0 > 0 and self.tau_min > 0, "temperatures tau0 and tau_min must be > 0"),
              (self.anneal_rate >= 0, "the annealing rate must be >= 0"),
              (0 <= self.baseline_decay < 1, "baseline_decay must be in [0, 1)"),
              (len(self.image_shape) == 2 and min(self.image_shape) >= 1,
               "image_shape must be (h, w)")]
        for good, msg in ok:
            if not good:
                raise GenlabError(msg)


def parse_categories(text: str) -> tuple[int, int]:
    """``"20x10"`` -> ``(M, K) = (20, 10)``; raises GenlabError for anything else."""
    parts = text.lower().split("x")
    try:
        m, k = (int(p) for p in parts)
    except ValueError:
        raise GenlabError(f"categories must look like MxK (e.g. 20x10), got {text!r}") from None
    if m < 1 or k < 2:
        raise GenlabError(f"categories MxK need M >= 1 and K >= 2, got {text!r}")
    return m, k


def temperature(step: int, tau0: float, tau_min: float, rate: float) -> float:
    r"""The annealing schedule $\tau_t = \max(\tau_{\min}, \tau_0 e^{-r t})$."""
    return max(tau_min, tau0 * math.exp(-rate * step))


def categorical_kl_uniform(logits: torch.Tensor) -> torch.Tensor:
    r"""$\mathrm{KL}(q\,\|\,\mathrm{Uniform}) = \sum_m \sum_k \pi_{mk} (\log \pi_{mk} + \log K)$
    for ``(..., M, K)`` logits; returns ``(...)``. Exact ($0 \log 0 = 0$), differentiable."""
    log_pi = torch.log_softmax(logits, dim=-1)
    k = logits.shape[-1]
    return (log_pi.exp() * (log_pi + math.log(k))).sum((-2, -1))


class CategoricalPosterior:
    r"""$q(z|x) = \prod_m \mathrm{Categorical}(\mathrm{softmax}(\mathrm{logits}_m))$ for a
    batch; logits ``(B, M, K)``.

    Samples are flat one-hot vectors ``(k, B, M*K)``.
    """

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits
        self.log_pi = torch.log_softmax(logits, dim=-1)   # (B, M, K)

    @property
    def mean(self) -> torch.Tensor:
        r"""The probabilities $\pi$, flat ``(B, M*K)`` ($\mathbb{E}_q[z]$)."""
        return self.log_pi.exp().flatten(-2)

    def _expand(self, k: int) -> torch.Tensor:
        return self.logits.unsqueeze(0).expand(k, *self.logits.shape)

    def rsample(self, k: int, generator: torch.Generator) -> torch.Tensor:
        """``k`` exact one-hot draws by Gumbel-max, ``(k, B, M*K)`` (no gradient)."""
        index = gumbel_max(self._expand(k), generator)                 # (k, B, M)
        return F.one_hot(index, self.logits.shape[-1]).to(self.logits.dtype).flatten(-2)

    def relaxed_sample(self, k: int, tau: float, hard: bool,
                       generator: torch.Generator) -> torch.Tensor:
        """``k`` Gumbel-softmax (or straight-through when ``hard``) draws ``(k, B, M*K)``."""
        return gumbel_softmax(self._expand(k), tau, hard=hard, generator=generator).flatten(-2)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        r"""$\log q(z|x) = \sum_m \sum_k z_{mk} \log \pi_{mk}$ for one-hot ``(k, B, M*K)``:
        ``(k, B)``."""
        return (z * self.log_pi.flatten(-2)).sum(-1)

    def kl_to_prior(self) -> torch.Tensor:
        r"""$\mathrm{KL}(q(z|x)\,\|\,\mathrm{Uniform})$ in closed form, ``(B,)``."""
        return categorical_kl_uniform(self.logits)


@register_model
class CategoricalVAE(VariationalModel):
    r"""VAE with $M \times K$ categorical latents (see the module docstring).

    For example:

        model = CategoricalVAE(CategoricalVAEConfig(n_latent=20, n_categories=10,
                                                    estimator="gumbel"))
        fit(model, load_dataset("mnist5k", binarize="bernoulli"), TrainConfig(epochs=50))
    """

    kind = "categorical_vae"
    config_class = CategoricalVAEConfig
    nan_buffers = ("baseline",)

    def __init__(self, config: CategoricalVAEConfig) -> None:
        config.validate()
        super().__init__(config)
        c = config
        mk = c.n_latent * c.n_categories
        self.encoder = build_encoder(c.arch, c.image_shape, c.hidden, mk, c.activation,
                                     c.channels)
        self.decoder = build_decoder(c.arch, c.image_shape, c.hidden, mk, c.activation,
                                     c.channels)
        # REINFORCE baseline b (EMA of f = -log p(x|z)); NaN until the first batch sets it
        self.register_buffer("baseline", torch.tensor(float("nan")))
        self._step = 0

    @property
    def latent_dim(self) -> int:
        """$M K$, the length of a flat one-hot code."""
        return self.config.n_latent * self.config.n_categories

    # ----- the pieces -----------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> CategoricalPosterior:
        """$q(z|x)$: the encoder's ``(B, M*K)`` output read as ``(B, M, K)`` logits."""
        logits = self.encoder(x).reshape(x.shape[0], self.config.n_latent,
                                         self.config.n_categories)
        return CategoricalPosterior(logits)

    def prior_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        r"""$\log p(z) = -M \log K$ for every one-hot ``z`` ``(k, B, M*K)``: ``(k, B)``."""
        value = -self.config.n_latent * math.log(self.config.n_categories)
        return torch.full(z.shape[:-1], value, dtype=z.dtype, device=z.device)

    def prior_sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` uniform one-hot codes ``(n, M*K)``."""
        m, k = self.config.n_latent, self.config.n_categories
        index = torch.randint(k, (n, m), generator=generator, device=self.device)
        return F.one_hot(index, k).float().flatten(-2)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits ``(..., D)`` for codes ``(..., M*K)``."""
        lead = z.shape[:-1]
        return self.decoder(z.reshape(-1, z.shape[-1])).reshape(*lead, self.data_dim)

    def decoder_log_prob(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r"""$\log p(x|z) = \sum_d x_d \log s(l_d) + (1 - x_d) \log(1 - s(l_d))$, with $s$ the
        sigmoid and $l$ the decoder's logits: ``(k, B)``."""
        logits = self.decode(z)
        return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits),
                                                   reduction="none").sum(-1)

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode(z))

    # ----- training -------------------------------------------------------------------------
    uses_run_length = False  # its schedules count steps, not a fraction of the run

    def set_progress(self, step: int, total_steps: int) -> None:
        """Called by ``genlab.train.fit`` before each step (drives the annealing)."""
        self._step = step

    @property
    def tau(self) -> float:
        r"""The current temperature $\max(\tau_{\min}, \tau_0 e^{-r t})$."""
        c = self.config
        return temperature(self._step, c.tau0, c.tau_min, c.anneal_rate)

    def loss(self, x: torch.Tensor, generator: torch.Generator) -> LossOutput:
        r"""The training objective for the configured estimator, mean over the batch.

        ``gumbel``/``straight-through``: $-\log p(x|y) + \mathrm{KL}$ with $y$ the relaxed
        (or straight-through) sample. ``reinforce``: the surrogate
        $f + \mathrm{KL} + (f - b)\left(\log q(z|x) - \mathrm{stop\_grad}(\log q(z|x))\right)$
        with $f = -\log p(x|z)$ and $z$ an exact sample: its value is the one-sample
        negative ELBO $f + \mathrm{KL}$ and its gradient the score-function estimator plus the
        exact gradients of $f$ (in the decoder) and of the KL.
        """
        c = self.config
        q = self.posterior(x)
        kl = q.kl_to_prior()                                           # (B,)
        tau = self.tau
        if c.estimator == "reinforce":
            z = q.rsample(1, generator)                                # (1, B, M*K)
            f = -self.decoder_log_prob(x, z)[0]                        # (B,)
            log_q = q.log_prob(z)[0]                                   # (B,)
            with torch.no_grad():
                batch_f = f.mean()
                b = batch_f if torch.isnan(self.baseline) else self.baseline
                if self.training:
                    d = c.baseline_decay
                    new = batch_f if torch.isnan(self.baseline) else d * self.baseline \
                        + (1 - d) * batch_f
                    self.baseline.copy_(new)
            # (f - b)(log q - stop_grad(log q)) is 0 in value and has the score-function
            # gradient (f - b) grad log q, so the loss value stays the negative ELBO estimate
            surrogate = f + kl + (f.detach() - b) * (log_q - log_q.detach())
        else:
            z = q.relaxed_sample(1, tau, c.estimator == "straight-through", generator)
            f = -self.decoder_log_prob(x, z)[0]
            surrogate = f + kl
        loss = surrogate.mean()
        return LossOutput(loss, {"neg_elbo": (f + kl).mean().detach(), "recon": f.mean().detach(),
                                 "kl": kl.mean().detach(), "tau": tau})

    @torch.no_grad()
    def init_output_bias(self, mean_image: torch.Tensor) -> None:
        r"""Start the decoder at the data mean: output bias $= \mathrm{logit}(\bar x)$."""
        layer = output_layer(self.decoder)
        if layer is None:
            return
        m = mean_image.reshape(-1).to(layer.bias.device, layer.bias.dtype)
        layer.bias.copy_(torch.logit(m.clamp(1e-3, 1 - 1e-3)))
