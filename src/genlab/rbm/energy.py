r"""The restricted Boltzmann machine's energy, conditionals and free energy, as tensor functions.

Notation (scikit-learn's attribute names in brackets): visible units $v$ of shape
`(batch, n_v)`, hidden units $h \in \{0,1\}^{n_h}$ of shape `(batch, n_h)`, weights
$W$ of shape `(n_h, n_v)` (`components_`), visible biases $b$ (`intercept_visible_`)
and hidden biases $c$ (`intercept_hidden_`); $\sigma$ is the logistic sigmoid.

Bernoulli visible units, $v \in \{0,1\}^{n_v}$:

$$
E(v, h) = -b^\top v - c^\top h - h^\top W v,
$$

$$
P(h_j = 1 \mid v) = \sigma(c_j + W_j v), \qquad P(v_i = 1 \mid h) = \sigma(b_i + (W^\top h)_i),
$$

$$
F(v) = -\log \sum_h e^{-E(v, h)} = -b^\top v - \sum_j \mathrm{softplus}(c_j + W_j v).
$$

Gaussian visible units with variances $\sigma_i^2 = e^{z_i}$ (Cho, Ilin and Raiko 2011):

$$
E(v, h) = \sum_i \frac{(v_i - b_i)^2}{2 \sigma_i^2} - c^\top h - h^\top W (v / \sigma^2),
$$

$$
P(h_j = 1 \mid v) = \sigma(c_j + W_j (v / \sigma^2)), \qquad
p(v_i \mid h) = \mathcal{N}(b_i + (W^\top h)_i, \sigma_i^2),
$$

$$
F(v) = \sum_i \frac{(v_i - b_i)^2}{2 \sigma_i^2}
       - \sum_j \mathrm{softplus}(c_j + W_j (v / \sigma^2)).
$$

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
    r"""The parameters of one RBM (Bernoulli visible units when ``log_var`` is None).

    Attributes:
        weights: ``W``, ``(n_h, n_v)``.
        visible_bias: ``b``, ``(n_v,)``.
        hidden_bias: ``c``, ``(n_h,)``.
        log_var: $z = \log \sigma^2$, `(n_v,)` for Gaussian visible units, else None.
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
    r"""$v / \sigma^2$ for Gaussian units and $v$ itself for Bernoulli units; `(B, n_v)`."""
    return v if p.log_var is None else v * torch.exp(-p.log_var)


def hidden_input(p: RBMParams, v: torch.Tensor) -> torch.Tensor:
    r"""The hidden units' total input $c + W (v / \sigma^2)$, `(B, n_h)`."""
    return torch.addmm(p.hidden_bias, scaled_visible(p, v), p.weights.t())


def hidden_probs(p: RBMParams, v: torch.Tensor) -> torch.Tensor:
    r"""$P(h = 1 \mid v) = \sigma(c + W v / \sigma^2)$, `(B, n_h)`."""
    return torch.sigmoid(hidden_input(p, v))


def visible_input(p: RBMParams, h: torch.Tensor) -> torch.Tensor:
    r"""$b + W^\top h$, `(B, n_v)`: the logit (Bernoulli) or the mean (Gaussian) of $v \mid h$."""
    return torch.addmm(p.visible_bias, h, p.weights)


def visible_mean(p: RBMParams, h: torch.Tensor) -> torch.Tensor:
    r"""$\mathbb{E}[v \mid h]$: $\sigma(b + W^\top h)$ (Bernoulli) or $b + W^\top h$ (Gaussian).

    Shape `(B, n_v)`.
    """
    x = visible_input(p, h)
    return x if p.gaussian else torch.sigmoid(x)


def bernoulli(probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    r"""Binary samples $\mathbb{1}[u < p]$ with $u \sim U(0, 1)$, shaped and typed as `probs`."""
    u = torch.rand(probs.shape, generator=generator, device=probs.device, dtype=probs.dtype)
    return (u < probs).to(probs.dtype)


def sample_hidden(p: RBMParams, v: torch.Tensor, generator: torch.Generator | None
                  ) -> torch.Tensor:
    r"""Draw $h \sim P(h \mid v)$, `(B, n_h)` in {0, 1}."""
    return bernoulli(hidden_probs(p, v), generator)


def sample_visible(p: RBMParams, h: torch.Tensor, generator: torch.Generator | None
                   ) -> torch.Tensor:
    r"""Draw $v \sim p(v \mid h)$, `(B, n_v)`: Bernoulli or $\mathcal{N}(b + W^\top h,\sigma^2)$."""
    x = visible_input(p, h)
    if p.log_var is None:
        return bernoulli(torch.sigmoid(x), generator)
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + noise * torch.exp(0.5 * p.log_var)


def free_energy(p: RBMParams, v: torch.Tensor) -> torch.Tensor:
    r"""$F(v) = -\log \sum_h e^{-E(v, h)}$ for each row of `v`; returns `(B,)`."""
    soft = F.softplus(hidden_input(p, v)).sum(dim=1)
    if p.log_var is None:
        return -(v @ p.visible_bias) - soft
    quad = 0.5 * ((v - p.visible_bias) ** 2 * torch.exp(-p.log_var)).sum(dim=1)
    return quad - soft


def energy(p: RBMParams, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """$E(v, h)$ for paired rows of ``v`` ``(B, n_v)`` and ``h`` ``(B, n_h)``; ``(B,)``."""
    inter = (hidden_input(p, v) * h).sum(dim=1)  # c'h + h'W(v / sigma^2)
    if p.log_var is None:
        return -(v @ p.visible_bias) - inter
    quad = 0.5 * ((v - p.visible_bias) ** 2 * torch.exp(-p.log_var)).sum(dim=1)
    return quad - inter


def hidden_log_marginal(p: RBMParams, h: torch.Tensor) -> torch.Tensor:
    r"""$\log \sum_v e^{-E(v, h)}$ (a sum or an integral over $v$) for each row `h`; `(B,)`.

    Bernoulli: $c^\top h + \sum_i \mathrm{softplus}(b_i + (W^\top h)_i)$.
    Gaussian, with $m = W^\top h$:
    $c^\top h + \sum_i [(b_i m_i + m_i^2 / 2) / \sigma_i^2 + \log(2 \pi \sigma_i^2) / 2]$.
    """
    ch = h @ p.hidden_bias
    if p.log_var is None:
        return ch + F.softplus(visible_input(p, h)).sum(dim=1)
    m = h @ p.weights
    prec = torch.exp(-p.log_var)
    return ch + ((p.visible_bias * m + 0.5 * m * m) * prec).sum(dim=1) \
        + 0.5 * (LOG_2PI + p.log_var).sum()
