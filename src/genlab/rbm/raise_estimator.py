r"""RAISE, the reverse AIS estimator of the test log-likelihood (Burda, Grosse and
Salakhutdinov, "Accurate and conservative estimates of MRF log-likelihood using reverse
annealing", AISTATS 2015, section 4).

Forward AIS (:func:`~genlab.rbm.partition.ais_log_partition`) read as a generative model,
the *annealing model*, draws $x_0 \sim p_A$ and moves it by the Gibbs sweeps
$T_1, \dots, T_K$ ($T_k$ leaves $p_k$ invariant, $T_K$ the RBM itself); its last state is
$v$ (visible path) or gives $v \sim p(v \mid h_K)$ (hidden path). Its marginal
$p_{\mathrm{ann}}(v)$ tends to the RBM's $p(v)$ as the chain mixes. RAISE estimates it
without $Z$, by importance sampling the annealing chain backwards from the test vector.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from genlab.errors import GenlabError
from genlab.rbm.energy import RBMParams, free_energy
from genlab.rbm.partition import ais_layer, check_ais_memory, reverse_ais_log_partition


class RAISEResult(NamedTuple):
    r"""The result of :func:`raise_log_likelihood`.

    Attributes:
        log_likelihood: $\frac{1}{N} \sum_n \log \hat p_{\mathrm{ann}}(v_n)$, nats per example.
        std_err: its standard error, $\sqrt{\sum_n s_n^2} / N$ with $s_n$ the per-example
            errors (the examples' runs are independent).
        log_p: `(N,)` float64 per-example estimates $\log \hat p_{\mathrm{ann}}(v_n)$.
        log_p_std_err: `(N,)` their standard errors by the delta method,
            $s_n = \mathrm{sd}(w_n) / (\sqrt{M}\, \mathrm{mean}(w_n))$.
        log_weights: `(N, M)` float64 reverse log-weights $\log w_{n,m}$ (without
            $\log p^*(v_n) - \log Z_A$).
        log_z_base: $\log Z_A$ of the base model.
        n_runs: $M$, reverse runs per example.
        n_betas: $K$, intermediate distributions.
        layer: the layer annealed over, ``"visible"`` or ``"hidden"``.
    """

    log_likelihood: float
    std_err: float
    log_p: torch.Tensor
    log_p_std_err: torch.Tensor
    log_weights: torch.Tensor
    log_z_base: float
    n_runs: int
    n_betas: int
    layer: str


def raise_log_likelihood(p: RBMParams, v: torch.Tensor, base_bias: torch.Tensor | None = None,
                         n_runs: int = 10, n_betas: int = 1000,
                         generator: torch.Generator | None = None, layer: str = "auto",
                         max_chains: int = 8192) -> RAISEResult:
    r"""A stochastic lower bound on the annealing model's log-likelihood of each row of
    ``v`` ``(N, n_v)``, without $Z$ (RAISE).

    For each test vector $v$, $M$ runs start at $v$ (hidden path: at $h_K \sim P(h \mid v)$,
    an exact draw of the RBM's posterior), take one Gibbs sweep of the RBM, $x_{K-1} \sim
    T_K(\cdot \mid x_K)$, and then walk the path of
    :func:`~genlab.rbm.partition.reverse_ais_log_partition` down to $\beta_0 = 0$
    ($x_{k-1} \sim T_k(\cdot \mid x_k)$, each $T_k$ reversible with respect to $p_k$). The
    importance weight of the annealing model's path against this proposal is

    $$
    w = \frac{p^*(v)}{Z_A} \prod_{k=0}^{K-1} \frac{p^*_k(x_k)}{p^*_{k+1}(x_k)},
    \qquad \mathbb{E}[w] = p_{\mathrm{ann}}(v),
    $$

    with $p^*(v) = e^{-F(v)}$ and $p^*_k$ the annealed unnormalised marginals. So
    $\log \hat p_{\mathrm{ann}}(v) = -F(v) - \log Z_A + \log \frac{1}{M} \sum_m w'_m$ ($w'$ the
    product, the reverse AIS weight) satisfies
    $\mathbb{E}[\log \hat p_{\mathrm{ann}}(v)] \le \log p_{\mathrm{ann}}(v)$ (Jensen).
    It bounds the annealing model's log-likelihood, not the RBM's: the two agree once $K$
    is large enough for the annealing chain to reach the RBM's distribution, and Burda et al.
    find $p_{\mathrm{ann}}$ the worse model in practice, so that RAISE errs low. The cost is
    $N M (K + 1)$ Gibbs sweeps.

    Args:
        p: the RBM, on any device.
        v: ``(N, n_v)`` test vectors.
        base_bias: the base model's biases of the annealed layer (see
            :func:`~genlab.rbm.partition.ais_log_partition`).
        n_runs: ``M >= 2`` reverse runs per test vector.
        n_betas: ``K``, intermediate distributions (see
            :func:`~genlab.rbm.partition.ais_schedule`).
        generator: random generator on the RBM's device.
        layer: ``"auto"``, ``"visible"`` or ``"hidden"`` (see
            :func:`~genlab.rbm.partition.ais_layer`).
        max_chains: at most this many chains run at once (test vectors are taken in
            chunks of ``max_chains // M``).
    """
    if n_runs < 2:
        raise GenlabError(f"RAISE needs at least 2 runs per example for a standard error, got "
                          f"{n_runs}")
    if v.ndim != 2 or v.shape[1] != p.n_visible or v.shape[0] < 1:
        raise GenlabError(f"RAISE needs test vectors of shape (N, {p.n_visible}), got "
                          f"{tuple(v.shape)}")
    layer = ais_layer(p, layer)
    v = v.detach().to(device=p.weights.device, dtype=p.weights.dtype)
    rows = max(1, int(max_chains) // n_runs)
    # a chunk's chains (its examples repeated n_runs times) must fit before they are made
    check_ais_memory(p, min(rows, v.shape[0]) * n_runs, n_betas)
    parts, log_z_a = [], 0.0
    for first in range(0, v.shape[0], rows):
        chunk = v[first:first + rows]
        res = reverse_ais_log_partition(p, base_bias, chunk.shape[0] * n_runs, n_betas,
                                        generator, layer, burn_in=1,
                                        start=chunk.repeat_interleave(n_runs, dim=0))
        parts.append(res.log_weights.reshape(chunk.shape[0], n_runs))
        log_z_a = res.log_z_base
    log_w = torch.cat(parts)  # (N, M), float64 on the CPU
    top = log_w.max(dim=1, keepdim=True).values
    r = torch.exp(log_w - top)  # w / max_m w, (N, M)
    mean = r.mean(dim=1)
    rel = r.std(dim=1) / (math.sqrt(n_runs) * mean)  # (N,)
    p64 = RBMParams(*(None if t is None else t.detach().double().cpu() for t in p))
    log_p_star = -free_energy(p64, v.double().cpu())  # (N,)
    log_p = log_p_star - log_z_a + top.squeeze(1) + torch.log(mean)
    n = log_p.shape[0]
    return RAISEResult(float(log_p.mean()), float(rel.pow(2).sum().sqrt() / n), log_p, rel,
                       log_w, log_z_a, n_runs, n_betas, layer)
