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

while $T$ falls geometrically, by 0.2 % per sweep, from $1 / \beta_c$ until the mean
saturation $s = \sum_{X,i} V_{Xi}^2 / n$ exceeds 0.9. At a permutation $E_P$ is the tour
length minus $\gamma_s n / 2$. Serial updates need no damping (they do not oscillate).
(Measured on the TSPLIB instances of `benchmarks/bench_tsp.py`: the synchronous softassign
freezes at about twice $\beta_c$ on large instances, 24-76 % above the optimum on
st70-kroA100, where the serial network is 3-13 %; the serial network is the better of the
two on 4 of the 5 instances of 20-40 cities and 7 of the 8 above, softassign on the
instances below 20 cities, hence the switch at 20.)

The self-coupling is set per restart by its saturation: $\gamma_s = -0.5$ while
$s \le 0.8$, then rising linearly to $+0.5$ at $s = 1$ (:func:`self_coupling_at`). A
negative $\gamma_s$ keeps the rows from saturating before the distances have ordered them,
but it also keeps them from committing: the field of row $X$ holds $\gamma_s V_{Xi}$, so
when its two best positions' other fields differ by less than $-\gamma_s$ neither committed
state of the row is a fixed point (at $V_{Xi} = 1$ position $j$ is the better one, and the
reverse) and the row stays split between them however low $T$ goes. With $\gamma_s$ held at
$-0.5$, fri26 (seeds 3 and 4) ended every restart so, with some rows split between two
positions and one to four positions empty, 40-50 % above the optimum after 1,300 sweeps,
its tours lengthening again at low $T$ from 2 % at $s \approx 0.8$. Once the rows have
chosen (from $s = 0.8$), a positive $\gamma_s$ makes each committed row a fixed point.

The uniform state turns unstable at $1 / \beta_c$, but only the ring's coarsest modes grow
there, weakly ($s$ stays within a few times $1 / n$); the order that sets the tour forms
between about $0.6 / \beta_c$ and the saturation (at $0.2$-$0.4 / \beta_c$). The
annealing starts at $1 / \beta_c$ (150-800 sweeps): a start at $0.6 / \beta_c$ gives
shorter tours on the TSPLIB instances and on random ones of up to 80 cities, but longer
ones on random 100-city instances, and $1 / \beta_c$ is the compromise measured in
`docs/tsp.md`.

A state need not be a permutation (two cities may share a position): it is read as a tour
both by the assignment that maximises $\sum_X V_{X, \pi(X)}$ and by sorting the cities by
their mean position on the circle, $\arg \sum_i V_{Xi}\, e^{2 \pi i \sqrt{-1} / n}$, and the
shorter reading is kept (both are functions of the network's state alone, not a local
search). The states are read every 10 sweeps (`read_every`) and each restart keeps its
shortest reading (a tie goes to the later state). That matters on ulysses22, whose clusters
of nearly coincident cities lead the saturating network to park two of them in one position
between two empty ones (where they pay the penalty $\alpha = 1$ but no distance at all, less
than their edges cost in a tour): read at $s \approx 0.5$ the state is 2 % above the optimum,
saturated 11 %. A larger $\alpha$ parks less ($\alpha = 1.5$: ulysses22 5 %) but makes the
network commit at a higher $T$, leaving pr76 and kroA100 14-18 % above the optimum (read at
the end only; $\alpha = 1.25$: 11-13 %).

Over seeds 1-5 on the 15 TSPLIB instances (16 restarts) the mean gap is 4.3 % (6.4 %
with $\gamma_s = -0.5$ throughout and the final state read), see `docs/tsp.md`.
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
    self_coupling: float = -0.5  # gamma_s while unsaturated; negative: resists saturation
    self_coupling_end: float = 0.5  # gamma_s of a saturated restart (commits split rows)
    commit_from: float = 0.8   # gamma_s rises linearly in sum V^2 / n from here to 1
    t_start: float = 1.0       # T_0 = t_start / beta_c(0)
    cooling: float = 0.998     # T <- cooling * T after every sweep
    max_sweeps: int = 2000     # at most this many sweeps
    serial_saturation: float = 0.9  # stop when sum_{X,i} V_Xi^2 / n exceeds this
    read_every: int = 10       # read the serial states every this many sweeps (0: at the end)


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


def self_coupling_at(saturation: torch.Tensor, cfg: MeanFieldConfig) -> torch.Tensor:
    r"""$\gamma_s$ of every restart from its saturation $s = \sum_{X,i} V_{Xi}^2 / n$ (B,):
    ``cfg.self_coupling`` up to $s_0$ = ``cfg.commit_from``, then linear up to
    ``cfg.self_coupling_end`` at $s = 1$; returned as (B, 1)."""
    s0 = cfg.commit_from
    ramp = ((saturation - s0) / max(1.0 - s0, 1e-12)).clamp(0.0, 1.0)
    return (cfg.self_coupling + (cfg.self_coupling_end - cfg.self_coupling) * ramp)[:, None]


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
                 T: float, alpha: float, gs: float | torch.Tensor, order: list[int]) -> None:
    """One serial sweep, in place: for each city ``X`` of ``order``,
    ``V_X. <- softmax(U_X. / T)``, ``U = -C - alpha (col - V_X.) + gs V_X.``, then the field
    ``C = d (V S + V S^T)`` ``(B, n, n)`` and the column sums ``col`` ``(B, n)`` are brought
    up to date by the row's change (a rank-one update of ``C``). ``gs`` is a number or one
    per restart, ``(B, 1)``."""
    for X in order:
        old = V[:, X, :]  # (B, n)
        U = -C[:, X, :] - alpha * (col - old) + gs * old
        delta = torch.softmax(U / T, 1) - old
        col += delta
        V[:, X, :] += delta
        C += d[:, X, None] * (torch.roll(delta, -1, 1) + torch.roll(delta, 1, 1))[:, None]


def _anneal_serial(d: torch.Tensor, ds: np.ndarray, restarts: int, cfg: MeanFieldConfig,
                   gen: torch.Generator, watch=None) -> tuple[torch.Tensor, list, list, dict]:
    r"""Serial Potts annealing (module docstring); returns ``V`` and the energy trace
    ($E_P$ at $\gamma_s$ = ``cfg.self_coupling``). ``watch(V)``, if given, is called every
    ``cfg.read_every`` sweeps.

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
    alpha = cfg.penalty
    sat = (V * V).sum((1, 2)) / n  # (B,) saturation of every restart
    energies, steps = [potts_energy(V, d, alpha, cfg.self_coupling)], [0]
    for sweep in range(1, cfg.max_sweeps + 1):
        order = torch.randperm(n, generator=gen, device=gen.device).tolist()
        serial_sweep(V, C, col, d, T, alpha, self_coupling_at(sat, cfg), order)
        energies.append(potts_energy(V, d, alpha, cfg.self_coupling))
        steps.append(sweep)
        sat = (V * V).sum((1, 2)) / n
        if watch is not None and cfg.read_every and sweep % cfg.read_every == 0:
            watch(V)
        if float(sat.mean()) > cfg.serial_saturation:
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


class ShortestReadings:
    """Per restart, the shortest tour :func:`read_tours` has read from the states shown to
    :meth:`read` so far (``tours`` (B, n), ``lengths`` (B,)), and whether the latest state
    it was read from was a permutation matrix by itself (``valid`` (B,))."""

    def __init__(self, dist: np.ndarray):
        self.dist = dist
        self.tours: np.ndarray | None = None
        self.lengths: np.ndarray | None = None
        self.valid: np.ndarray | None = None

    def read(self, V: torch.Tensor) -> None:
        """Read states ``V`` (B, n, n) and keep every restart's reading that is shorter."""
        tours, valid = read_tours(self.dist, V)
        lengths = tour_lengths(self.dist, tours)
        if self.tours is None:
            self.tours, self.valid, self.lengths = tours, valid, lengths
            return
        # a tie goes to the later state: a tour that stays the same reports the validity of
        # the latest state it was read from (the same tour read in another rotation or
        # direction sums its edges in another order, hence the tolerance)
        keep = lengths <= self.lengths * (1 + 1e-12)
        self.tours[keep] = tours[keep]
        self.valid[keep] = valid[keep]
        self.lengths[keep] = lengths[keep]


def check_memory(restarts: int, n: int, device: torch.device) -> None:
    """Refuse ``restarts`` networks of ``n`` cities that cannot fit (measured: about 8
    ``(restarts, n, n)`` float64 arrays at the peak)."""
    check_batch_memory("mean-field", restarts, n, 10, device)


def solve_mean_field(dist: np.ndarray, restarts: int = 32, config: MeanFieldConfig | None = None,
                     seed: int | None = 0, device: str | torch.device = "auto") -> SolveResult:
    """Anneal ``restarts`` mean-field networks at once (softassign below ``serial_from``
    cities, serial Potts from there, unless ``config.update`` says which); every returned
    tour is a permutation, the shortest restart's (for the serial network each restart's
    shortest reading of its states every ``config.read_every`` sweeps and at the end)."""
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
    shortest = ShortestReadings(dist)
    if update == "serial":
        V, energies, steps, extra = _anneal_serial(d, ds, restarts, cfg, gen, shortest.read)
    else:
        V, energies, steps, extra = _anneal_sinkhorn(d, ds, restarts, cfg, gen)
    shortest.read(V)
    tours, valid = shortest.tours, shortest.valid
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
