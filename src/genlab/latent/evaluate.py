r"""Evaluating latent models: test ELBO, the importance-weighted log-likelihood, and the
reconstruction error of autoencoders.

The IWAE estimate of $\log p(x)$ with $K$ samples $z_k \sim q(z|x)$ (Burda et al. 2016) is

$$
\mathcal{L}_K(x) = \log \frac{1}{K} \sum_{k=1}^{K} \frac{p(x|z_k)\, p(z_k)}{q(z_k|x)},
\qquad \mathcal{L}_1 = \mathrm{ELBO} \le \mathcal{L}_K \le \log p(x),
$$

and increases with $K$ towards $\log p(x)$. $K = 5000$ is the literature's choice. The $K$
samples are drawn in chunks and merged with a running log-sum-exp, so memory stays
bounded by ``max_elements`` decoder outputs whatever $K$ is.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from genlab.errors import GenlabError
from genlab.latent.base import LatentModel, VariationalModel
from genlab.progress import progress


class LikelihoodResult(NamedTuple):
    """Per-image averages in nats over ``n`` images, with standard errors over images."""

    elbo: float         # mean test ELBO (one sample per image)
    nll_iw: float       # mean -L_K(x), the IWAE estimate of -log p(x)
    k: int              # importance samples K
    n: int              # images evaluated
    elbo_se: float      # standard error of the mean ELBO
    nll_iw_se: float    # standard error of the mean -L_K
    nll_iw_per_image: torch.Tensor | None = None  # (n,) float64 -L_K(x) per image, for
    # paired comparisons of two models on the same images


def _chunk(k: int, batch: int, dim: int, max_elements: int) -> int:
    return max(1, min(k, max_elements // max(1, batch * dim)))


@torch.no_grad()
def iwae_bound(model: VariationalModel, x: torch.Tensor, k: int, generator: torch.Generator,
               max_elements: int = 2 ** 24) -> torch.Tensor:
    r"""$\mathcal{L}_K(x)$ for a ``(B, D)`` batch: ``(B,)`` nats, $K$ samples drawn in chunks.

    The posterior is computed once; chunks of $c$ samples give ``(c, B)`` log weights
    that are folded into $m = \mathrm{logsumexp}$ over all samples seen, then
    $\mathcal{L}_K = m - \log K$.
    """
    if k < 1:
        raise GenlabError(f"the number of importance samples must be >= 1, got {k}")
    x = model.check_input(x)
    q = model.posterior(x)
    c = _chunk(k, x.shape[0], model.data_dim, max_elements)
    acc = torch.full((x.shape[0],), -math.inf, device=x.device)
    done = 0
    while done < k:
        m = min(c, k - done)
        log_w = model.log_importance_weights(x, m, generator, q=q)   # (m, B)
        acc = torch.logaddexp(acc, torch.logsumexp(log_w, 0))
        done += m
    return acc - math.log(k)


@torch.no_grad()
def elbo(model: VariationalModel, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Single-sample ELBO per image, ``(B,)`` nats."""
    return model.elbo_terms(model.check_input(x), generator).elbo


@torch.no_grad()
def evaluate_likelihood(model: LatentModel, x: torch.Tensor, k: int,
                        generator: torch.Generator, batch_size: int = 100,
                        max_elements: int = 2 ** 24, show_progress: bool | None = None
                        ) -> LikelihoodResult:
    """Test ELBO and IWAE NLL (nats per image) of ``model`` on images ``x`` ``(n, D)``."""
    if not isinstance(model, VariationalModel):
        raise GenlabError(f"a {model.kind} model has no likelihood; evaluate a VAE "
                          "(autoencoders report reconstruction error instead)")
    if len(x) == 0:
        raise GenlabError("no images to evaluate")
    model.eval()
    elbos, bounds = [], []
    starts = range(0, len(x), batch_size)
    for s in progress(starts, total=len(starts), desc=f"IWAE K={k}", enabled=show_progress):
        xb = x[s:s + batch_size].to(model.device)
        elbos.append(elbo(model, xb, generator).cpu())
        bounds.append(iwae_bound(model, xb, k, generator, max_elements).cpu())
    e, b = torch.cat(elbos).double(), torch.cat(bounds).double()
    n = len(e)

    def se(t: torch.Tensor) -> float:
        return float(t.std() / math.sqrt(n)) if n > 1 else float("nan")

    return LikelihoodResult(float(e.mean()), float(-b.mean()), int(k), n, se(e), se(b), -b)


class ReconstructionResult(NamedTuple):
    """Mean reconstruction errors per image over ``n`` images."""

    mse: float    # mean over images of sum_d (x_d - x^_d)^2
    bce: float    # mean over images of the Bernoulli cross-entropy sum_d (nats)
    n: int


@torch.no_grad()
def reconstruction_error(model: LatentModel, x: torch.Tensor, batch_size: int = 500
                         ) -> ReconstructionResult:
    """Squared error and cross-entropy of ``reconstruct(x)`` against ``x`` ``(n, D)``."""
    if len(x) == 0:
        raise GenlabError("no images to evaluate")
    model.eval()
    mse = bce = 0.0
    for s in range(0, len(x), batch_size):
        xb = model.check_input(x[s:s + batch_size])
        r = model.reconstruct(xb).clamp(1e-6, 1 - 1e-6)
        mse += float(((xb - r) ** 2).sum())
        bce += float(-(xb * r.log() + (1 - xb) * (1 - r).log()).sum())
    return ReconstructionResult(mse / len(x), bce / len(x), len(x))
