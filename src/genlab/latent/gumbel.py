r"""Gumbel-max sampling and the Gumbel-softmax (Concrete) relaxation.

With $G_k = -\log(-\log U_k)$, $U_k \sim \mathrm{Uniform}(0, 1)$ i.i.d. (standard Gumbel
noise):

* Gumbel-max trick: $Z = \arg\max_k (\log \pi_k + G_k)$ is an exact draw from
  $\mathrm{Categorical}(\pi)$, $\pi = \mathrm{softmax}(\mathrm{logits})$.
* Gumbel-softmax (Jang, Gu & Poole 2017; Maddison, Mnih & Teh 2017, "Concrete"):

    $$
    y_k = \frac{\exp((\log \pi_k + G_k) / \tau)}{\sum_j \exp((\log \pi_j + G_j) / \tau)},
    $$

    a point of the simplex that tends to the one-hot vector of $Z$ as $\tau \to 0$; it is
    a differentiable function of the logits.
* Straight-through Gumbel-softmax: the forward value is $\mathrm{one\_hot}(\arg\max_k y_k)$
  (exactly one-hot), the gradient is that of the relaxed $y$.

Numerical care: $U$ is drawn so that neither logarithm ever sees 0 or 1
(``standard_gumbel``); ``logits`` of ``-inf`` mark impossible categories (they are
never drawn and get weight exactly 0); half-precision inputs (float16, bfloat16) are
computed in float32 and the result cast back, so small temperatures do not overflow.
Every function works on any batch shape; ``dim`` picks the category axis.
"""

from __future__ import annotations

import torch

from genlab.errors import GenlabError

__all__ = ["gumbel_max", "gumbel_softmax", "standard_gumbel", "check_logits"]

_HALF = (torch.float16, torch.bfloat16)


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the noise and the softmax are computed in: float64 stays, else float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def standard_gumbel(shape: tuple[int, ...] | torch.Size, generator: torch.Generator | None = None,
                    device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
                    ) -> torch.Tensor:
    r"""Standard Gumbel noise $G = -\log(-\log U)$ of ``shape``, never infinite or NaN.

    $U$ is drawn in ``dtype`` (float32 or float64) and clamped to
    $[\mathrm{tiny}, 1 - \varepsilon/2]$ (the smallest normal number and the largest number
    below 1), so $-\log U$ lies in $(0, \infty)$ and both logarithms stay finite: $G$ lies in
    $[-\log(-\log \mathrm{tiny}), -\log(-\log(1 - \varepsilon/2))]$, i.e. about
    $[-4.5, 16.6]$ in float32 and $[-6.6, 36.7]$ in float64. ``torch.rand`` draws multiples
    of $\varepsilon/2$ in $[0, 1)$, so the clamp only moves the single value $U = 0$
    (probability $2^{-24}$ in float32).
    """
    if dtype not in (torch.float32, torch.float64):
        raise GenlabError(f"Gumbel noise is drawn in float32 or float64, not {dtype}")
    info = torch.finfo(dtype)
    u = torch.rand(tuple(shape), generator=generator, device=device, dtype=dtype)
    u = u.clamp_(min=info.tiny, max=1.0 - info.eps / 2)
    return -torch.log(-torch.log(u))


def check_logits(logits: torch.Tensor, dim: int = -1) -> None:
    """Raise ``GenlabError`` unless ``logits`` can parameterise a categorical law.

    Allowed: finite values and ``-inf`` (an impossible category), at least one finite
    entry along ``dim`` in every row, a floating dtype and at least one category.
    """
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise GenlabError("logits must be a floating-point tensor")
    if logits.dim() == 0:
        raise GenlabError("logits must have at least one dimension (the categories)")
    if logits.shape[dim] == 0:
        raise GenlabError("logits have no categories along the category dimension")
    if torch.isnan(logits).any() or torch.isposinf(logits).any():
        raise GenlabError("logits contain NaN or +inf; use finite values (or -inf for an "
                          "impossible category)")
    if torch.isneginf(logits).all(dim=dim).any():
        raise GenlabError("some row of logits is -inf everywhere: at least one category must "
                          "be possible")


def gumbel_max(logits: torch.Tensor, generator: torch.Generator | None = None,
               dim: int = -1) -> torch.Tensor:
    r"""Exact categorical samples by the Gumbel-max trick.

    $Z = \arg\max_k (\mathrm{logits}_k + G_k)$, $G_k$ i.i.d. standard Gumbel, so that
    $P(Z = k) = \mathrm{softmax}(\mathrm{logits})_k$; logits need not be normalised.

    Args:
        logits: ``(..., K, ...)`` unnormalised log-probabilities, category axis ``dim``;
            ``-inf`` marks a category of probability 0.
        generator: the random generator (on ``logits.device``).
        dim: the category axis.

    Returns:
        int64 tensor of the category indices, ``logits.shape`` without ``dim``.
    """
    check_logits(logits, dim)
    work = _work_dtype(logits.dtype)
    g = standard_gumbel(logits.shape, generator, logits.device, work)
    return (logits.detach().to(work) + g).argmax(dim=dim)


def gumbel_softmax(logits: torch.Tensor, tau: float = 1.0, hard: bool = False,
                   generator: torch.Generator | None = None, dim: int = -1) -> torch.Tensor:
    r"""A Gumbel-softmax (Concrete) sample, or its straight-through one-hot version.

    $y_k = \mathrm{softmax}((\mathrm{logits} + G) / \tau)_k$ with $G$ standard Gumbel noise.
    With ``hard=True`` the result is $\mathrm{one\_hot}(\arg\max_k y_k)$ in the forward pass
    (exactly one-hot, the same category as ``gumbel_max`` would give for the same noise)
    and its gradient is the gradient of the relaxed $y$: it is computed as
    $y_{\mathrm{hard}} + (y - \mathrm{stop\_gradient}(y))$, whose value is exactly
    $y_{\mathrm{hard}}$.

    Args:
        logits: ``(..., K, ...)`` unnormalised log-probabilities (any float dtype; half
            precision is computed in float32 and cast back).
        tau: the temperature, $\tau > 0$.
        hard: straight-through (one-hot forward, relaxed backward) when True.
        generator: the random generator (on ``logits.device``).
        dim: the category axis.

    Returns:
        Tensor of ``logits.shape`` and ``logits.dtype``; every slice along ``dim`` lies on
        the probability simplex (is one-hot when ``hard``).
    """
    check_logits(logits, dim)
    if not (isinstance(tau, (int, float)) and tau > 0 and tau < float("inf")):
        raise GenlabError(f"temperature tau must be a finite number > 0, got {tau!r}")
    work = _work_dtype(logits.dtype)
    g = standard_gumbel(logits.shape, generator, logits.device, work)
    # Shift by the (constant, hence gradient-free) row maximum before dividing by tau, so
    # every entry is <= 0 with one exactly 0: no overflow for tiny tau or huge logits, and
    # logits = -inf give -inf, a softmax weight of exactly 0.
    z = logits.to(work) + g
    z = z - z.detach().amax(dim=dim, keepdim=True)
    y = torch.softmax(z / tau, dim=dim)
    if hard:
        index = y.detach().argmax(dim=dim, keepdim=True)
        y_hard = torch.zeros_like(y).scatter_(dim, index, 1.0)
        y = y_hard + (y - y.detach())
    return y.to(logits.dtype)
