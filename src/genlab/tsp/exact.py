r"""Exact TSP for small instances: Held-Karp dynamic programming (Held & Karp 1962).

$g(S, j) = \min_{i \in S \setminus \{j\}} g(S \setminus \{j\}, i) + d_{ij}$ is the shortest path
that starts at city 0, visits the set $S$ of other cities and ends at $j \in S$; the optimum is
$\min_j g(V \setminus \{0\}, j) + d_{j0}$. Time $O(2^n n^2)$, memory $O(2^n n)$: fine up to
$n = 15$.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from genlab.errors import GenlabError
from genlab.tsp.tsplib import tour_length

HELD_KARP_MAX_N = 15


class ExactTour(NamedTuple):
    """An optimal tour (0-based city order starting at city 0) and its length."""

    tour: np.ndarray
    length: float


def held_karp(dist: np.ndarray, max_n: int = HELD_KARP_MAX_N) -> ExactTour:
    """The optimal tour of the ``(n, n)`` distance matrix ``dist`` by Held-Karp (n <= max_n)."""
    d = np.asarray(dist, dtype=np.float64)
    n = d.shape[0]
    if n > max_n:
        raise GenlabError(f"Held-Karp is limited to n <= {max_n} cities, got {n}")
    if n <= 3:
        tour = np.arange(n)
        return ExactTour(tour, tour_length(d, tour))
    m = n - 1  # cities 1..n-1 are bits 0..m-1
    full = 1 << m
    g = np.full((full, m), np.inf)
    parent = np.full((full, m), -1, dtype=np.int64)
    g[1 << np.arange(m), np.arange(m)] = d[0, 1:]
    masks = np.arange(full)
    popcount = np.array([bin(s).count("1") for s in range(full)])
    dd = d[1:, 1:]  # (m, m)
    for size in range(2, m + 1):
        level = masks[popcount == size]
        for j in range(m):
            sel = level[(level >> j) & 1 == 1]
            prev = sel & ~(1 << j)
            cand = g[prev] + dd[:, j]  # (len, m): arrive at j from i
            best = cand.argmin(1)
            g[sel, j] = cand[np.arange(len(sel)), best]
            parent[sel, j] = best
    closing = g[full - 1] + d[1:, 0]
    j = int(closing.argmin())
    length = float(closing[j])
    order = []
    s = full - 1
    while j >= 0:
        order.append(j + 1)
        pj = int(parent[s, j])
        s &= ~(1 << j)
        j = pj
    tour = np.array([0] + order[::-1], dtype=np.int64)
    return ExactTour(tour, length)


def brute_force(dist: np.ndarray) -> ExactTour:
    """The optimal tour by enumerating all ``(n-1)!`` tours that start at city 0 (small n)."""
    d = np.asarray(dist, dtype=np.float64)
    n = d.shape[0]
    if n > 10:
        raise GenlabError(f"brute force is limited to n <= 10 cities, got {n}")
    best_len, best = np.inf, None
    for perm in itertools.permutations(range(1, n)):
        t = np.array((0, *perm))
        length = tour_length(d, t)
        if length < best_len:
            best_len, best = length, t
    return ExactTour(best, float(best_len))
