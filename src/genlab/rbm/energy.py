"""The restricted Boltzmann machine's energy, conditionals and free energy, as tensor functions.

Notation (scikit-learn's attribute names in brackets): visible units ``v`` of shape
``(batch, n_v)``, hidden units ``h in {0,1}^{n_h}`` of shape ``(batch, n_h)``, weights
``W`` of shape ``(n_h, n_v)`` (``components_``), visible biases ``b`` (``intercept_visible_``)
and hidden biases ``c`` (``intercept_hidden_``).

Bernoulli visible units, ``v in {0,1}^{n_v}``::

    E(v, h) = - b'v - c'h - h'W v
    P(h_j = 1 | v) = sigmoid(c_j + W_j v),   P(v_i = 1 | h) = sigmoid(b_i + (W'h)_i)
    F(v) = -log sum_h exp(-E(v, h)) = - b'v - sum_j softplus(c_j + W_j v)

Gaussian visible units with variances ``sigma_i^2 = exp(z_i)`` (Cho, Ilin and Raiko 2011)::

    E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c'h - h'W (v / sigma^2)
    P(h_j = 1 | v) = sigmoid(c_j + W_j (v / sigma^2)),   p(v_i | h) = N(b_i + (W'h)_i, sigma_i^2)
    F(v) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - sum_j softplus(c_j + W_j (v / sigma^2))

Every function is batched over the first dimension and runs on whatever device the
tensors live on.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2.0 * math.pi)


class RBMParams(NamedTuple):
    """The parameters of one RBM (Bernoulli visible units when ``log_var`` is None).

    Attributes:
        weights: ``W``, ``(n_h, n_v)``.
        visible_bias: ``b``, ``(n_v,)``.
        hidden_bias: ``c``, ``(n_h,)``.
        log_var: ``z = log sigma^2``, ``(n_v,)`` for Gaussian visible units, else None.
    """

    weights: torch.Tensor
    visible_bias: torch.Tensor
    hidden_bias: torch.Tensor
    log_var: torch.Tensor | None = None

    @property
    def gaussian(self) -> bool:
        """True for Gaussian visible units."""
        return self.log_var is not None

    @property
    def n_visible(self) -> int:
        return int(self.weights.shape[1])

    @property
    def n_hidden(self) -> int:
        return int(self.weights.shape[0])


def scaled_visible(p: RBMParams, v: torch.Tensor) -> torch.Tensor:
    """``v / sigma^2`` for Gaussian units and ``v`` itself for Bernoulli units; ``(B, n_v)``."""
    return v if p.log_var is None else v * torch.exp(-p.log_var)


def hidden_input(p: RBMParams, v: torch.Tensor) -> torch.Tensor:
    """The hidden units' total input ``c + W (v / sigma^2)``, ``(B, n_h)``."""
    return torch.addmm(p.hidden_bias, scaled_visible(p, v), p.weights.t())


def hidden_probs(p: RBMParams, v: torch.Tensor) -> torch.Tensor:
    """``P(h = 1 | v) = sigmoid(c + W v / sigma^2)``, ``(B, n_h)``."""
    return torch.sigmoid(hidden_input(p, v))


def visible_input(p: RBMParams, h: torch.Tensor) -> torch.Tensor:
    """``b + W'h``, ``(B, n_v)``: the logit (Bernoulli) or the mean (Gaussian) of ``v | h``."""
    return torch.addmm(p.visible_bias, h, p.weights)


def visible_mean(p: RBMParams, h: torch.Tensor) -> torch.Tensor:
    """``E[v | h]``: ``sigmoid(b + W'h)`` (Bernoulli) or ``b + W'h`` (Gaussian), ``(B, n_v)``."""
    x = visible_input(p, h)
    return x if p.gaussian else torch.sigmoid(x)


def bernoulli(probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Binary samples ``1[u < p]`` with ``u ~ U(0, 1)``, same shape and dtype as ``probs``."""
    u = torch.rand(probs.shape, generator=generator, device=probs.device, dtype=probs.dtype)
    return (u < probs).to(probs.dtype)


def sample_hidden(p: RBMParams, v: torch.Tensor, generator: torch.Generator | None
                  ) -> torch.Tensor:
    """Draw ``h ~ P(h | v)``, ``(B, n_h)`` in {0, 1}."""
    return bernoulli(hidden_probs(p, v), generator)


def sample_visible(p: RBMParams, h: torch.Tensor, generator: torch.Generator | None
                   ) -> torch.Tensor:
    """Draw ``v ~ p(v | h)``, ``(B, n_v)``: Bernoulli or ``N(b + W'h, sigma^2)``."""
    x = visible_input(p, h)
    if p.log_var is None:
        return bernoulli(torch.sigmoid(x), generator)
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + noise * torch.exp(0.5 * p.log_var)


def free_energy(p: RBMParams, v: torch.Tensor) -> torch.Tensor:
    """``F(v) = -log sum_h exp(-E(v, h))`` for each row of ``v``; returns ``(B,)``."""
    soft = F.softplus(hidden_input(p, v)).sum(dim=1)
    if p.log_var is None:
        return -(v @ p.visible_bias) - soft
    quad = 0.5 * ((v - p.visible_bias) ** 2 * torch.exp(-p.log_var)).sum(dim=1)
    return quad - soft


def energy(p: RBMParams, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``E(v, h)`` for paired rows of ``v`` ``(B, n_v)`` and ``h`` ``(B, n_h)``; ``(B,)``."""
    inter = (hidden_input(p, v) * h).sum(dim=1)  # c'h + h'W(v / sigma^2)
    if p.log_var is None:
        return -(v @ p.visible_bias) - inter
    quad = 0.5 * ((v - p.visible_bias) ** 2 * torch.exp(-p.log_var)).sum(dim=1)
    return quad - inter


def hidden_log_marginal(p: RBMParams, h: torch.Tensor) -> torch.Tensor:
    """``log sum_v exp(-E(v, h))`` (a sum or an integral over v) for each row ``h``; ``(B,)``.

    Bernoulli: ``c'h + sum_i softplus(b_i + (W'h)_i)``.
    Gaussian, with ``m = W'h``:
    ``c'h + sum_i [(b_i m_i + m_i^2 / 2) / sigma_i^2 + log(2 pi sigma_i^2) / 2]``.
    """
    ch = h @ p.hidden_bias
    if p.log_var is None:
        return ch + F.softplus(visible_input(p, h)).sum(dim=1)
    m = h @ p.weights
    prec = torch.exp(-p.log_var)
    return ch + ((p.visible_bias * m + 0.5 * m * m) * prec).sum(dim=1) \
        + 0.5 * (LOG_2PI + p.log_var).sum()
