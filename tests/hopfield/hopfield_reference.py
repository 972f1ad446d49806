"""Plain one-unit-at-a-time Hopfield dynamics in float64 NumPy: the independent reference."""

from __future__ import annotations

import numpy as np


def sign0(a: float) -> float:
    return 1.0 if a >= 0 else -1.0


def async_reference(w: np.ndarray, x: np.ndarray, orders: list[np.ndarray],
                    b: np.ndarray | None = None, clamp: np.ndarray | None = None
                    ) -> tuple[np.ndarray, list[float], int, bool]:
    """Run sweeps in the given unit orders until a sweep changes nothing.

    Returns ``(state, energies after each sweep (first = cue), sweeps, converged)``.
    """
    x = x.astype(np.float64).copy()
    b = np.zeros(len(x)) if b is None else b
    energies = [float(-0.5 * x @ w @ x - b @ x)]
    for s, order in enumerate(orders, 1):
        changed = False
        for i in order:
            if clamp is not None and clamp[i]:
                continue
            new = sign0(float(w[i] @ x + b[i]))
            if new != x[i]:
                x[i] = new
                changed = True
        energies.append(float(-0.5 * x @ w @ x - b @ x))
        if not changed:
            return x, energies, s, True
    return x, energies, len(orders), False


def sync_reference(w: np.ndarray, x: np.ndarray, sweeps: int
                   ) -> tuple[np.ndarray, int, bool, bool]:
    """Synchronous updates, one cue: (final state, sweeps, converged, two-cycle)."""
    x = x.astype(np.float64).copy()
    seen = [x]
    for s in range(1, sweeps + 1):
        new = np.where(w @ x >= 0, 1.0, -1.0)
        if np.array_equal(new, x):
            return x, s, True, False
        if len(seen) >= 2 and np.array_equal(new, seen[-2]):
            return new, s, False, True
        x = new
        seen.append(x)
    return x, sweeps, False, False
