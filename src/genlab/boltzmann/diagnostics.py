r"""Markov chain diagnostics: effective sample size, Monte Carlo standard error, R-hat.

Draws are arranged `(n_draws, n_chains, *shape)`: time first, then chains, then any
number of quantities (means of units, products of pairs, energies) treated separately.

With $S$ draws per chain and $C$ chains, $W$ the mean within-chain variance,
$B / S$ the variance of the chain means and
$\widehat{\mathrm{var}}^+ = \frac{S-1}{S} W + \frac{B}{S}$
(Gelman et al., Bayesian Data Analysis, 3rd ed., sec. 11.4):

* autocorrelation at lag $t$:
  $\rho_t = 1 - (W - \mathrm{mean}_c\, \mathrm{acov}_c(t)) / \widehat{\mathrm{var}}^+$;
* integrated autocorrelation time $\tau = -1 + 2 \sum_k P_k$ over Geyer's initial
  positive, monotone sequence of pair sums $P_k = \rho_{2k} + \rho_{2k+1}$ (Geyer, 1992);
* $\mathrm{ESS} = C S / \tau$ and $\mathrm{MCSE} = \sqrt{\widehat{\mathrm{var}}^+ / \mathrm{ESS}}$,
  the standard error of the mean;
* split R-hat: each chain cut in two halves, $\hat R = \sqrt{\widehat{\mathrm{var}}^+ / W}$
  over the $2C$ halves.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from genlab.errors import GenlabError


class ChainSummary(NamedTuple):
    """Per-quantity summary of draws, each of the quantities' shape.

    mean: the mean over all draws and chains. mcse: its Monte Carlo standard error.
    ess: effective sample size. rhat: split R-hat (1 for perfectly mixed chains).
    """

    mean: torch.Tensor
    mcse: torch.Tensor
    ess: torch.Tensor
    rhat: torch.Tensor


def _check(draws: torch.Tensor, min_draws: int = 4) -> torch.Tensor:
    if draws.ndim < 2:
        raise GenlabError(f"draws must have shape (n_draws, n_chains, ...), got "
                          f"{tuple(draws.shape)}")
    if draws.shape[0] < min_draws:
        raise GenlabError(f"need at least {min_draws} draws per chain for diagnostics, got "
                          f"{draws.shape[0]}")
    return draws.to(torch.float64)


def autocovariance(draws: torch.Tensor) -> torch.Tensor:
    r"""Biased autocovariance $\frac{1}{S} \sum_s (x_s - m)(x_{s+t} - m)$ of each chain along dim 0.

    (S, ...) -> (S, ...) for lags t = 0..S-1, by FFT with zero padding.
    """
    x = draws.to(torch.float64)
    s = x.shape[0]
    x = x - x.mean(0, keepdim=True)
    size = 1 << (2 * s - 1).bit_length()
    f = torch.fft.rfft(x, n=size, dim=0)
    return torch.fft.irfft(f * f.conj(), n=size, dim=0)[:s] / s


def effective_sample_size(draws: torch.Tensor) -> torch.Tensor:
    """Multi-chain ESS of the mean of each quantity: (S, C, ...) -> (...)."""
    x = _check(draws)
    s, c = x.shape[:2]
    acov = autocovariance(x)                                  # (S, C, ...)
    chain_var = acov[0] * s / (s - 1)                         # unbiased, (C, ...)
    w = chain_var.mean(0)
    b_over_s = x.mean(0).var(0, correction=1) if c > 1 else torch.zeros_like(w)
    var_plus = (s - 1) / s * w + b_over_s
    safe = torch.where(var_plus > 0, var_plus, torch.ones_like(var_plus))
    rho = 1.0 - (w - acov.mean(1)) / safe                     # (S, ...)
    rho[0] = 1.0
    k = s // 2
    pairs = rho[:2 * k].reshape(k, 2, *rho.shape[1:]).sum(1)  # (K, ...)
    positive = torch.cumprod((pairs > 0).to(torch.float64), dim=0)
    monotone = torch.cummin(pairs, dim=0).values
    tau = -1.0 + 2.0 * (monotone * positive).sum(0)
    n = s * c
    tau = torch.clamp(tau, min=1.0 / math.log10(max(n, 10)))  # Stan's cap: ESS <= N log10 N
    ess = n / tau
    return torch.where(var_plus > 0, ess, torch.full_like(ess, float(n)))


def split_rhat(draws: torch.Tensor) -> torch.Tensor:
    """Split R-hat of each quantity: (S, C, ...) -> (...); 1 means the chains agree."""
    x = _check(draws)
    half = x.shape[0] // 2
    x = torch.cat([x[:half], x[x.shape[0] - half:]], dim=1)  # (S/2, 2C, ...)
    s = x.shape[0]
    w = x.var(0, correction=1).mean(0)
    b_over_s = x.mean(0).var(0, correction=1)
    var_plus = (s - 1) / s * w + b_over_s
    rhat = torch.sqrt(var_plus / torch.where(w > 0, w, torch.ones_like(w)))
    stuck = (w == 0) & (var_plus > 0)  # every chain constant, but not at the same value
    rhat = torch.where(stuck, torch.full_like(rhat, float("inf")), rhat)
    return torch.where((w == 0) & (var_plus == 0), torch.ones_like(rhat), rhat)


def summary_memory(shape: tuple[int, ...]) -> int:
    """Bytes :func:`summarize` needs for draws of ``shape`` ``(S, C, ...)``: about 112 per
    draw (the float64 copy and its centred copy, and the FFT of the autocovariance, padded
    to up to ``4 S``: its complex transform, their product and the inverse)."""
    return 112 * math.prod(int(d) for d in shape)


def summarize(draws: torch.Tensor) -> ChainSummary:
    """Mean, MCSE, ESS and split R-hat of each quantity in ``draws`` (S, C, ...)."""
    x = _check(draws)
    s, c = x.shape[:2]
    ess = effective_sample_size(x)
    w = x.var(0, correction=1).mean(0)
    var_plus = (s - 1) / s * w + (x.mean(0).var(0, correction=1) if c > 1 else 0.0)
    return ChainSummary(x.mean((0, 1)), torch.sqrt(var_plus / ess), ess, split_rhat(x))


def pair_products(samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Products ``x_i x_j`` for ``i < j``: (S, C, n) -> ((S, C, P), (2, P) pair indices)."""
    n = samples.shape[-1]
    i, j = torch.triu_indices(n, n, offset=1, device=samples.device)
    x = samples.to(torch.float32)
    return x[..., i] * x[..., j], torch.stack([i, j])


class PairCorrelations(NamedTuple):
    """What :func:`pair_correlations` returns, each (n, n) float64 and symmetric.

    corr: ``<x_i x_j>`` (1 on the diagonal). mcse: its Monte Carlo standard error (0 on the
    diagonal). rhat: the split R-hat of each pair's product series (1 on the diagonal).
    max_rhat: the largest R-hat over the pairs ``i < j`` (NaN for a single unit).
    """

    corr: torch.Tensor
    mcse: torch.Tensor
    rhat: torch.Tensor
    max_rhat: float


def pair_correlations(samples: torch.Tensor) -> PairCorrelations:
    r"""The correlation matrix $\langle x_i x_j \rangle$ of ±1 samples (S, C, n), with errors.

    Each pair $i < j$ is the quantity $y = x_i x_j$, summarised as any other
    (:func:`summarize`): $\langle x_i x_j \rangle \approx \frac{1}{C S} \sum_c \sum_s y_s^c$ and
    $\mathrm{MCSE} = \sqrt{\widehat{\mathrm{var}}^+ / \mathrm{ESS}}$ with
    $\mathrm{ESS} = C S / \tau$. The $C$ chains are independent, so the chain means $\bar y^c$
    are independent estimates: for long chains
    $\mathrm{MCSE}^2 \approx \mathrm{Var}(\bar y^c) / C$, the spread over repeated independent
    runs of the estimate. $x_i^2 = 1$, so the diagonal is exactly 1 with no error.
    """
    n = samples.shape[-1]
    products, (i, j) = pair_products(samples)                  # (S, C, P), P = n(n-1)/2
    s = summarize(products)
    device = s.mean.device
    corr = torch.eye(n, dtype=torch.float64, device=device)
    mcse = torch.zeros(n, n, dtype=torch.float64, device=device)
    rhat = torch.ones(n, n, dtype=torch.float64, device=device)
    for matrix, values in ((corr, s.mean), (mcse, s.mcse), (rhat, s.rhat)):
        matrix[i, j] = values
        matrix[j, i] = values
    max_rhat = float(s.rhat.max()) if s.rhat.numel() else float("nan")
    return PairCorrelations(corr, mcse, rhat, max_rhat)
