r"""The elastic net for the TSP (Durbin & Willshaw 1987), batched over restarts.

A ring of $M = \lceil \mathrm{ratio} \cdot n \rceil$ points $y_j$ (`(batch, M, 2)`) is pulled
towards the cities $x_i$ (`(n, 2)`, scaled to the unit square) and held together by its own
tension. With the scale $K$ lowered geometrically, each step is

$$
w_{ij} = \frac{\exp(-|x_i - y_j|^2 / 2K^2)}{\sum_k \exp(-|x_i - y_k|^2 / 2K^2)}, \qquad
\Delta y_j = \alpha \sum_i w_{ij} (x_i - y_j) + \beta K (y_{j+1} - 2 y_j + y_{j-1}),
$$

a gradient step on

$$
E = -\alpha K \sum_i \ln \sum_j \exp(-|x_i - y_j|^2 / 2K^2)
    + \frac{\beta}{2} \sum_j |y_{j+1} - y_j|^2.
$$

The tour visits the cities in the order of their nearest
ring points (always a permutation); a restart is *valid* when every city has its own nearest
ring point within ``tol`` of it, i.e. the ring really passes through each city once.
Instances without coordinates are embedded in the plane by classical multidimensional scaling
of their distance matrix; tour lengths always use the instance's own distances.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.tsp.decode import SolveResult, check_batch_memory, pick_best, start_batch


@dataclass
class ElasticNetConfig:
    """Parameters of the elastic net; alpha, beta, K0 are Durbin & Willshaw's."""

    alpha: float = 0.2      # pull of the cities
    beta: float = 2.0       # tension of the ring
    ratio: float = 2.5      # ring points per city
    K0: float = 0.2         # initial scale
    K_min: float = 0.005    # final scale
    decay: float = 0.995    # K <- max(decay * K, K_min) each step
    max_steps: int = 3000   # at most this many steps
    tol: float = 0.01       # a city is reached when a ring point is this close (unit square)
    radius: float = 0.1     # initial ring: a circle of this radius around the centroid
    jitter: float = 1.0     # restarts differ by ring points moved by this times radius
    record_every: int = 10  # energy recorded every this many steps


def embed_plane(dist: np.ndarray) -> np.ndarray:
    """``(n, 2)`` points whose Euclidean distances approximate ``dist`` (classical MDS)."""
    n = dist.shape[0]
    scale = float(np.max(dist)) or 1.0   # squared in units of the largest distance: no overflow
    J = np.eye(n) - 1.0 / n
    G = -0.5 * J @ ((dist / scale) ** 2) @ J
    w, v = np.linalg.eigh(G)
    top = np.argsort(w)[::-1][:2]
    return scale * v[:, top] * np.sqrt(np.maximum(w[top], 0.0))


def unit_square(coords: np.ndarray) -> np.ndarray:
    """Shift and scale ``coords`` (n, 2) into ``[0, 1]^2``, keeping the aspect ratio."""
    c = np.asarray(coords, dtype=np.float64)
    c = c - c.min(0)
    span = float(c.max())
    if span <= 0:
        raise GenlabError("all cities are at the same place; nothing to optimise")
    return c / span


def en_energy(y: torch.Tensor, x: torch.Tensor, K: float, cfg: ElasticNetConfig) -> torch.Tensor:
    """(B,) elastic-net energy of rings ``y`` (B, M, 2) for cities ``x`` (n, 2) at scale K."""
    sq = ((x[None, :, None, :] - y[:, None, :, :]) ** 2).sum(-1)  # (B, n, M)
    fit = -cfg.alpha * K * torch.logsumexp(-sq / (2 * K * K), 2).sum(1)
    tension = 0.5 * cfg.beta * ((torch.roll(y, -1, 1) - y) ** 2).sum((1, 2))
    return fit + tension


def en_step(y: torch.Tensor, x: torch.Tensor, K: float, cfg: ElasticNetConfig) -> torch.Tensor:
    r"""$\Delta y_j = \alpha \sum_i w_{ij} (x_i - y_j) + \beta K (y_{j+1} - 2 y_j + y_{j-1})$,
    which is $-K\, \partial E / \partial y$ for rings ``y`` (B, M, 2) and cities ``x`` (n, 2)."""
    diff = x[None, :, None, :] - y[:, None, :, :]  # (B, n, M, 2)
    w = torch.softmax(-(diff ** 2).sum(-1) / (2 * K * K), 2)  # (B, n, M)
    pull = (w[..., None] * diff).sum(1)  # (B, M, 2)
    lap = torch.roll(y, -1, 1) - 2 * y + torch.roll(y, 1, 1)
    return cfg.alpha * pull + cfg.beta * K * lap


def check_memory(restarts: int, n: int, device: torch.device,
                 config: ElasticNetConfig | None = None) -> None:
    """Refuse ``restarts`` rings for ``n`` cities that cannot fit: a step holds the
    ``(restarts, n, M, 2)`` differences, their squares and the weighted pulls."""
    m = math.ceil((config or ElasticNetConfig()).ratio * n)
    check_batch_memory("elastic-net", restarts, n, 4, device, (restarts, n, m, 2))


def ring_start(dist: np.ndarray, coords: np.ndarray | None, restarts: int, M: int,
               radius: float, jitter: float, gen: torch.Generator, dev: torch.device
               ) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
    r"""The cities in the unit square, ``pts`` `(n, 2)` (``coords``, or ``dist`` embedded in
    the plane), the same as a tensor ``x`` on ``dev``, and ``restarts`` rings of ``M``
    points, ``y`` `(B, M, 2)`: a circle of ``radius`` around the cities' centroid at a
    random phase, each point moved by
    $N(0, (\mathrm{jitter} \cdot \mathrm{radius})^2)$ noise; the start of the elastic net and
    of the self-organising map."""
    pts = unit_square(coords if coords is not None else embed_plane(dist))
    x = torch.as_tensor(pts, dtype=torch.float64, device=dev)  # (n, 2)
    phase = 2 * math.pi * torch.rand((restarts, 1), generator=gen, device=dev, dtype=torch.float64)
    ang = phase + 2 * math.pi * torch.arange(M, device=dev, dtype=torch.float64) / M  # (B, M)
    noise = jitter * radius * torch.randn((restarts, M, 2), generator=gen, device=dev,
                                          dtype=torch.float64)
    return pts, x, x.mean(0) + radius * torch.stack([ang.cos(), ang.sin()], -1) + noise


def solve_elastic_net(dist: np.ndarray, coords: np.ndarray | None = None, restarts: int = 8,
                      config: ElasticNetConfig | None = None, seed: int | None = 0,
                      device: str | torch.device = "auto") -> SolveResult:
    """Run ``restarts`` elastic nets at once (random ring phases); return the best tour."""
    cfg = config or ElasticNetConfig()
    dev, gen, t0 = start_batch(restarts, seed, device)
    n = dist.shape[0]
    M = math.ceil(cfg.ratio * n)
    check_memory(restarts, n, dev, cfg)
    pts, x, y = ring_start(dist, coords, restarts, M, cfg.radius, cfg.jitter, gen, dev)
    K = cfg.K0
    energies, steps = [en_energy(y, x, K, cfg)], [0]
    step = 0
    for step in range(1, cfg.max_steps + 1):
        y = y + en_step(y, x, K, cfg)
        K = max(cfg.decay * K, cfg.K_min)
        if step % cfg.record_every == 0:
            energies.append(en_energy(y, x, K, cfg))
            steps.append(step)
            near = ((x[None, :, None, :] - y[:, None, :, :]) ** 2).sum(-1).amin(2).sqrt()
            if K <= cfg.K_min and bool((near.amax(1) < cfg.tol).all()):
                break
    sq = ((x[None, :, None, :] - y[:, None, :, :]) ** 2).sum(-1)  # (B, n, M)
    nearest = sq.argmin(2)  # (B, n)
    # order by nearest ring point; ties broken by the angle towards the neighbouring points
    nxt = torch.gather(torch.roll(y, -1, 1), 1, nearest[..., None].expand(-1, -1, 2))
    here = torch.gather(y, 1, nearest[..., None].expand(-1, -1, 2))
    along = ((x[None] - here) * (nxt - here)).sum(-1)  # (B, n) projection on the next segment
    key = nearest.to(torch.float64) + 0.5 * torch.tanh(along / (K * K + 1e-12))
    tours = key.argsort(1).cpu().numpy()
    reached = sq.amin(2).sqrt() < cfg.tol
    srt = nearest.sort(1).values
    distinct = (srt[:, 1:] != srt[:, :-1]).all(1).cpu()
    valid = (reached.all(1).cpu() & distinct).numpy()
    idx, lengths = pick_best(dist, tours, valid)
    E = torch.stack(energies, 1)[idx].cpu().numpy()
    return SolveResult(method="elastic-net", tour=tours[idx], length=float(lengths[idx]),
                       best_valid=bool(valid[idx]), lengths=lengths, valid=valid, energy=E,
                       energy_steps=np.asarray(steps), seconds=time.perf_counter() - t0,
                       steps=step, extra={"config": asdict(cfg), "ring": y[idx].cpu().numpy(),
                                          "points": pts})
