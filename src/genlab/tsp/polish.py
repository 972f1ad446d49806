r"""Classical baselines and polish: nearest-neighbour tours and 2-opt local search.

2-opt (Croes 1958) removes edges $(a, a+1)$ and $(b, b+1)$ and reconnects as
$(a, b), (a+1, b+1)$ (reversing the segment between) whenever

$$
\delta = d(t_a, t_b) + d(t_{a+1}, t_{b+1}) - d(t_a, t_{a+1}) - d(t_b, t_{b+1}) < 0;
$$

all $O(n^2)$ deltas are computed at once and the best move is applied until none improves.
"""

from __future__ import annotations

import numpy as np

from genlab.tsp.tsplib import tour_length


def nearest_neighbour(dist: np.ndarray, start: int = 0) -> np.ndarray:
    """The greedy tour from ``start``: always go to the nearest unvisited city."""
    n = dist.shape[0]
    seen = np.zeros(n, dtype=bool)
    tour = np.empty(n, dtype=np.int64)
    cur = start
    for k in range(n):
        tour[k] = cur
        seen[cur] = True
        if k < n - 1:
            cur = int(np.where(seen, np.inf, dist[cur]).argmin())
    return tour


def two_opt(dist: np.ndarray, tour: np.ndarray, max_moves: int = 100_000) -> np.ndarray:
    """A 2-opt local optimum reached from ``tour`` (best-improvement moves)."""
    t = np.asarray(tour, dtype=np.int64).copy()
    n = len(t)
    if n < 4:
        return t
    upper = np.triu(np.ones((n, n), dtype=bool), 2)
    upper[0, n - 1] = False  # these two edges are adjacent
    eps = 1e-9 * max(1.0, float(dist.max()))
    for _ in range(max_moves):
        nxt = np.roll(t, -1)
        d_cur = dist[t, nxt]  # (n,) edge a -> a+1
        delta = dist[t[:, None], t[None, :]] + dist[nxt[:, None], nxt[None, :]] \
            - d_cur[:, None] - d_cur[None, :]
        delta = np.where(upper, delta, 0.0)
        a, b = np.unravel_index(int(delta.argmin()), delta.shape)
        if delta[a, b] >= -eps:
            break
        t[a + 1:b + 1] = t[a + 1:b + 1][::-1].copy()
    return t


def best_nearest_neighbour(dist: np.ndarray) -> tuple[np.ndarray, float]:
    """The shortest nearest-neighbour tour over all start cities, and its length."""
    best, best_len = None, np.inf
    for s in range(dist.shape[0]):
        t = nearest_neighbour(dist, s)
        length = tour_length(dist, t)
        if length < best_len:
            best, best_len = t, length
    return best, float(best_len)
