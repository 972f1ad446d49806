"""Mean-field (deterministic) annealing of the TSP network with softassign normalisation.

The network is Hopfield & Tank's ``V_Xi`` (city ``X`` at position ``i``, ``(batch, n, n)``),
but the hard constraints are built into the state instead of the energy: at inverse
temperature ``beta`` the mean-field fixed point of the Potts energy

``E(V) = 1/2 sum_{X,Y,i} d_XY V_Xi (V_{Y,i+1} + V_{Y,i-1}) - gamma/2 sum_{X,i} V_Xi^2``

is ``V = Sinkhorn(exp(beta Q))`` with ``Q = -dE/dV = -d (V S + V S^T) + gamma V`` (``S`` the
cyclic shift of positions). Sinkhorn's alternating row/column normalisation makes every
state doubly stochastic (Peterson & Soederberg 1989 normalise one Potts row per city;
the two-sided "softassign" is Gold & Rangarajan 1996), so the decoded tour (the assignment
maximising ``sum_X V_{X, pi(X)}``) is always a permutation. ``beta`` starts just below the
critical ``beta_c`` at which the uniform state ``V = 1/n`` turns unstable,

``beta_c = n / (gamma + max_{a,k} (-mu_a) 2 cos(2 pi k / n))``, ``mu_a`` the eigenvalues of the
centred distance matrix ``J d J``
(the linearised update maps the mode ``u_a v_k^T`` to ``(beta / n)(gamma - mu_a c_k)`` times
itself; modes where that factor is very negative make synchronous updates oscillate with
period 2 before ``beta_c``, which the damping ``V <- (V + V_new) / 2`` removes),

and grows geometrically until the state is saturated (the mean over positions of the largest
entry exceeds 0.98). ``gamma`` is given in units of ``lambda = n / beta_c(gamma = 0)``, the
largest curvature of the distance term. It starts small (0.1), so the network does not freeze
at the first bifurcation, and grows with the annealing up to ``lambda``, where ``E`` is concave
on the doubly-stochastic states and the network must commit to a permutation.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from genlab.tsp.decode import SolveResult, pick_best, start_batch, state_to_tours
from genlab.tsp.hopfield_tank import scale_distances


@dataclass
class MeanFieldConfig:
    """Annealing schedule and couplings of the softassign mean-field network."""

    gamma: float = 0.1         # self-coupling, in units of lambda = n / beta_c(gamma=0)
    gamma_growth: float = 1.005  # gamma <- min(gamma_growth * gamma, gamma_max) per temperature
    gamma_max: float = 1.0     # at gamma = lambda the energy is concave and the state saturates
    start: float = 0.9         # beta_0 = start * beta_c
    rate: float = 1.005        # geometric annealing: beta <- rate * beta
    inner: int = 4             # mean-field updates per temperature
    sinkhorn: int = 10         # Sinkhorn sweeps per update
    damping: float = 0.5       # V <- (1 - damping) V_new + damping V_old (stops 2-cycles)
    noise: float = 0.3         # initial V = (1 + noise * uniform(-1, 1)) / n
    max_temps: int = 1000      # at most this many temperatures
    saturation: float = 0.98   # stop when the mean over positions of max_X V_Xi exceeds this


def critical_beta(d: np.ndarray, gamma: float) -> float:
    """``beta_c`` at which the uniform doubly-stochastic state turns unstable (see module)."""
    n = d.shape[0]
    J = np.eye(n) - 1.0 / n
    mu = np.linalg.eigvalsh(J @ d @ J)
    c = 2 * np.cos(2 * np.pi * np.arange(1, n) / n)
    lam = float(np.max(-mu[:, None] * c[None, :]))
    return n / max(gamma + lam, 1e-12)


def sinkhorn(logits: torch.Tensor, iters: int) -> torch.Tensor:
    """Doubly-stochastic ``(B, n, n)`` matrix from ``exp(logits)`` by log-domain Sinkhorn."""
    la = logits
    for _ in range(iters):
        la = la - torch.logsumexp(la, 2, keepdim=True)
        la = la - torch.logsumexp(la, 1, keepdim=True)
    return la.exp()


def mf_energy(V: torch.Tensor, d: torch.Tensor, gamma: float) -> torch.Tensor:
    """(B,) ``E(V)`` of states ``V`` (B, n, n) under scaled distances ``d`` (n, n)."""
    nb = torch.roll(V, -1, 2) + torch.roll(V, 1, 2)
    return 0.5 * (V * (d @ nb)).sum((1, 2)) - 0.5 * gamma * (V * V).sum((1, 2))


def solve_mean_field(dist: np.ndarray, restarts: int = 32, config: MeanFieldConfig | None = None,
                     seed: int | None = 0, device: str | torch.device = "auto") -> SolveResult:
    """Anneal ``restarts`` softassign networks at once; every returned tour is a permutation."""
    cfg = config or MeanFieldConfig()
    dev, gen, t0 = start_batch(restarts, seed, device)
    n = dist.shape[0]
    ds = scale_distances(dist)
    d = torch.as_tensor(ds, dtype=torch.float64, device=dev)
    lam = n / critical_beta(ds, 0.0)
    gamma = cfg.gamma * lam
    beta = cfg.start * critical_beta(ds, gamma)
    noise = torch.rand((restarts, n, n), generator=gen, device=dev, dtype=torch.float64)
    V = sinkhorn(torch.log1p(cfg.noise * (2 * noise - 1)) - math.log(n), cfg.sinkhorn)
    energies, steps = [mf_energy(V, d, gamma)], [0]
    step = 0
    for step in range(1, cfg.max_temps + 1):
        for _ in range(cfg.inner):
            Q = -(d @ (torch.roll(V, -1, 2) + torch.roll(V, 1, 2))) + gamma * V
            V_new = sinkhorn(beta * Q, cfg.sinkhorn)
            V = (1 - cfg.damping) * V_new + cfg.damping * V
        energies.append(mf_energy(V, d, gamma))
        steps.append(step)
        if float(V.amax(1).mean()) > cfg.saturation:
            break
        beta *= cfg.rate
        gamma = min(gamma * cfg.gamma_growth, cfg.gamma_max * lam)
    tours, _ = state_to_tours(V)
    valid = np.ones(restarts, dtype=bool)  # a doubly-stochastic state decodes to a permutation
    idx, lengths = pick_best(dist, tours, valid)
    E = torch.stack(energies, 1)[idx].cpu().numpy()
    return SolveResult(method="mean-field", tour=tours[idx], length=float(lengths[idx]),
                       best_valid=True, lengths=lengths, valid=valid, energy=E,
                       energy_steps=np.asarray(steps), seconds=time.perf_counter() - t0,
                       steps=step, extra={"config": asdict(cfg), "beta_final": beta})
