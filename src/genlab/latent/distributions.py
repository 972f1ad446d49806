r"""The Gumbel distribution and the Concrete (relaxed one-hot categorical) density.

$\mathrm{Gumbel}(\mu, \beta)$, with $z = (x - \mu) / \beta$:

* pdf $f(x) = \frac{1}{\beta} \exp(-(z + e^{-z}))$, cdf $F(x) = \exp(-e^{-z})$,
* quantile $F^{-1}(p) = \mu - \beta \log(-\log p)$, so $X = \mu - \beta \log(-\log U)$,
* mean $\mu + \beta \gamma_E$ ($\gamma_E$ Euler's constant), variance $\pi^2 \beta^2 / 6$.

$\mathrm{Concrete}(\alpha, \lambda)$ on the simplex $\Delta^{K-1}$ (Maddison, Mnih & Teh
2017, eq. 6; the law of a Gumbel-softmax sample with $\alpha = \exp(\mathrm{logits})$,
$\lambda = \tau$):

$$
p(x) = (K-1)!\, \lambda^{K-1} \frac{\prod_{k=1}^{K} \alpha_k x_k^{-\lambda-1}}
       {\left(\sum_{i=1}^{K} \alpha_i x_i^{-\lambda}\right)^K}
$$

a density with respect to Lebesgue measure on the first $K-1$ coordinates
$(x_1, \dots, x_{K-1})$, with $x_K = 1 - \sum_{k<K} x_k$.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from genlab.errors import GenlabError
from genlab.latent.gumbel import check_logits, standard_gumbel

__all__ = ["Gumbel", "concrete_log_prob"]

EULER_GAMMA = 0.5772156649015329


def _param(value: float | torch.Tensor) -> torch.Tensor:
    """A parameter as a tensor: python numbers become float64 scalars."""
    return value if isinstance(value, torch.Tensor) else torch.tensor(value, dtype=torch.float64)


@dataclass(frozen=True)
class Gumbel:
    r"""The Gumbel (type-I extreme value) distribution with location ``loc`` and scale ``scale``.

    ``loc`` ($\mu$) and ``scale`` ($\beta$) are floats or tensors that broadcast together;
    ``scale`` $> 0$.
    """

    loc: float | torch.Tensor = 0.0
    scale: float | torch.Tensor = 1.0

    def __post_init__(self) -> None:
        scale = torch.as_tensor(self.scale)
        loc = torch.as_tensor(self.loc)
        if not bool(torch.isfinite(loc).all()):
            raise GenlabError("Gumbel loc must be finite")
        if not bool(torch.isfinite(scale).all()) or not bool((scale > 0).all()):
            raise GenlabError("Gumbel scale must be finite and > 0")

    def _z(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.loc) / self.scale

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r"""$\log f(x) = -\log \beta - z - e^{-z}$, elementwise."""
        z = self._z(torch.as_tensor(x))
        return -torch.log(torch.as_tensor(self.scale, dtype=z.dtype)) - z - torch.exp(-z)

    def pdf(self, x: torch.Tensor) -> torch.Tensor:
        r"""$f(x) = \frac{1}{\beta} \exp(-(z + e^{-z}))$, elementwise."""
        return torch.exp(self.log_prob(x))

    def cdf(self, x: torch.Tensor) -> torch.Tensor:
        r"""$F(x) = \exp(-e^{-z})$, elementwise."""
        return torch.exp(-torch.exp(-self._z(torch.as_tensor(x))))

    def icdf(self, p: torch.Tensor) -> torch.Tensor:
        r"""The quantile $F^{-1}(p) = \mu - \beta \log(-\log p)$ for $p$ in $(0, 1)$."""
        return self.loc - self.scale * torch.log(-torch.log(torch.as_tensor(p)))

    @property
    def mean(self) -> torch.Tensor:
        r"""$\mu + \beta \gamma_E$ (float64 unless the parameters are tensors)."""
        return _param(self.loc) + _param(self.scale) * EULER_GAMMA

    @property
    def variance(self) -> torch.Tensor:
        r"""$\pi^2 \beta^2 / 6$ (float64 unless the parameters are tensors)."""
        return (math.pi ** 2 / 6) * _param(self.scale) ** 2

    def sample(self, shape: tuple[int, ...] = (), generator: torch.Generator | None = None,
               device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
               ) -> torch.Tensor:
        r"""Draws $\mu + \beta G$ with $G = -\log(-\log U)$, of shape ``shape + batch_shape``.

        ``batch_shape`` is the broadcast shape of ``loc`` and ``scale``; $G$ comes from
        ``standard_gumbel`` (never infinite).
        """
        loc = torch.as_tensor(self.loc, dtype=dtype, device=device)
        scale = torch.as_tensor(self.scale, dtype=dtype, device=device)
        batch = torch.broadcast_shapes(loc.shape, scale.shape)
        g = standard_gumbel(tuple(shape) + tuple(batch), generator, device, dtype)
        return loc + scale * g


def concrete_log_prob(x: torch.Tensor, logits: torch.Tensor, tau: float,
                      dim: int = -1) -> torch.Tensor:
    r"""Log density of the Concrete distribution (the Gumbel-softmax sample's law).

    $$
    \log p(x) = \log (K-1)! + (K-1) \log \tau + \sum_k \left(a_k - (\tau+1) \log x_k\right)
        - K\, \mathrm{logsumexp}_k (a_k - \tau \log x_k)
    $$

    with $a$ = ``logits`` ($\alpha = e^a$; the value does not change when a constant is
    added to the logits). It is a density in the first $K-1$ coordinates of ``x``; it is
    $-\infty$ outside the open simplex.

    Args:
        x: ``(..., K)`` points of the simplex (category axis ``dim``).
        logits: ``(..., K)`` finite logits, broadcastable with ``x``.
        tau: the temperature $\lambda > 0$.
        dim: the category axis.

    Returns:
        The log density, ``x``'s shape without ``dim``.
    """
    check_logits(logits, dim)
    if torch.isinf(logits).any():
        raise GenlabError("the Concrete density needs finite logits")
    if not tau > 0:
        raise GenlabError(f"temperature tau must be > 0, got {tau!r}")
    k = x.shape[dim]
    log_x = torch.log(x)
    out = (math.lgamma(k) + (k - 1) * math.log(tau)
           + (logits - (tau + 1) * log_x).sum(dim)
           - k * torch.logsumexp(logits - tau * log_x, dim))
    inside = (x > 0).all(dim) & ((x.sum(dim) - 1).abs() < 1e-4)
    return torch.where(inside, out, torch.full_like(out, -math.inf))
