"""A tour's quality: the optimum of an instance and the gap of a tour length to it."""

from __future__ import annotations

from typing import overload

import numpy as np

from genlab.tsp.exact import HELD_KARP_MAX_N, held_karp
from genlab.tsp.tsplib import Instance


@overload
def gap_to_optimum(length: float, optimum: float | None) -> float | None: ...
@overload
def gap_to_optimum(length: np.ndarray, optimum: float | None) -> np.ndarray | None: ...


def gap_to_optimum(length: float | np.ndarray, optimum: float | None
                   ) -> float | np.ndarray | None:
    r"""The relative excess of a tour length $L$ over the optimal length $L^*$:

    $$
    \mathrm{gap} = \frac{L - L^*}{L^*} = \frac{L}{L^*} - 1
    $$

    0 for an optimal tour, 0.1 for a tour 10 % longer (benchmark tables show $100\, \mathrm{gap}$
    in %). ``length`` is one length (a float back) or the ``(R,)`` lengths of ``R``
    restarts (an ``(R,)`` float64 array back). None when the optimum is unknown (None) or
    not positive (a gap relative to zero has no meaning).
    """
    if optimum is None or optimum <= 0:
        return None
    if isinstance(length, np.ndarray):
        return length.astype(np.float64) / optimum - 1.0
    return float(length) / optimum - 1.0


def known_optimum(instance: Instance) -> tuple[float | None, str | None]:
    """``(L*, source)``: the optimum stated by the instance's files (source: that file),
    else by Held-Karp when ``n <= HELD_KARP_MAX_N`` (source ``"held-karp"``), else
    ``(None, None)``."""
    if instance.optimum is not None:
        return instance.optimum, instance.optimum_source
    if instance.n <= HELD_KARP_MAX_N:
        return held_karp(instance.dist).length, "held-karp"
    return None, None
