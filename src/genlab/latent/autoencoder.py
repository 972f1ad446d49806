r"""Autoencoders: deterministic, stochastic and denoising (the lecture's chapter on AEs).

* Deterministic: code $h = f(x)$, reconstruction $r = g(h)$, loss $\|g(f(x)) - x\|^2$
  (``loss='mse'``) or the Bernoulli cross-entropy
  $-\sum_d \left[x_d \log r_d + (1 - x_d) \log(1 - r_d)\right]$ with
  $r = \mathrm{sigmoid}(g(f(x)))$ (``loss='bce'``). With no hidden layers and
  ``activation='linear'`` it is a linear autoencoder, whose optimum under squared error
  spans the PCA subspace (Baldi & Hornik 1989).
* Stochastic (``code_noise`` $= s > 0$): the encoder is a distribution
  $p(h|x) = \mathcal{N}(f(x), s^2 I)$ and the decoder $p(x|h)$ (Bernoulli for bce,
  Gaussian for mse); training minimises $\mathbb{E}_{h \sim p(h|x)}[-\log p(x|h)]$ with one
  reparameterised draw $h = f(x) + s\,\epsilon$, $\epsilon \sim \mathcal{N}(0, I)$.
* Denoising (``corrupt='KIND:LEVEL'``): trained to reconstruct the clean $x$ from a
  corrupted $\tilde x \sim C(\tilde x|x)$: loss $L(g(f(\tilde x)), x)$
  (Vincent et al. 2008).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from genlab.errors import GenlabError
from genlab.latent.base import LatentModel, register_model
from genlab.latent.corruption import parse_corruption
from genlab.latent.networks import ACTIVATIONS, ARCHITECTURES, build_decoder, build_encoder
from genlab.train import LossOutput

AE_LOSSES = ("bce", "mse")


@dataclass
class AEConfig:
    """An autoencoder."""

    image_shape: tuple[int, int] = (28, 28)  # (h, w); D = h * w
    arch: str = "mlp"                        # mlp | conv
    hidden: tuple[int, ...] = (256,)         # encoder hidden sizes (decoder: reversed)
    latent: int = 32                         # L, the code size
    activation: str = "relu"                 # hidden activation, or "linear" (no hidden)
    channels: tuple[int, ...] = (32, 64)     # conv channels (arch=conv)
    loss: str = "bce"                        # bce (binary/[0,1] data) | mse
    code_noise: float = 0.0                  # s > 0: stochastic encoder N(f(x), s^2 I)
    corrupt: str = ""                        # denoising: gauss:S | mask:P | saltpepper:P

    def validate(self) -> None:
        """Raise ``GenlabError`` for impossible settings."""
        ok = [(self.arch in ARCHITECTURES, f"unknown architecture {self.arch!r}"),
              (self.loss in AE_LOSSES, f"unknown loss {self.loss!r}; choose bce or mse"),
              (self.latent >= 1, "the latent dimension must be >= 1"),
              (self.code_noise >= 0, "code noise must be >= 0"),
              (self.activation == "linear" or self.activation in ACTIVATIONS,
               f"unknown activation {self.activation!r}"),
              (self.activation != "linear" or (not self.hidden and self.arch == "mlp"),
               "a linear autoencoder has no hidden layers: use --hidden none with --arch mlp")]
        for good, msg in ok:
            if not good:
                raise GenlabError(msg)
        parse_corruption(self.corrupt)


@register_model
class Autoencoder(LatentModel):
    """Deterministic, stochastic or denoising autoencoder (see the module docstring).

    For example:

        ae = Autoencoder(AEConfig(image_shape=(8, 8), hidden=(), latent=5,
                                  activation="linear", loss="mse"))
        fit(ae, load_dataset("digits"), TrainConfig(epochs=50))
        codes = ae.encode(x)            # (B, 5)
    """

    kind = "autoencoder"
    config_class = AEConfig

    def __init__(self, config: AEConfig) -> None:
        config.validate()
        super().__init__(config)
        c = config
        act = "relu" if c.activation == "linear" else c.activation
        self.encoder = build_encoder(c.arch, c.image_shape, c.hidden, c.latent, act, c.channels)
        self.decoder = build_decoder(c.arch, c.image_shape, c.hidden, c.latent, act, c.channels)
        self.corruption = parse_corruption(c.corrupt)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """$h = f(x)$: ``(B, L)`` (the mean of $p(h|x)$ when stochastic)."""
        return self.encoder(self.check_input(x))

    def decode_logits(self, h: torch.Tensor) -> torch.Tensor:
        """$g(h)$ before the output non-linearity: ``(B, D)``."""
        return self.decoder(h)

    def decode_mean(self, h: torch.Tensor) -> torch.Tensor:
        """Reconstruction $r = g(h)$ in data space: sigmoid for bce, identity for mse."""
        out = self.decoder(h)
        return torch.sigmoid(out) if self.config.loss == "bce" else out

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_mean(self.encode(x))

    def reconstruction_loss(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-example loss ``(B,)`` of decoder outputs ``out`` against targets ``x``."""
        if self.config.loss == "bce":
            return F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(-1)
        return ((out - x) ** 2).sum(-1)

    def loss(self, x: torch.Tensor, generator: torch.Generator) -> LossOutput:
        r"""Mean over the batch of $L(g(h), x)$, with $h = f(\tilde x)$ (plus the code noise)."""
        inp = self.corruption(x, generator) if self.corruption is not None else x
        h = self.encoder(inp)                                      # (B, L)
        if self.config.code_noise > 0:
            h = h + self.config.code_noise * torch.randn(h.shape, generator=generator,
                                                         device=h.device, dtype=h.dtype)
        per = self.reconstruction_loss(self.decoder(h), x)        # (B,)
        return LossOutput(per.mean(), {self.config.loss: per.mean().detach()})

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        raise GenlabError("an autoencoder has no prior p(h) to sample from; train a VAE "
                          "(genlab vae train) to draw new images")

    def linear_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        r"""$(W_{\mathrm{enc}}, W_{\mathrm{dec}})$, of shapes ``(L, D)`` and ``(D, L)``, of a
        linear autoencoder."""
        if self.config.activation != "linear":
            raise GenlabError("linear_weights needs activation='linear' and no hidden layers")
        return self.encoder[0].weight, self.decoder[0].weight
