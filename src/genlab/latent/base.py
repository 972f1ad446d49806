"""What every latent-variable model in genlab shares: config, save/load by kind, and the
variational interface the ELBO/IWAE code and ``genlab vae eval/sample/reconstruct`` use.

Two levels:

* ``LatentModel`` (every autoencoder and VAE): an ``nn.Module`` built from a typed
  dataclass ``config`` (which must have ``image_shape: tuple[int, int]``), trained by
  ``genlab.train.fit`` through ``loss(x, generator)``, with ``encode`` (codes),
  ``reconstruct`` and ``save``; ``load_latent_model`` rebuilds any registered
  ``kind``.
* ``VariationalModel`` (VAE-like models, encoder $q(z|x)$, decoder $p(x|z)$, prior
  $p(z)$): a subclass provides ``posterior``,
  ``prior_log_prob``, ``prior_sample``,
  ``decoder_log_prob`` and ``decode_mean``;
  the ELBO, the importance weights of the IWAE bound, ``sample`` and ``reconstruct`` then
  come for free and are the same code for Gaussian, categorical or any other latents.

Shapes: ``x`` is ``(B, D)`` with $D = h w$; a latent sample ``z`` carries leading
sample dimensions, ``(K, B, ...)``, and every log-density sums over the event dimensions
so it has shape ``(K, B)``.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Protocol

import torch
from torch import nn

from genlab import registry
from genlab.errors import GenlabError
from genlab.io import SavedModel, model_paths, open_model, save_model
from genlab.train import LossOutput
from genlab.validate import check_tensors, config_from_dict, expected_state

MODEL_REGISTRY: dict[str, type[LatentModel]] = {}


def register_model(cls: type[LatentModel]) -> type[LatentModel]:
    """Class decorator: make ``cls`` loadable by ``load_latent_model`` (and
    ``genlab.registry.load``) under ``cls.kind``."""
    MODEL_REGISTRY[cls.kind] = cls
    registry.register(cls.kind, "latent", f"{__name__}:from_saved_model")
    return cls


class LatentModel(nn.Module):
    """Base of every autoencoder and VAE (see the module docstring)."""

    kind: ClassVar[str]            # registry name saved in NAME.json
    config_class: ClassVar[type]   # the dataclass of ``config``
    nan_buffers: ClassVar[tuple[str, ...]] = ()  # buffers where NaN means "not set yet"

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    @property
    def image_shape(self) -> tuple[int, int]:
        """``(h, w)`` of the images the model was built for."""
        return tuple(self.config.image_shape)  # type: ignore[return-value]

    @property
    def data_dim(self) -> int:
        """$D = h w$."""
        h, w = self.image_shape
        return h * w

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def check_input(self, x: torch.Tensor) -> torch.Tensor:
        """Validate and flatten a batch to ``(B, D)`` on the model's device."""
        if x.dim() == 3:
            x = x.reshape(x.shape[0], -1)
        if x.dim() != 2 or x.shape[1] != self.data_dim:
            raise GenlabError(f"expected images of {self.image_shape[0]}x{self.image_shape[1]} "
                              f"= {self.data_dim} pixels, got a batch of shape "
                              f"{tuple(x.shape)}")
        return x.to(self.device, torch.float32)

    # ----- to implement -------------------------------------------------------------------
    def loss(self, x: torch.Tensor, generator: torch.Generator) -> LossOutput:
        """The training objective on a ``(B, D)`` batch (mean over the batch)."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic codes ``(B, L)`` (the posterior mean for stochastic encoders)."""
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean reconstruction ``(B, D)`` of ``x`` through the code ``encode(x)``."""
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` images ``(n, D)`` decoded from the prior (models with a prior only)."""
        raise GenlabError(f"a {self.kind} model has no prior to sample from; train a VAE")

    @property
    def latent_dim(self) -> int:
        """``L``, the length of a code."""
        return int(self.config.latent)

    # ----- saving ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], meta: dict[str, Any] | None = None) -> Path:
        """Save as ``NAME.safetensors`` + ``NAME.json`` (kind, config, ``meta``)."""
        return save_model(path, self.state_dict(), self.kind, asdict(self.config), meta)

    @classmethod
    def from_config(cls, config: Any) -> LatentModel:
        return cls(config)


def resolve_model_path(path: str | os.PathLike[str]) -> Path:
    """Accept a run folder (holding ``model.*``) or a model path ``NAME``.

    The folder of a stack of models (``RUN/seed{S}/model.*``, one per model, and no
    ``RUN/model``) is refused with the folders to choose from."""
    p = Path(path)
    if p.is_dir():
        if not any(f.exists() for f in model_paths(p / "model")):
            each = sorted((d for d in p.glob("seed*") if d.is_dir()
                           and all(f.is_file() for f in model_paths(d / "model"))),
                          key=lambda d: (len(d.name), d.name))
            if each:
                shown = ", ".join(str(d) for d in each[:4]) + (", ..." if len(each) > 4 else "")
                raise GenlabError(f"{p} holds a stack of {len(each)} models, one per seed "
                                  f"folder; give one of them: {shown}")
        p = p / "model"
    return p


def load_latent_model(path: str | os.PathLike[str], device: torch.device | str = "cpu",
                      kind: str | None = None) -> tuple[LatentModel, dict[str, Any]]:
    """Load any registered latent model from ``NAME`` or a run folder: ``(model, meta)``."""
    saved = open_model(resolve_model_path(path))
    return registry.load_saved(saved, device, family="latent", kind=kind), saved.meta


def from_saved_model(saved: SavedModel, device: torch.device | str = "cpu") -> LatentModel:
    """The registry's builder for every latent kind (see ``genlab.registry``): the
    config and every tensor checked against a freshly built model of the class."""
    if saved.kind not in MODEL_REGISTRY:
        raise GenlabError(f"{saved.where} holds a {saved.kind!r} model, not an autoencoder "
                          f"or VAE (known: {', '.join(sorted(MODEL_REGISTRY))})")
    cls = MODEL_REGISTRY[saved.kind]
    tensors = saved.tensors(nan_ok=cls.nan_buffers)
    cfg = config_from_dict(cls.config_class, saved.config, saved.where)
    check_tensors(tensors, expected_state(lambda: cls.from_config(cfg), saved.where),
                  saved.where)
    with torch.random.fork_rng(devices=[]):  # the initial weights are overwritten: building
        model = cls.from_config(cfg)         # them must not move the caller's global RNG
    model.load_state_dict(tensors)
    return model.to(device).eval()


# ----- variational models --------------------------------------------------------------------

class Posterior(Protocol):
    """$q(z|x)$ for a batch: what ``VariationalModel`` needs from it."""

    @property
    def mean(self) -> torch.Tensor:
        """A representative code per row, ``(B, ...)`` (mean or mode)."""
        ...

    def rsample(self, k: int, generator: torch.Generator) -> torch.Tensor:
        """``k`` samples ``(k, B, ...)``, reparameterised where the family allows."""
        ...

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        r"""$\log q(z|x)$ for ``z`` of shape ``(k, B, ...)``: ``(k, B)``."""
        ...

    def kl_to_prior(self) -> torch.Tensor:
        r"""$\mathrm{KL}(q(z|x)\,\|\,p(z))$ in closed form, ``(B,)``."""
        ...


class ELBOTerms(NamedTuple):
    r"""Per-example pieces of the ELBO, each ``(B,)``, in nats.

    ``elbo = log_px_z - kl`` with ``log_px_z`` the Monte Carlo estimate of
    $\mathbb{E}_{q(z|x)}[\log p(x|z)]$ and ``kl`` $= \mathrm{KL}(q(z|x)\,\|\,p(z))$.
    """

    elbo: torch.Tensor
    log_px_z: torch.Tensor
    kl: torch.Tensor


class VariationalModel(LatentModel):
    """A latent model with encoder $q(z|x)$, decoder $p(x|z)$ and prior $p(z)$."""

    def posterior(self, x: torch.Tensor) -> Posterior:
        """$q(z|x)$ for a ``(B, D)`` batch."""
        raise NotImplementedError

    def prior_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        r"""$\log p(z)$ for ``(k, B, ...)`` samples: ``(k, B)``."""
        raise NotImplementedError

    def prior_sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` draws from $p(z)$: ``(n, ...)``."""
        raise NotImplementedError

    def decoder_log_prob(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r"""$\log p(x|z)$ for ``x`` ``(B, D)`` and ``z`` ``(k, B, ...)``: ``(k, B)``."""
        raise NotImplementedError

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        r"""$\mathbb{E}[x|z]$ for codes ``(..., L)``: ``(..., D)``."""
        raise NotImplementedError

    def kl_weight(self) -> float:
        """Weight of the KL term in the training loss (1 = the ELBO)."""
        return 1.0

    # ----- provided -----------------------------------------------------------------------
    def elbo_terms(self, x: torch.Tensor, generator: torch.Generator) -> ELBOTerms:
        r"""$\mathrm{ELBO} = \mathbb{E}_{q(z|x)}[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z))$,
        with one sample $z$ from ``rsample`` and the KL in closed form."""
        q = self.posterior(x)
        z = q.rsample(1, generator)                     # (1, B, ...)
        log_px_z = self.decoder_log_prob(x, z)[0]       # (B,)
        kl = q.kl_to_prior()                            # (B,)
        return ELBOTerms(log_px_z - kl, log_px_z, kl)

    def log_importance_weights(self, x: torch.Tensor, k: int, generator: torch.Generator,
                               q: Posterior | None = None) -> torch.Tensor:
        r"""$\log w_k = \log p(x|z_k) + \log p(z_k) - \log q(z_k|x)$ with
        $z_k \sim q(z|x)$: ``(k, B)``.

        $\log \frac{1}{K} \sum_{k=1}^{K} w_k$ is the IWAE bound (Burda et al. 2016), a lower
        bound on $\log p(x)$ that increases with $K$.
        """
        q = self.posterior(x) if q is None else q
        z = q.rsample(k, generator)                     # (k, B, ...)
        return self.decoder_log_prob(x, z) + self.prior_log_prob(z) - q.log_prob(z)

    def loss(self, x: torch.Tensor, generator: torch.Generator) -> LossOutput:
        """Negative ELBO (KL weighted by ``kl_weight``), mean over the batch."""
        t = self.elbo_terms(x, generator)
        beta = self.kl_weight()
        loss = -(t.log_px_z - beta * t.kl).mean()
        return LossOutput(loss, {"elbo": t.elbo.mean().detach(),
                                 "recon": -t.log_px_z.mean().detach(),
                                 "kl": t.kl.mean().detach()})

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(self.check_input(x)).mean

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_mean(self.encode(x))

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.decode_mean(self.prior_sample(n, generator))
