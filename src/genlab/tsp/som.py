r"""A self-organising map for the TSP: the Kohonen ring, batched over restarts.

A closed ring of $M = \lceil \mathrm{ratio} \cdot n \rceil$ neurons with weights $y_j$
(`(batch, M, 2)`) learns the cities $x_i$ (`(n, 2)`, scaled to the unit square) one at a time
(Kohonen 1982; for the TSP Angeniol, Vaubois & Le Texier 1988, whose ring grows and shrinks,
and Fort 1988). Each epoch presents every city once, in a fresh random order per restart; for
the city $x$ the winner is the nearest neuron

$$
j^* = \arg\min_j |x - y_j|
$$

(with ``inhibit``, among the neurons that have not yet won in this epoch, as in Angeniol et
al.), and every neuron moves towards the city by

$$
y_j \leftarrow y_j + \eta\, g(j, j^*)\, (x - y_j), \qquad
g(j, j^*) = \exp\!\left(-\frac{\delta(j, j^*)^2}{2 \sigma^2}\right), \qquad
\delta(j, j^*) = \min(|j - j^*|, M - |j - j^*|),
$$

$\delta$ the distance along the ring. After each epoch the learning rate and the
neighbourhood width shrink geometrically, $\eta \leftarrow \max(\eta\, d_\eta, \eta_{\min})$ and
$\sigma \leftarrow \max(\sigma\, d_\sigma, \sigma_{\min})$: a wide $\sigma$ first unfolds the
ring over the cities as a whole, a narrow one at the end pulls single neurons onto single cities.

The tour visits the cities in the order of their winning (nearest) neurons along the ring
(always a permutation; cities sharing a neuron are ordered by their projection on the ring's
direction there). A restart is *valid* when every city has a neuron of its own within ``tol``
of it: the ring really passes through each city once. The Kohonen rule is not the gradient of
an energy, so the trace reported as ``energy`` is the ring's length $\sum_j |y_{j+1} - y_j|$
in the unit square, which becomes the (scaled) tour length as the ring reaches the cities.
Instances without coordinates are embedded in the plane as for the elastic net
(:func:`~genlab.tsp.elastic.embed_plane`); tour lengths always use the instance's own
distances.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.tsp.decode import SolveResult, check_batch_memory, pick_best, start_batch
from genlab.tsp.elastic import ring_start


@dataclass
class SOMConfig:
    r"""The schedule of the Kohonen ring (widths in neurons along the ring, distances in the
    unit square).

    Attributes:
        ratio: neurons per city, $M = \lceil \mathrm{ratio} \cdot n \rceil$.
        epochs: how many times every city is presented (once per epoch, in a fresh random
            order per restart).
        eta0: the initial learning rate $\eta$, the winner's step towards its city.
        eta_decay: $\eta \leftarrow \max(d_\eta \eta, \eta_{\min})$ after each epoch.
        eta_min: the smallest learning rate $\eta_{\min}$.
        sigma0: the initial neighbourhood width $\sigma$, as a fraction of $M$.
        sigma_decay: $\sigma \leftarrow \max(d_\sigma \sigma, \sigma_{\min})$ after each
            epoch.
        sigma_min: the smallest neighbourhood width $\sigma_{\min}$, in neurons.
        inhibit: a neuron wins at most one city per epoch (Angeniol et al. 1988), so two
            close cities end on two neurons.
        radius: the initial ring is a circle of this radius around the cities' centroid.
        jitter: each initial ring point is moved by a normal deviate of ``jitter * radius``.
        tol: a city counts as reached when a neuron of its own is this close (for ``valid``).
    """

    ratio: float = 3.0
    epochs: int = 100
    eta0: float = 0.8
    eta_decay: float = 0.99
    eta_min: float = 0.05
    sigma0: float = 0.1
    sigma_decay: float = 0.96
    sigma_min: float = 0.5
    inhibit: bool = True
    radius: float = 0.1
    jitter: float = 0.1
    tol: float = 0.01


def ring_kernel(M: int, sigma: float, device: torch.device) -> torch.Tensor:
    r"""$(M,)$ neighbourhood $g$ at ring offset $k$: $\exp(-\min(k, M-k)^2 / 2\sigma^2)$."""
    k = torch.arange(M, device=device, dtype=torch.float64)
    delta = torch.minimum(k, M - k)
    return torch.exp(-delta ** 2 / (2 * sigma * sigma))


def som_epoch(y: torch.Tensor, x: torch.Tensor, order: torch.Tensor, eta: float, sigma: float,
              inhibit: bool = True) -> torch.Tensor:
    r"""One epoch of the Kohonen rule $y_j \leftarrow y_j + \eta\, g(j, j^*)\, (x - y_j)$.

    Args:
        y: `(B, M, 2)` rings, updated in place and returned.
        x: `(n, 2)` cities.
        order: `(B, n)` the order in which each restart is shown the cities.
        eta: the learning rate.
        sigma: the neighbourhood width in neurons.
        inhibit: a neuron that has won a city in this epoch cannot win another.

    Each restart only ever reads its own ring and order, so a batch computes exactly what
    its restarts would compute one at a time.
    """
    B, M, _ = y.shape
    h = eta * ring_kernel(M, sigma, y.device)  # (M,)
    offset = torch.arange(M, device=y.device)
    rows = torch.arange(B, device=y.device)
    used = torch.zeros((B, M), dtype=torch.bool, device=y.device)
    for k in range(order.shape[1]):
        xc = x[order[:, k]]  # (B, 2)
        diff = xc[:, None, :] - y  # (B, M, 2)
        d2 = (diff ** 2).sum(-1)  # (B, M)
        if inhibit:
            d2 = d2.masked_fill(used, math.inf)
        win = d2.argmin(1)  # (B,)
        used[rows, win] = True
        g = h[(offset - win[:, None]) % M]  # (B, M): eta g(j, j*)
        y += g[..., None] * diff
    return y


def ring_tours(y: torch.Tensor, x: torch.Tensor, tol: float
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Tours `(B, n)` in the order of each city's nearest neuron along the rings `y`
    `(B, M, 2)`, and `(B,)` bool: every city has its own neuron within ``tol``."""
    d2 = ((x[None, :, None, :] - y[:, None, :, :]) ** 2).sum(-1)  # (B, n, M)
    near = d2.argmin(2)  # (B, n)
    idx = near[..., None].expand(-1, -1, 2)
    tangent = (torch.gather(torch.roll(y, -1, 1), 1, idx)
               - torch.gather(torch.roll(y, 1, 1), 1, idx))  # (B, n, 2)
    along = ((x[None] - torch.gather(y, 1, idx)) * tangent).sum(-1)  # (B, n)
    by_along = along.argsort(1)
    by_neuron = torch.gather(near, 1, by_along).argsort(dim=1, stable=True)
    tours = torch.gather(by_along, 1, by_neuron)
    srt = near.sort(1).values
    distinct = (srt[:, 1:] != srt[:, :-1]).all(1)
    reached = (d2.amin(2).sqrt() < tol).all(1)
    return tours, distinct & reached


def ring_length(y: torch.Tensor) -> torch.Tensor:
    r"""$(B,)$ lengths $\sum_j |y_{j+1} - y_j|$ of the closed rings `y` `(B, M, 2)`."""
    return (torch.roll(y, -1, 1) - y).norm(dim=2).sum(1)


def check_memory(restarts: int, n: int, device: torch.device,
                 config: SOMConfig | None = None) -> None:
    """Refuse ``restarts`` rings for ``n`` cities that cannot fit: decoding holds the
    ``(restarts, n, M)`` squared distances, a step a few ``(restarts, M, 2)`` arrays."""
    m = math.ceil((config or SOMConfig()).ratio * n)
    check_batch_memory("som", restarts, n, 4, device, (restarts, n, m))


def solve_som(dist: np.ndarray, coords: np.ndarray | None = None, restarts: int = 8,
              config: SOMConfig | None = None, seed: int | None = 0,
              device: str | torch.device = "auto") -> SolveResult:
    r"""Train ``restarts`` Kohonen rings at once (each its own initial ring and city orders,
    from one generator seeded by ``seed``); return the best tour.

    Every epoch applies $y_j \leftarrow y_j + \eta\, g(j, j^*)\, (x - y_j)$ city by city
    (:func:`som_epoch`), then shrinks $\eta$ and $\sigma$ (:class:`SOMConfig`); the tours
    are read off by :func:`ring_tours`, and ``energy`` holds the ring length after each epoch.

    ``dist`` `(n, n)` gives the tour lengths; ``coords`` `(n, 2)` places the cities (None:
    by multidimensional scaling of ``dist``).
    """
    cfg = config or SOMConfig()
    if cfg.ratio < 1:
        raise GenlabError(f"SOMConfig.ratio must be >= 1 (a neuron for every city), got "
                          f"{cfg.ratio}")
    dev, gen, t0 = start_batch(restarts, seed, device)
    n = dist.shape[0]
    M = math.ceil(cfg.ratio * n)
    check_memory(restarts, n, dev, cfg)
    pts, x, y = ring_start(dist, coords, restarts, M, cfg.radius, cfg.jitter, gen, dev)
    eta, sigma = cfg.eta0, cfg.sigma0 * M
    energies = [ring_length(y)]
    for _ in range(cfg.epochs):
        order = torch.rand((restarts, n), generator=gen, device=dev).argsort(1)  # (B, n)
        som_epoch(y, x, order, eta, sigma, cfg.inhibit)
        energies.append(ring_length(y))
        eta = max(eta * cfg.eta_decay, cfg.eta_min)
        sigma = max(sigma * cfg.sigma_decay, cfg.sigma_min)
    tours_t, valid_t = ring_tours(y, x, cfg.tol)
    tours, valid = tours_t.cpu().numpy(), valid_t.cpu().numpy()
    idx, lengths = pick_best(dist, tours, valid)
    E = torch.stack(energies, 1)[idx].cpu().numpy()
    return SolveResult(method="som", tour=tours[idx], length=float(lengths[idx]),
                       best_valid=bool(valid[idx]), lengths=lengths, valid=valid, energy=E,
                       energy_steps=np.arange(cfg.epochs + 1), seconds=time.perf_counter() - t0,
                       steps=cfg.epochs, extra={"config": asdict(cfg), "ring": y[idx].cpu().numpy(),
                                                "points": pts})
