r"""Learning rules that turn stored patterns into symmetric, zero-diagonal weights.

Patterns are the rows of $X$, shape `(P, N)`, entries ±1. Every rule returns
`(J, scale)` with the weights $W = \mathrm{scale} \cdot J$; $J$ is symmetric with $J_{ii} = 0$.
The Hebbian rule keeps ``J`` integer-valued (exact in float32 while ``P < 2**24``) so
the sign of every activity, including a tie $a_i = 0$, is computed exactly.

* Hebbian: $w_{ij} = \eta \sum_n x_i^{(n)} x_j^{(n)}$ for $i \ne j$ ($\eta = 1/N$ by default).
* Storkey (1997), one pattern at a time, with $h_{ij} = \sum_{k \ne i,j} w_{ik} x_k$:

    $$
    w_{ij} \leftarrow w_{ij} + \frac{1}{N} (x_i x_j - x_i h_{ji} - h_{ij} x_j)
    $$

* Pseudo-inverse (projection; Personnaz, Guyon & Dreyfus 1985):
  $W = X^+ X$, the orthogonal projection onto the span of the patterns, with its
  diagonal then set to zero. A stored pattern has activity $a_i = (1 - P_{ii}) x_i$, so
  it stays a fixed point while every $P_{ii} < 1$, i.e. up to loads close to 1.
"""

from __future__ import annotations

import torch

from genlab.errors import GenlabError

RULES = ("hebbian", "storkey", "pseudoinverse")


def hebbian(patterns: torch.Tensor, eta: float | None = None) -> tuple[torch.Tensor, float]:
    r"""Hebbian weights $w_{ij} = \eta \sum_n x_i^{(n)} x_j^{(n)}$, $w_{ii} = 0$.

    `patterns`: `(P, N)` of ±1. Returns `(J, eta)` with $J = X^\top X - P I$
    (integers), shape ``(N, N)``, in the patterns' dtype and device.
    """
    n = patterns.shape[1]
    eta = 1.0 / n if eta is None else float(eta)
    if not eta > 0:
        raise GenlabError(f"the Hebbian learning rate eta must be > 0, got {eta}")
    j = patterns.T @ patterns  # (N, N); exact: integers
    j.fill_diagonal_(0.0)
    return j, eta


def storkey(patterns: torch.Tensor) -> tuple[torch.Tensor, float]:
    r"""Storkey's incremental rule, one pattern at a time (computed in float64).

    With $h = W x$ ($w_{ii} = 0$) the local field $h_{ij} = h_i - w_{ij} x_j$; since
    $x_i^2 = 1$ the update is $\Delta W = (x x^\top - x h^\top - h x^\top + 2 W) / N$ off the
    diagonal. Returns ``(W, 1.0)``, ``W`` of shape ``(N, N)``.
    """
    x64 = patterns.to(torch.float64)
    n = x64.shape[1]
    w = torch.zeros(n, n, dtype=torch.float64, device=patterns.device)
    for x in x64:  # the rule is sequential in the patterns
        h = w @ x  # (N,)
        w = w + (torch.outer(x, x) - torch.outer(x, h) - torch.outer(h, x) + 2.0 * w) / n
        w.fill_diagonal_(0.0)
    return w.to(patterns.dtype), 1.0


def pseudoinverse(patterns: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Projection weights $W = X^+ X$ with the diagonal set to zero (float64 inside).

    $X^+$ is the Moore-Penrose pseudo-inverse, so linearly dependent patterns are
    fine. Returns ``(W, 1.0)``, ``W`` of shape ``(N, N)``.
    """
    x64 = patterns.to(torch.float64)
    w = torch.linalg.pinv(x64) @ x64  # (N, N) projection onto the patterns' span
    w = 0.5 * (w + w.T)
    w.fill_diagonal_(0.0)
    return w.to(patterns.dtype), 1.0


def learn(patterns: torch.Tensor, rule: str = "hebbian", eta: float | None = None
          ) -> tuple[torch.Tensor, float]:
    r"""Weights `(J, scale)` for `rule` in `RULES` ($W = \mathrm{scale} \cdot J$)."""
    if rule == "hebbian":
        return hebbian(patterns, eta)
    if eta is not None:
        raise GenlabError(f"eta applies to the Hebbian rule only, not to {rule!r}")
    if rule == "storkey":
        return storkey(patterns)
    if rule == "pseudoinverse":
        return pseudoinverse(patterns)
    raise GenlabError(f"unknown learning rule {rule!r}; choose one of {', '.join(RULES)} "
                      "(or use genlab.hopfield.ModernHopfield for the modern network)")
