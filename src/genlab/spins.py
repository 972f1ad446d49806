r"""Functions of ±1 spin states shared by every energy model (Hopfield, Boltzmann, mean field).

The lecture's energy of a state $x \in \{-1, +1\}^N$ under symmetric couplings $W$ (zero
diagonal) and biases $b$ is

$$
E(x; W) = -\tfrac{1}{2} \sum_{ij} w_{ij} x_i x_j - \sum_i b_i x_i
        = -\tfrac{1}{2} x^\top W x - b^\top x,
$$

and the local field of unit $i$ is $a_i = \sum_j w_{ij} x_j + b_i$. Both are written once here
with one argument order, state first: ``(x, weights, bias)``.
"""

from __future__ import annotations

import torch


def spin_energy(x: torch.Tensor, weights: torch.Tensor,
                bias: torch.Tensor | None = None) -> torch.Tensor:
    r"""$E(x) = -\tfrac{1}{2} x^\top W x - b^\top x$ for states `x` of shape `(batch, N)` or `(N,)`.

    Returns the energies, shape `(batch,)` (`(1,)` for one state). `x` is cast to the
    weights' dtype; it may also hold mean-field magnetisations $m \in [-1, 1]^N$, giving
    $-\tfrac{1}{2} m^\top W m - b^\top m$. `bias=None` means $b = 0$.
    """
    x = x if x.ndim == 2 else x.unsqueeze(0)
    x = x.to(weights.dtype)
    e = -0.5 * ((x @ weights) * x).sum(-1)
    if bias is not None:
        e = e - x @ bias
    return e


def local_fields(x: torch.Tensor, weights: torch.Tensor,
                 bias: torch.Tensor | None = None) -> torch.Tensor:
    r"""$a_i = \sum_j w_{ij} x_j + b_i$ for `x` of shape `(batch, N)` -> `(batch, N)`
    ($W$ symmetric, so `x @ W` is $W x$ row by row)."""
    a = x.to(weights.dtype) @ weights
    return a if bias is None else a + bias
