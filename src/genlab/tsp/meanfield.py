r"""Mean-field (deterministic) annealing of the TSP network with softassign normalisation.

The network is Hopfield & Tank's $V_{Xi}$ (city $X$ at position $i$, `(batch, n, n)`),
but the hard constraints are built into the state instead of the energy: at inverse
temperature $\beta$ the mean-field fixed point of the Potts energy

$$
E(V) = \frac{1}{2} \sum_{X,Y,i} d_{XY} V_{Xi} (V_{Y,i+1} + V_{Y,i-1})
     - \frac{\gamma}{2} \sum_{X,i} V_{Xi}^2
$$

is $V = \mathrm{Sinkhorn}(\exp(\beta Q))$ with
$Q = -\partial E / \partial V = -d (V S + V S^\top) + \gamma V$ ($S$ the
cyclic shift of positions). Sinkhorn's alternating row/column normalisation makes every
state doubly stochastic (Peterson & Soederberg 1989 normalise one Potts row per city;
the two-sided "softassign" is Gold & Rangarajan 1996), so the decoded tour (the assignment
maximising $\sum_X V_{X, \pi(X)}$) is always a permutation. $\beta$ starts just below the
critical $\beta_c$ at which the uniform state $V = 1/n$ turns unstable,

$$
\beta_c = \frac{n}{\gamma + \max_{a,k} (-\mu_a)\, 2 \cos(2 \pi k / n)},
$$

$\mu_a$ the eigenvalues of the centred distance matrix $J d J$
(the linearised update maps the mode $u_a v_k^\top$ to $(\beta / n)(\gamma - \mu_a c_k)$ times
itself; modes where that factor is very negative make synchronous updates oscillate with
period 2 before $\beta_c$, which the damping $V \leftarrow (V + V^\text{new}) / 2$ removes),
and grows geometrically until the state is saturated (the mean over positions of the largest
entry exceeds 0.98). $\gamma$ is given in units of $\lambda = n / \beta_c(\gamma = 0)$, the
largest curvature of the distance term. It starts small (0.1), so the network does not freeze
at the first bifurcation, and grows with the annealing up to $\lambda$, where $E$ is concave
on the doubly-stochastic states and the network must commit to a permutation.

From 20 cities on (`update="auto"`) the solver uses instead the
network of Peterson & Soederberg (1989): one Potts neuron per *city* ($\sum_i V_{Xi} = 1$, a
softmax over positions), the shared positions penalised,

$$
E_P(V) = \frac{1}{2} \sum_{X,Y,i} d_{XY} V_{Xi} (V_{Y,i+1} + V_{Y,i-1})
       + \frac{\alpha}{2} \sum_i \Big[\Big(\sum_X V_{Xi}\Big)^2 - \sum_X V_{Xi}^2\Big]
       - \frac{\gamma_s}{2} \sum_{X,i} V_{Xi}^2,
$$

updated serially, one city at a time in a random order each sweep,
$V_{X\cdot} = \mathrm{softmax}(U_{X\cdot} / T)$ with

$$
U = -\frac{\partial E_P}{\partial V}
  = -d (V S + V S^\top) - \alpha \Big(\sum_Y V_{Yi} - V_{Xi}\Big) + \gamma_s V_{Xi},
$$

while $T$ falls geometrically from just above $1 / \beta_c$. At a permutation $E_P$ is the
tour length minus $\gamma_s n / 2$. Serial updates need no damping (they do not oscillate);
a negative $\gamma_s$ keeps the rows from saturating before the distances have ordered them.
(Measured on the TSPLIB instances of `benchmarks/bench_tsp.py`: the synchronous softassign
freezes at about twice $\beta_c$ on large instances, 24-76 % above the optimum on
st70-kroA100, where the serial network is 3-13 %; the serial network is the better of the
two on 4 of the 5 instances of 20-40 cities and 7 of the 8 above, softassign on the
instances below 20 cities, hence the switch at 20.)
The state then need not be a permutation (two cities may share a position): it is read as a
tour both by the assignment that maximises $\sum_X V_{X, \pi(X)}$ and by sorting the cities by
their mean position on the circle, $\arg \sum_i V_{Xi}\, e^{2 \pi i \sqrt{-1} / n}$, and the
shorter reading is kept (both are functions of the network's state alone, not a local search).

The serial network cools by 0.998 per sweep (about 700-1,300 sweeps to saturation); 0.995
takes 2.5 times fewer sweeps. Over seeds 1-5 on the 15 TSPLIB instances of
`benchmarks/bench_tsp.py` (16 restarts), 0.998 lowers the mean gap on 9 of the 12 that
run the serial network (e.g. kroA100 12.4 to 10.3 %, berlin52 9.2 to 7.4 %) and raises it on
3 (st70 4.8 to 6.6 %, ulysses22 4.4 to 6.2 %, fri26); without fri26 the mean over the 15 is
5.5 % at 0.995 and 5.2 % at 0.998. On fri26 either cooling sometimes leaves every restart of a batch
40-50 % above the optimum (0.995: seed 1; 0.998: seeds 3 and 4): the network saturates with
some rows split between two positions and one to four positions empty, a balance of the
penalty $\alpha$ and $\gamma_s$ that more restarts or slower cooling do not repair
($\alpha = 1.5$ or $\gamma_s = -0.25$ repair fri26 but leave kroA100 16-17 % above the
optimum).
"""

from __future__ import annotations

import math
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
    tour_lengths,
)
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
    update: str = "auto"       # "sinkhorn", "serial" (Potts rows), or auto: serial from n = 20
    serial_from: int = 20      # auto uses serial Potts updates from this many cities on
    # the serial Potts network (Peterson & Soederberg 1989), distances at the unit-square scale
    penalty: float = 1.0       # alpha, on two cities in one position
    self_coupling: float = -0.5  # gamma_s; negative: resists early saturation
    t_start: float = 1.2       # T_0 = t_start / beta_c(0)
    cooling: float = 0.998     # T <- cooling * T after every sweep (0.995: see the module)
    max_sweeps: int = 2000     # at most this many sweeps
    serial_saturation: float = 0.9  # stop when sum_{X,i} V_Xi^2 / n exceeds this


def critical_beta(d: np.ndarray, gamma: float) -> float:
    r"""$\beta_c$ at which the uniform doubly-stochastic state turns unstable (see module)."""
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
    """(B,) $E(V)$ of states `V` (B, n, n) under scaled distances `d` (n, n)."""
    nb = torch.roll(V, -1, 2) + torch.roll(V, 1, 2)
    return 0.5 * (V * (d @ nb)).sum((1, 2)) - 0.5 * gamma * (V * V).sum((1, 2))


def potts_energy(V: torch.Tensor, d: torch.Tensor, penalty: float, self_coupling: float
                 ) -> torch.Tensor:
    """(B,) $E_P(V)$ of the serial Potts network (module docstring) for `V` (B, n, n)."""
    sq = (V * V).sum((1, 2))
    shared = (V.sum(1) ** 2).sum(1) - sq
    return mf_energy(V, d, 0.0) + 0.5 * penalty * shared - 0.5 * self_coupling * sq


def _anneal_sinkhorn(d: torch.Tensor, ds: np.ndarray, restarts: int, cfg: MeanFieldConfig,
                     gen: torch.Generator) -> tuple[torch.Tensor, list, list, dict]:
    """Synchronous, damped softassign annealing; returns ``V`` and the energy trace."""
    n = d.shape[0]
    lam = n / critical_beta(ds, 0.0)
    gamma = cfg.gamma * lam
    beta = cfg.start * critical_beta(ds, gamma)
    noise = torch.rand((restarts, n, n), generator=gen, device=d.device, dtype=torch.float64)
    V = sinkhorn(torch.log1p(cfg.noise * (2 * noise - 1)) - math.log(n), cfg.sinkhorn)
    energies, steps = [mf_energy(V, d, gamma)], [0]
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
    return V, energies, steps, {"beta_final": beta}


def serial_sweep(V: torch.Tensor, C: torch.Tensor, col: torch.Tensor, d: torch.Tensor,
                 T: float, alpha: float, gs: float, order: list[int]) -> None:
    """One serial sweep, in place: for each city ``X`` of ``order``,
    ``V_X. <- softmax(U_X. / T)``, ``U = -C - alpha (col - V_X.) + gs V_X.``, then the field
    ``C = d (V S + V S^T)`` ``(B, n, n)`` and the column sums ``col`` ``(B, n)`` are brought
    up to date by the row's change (a rank-one update of ``C``)."""
    for X in order:
        old = V[:, X, :]  # (B, n)
        U = -C[:, X, :] - alpha * (col - old) + gs * old
        delta = torch.softmax(U / T, 1) - old
        col += delta
        V[:, X, :] += delta
        C += d[:, X, None] * (torch.roll(delta, -1, 1) + torch.roll(delta, 1, 1))[:, None]


def _anneal_serial(d: torch.Tensor, ds: np.ndarray, restarts: int, cfg: MeanFieldConfig,
                   gen: torch.Generator) -> tuple[torch.Tensor, list, list, dict]:
    """Serial Potts annealing (module docstring); returns ``V`` and the energy trace.

    ``C = d (V S + V S^T)`` and the column sums are kept up to date after every city's
    update (a rank-one change), so one city costs ``O(B n^2)``.
    """
    n, dev = d.shape[0], d.device
    T = cfg.t_start / critical_beta(ds, 0.0)
    noise = torch.rand((restarts, n, n), generator=gen, device=dev, dtype=torch.float64)
    V = 1.0 + cfg.noise * (2 * noise - 1)
    V /= V.sum(2, keepdim=True)  # (B, n, n): each city's row sums to 1
    C = d @ (torch.roll(V, -1, 2) + torch.roll(V, 1, 2))  # (B, n, n)
    col = V.sum(1)  # (B, n) occupancy of every position
    alpha, gs = cfg.penalty, cfg.self_coupling
    energies, steps = [potts_energy(V, d, alpha, gs)], [0]
    for sweep in range(1, cfg.max_sweeps + 1):
        order = torch.randperm(n, generator=gen, device=gen.device).tolist()
        serial_sweep(V, C, col, d, T, alpha, gs, order)
        energies.append(potts_energy(V, d, alpha, gs))
        steps.append(sweep)
        if float((V * V).sum((1, 2)).mean()) / n > cfg.serial_saturation:
            break
        T *= cfg.cooling
    return V, energies, steps, {"temperature_final": T}


def read_tours(dist: np.ndarray, V: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(B, n) tours from states ``V`` (B, n, n): per restart the shorter of the assignment
    reading (:func:`state_to_tours`) and the cities sorted by mean position on the circle;
    and (B,) whether each state was a permutation matrix by itself."""
    n = V.shape[1]
    tours, valid = state_to_tours(V)
    phase = 2 * math.pi * torch.arange(n, device=V.device, dtype=V.dtype) / n
    angle = torch.atan2((V * phase.sin()).sum(2), (V * phase.cos()).sum(2))  # (B, n)
    circle = angle.argsort(1).cpu().numpy()
    shorter = tour_lengths(dist, circle) < tour_lengths(dist, tours)
    tours[shorter] = circle[shorter]
    return tours, valid


def check_memory(restarts: int, n: int, device: torch.device) -> None:
    """Refuse ``restarts`` networks of ``n`` cities that cannot fit (measured: about 8
    ``(restarts, n, n)`` float64 arrays at the peak)."""
    check_batch_memory("mean-field", restarts, n, 10, device)


def solve_mean_field(dist: np.ndarray, restarts: int = 32, config: MeanFieldConfig | None = None,
                     seed: int | None = 0, device: str | torch.device = "auto") -> SolveResult:
    """Anneal ``restarts`` mean-field networks at once (softassign below ``serial_from``
    cities, serial Potts from there, unless ``config.update`` says which); every returned
    tour is a permutation, the shortest restart's."""
    cfg = config or MeanFieldConfig()
    if cfg.update not in ("auto", "sinkhorn", "serial"):
        raise GenlabError(f"unknown mean-field update {cfg.update!r}; "
                          "choose auto, sinkhorn or serial")
    dev, gen, t0 = start_batch(restarts, seed, device)
    n = dist.shape[0]
    check_memory(restarts, n, dev)
    ds = scale_distances(dist)
    d = torch.as_tensor(ds, dtype=torch.float64, device=dev)
    update = cfg.update
    if update == "auto":
        update = "serial" if n >= cfg.serial_from else "sinkhorn"
    anneal = _anneal_serial if update == "serial" else _anneal_sinkhorn
    V, energies, steps, extra = anneal(d, ds, restarts, cfg, gen)
    tours, valid = read_tours(dist, V)
    # every reading is a permutation, so the shortest restart is returned; ``valid`` says
    # whether the state was a permutation matrix by itself (by construction for softassign,
    # whose doubly-stochastic states always read as one)
    valid = valid | (update == "sinkhorn")
    idx, lengths = pick_best(dist, tours, np.ones_like(valid))
    E = torch.stack(energies, 1)[idx].cpu().numpy()
    return SolveResult(method="mean-field", tour=tours[idx], length=float(lengths[idx]),
                       best_valid=bool(valid[idx]), lengths=lengths, valid=valid, energy=E,
                       energy_steps=np.asarray(steps), seconds=time.perf_counter() - t0,
                       steps=steps[-1], extra={"config": asdict(cfg), "update": update,
                                               **extra})
