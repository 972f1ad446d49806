r"""From network states to tours: validity, decoding and repair.

A Hopfield-type TSP state is a `(batch, n, n)` matrix $V_{Xi}$ (city $X$, position $i$).
It is a *valid* tour when thresholding at 1/2 gives a permutation matrix: exactly one active
neuron in every row and every column. Any state is *repaired* into the nearest tour by the
assignment $\max_\pi \sum_X V_{X, \pi(X)}$ (Hungarian algorithm), so a solver can always
return a permutation while reporting honestly whether the network found it by itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from genlab.device import make_generator, resolve_device
from genlab.errors import GenlabError
from genlab.memory import check_allocation, tensor_bytes
from genlab.tsp.tsplib import tour_length


def start_batch(restarts: int, seed: int | None, device: str | torch.device
                ) -> tuple[torch.device, torch.Generator, float]:
    """Check ``restarts >= 1``; return the device, a generator seeded on it, and the start
    time, as every batched solver begins."""
    if restarts < 1:
        raise GenlabError(f"restarts must be >= 1, got {restarts}")
    t0 = time.perf_counter()
    dev = resolve_device(device)
    return dev, make_generator(seed, dev), t0


def check_batch_memory(method: str, restarts: int, n: int, copies: float,
                       device: torch.device, shape: tuple[int, ...] | None = None) -> None:
    """Refuse (:class:`GenlabError`) a batch of ``restarts`` networks that cannot fit.

    Each solver keeps about ``copies`` float64 arrays of the batch's ``shape`` alive at its
    peak (default ``(restarts, n, n)``: one neuron per city and position; measured peaks
    for the constants the solvers pass).
    """
    shape = (restarts, n, n) if shape is None else shape
    check_allocation(copies * tensor_bytes(shape, torch.float64),
                     f"{method} with {restarts} restarts of {n} cities", device,
                     "use fewer restarts")


@dataclass
class SolveResult:
    """What every TSP solver returns.

    ``tour`` (n,) is the best returned tour (0-based city order), always a permutation, with
    ``length`` under the instance's own distances. ``lengths`` (R,) and ``valid`` (R,) give
    every restart: its tour length and whether the network's own final state was a valid tour
    (before any repair). ``best_valid`` says whether ``tour`` came from a valid state.
    ``energy`` (T,) is the energy trace of the returned restart; ``energy_steps`` (T,) the step
    numbers at which it was recorded.
    """

    method: str
    tour: np.ndarray
    length: float
    best_valid: bool
    lengths: np.ndarray
    valid: np.ndarray
    energy: np.ndarray
    energy_steps: np.ndarray
    seconds: float = 0.0
    steps: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def valid_fraction(self) -> float:
        """The fraction of restarts whose network state was a valid tour by itself."""
        return float(np.mean(self.valid)) if len(self.valid) else 0.0


def is_valid_state(V: torch.Tensor) -> torch.Tensor:
    """(B,) bool: each ``(n, n)`` state thresholded at 1/2 is a permutation matrix."""
    on = V > 0.5  # (B, n, n)
    return (on.sum(1) == 1).all(1) & (on.sum(2) == 1).all(1)


def state_to_tours(V: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    r"""Decode states ``(B, n, n)`` into tours ``(B, n)`` and a validity mask ``(B,)``.

    Valid states are read off directly (the city in each position); the others are repaired
    by the assignment that maximises $\sum_X V_{X, \pi(X)}$.
    """
    valid = is_valid_state(V).cpu().numpy()
    Vn = V.detach().to(torch.float64).cpu().numpy()
    B, n, _ = Vn.shape
    tours = np.empty((B, n), dtype=np.int64)
    for b in range(B):  # one assignment problem per restart
        if valid[b]:
            tours[b] = Vn[b].argmax(0)  # city in position i
        else:
            city, pos = linear_sum_assignment(-Vn[b])
            tours[b, pos] = city
    return tours, valid


def tour_lengths(dist: np.ndarray, tours: np.ndarray) -> np.ndarray:
    """(B,) lengths of tours ``(B, n)`` under ``dist`` (n, n)."""
    return dist[tours, np.roll(tours, -1, axis=1)].sum(1)


def pick_best(dist: np.ndarray, tours: np.ndarray, valid: np.ndarray) -> tuple[int, np.ndarray]:
    """Index of the returned restart (the shortest valid one, else the shortest) and lengths."""
    lengths = tour_lengths(dist, tours)
    if valid.any():
        idx = int(np.where(valid, lengths, np.inf).argmin())
    else:
        idx = int(lengths.argmin())
    assert tour_length(dist, tours[idx]) == lengths[idx]
    return idx, lengths
