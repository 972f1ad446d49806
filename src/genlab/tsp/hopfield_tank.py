r"""The continuous Hopfield-Tank network for the TSP (Hopfield & Tank 1985).

One neuron $V_{Xi} \in (0, 1)$ per city $X$ and tour position $i$; the state is a
`(batch, n, n)` tensor, one $n \times n$ network per restart. The penalty energy is

$$
E = \frac{A}{2} \sum_X \sum_{i \ne j} V_{Xi} V_{Xj}
  + \frac{B}{2} \sum_i \sum_{X \ne Y} V_{Xi} V_{Yi}
  + \frac{C}{2} \Big(\sum_{X,i} V_{Xi} - \tilde n\Big)^2
  + \frac{D}{2} \sum_{X \ne Y} \sum_i d_{XY} V_{Xi} (V_{Y,i+1} + V_{Y,i-1})
$$

($A$: one position per city, $B$: one city per position, $C$: about $\tilde n$ neurons on,
$D$: the tour length; positions are taken mod $n$). The dynamics are

$$
\frac{du_{Xi}}{dt} = -\frac{u_{Xi}}{\tau} - \frac{\partial E}{\partial V_{Xi}}, \qquad
V_{Xi} = g(u_{Xi}) = \frac{1}{2} \left(1 + \tanh(u_{Xi} / u_0)\right),
$$

integrated by forward Euler with step $dt$. Along the exact flow the Lyapunov function
$L = E + \frac{u_0}{2 \tau} \sum_{X,i} [V \ln V + (1 - V) \ln(1 - V)]$ never increases
($dL/dt = -\sum (\partial L / \partial V)^2 g'(u) \le 0$); for small $dt$ the Euler steps keep
that, and $L$ is the energy recorded along the run.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.tsp.decode import (
    SolveResult,
    check_batch_memory,
    pick_best,
    start_batch,
    state_to_tours,
)

# Mean distance between two uniform points of the unit square, the scale of Hopfield & Tank's
# 10-city instances: distances are rescaled to this mean so A..D keep their published meaning.
UNIT_SQUARE_MEAN_DISTANCE = 0.5214


@dataclass
class HopfieldTankConfig:
    """Parameters of the Hopfield-Tank network; defaults are the published ones (1985)."""

    A: float = 500.0        # row inhibition: a city in one position only
    B: float = 500.0        # column inhibition: one city per position
    C: float = 200.0        # global inhibition towards n~ active neurons
    D: float = 500.0        # distance term between neighbouring positions
    u0: float = 0.02        # gain: V = (1 + tanh(u / u0)) / 2
    n_extra: float = 5.0    # n~ = n + n_extra (Hopfield & Tank used 15 for 10 cities)
    tau: float = 1.0        # time constant of the leak -u / tau
    dt: float | None = None  # Euler step; None: the stable step of :func:`stable_step`
    max_steps: int = 5000   # stop after this many steps if the network has not settled
    settle_tol: float = 1e-4  # settled: no V moved more than this over record_every steps
    noise: float = 0.1      # initial u = u00 + noise * u0 * uniform(-1, 1)
    record_every: int = 10  # energy recorded every this many steps


def scale_distances(dist: np.ndarray) -> np.ndarray:
    r"""$0.5214\, d / \mathrm{mean}_{X \ne Y} d_{XY}$: the instance at the unit square's scale."""
    n = dist.shape[0]
    mean = dist.sum() / (n * (n - 1))
    if mean <= 0:
        raise GenlabError("all distances are zero; nothing to optimise")
    return dist / mean * UNIT_SQUARE_MEAN_DISTANCE


def stable_step(n: int, d: torch.Tensor, cfg: HopfieldTankConfig) -> float:
    r"""$dt = 1 / (\max g' \cdot \|H\|)$: an Euler step under which $L$ decreases.

    $\max g' = 1 / (2 u_0)$ and
    $\|H\| \le C n^2 + (A + B)(n - 1) + 2 D \max_X \sum_Y d_{XY} + 1 / \tau$ bounds the
    curvature of $E$; gradient steps shorter than $2 / (g' \|H\|)$ cannot increase it
    (Hopfield & Tank's own $dt = 10^{-5}$ is unstable in the $C$ direction).
    """
    curv = cfg.C * n * n + (cfg.A + cfg.B) * (n - 1) + 2 * cfg.D * float(d.sum(1).max()) \
        + 1.0 / cfg.tau
    return 2 * cfg.u0 / curv


def ht_field(V: torch.Tensor, d: torch.Tensor, cfg: HopfieldTankConfig) -> torch.Tensor:
    r"""The field $\partial E / \partial V$ for states `V` (B, n, n).

    $$
    \frac{\partial E}{\partial V_{Xi}} = A \sum_{j \ne i} V_{Xj} + B \sum_{Y \ne X} V_{Yi}
      + C \Big(\sum V - \tilde n\Big) + D \sum_Y d_{XY} (V_{Y,i+1} + V_{Y,i-1})
    $$
    """
    n_t = V.shape[1] + cfg.n_extra
    row = V.sum(2, keepdim=True)
    col = V.sum(1, keepdim=True)
    total = V.sum((1, 2), keepdim=True)
    return cfg.A * (row - V) + cfg.B * (col - V) + cfg.C * (total - n_t) \
        + cfg.D * (d @ (torch.roll(V, -1, 2) + torch.roll(V, 1, 2)))


def ht_energy(V: torch.Tensor, u: torch.Tensor | None, d: torch.Tensor,
              cfg: HopfieldTankConfig) -> torch.Tensor:
    """(B,) Lyapunov energy $L$ of states ``V`` (B, n, n) under scaled distances ``d`` (n, n)."""
    n = V.shape[1]
    row = V.sum(2)  # (B, n): sum_i V_Xi
    col = V.sum(1)  # (B, n): sum_X V_Xi
    sq = (V * V).sum((1, 2))
    e_a = 0.5 * cfg.A * ((row ** 2).sum(1) - sq)
    e_b = 0.5 * cfg.B * ((col ** 2).sum(1) - sq)
    e_c = 0.5 * cfg.C * (V.sum((1, 2)) - (n + cfg.n_extra)) ** 2
    nb = torch.roll(V, -1, 2) + torch.roll(V, 1, 2)
    e_d = 0.5 * cfg.D * (V * (d @ nb)).sum((1, 2))
    Vc = V.clamp(1e-12, 1 - 1e-12)
    leak = (cfg.u0 / (2 * cfg.tau)) * (Vc * Vc.log() + (1 - Vc) * (1 - Vc).log()).sum((1, 2))
    return e_a + e_b + e_c + e_d + leak


def check_memory(restarts: int, n: int, device: torch.device) -> None:
    """Refuse ``restarts`` networks of ``n`` cities that cannot fit (measured: the
    expressions of a step keep about 36 ``(restarts, n, n)`` float64 arrays at once)."""
    check_batch_memory("hopfield-tank", restarts, n, 40, device)


def solve_hopfield_tank(dist: np.ndarray, restarts: int = 20,
                        config: HopfieldTankConfig | None = None, seed: int | None = 0,
                        device: str | torch.device = "auto") -> SolveResult:
    """Run ``restarts`` Hopfield-Tank networks at once and decode their final states.

    Returns the shortest tour from a *valid* final state when any restart found one, else the
    shortest repaired tour (``best_valid`` False); ``valid`` (R,) says which restarts settled
    into a valid tour on their own.
    """
    cfg = config or HopfieldTankConfig()
    dev, gen, t0 = start_batch(restarts, seed, device)
    n = dist.shape[0]
    check_memory(restarts, n, dev)
    d = torch.as_tensor(scale_distances(dist), dtype=torch.float64, device=dev)
    v_start = 1.0 / n
    u00 = cfg.u0 * np.arctanh(2 * v_start - 1)
    noise = torch.rand((restarts, n, n), generator=gen, device=dev, dtype=torch.float64)
    u = u00 + cfg.noise * cfg.u0 * (2 * noise - 1)  # (B, n, n)
    V = 0.5 * (1 + torch.tanh(u / cfg.u0))
    energies, steps = [ht_energy(V, u, d, cfg)], [0]
    dt = cfg.dt if cfg.dt is not None else stable_step(n, d, cfg)
    step, V_rec = 0, V
    for step in range(1, cfg.max_steps + 1):
        u = u + dt * (-u / cfg.tau - ht_field(V, d, cfg))
        V = 0.5 * (1 + torch.tanh(u / cfg.u0))
        if step % cfg.record_every == 0:
            energies.append(ht_energy(V, u, d, cfg))
            steps.append(step)
            if bool(((V - V_rec).abs() < cfg.settle_tol).all()):
                break
            V_rec = V
    tours, valid = state_to_tours(V)
    idx, lengths = pick_best(dist, tours, valid)
    E = torch.stack(energies, 1)[idx].cpu().numpy()  # (T,)
    return SolveResult(method="hopfield-tank", tour=tours[idx], length=float(lengths[idx]),
                       best_valid=bool(valid[idx]), lengths=lengths, valid=valid, energy=E,
                       energy_steps=np.asarray(steps), seconds=time.perf_counter() - t0,
                       steps=step, extra={"config": asdict(cfg), "dt": dt})
