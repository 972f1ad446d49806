r"""The variational free energy of a Boltzmann machine with a factorised (mean-field) Q.

For $P(x) = \exp(-\beta E(x)) / Z$ and $Q(x) = \prod_i q_i(x_i)$ with means
$m_i = \mathbb{E}_Q[x_i]$ (so $q_i(+1) = (1 + m_i) / 2$), the variational free energy is

$$
F[P^*, Q] = \beta\, \mathbb{E}_Q[E(x)] - H(Q), \qquad
\mathbb{E}_Q[E(x)] = -\frac{1}{2} m^\top W m - b^\top m \quad (w_{ii} = 0),
$$

$$
H(Q) = -\sum_i \left[q_i \log q_i + (1 - q_i) \log(1 - q_i)\right],
$$

and $\mathrm{KL}(Q \| P) = \log Z + F \ge 0$, so $\log Z \ge -F$ for every $Q$ (the ELBO on
$\log Z$). Setting the gradient of $F$ to zero gives the mean-field equations
$m_i = \tanh(\beta (\sum_j w_{ij} m_j + b_i))$, solved here by damped fixed-point iteration
$m \leftarrow (1 - \lambda) m + \lambda \tanh(\beta (W m + b))$, batched over random restarts;
the best (largest) bound is reported. Any $m$ gives a valid bound, converged or not.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from genlab.boltzmann.boltzmann import check_energy_scale, check_weights
from genlab.errors import GenlabError
from genlab.memory import check_allocation, tensor_bytes
from genlab.spins import local_fields, spin_energy


class MeanFieldResult(NamedTuple):
    """What :func:`mean_field` returns.

    m: (n,) the mean-field magnetisations of the best restart.
    free_energy: ``F[P*, Q]`` of that Q. log_z_bound: ``-F <= log Z``.
    iterations: fixed-point iterations run. converged: whether ``max |dm| < tol``.
    """

    m: torch.Tensor
    free_energy: float
    log_z_bound: float
    iterations: int
    converged: bool


def binary_entropy(m: torch.Tensor) -> torch.Tensor:
    r"""$H(q)$ in nats of a ±1 unit with mean $m$ ($q = (1+m)/2$), elementwise, 0 at $|m| = 1$."""
    p = ((1.0 + m) / 2.0).clamp(0.0, 1.0)
    return -(torch.special.xlogy(p, p) + torch.special.xlogy(1.0 - p, 1.0 - p))


def variational_free_energy(m: torch.Tensor, weights: torch.Tensor, bias: torch.Tensor,
                            beta: float = 1.0) -> torch.Tensor:
    r"""$F = \beta (-\frac{1}{2} m^\top W m - b^\top m) - \sum_i H(q_i)$ for `m` (..., n)."""
    n = m.shape[-1]
    mean_energy = spin_energy(m.reshape(-1, n), weights, bias).reshape(m.shape[:-1])
    return beta * mean_energy - binary_entropy(m).sum(-1)


def mean_field_kl(free_energy: float, log_z: float) -> float:
    r"""$\mathrm{KL}(Q \| P) = \log Z + F[P^*, Q] \ge 0$: how far the mean-field bound $-F$ lies
    below the exact $\log Z$ (both in nats)."""
    return log_z + free_energy


def mean_field(weights: torch.Tensor, bias: torch.Tensor | None = None, beta: float = 1.0,
               damping: float = 0.5, tol: float = 1e-10, max_iter: int = 2000,
               restarts: int = 8, generator: torch.Generator | None = None) -> MeanFieldResult:
    """Minimise F over factorised Q by damped fixed-point iteration; return the best bound.

    Args:
        weights: ``W`` (n, n) symmetric, zero diagonal. bias: ``b`` (n,) or None.
        beta: inverse temperature. damping: ``lambda`` in (0, 1].
        tol: stop when ``max |m_new - m| < tol``. max_iter: iteration cap.
        restarts: independent starts ``m ~ U(-1, 1)^n`` (the first starts at ``m = 0``
            nudged by ``tanh(beta b)``), all iterated together.
    """
    w, b = check_weights(weights, bias)
    w, b = w.to(torch.float64), b.to(torch.float64)
    if not 0.0 < damping <= 1.0:
        raise GenlabError(f"damping must be in (0, 1], got {damping}")
    if restarts < 1 or max_iter < 1:
        raise GenlabError("restarts and max_iter must be >= 1")
    if not (beta >= 0 and math.isfinite(beta)):
        raise GenlabError(f"beta must be a finite number >= 0, got {beta}")
    check_energy_scale(w, b, beta)
    if generator is None:
        generator = torch.Generator(device=w.device).manual_seed(0)
    n = w.shape[0]
    # the (R, n) magnetisations, the new ones and the temporaries of one update
    check_allocation(6 * tensor_bytes((restarts, n), torch.float64),
                     f"mean field with {restarts} restarts of {n} units", w.device,
                     "use fewer restarts")
    m = 2 * torch.rand(restarts, n, generator=generator, device=w.device,
                       dtype=torch.float64) - 1                         # (R, n)
    m[0] = 0.5 * torch.tanh(beta * b)
    it, converged = 0, False
    for it in range(1, max_iter + 1):  # noqa: B007
        new = (1 - damping) * m + damping * torch.tanh(beta * local_fields(m, w, b))
        step = float((new - m).abs().max())
        m = new
        if step < tol:
            converged = True
            break
    f = variational_free_energy(m, w, b, beta)                           # (R,)
    best = int(torch.argmin(f))
    return MeanFieldResult(m[best], float(f[best]), -float(f[best]), it, converged)
