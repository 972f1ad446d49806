r"""Parallel tempering: the negative phase of RBM training from tempered Gibbs chains.

Desjardins, Courville, Bengio, Vincent and Delalleau, "Tempered Markov chain Monte Carlo for
training of restricted Boltzmann machines" (AISTATS 2010). Each persistent chain is a ladder
of $T$ replicas at inverse temperatures $0 \le \beta_1 < \dots < \beta_T = 1$; replica $t$
samples the tempered distribution

$$
p_t(v, h) \propto e^{-\beta_t E(v, h)},
$$

whose Gibbs conditionals are those of the RBM with every input scaled by $\beta_t$:
$P(h_j = 1 \mid v) = \sigma(\beta_t (c_j + W_j v))$ and $P(v_i = 1 \mid h) =
\sigma(\beta_t (b_i + (W^\top h)_i))$ for Bernoulli units; for Gaussian units
$P(h_j = 1 \mid v) = \sigma(\beta_t (c_j + W_j (v / \sigma^2)))$ and $p(v_i \mid h) =
\mathcal{N}(b_i + (W^\top h)_i, \sigma_i^2 / \beta_t)$ (so $\beta_1 > 0$ there: at
$\beta = 0$ the density is improper). Hot replicas mix freely and hand their states down
the ladder by swaps.

**Swap rule.** After the Gibbs sweeps, neighbouring replicas $i$ and $j = i + 1$ exchange
their joint states $x_i = (v_i, h_i)$ and $x_j = (v_j, h_j)$ with the Metropolis
probability

$$
a_{ij} = \min\Bigl(1, \frac{p_i(x_j)\, p_j(x_i)}{p_i(x_i)\, p_j(x_j)}\Bigr)
       = \min\Bigl(1, e^{(\beta_i - \beta_j)(E(x_i) - E(x_j))}\Bigr),
$$

with $E$ the untempered joint energy (the partition functions cancel in the ratio). The
move satisfies detailed balance for the product $\prod_t p_t(x_t)$, so the $\beta = 1$
replica keeps sampling the model. Even pairs $(1,2), (3,4), \dots$ are proposed first, then
odd pairs $(2,3), \dots$: each half is a set of independent Metropolis moves.

The model's statistics come from the $\beta_T = 1$ replica only.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from genlab.rbm.energy import RBMParams, bernoulli, energy, hidden_input, visible_input

DEFAULT_TEMPERATURES = 10


def temperature_ladder(n: int, gaussian: bool = False, dtype: torch.dtype = torch.float32,
                       device: torch.device | str = "cpu") -> torch.Tensor:
    r"""The inverse temperatures $\beta_t$, ``(n,)`` increasing to 1, spaced linearly.

    Bernoulli units: $\beta_t = (t - 1) / (n - 1)$, from the uniform distribution
    ($\beta = 0$) to the model. Gaussian units: $\beta_t = t / n$ (a proper density at
    every rung). ``n >= 2``.
    """
    if n < 2:
        raise ValueError(f"parallel tempering needs at least 2 temperatures, got {n}")
    start = 1.0 / n if gaussian else 0.0
    return torch.linspace(start, 1.0, n, dtype=dtype, device=device)


class TemperedState(NamedTuple):
    """The replicas after one parallel-tempering update.

    Attributes:
        v: visible states ``(T, M, n_v)``, rung ``t`` at inverse temperature ``betas[t]``.
        h: hidden states ``(T, M, n_h)``.
        swaps: accepted swaps per neighbouring pair ``(T - 1,)`` (summed over the ``M``
            chains).
    """

    v: torch.Tensor
    h: torch.Tensor
    swaps: torch.Tensor


def tempered_sweep(p: RBMParams, h: torch.Tensor, betas: torch.Tensor,
                   generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One Gibbs sweep $v \sim p_t(v \mid h)$, $h \sim P_t(h \mid v)$ at every rung.

    Args:
        p: the RBM.
        h: hidden states ``(T, M, n_h)``.
        betas: inverse temperatures ``(T,)``.
        generator: the random generator.

    Returns:
        ``(v, h)``, shapes ``(T, M, n_v)`` and ``(T, M, n_h)``.
    """
    n_t, m, n_h = h.shape
    beta = betas.to(h.dtype).repeat_interleave(m).unsqueeze(1)  # (T M, 1)
    x = visible_input(p, h.reshape(n_t * m, n_h))  # b + W'h, (T M, n_v)
    if p.log_var is None:
        v = bernoulli(torch.sigmoid(beta * x), generator)
    else:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        v = x + noise * torch.exp(0.5 * p.log_var) / beta.sqrt()
    h_new = bernoulli(torch.sigmoid(beta * hidden_input(p, v)), generator)
    return v.reshape(n_t, m, -1), h_new.reshape(n_t, m, n_h)


def swap_log_acceptance(betas: torch.Tensor, energies: torch.Tensor, first: int
                        ) -> torch.Tensor:
    r"""$\log$ of the swap ratio $(\beta_i - \beta_{i+1})(E(x_i) - E(x_{i+1}))$ for the pairs
    $(i, i + 1)$, $i = $ ``first``, ``first + 2``, ...

    Args:
        betas: ``(T,)``.
        energies: $E(v, h)$ of every replica, ``(T, M)``.
        first: 0 for the even pairs, 1 for the odd ones.

    Returns:
        ``(P, M)`` for the ``P`` pairs; the acceptance probability is ``min(1, exp(.))``.
    """
    lo = torch.arange(first, betas.shape[0] - 1, 2, device=betas.device)
    d_beta = (betas[lo] - betas[lo + 1]).to(energies.dtype).unsqueeze(1)
    return d_beta * (energies[lo] - energies[lo + 1])


def swap_neighbours(p: RBMParams, v: torch.Tensor, h: torch.Tensor, betas: torch.Tensor,
                    first: int, generator: torch.Generator | None) -> torch.Tensor:
    """Propose to swap the states of the pairs ``(i, i + 1)``, ``i = first, first + 2, ...``
    of every chain; accepted swaps are made in place in ``v`` ``(T, M, n_v)`` and ``h``
    ``(T, M, n_h)``. Returns the accepted swaps ``(T - 1,)`` per pair (zero for pairs not
    proposed)."""
    n_t, m = h.shape[:2]
    swaps = torch.zeros(max(n_t - 1, 0), dtype=torch.int64, device=h.device)
    lo = torch.arange(first, n_t - 1, 2, device=h.device)
    if lo.numel() == 0:
        return swaps
    e = energy(p, v.reshape(n_t * m, -1), h.reshape(n_t * m, -1)).reshape(n_t, m)
    log_r = swap_log_acceptance(betas, e, first)  # (P, M)
    u = torch.rand(log_r.shape, generator=generator, device=log_r.device, dtype=log_r.dtype)
    accept = u.log() < log_r  # u < min(1, r)
    for state in (v, h):
        a, b = state[lo], state[lo + 1]  # (P, M, n)
        keep = accept.unsqueeze(2)
        state[lo] = torch.where(keep, b, a)
        state[lo + 1] = torch.where(keep, a, b)
    swaps[lo] = accept.sum(1)
    return swaps


def tempered_update(p: RBMParams, h: torch.Tensor, betas: torch.Tensor, k: int,
                    generator: torch.Generator | None) -> TemperedState:
    """``k >= 1`` tempered Gibbs sweeps at every rung, then the even and the odd swaps.

    Args:
        p: the RBM.
        h: the persistent hidden states ``(T, M, n_h)``.
        betas: inverse temperatures ``(T,)``, the last one 1.
        k: Gibbs sweeps before the swaps.
        generator: the random generator.

    Returns:
        The replicas' states and swap counts (:class:`TemperedState`); ``v[-1]`` is the
        model sample.
    """
    for _ in range(k):
        v, h = tempered_sweep(p, h, betas, generator)
    swaps = swap_neighbours(p, v, h, betas, 0, generator)
    swaps += swap_neighbours(p, v, h, betas, 1, generator)
    return TemperedState(v, h, swaps)
