r"""Binarisation and the $\{0, 1\} \to \{-1, +1\}$ spin map.

* ``none``: intensities in $[0, 1]$ as they are.
* ``threshold``: $x_b = \mathbf{1}[x > 0.5]$, the same every time (static binarisation).
* ``bernoulli``: $x_b \sim \mathrm{Bernoulli}(x)$, drawn afresh each time it is asked for,
  so a training loop that draws once per epoch sees a new binary sample of every image
  each epoch (dynamic binarisation, as in the VAE literature); $\mathbb{E}[x_b] = x$.
* spins: $s = 2x - 1$ maps $\{0, 1\}$ to $\{-1, +1\}$ (and $[0, 1]$ to $[-1, 1]$).
"""

from __future__ import annotations

import torch

from genlab.errors import GenlabError

BINARIZE_MODES = ("none", "threshold", "bernoulli")


def binarize(x: torch.Tensor, mode: str, generator: torch.Generator | None = None
             ) -> torch.Tensor:
    """Apply binarisation ``mode`` to intensities ``x`` in $[0, 1]$ (any shape)."""
    if mode == "none":
        return x
    if mode == "threshold":
        return (x > 0.5).to(x.dtype)
    if mode == "bernoulli":
        return torch.bernoulli(x, generator=generator)
    raise GenlabError(f"unknown binarize mode {mode!r}; choose one of {', '.join(BINARIZE_MODES)}")


def to_spins(x: torch.Tensor) -> torch.Tensor:
    r"""Map $\{0, 1\}$ to $\{-1, +1\}$: $s = 2x - 1$."""
    return 2.0 * x - 1.0


def from_spins(s: torch.Tensor) -> torch.Tensor:
    r"""Map $\{-1, +1\}$ to $\{0, 1\}$: $x = (s + 1) / 2$."""
    return (s + 1.0) / 2.0
