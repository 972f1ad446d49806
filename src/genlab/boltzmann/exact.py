r"""Exact answers for small Boltzmann machines by enumerating all $2^n$ states.

For $P(x) = \exp(-\beta E(x)) / Z$ with $E(x) = -\frac{1}{2} x^\top W x - b^\top x$ and $n \le 20$:

* $\log Z = \log \sum_x \exp(-\beta E(x))$,
* $\langle x_i \rangle = \sum_x P(x) x_i$ and $\langle x_i x_j \rangle = \sum_x P(x) x_i x_j$,
* $\log P(v) = \log \sum_h \exp(-\beta E(v, h)) - \log Z$ for data $v$ on the visible units.

States are enumerated in chunks (vectorised, a matrix product per chunk) and summed
with a streaming log-sum-exp, so memory stays at one chunk whatever ``n``. Everything
is computed in float64. State ``k`` has ``x_i = +1`` exactly when bit ``i`` of ``k`` is
set (see :func:`state_index`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from genlab.boltzmann.boltzmann import check_energy_scale, check_spins, check_weights
from genlab.errors import GenlabError
from genlab.spins import spin_energy

MAX_EXACT_UNITS = 20
DEFAULT_CHUNK = 1 << 15


class ExactMoments(NamedTuple):
    """Exact ``log Z`` (float), means ``<x_i>`` (n,) and correlations ``<x_i x_j>`` (n, n)."""

    log_z: float
    mean: torch.Tensor
    corr: torch.Tensor


def _check_size(n: int, limit: int = MAX_EXACT_UNITS, what: str = "units") -> None:
    if n > limit:
        raise GenlabError(f"exact enumeration needs at most {limit} {what} (2^{limit} states), "
                          f"got {n}; use sampling (genlab bm sample) instead")


def enumerate_states(n: int, start: int = 0, stop: int | None = None,
                     device: torch.device | str = "cpu",
                     dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """States ``start .. stop-1`` of the 2^n as a (stop - start, n) matrix of ±1."""
    stop = (1 << n) if stop is None else stop
    k = torch.arange(start, stop, device=device, dtype=torch.int64)
    bits = (k[:, None] >> torch.arange(n, device=device, dtype=torch.int64)) & 1
    return (2 * bits - 1).to(dtype)


def state_index(x: torch.Tensor) -> torch.Tensor:
    r"""The enumeration index $k = \sum_i [x_i = +1]\, 2^i$ of each row of `x` (batch, n)."""
    n = x.shape[-1]
    powers = 2 ** torch.arange(n, device=x.device, dtype=torch.int64)
    return ((x > 0).to(torch.int64) * powers).sum(-1)


def exact_moments(weights: torch.Tensor, bias: torch.Tensor | None = None, beta: float = 1.0,
                  chunk: int = DEFAULT_CHUNK) -> ExactMoments:
    r"""$\log Z$, $\langle x_i \rangle$, $\langle x_i x_j \rangle$ of $P(x) = e^{-\beta E(x)} / Z$.

    Exact, by enumeration ($n \le 20$).

    Args:
        weights: ``W`` (n, n), symmetric, zero diagonal.
        bias: ``b`` (n,) or None for zero.
        beta: inverse temperature.
        chunk: states per vectorised chunk.
    Returns:
        :class:`ExactMoments` with float64 tensors on the weights' device.
    """
    w, b = check_weights(weights, bias)
    n = w.shape[0]
    _check_size(n)
    w, b = w.to(torch.float64), b.to(torch.float64)
    check_energy_scale(w, b, beta)
    log_m = -math.inf
    s0 = torch.zeros((), dtype=torch.float64, device=w.device)
    s1 = torch.zeros(n, dtype=torch.float64, device=w.device)
    s2 = torch.zeros(n, n, dtype=torch.float64, device=w.device)
    for start in range(0, 1 << n, chunk):
        x = enumerate_states(n, start, min(start + chunk, 1 << n), w.device)  # (m, n)
        logp = -beta * spin_energy(x, w, b)                                   # (m,)
        top = float(logp.max())
        if top > log_m:  # rescale what was summed so far to the new maximum
            scale = math.exp(log_m - top) if log_m > -math.inf else 0.0
            s0, s1, s2 = s0 * scale, s1 * scale, s2 * scale
            log_m = top
        p = torch.exp(logp - log_m)
        s0 = s0 + p.sum()
        s1 = s1 + p @ x
        s2 = s2 + (x * p[:, None]).T @ x
    return ExactMoments(log_m + math.log(float(s0)), s1 / s0, s2 / s0)


def state_log_probs(weights: torch.Tensor, bias: torch.Tensor | None = None,
                    beta: float = 1.0) -> torch.Tensor:
    """``log P(x_k)`` for every state ``k`` in enumeration order -> (2^n,) float64."""
    w, b = check_weights(weights, bias)
    n = w.shape[0]
    _check_size(n)
    logp = -beta * spin_energy(enumerate_states(n, device=w.device), w.to(torch.float64),
                               b.to(torch.float64))
    return logp - torch.logsumexp(logp, 0)


def _clamped_log_weights(w: torch.Tensor, b: torch.Tensor, v: torch.Tensor, beta: float
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """For rows ``v`` (r, V): full states (r, 2^H, n) and ``-beta E(v, h)`` (r, 2^H)."""
    (r, nv), n = v.shape, w.shape[0]
    h = enumerate_states(n - nv, device=w.device)                      # (2^H, H)
    x = torch.cat([v[:, None, :].expand(r, h.shape[0], nv),
                   h[None].expand(r, h.shape[0], n - nv)], dim=-1)      # (r, 2^H, n)
    return x, -beta * spin_energy(x.reshape(-1, n), w, b).reshape(r, h.shape[0])


def exact_log_likelihood(weights: torch.Tensor, bias: torch.Tensor | None, data: torch.Tensor,
                         n_visible: int | None = None, beta: float = 1.0,
                         log_z: float | None = None, chunk: int = DEFAULT_CHUNK) -> float:
    r"""Mean exact log-likelihood $\frac{1}{N} \sum_n \log P(v_n)$ of ±1 data (N, n_visible).

    $\log P(v) = \log \sum_h \exp(-\beta E(v, h)) - \log Z$; without hidden units this is
    $-\beta E(v) - \log Z$. ``log_z`` may be passed when already known.
    """
    w, b = check_weights(weights, bias)
    w, b = w.to(torch.float64), b.to(torch.float64)
    n = w.shape[0]
    nv = n if n_visible is None else n_visible
    _check_size(n)
    v = check_spins(data, nv, "data").to(device=w.device, dtype=torch.float64)
    if log_z is None:
        log_z = exact_moments(w, b, beta, chunk).log_z
    rows = max(1, chunk >> (n - nv))
    total = 0.0
    for s in range(0, v.shape[0], rows):
        _, logp = _clamped_log_weights(w, b, v[s:s + rows], beta)
        total += float(torch.logsumexp(logp, dim=1).sum())
    return total / v.shape[0] - log_z


def exact_clamped_moments(weights: torch.Tensor, bias: torch.Tensor | None, data: torch.Tensor,
                          n_visible: int, beta: float = 1.0, chunk: int = DEFAULT_CHUNK
                          ) -> ExactMoments:
    r"""The data term of learning with hidden units, exactly.

    $\langle x_i x_j \rangle_\text{data} = \frac{1}{N} \sum_n \sum_h P(h \mid v_n)\, x_i x_j$
    with $x = (v_n, h)$, and the same for $\langle x_i \rangle$; `log_z` holds the mean
    $\log \sum_h \exp(-\beta E(v_n, h))$.
    """
    w, b = check_weights(weights, bias)
    w, b = w.to(torch.float64), b.to(torch.float64)
    n = w.shape[0]
    _check_size(n - n_visible, what="hidden units")
    v = check_spins(data, n_visible, "data").to(device=w.device, dtype=torch.float64)
    s1 = torch.zeros(n, dtype=torch.float64, device=w.device)
    s2 = torch.zeros(n, n, dtype=torch.float64, device=w.device)
    total = 0.0
    rows = max(1, chunk >> (n - n_visible))
    for s in range(0, v.shape[0], rows):
        x, logp = _clamped_log_weights(w, b, v[s:s + rows], beta)   # (r, 2^H, n), (r, 2^H)
        lz = torch.logsumexp(logp, dim=1, keepdim=True)
        total += float(lz.sum())
        p = torch.exp(logp - lz).reshape(-1)                          # P(h | v), (r 2^H,)
        x = x.reshape(-1, n)
        s1 += p @ x
        s2 += (x * p[:, None]).T @ x
    return ExactMoments(total / v.shape[0], s1 / v.shape[0], s2 / v.shape[0])
