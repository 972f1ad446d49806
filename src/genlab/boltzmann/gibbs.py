r"""Gibbs sampling of a Boltzmann machine: many chains at once, exact sequential sweeps.

The lecture's rule, for one unit at a time:

$$
a_i = \sum_j w_{ij} x_j + b_i, \qquad
P(x_i = +1) = \frac{1}{1 + \exp(-2 \beta a_i)}, \quad \text{else } x_i = -1.
$$

A sweep visits every unit once, in a fixed order (0, 1, ..., n-1) or in a fresh random
order each sweep (one permutation shared by all chains, so each chain is a random-scan
Gibbs sampler), always using the newest values of the other units. The chains are the
rows of a ``(chains, n)`` tensor and are updated together.

Speed without giving up the sequential semantics: the units are taken in blocks of
``block_size``; the fields of a block's units are computed for every chain with one
matrix product `a = x W[:, block] + b[block]`, then the units of the block are visited
in order and, when unit $i$ flips, $(x_i^\text{new} - x_i^\text{old}) w_{ij}$ is added to the fields
of the block's later units ``j``. This is exactly the one-unit-at-a-time sampler. The
per-unit correction runs in a compiled loop on the CPU
(:mod:`genlab.boltzmann.gibbs_native`) and in torch operations elsewhere.

Unit $i$ becomes +1 exactly when $2 \beta a_i > \mathrm{logit}(u_i)$ with $u_i \sim U(0, 1)$,
which is the rule above ($u < \sigma(z)$ iff $\mathrm{logit}(u) < z$).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genlab.boltzmann.boltzmann import check_energy_scale, check_spins, check_weights
from genlab.boltzmann.gibbs_native import native_kernel, run_block
from genlab.errors import GenlabError
from genlab.memory import check_allocation, tensor_bytes
from genlab.progress import progress
from genlab.spins import spin_energy

ORDERS = ("fixed", "random")
DEFAULT_BLOCK = 64


def random_spins(n_chains: int, n: int, generator: torch.Generator,
                 device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Uniformly random ±1 states, shape (n_chains, n)."""
    bits = torch.randint(0, 2, (n_chains, n), generator=generator, device=device)
    return (2 * bits - 1).to(dtype)


def _sweep_fixed(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, logit_u: torch.Tensor,
                 two_beta: float, block_size: int, backend: str) -> None:
    """One fixed-order sweep over units 0..n-1 of ``x`` (chains, n) in place."""
    n = x.shape[1]
    kernel = native_kernel(x.dtype, x.device) if backend in ("auto", "native") else None
    if backend == "native" and kernel is None:
        raise GenlabError("the compiled Gibbs kernel is unavailable (no C compiler, not on the "
                          "CPU, or GENLAB_NO_COMPILE set); use backend='torch' or 'auto'")
    for s in range(0, n, block_size):
        e = min(s + block_size, n)
        bias = b[..., s:e]
        # fields of the block's units from the current state: (chains, k)
        a = torch.addmm(bias, x, w[s:e].T) if bias.ndim == 1 else bias + x @ w[s:e].T
        a = a.contiguous()
        if kernel is not None:
            run_block(kernel, x, a, logit_u, w, s, two_beta)
            continue
        for i in range(e - s):
            new = torch.where(two_beta * a[:, i] > logit_u[:, s + i], 1.0, -1.0).to(x.dtype)
            d = new - x[:, s + i]
            x[:, s + i] = new
            if i + 1 < e - s:
                a[:, i + 1:] += d[:, None] * w[s + i, s + i + 1:e]


def gibbs_sweep(x: torch.Tensor, weights: torch.Tensor, bias: torch.Tensor, beta: float,
                generator: torch.Generator, order: str = "fixed",
                block_size: int = DEFAULT_BLOCK, backend: str = "auto") -> torch.Tensor:
    """One sequential Gibbs sweep of every chain, in place; returns ``x``.

    Args:
        x: (chains, n) ±1 states, contiguous, the same dtype and device as ``weights``.
        weights: ``W`` (n, n), symmetric, zero diagonal (not checked here: hot path).
        bias: ``b`` (n,), or (chains, n) for a different bias per chain (used for clamped
            sampling: hidden units given visible ones see ``b_h + W_hv v``).
        beta: inverse temperature.
        generator: the only source of randomness; one ``U(0, 1)`` per unit and chain.
        order: ``fixed`` (0..n-1) or ``random`` (a fresh permutation each sweep).
        block_size: units per matrix product (any value gives the same result).
        backend: ``auto`` (compiled loop on the CPU when available), ``native``, ``torch``.
    """
    chains, n = x.shape
    logit_u = torch.logit(torch.rand(chains, n, generator=generator, device=x.device,
                                     dtype=x.dtype))
    two_beta = 2.0 * float(beta)
    if order == "fixed":
        _sweep_fixed(x, weights, bias, logit_u, two_beta, block_size, backend)
    elif order == "random":
        perm = torch.randperm(n, generator=generator, device=x.device)
        xp = x[:, perm].contiguous()
        _sweep_fixed(xp, weights[perm][:, perm].contiguous(), bias[..., perm], logit_u,
                     two_beta, block_size, backend)
        x[:, perm] = xp
    else:
        raise GenlabError(f"unknown sweep order {order!r}; choose one of {', '.join(ORDERS)}")
    return x


@dataclass
class GibbsRun:
    """What :func:`sample` returns.

    Attributes:
        samples: (n_samples, chains, n) int8 ±1 states kept after burn-in and thinning.
        energy_trace: (burn_in + n_samples * thin, chains) ``E(x)`` after every sweep.
        state: (chains, n) the final states (to continue the chains).
        sweeps: total sweeps run per chain.
    """

    samples: torch.Tensor
    energy_trace: torch.Tensor
    state: torch.Tensor
    sweeps: int


def sample_memory(n: int, n_chains: int, n_samples: int, burn_in: int = 0, thin: int = 1,
                  dtype: torch.dtype = torch.float32) -> int:
    """Bytes :func:`sample` needs: the int8 samples ``(n_samples, n_chains, n)``, the
    energy trace ``(burn_in + n_samples * thin, n_chains)`` and a few ``(n_chains, n)``
    states and activities."""
    total = burn_in + n_samples * thin
    return (tensor_bytes((n_samples, n_chains, n), torch.int8)
            + tensor_bytes((total, n_chains), dtype) + 6 * tensor_bytes((n_chains, n), dtype))


def sample(weights: torch.Tensor, bias: torch.Tensor | None = None, beta: float = 1.0,
           n_chains: int = 16, n_samples: int = 1000, burn_in: int = 100, thin: int = 1,
           generator: torch.Generator | None = None, order: str = "fixed",
           init: torch.Tensor | None = None, device: torch.device | str | None = None,
           dtype: torch.dtype = torch.float32, block_size: int = DEFAULT_BLOCK,
           backend: str = "auto", show_progress: bool | None = None) -> GibbsRun:
    r"""Run `n_chains` independent Gibbs chains on $P(x) = \exp(-\beta E(x)) / Z$.

    Each chain starts from ``init`` (chains, n) or uniformly random spins, runs
    ``burn_in`` sweeps, then keeps every ``thin``-th state until it has ``n_samples``.
    """
    w, b = check_weights(weights, bias)
    if beta > 0:   # a bad beta is refused below; before the cast, which could overflow
        check_energy_scale(w, b, beta, dtype, "" if dtype == torch.float64 else
                           " (or compute in float64: --float64)")
    device = w.device if device is None else torch.device(device)
    w, b = w.to(device=device, dtype=dtype).contiguous(), b.to(device=device, dtype=dtype)
    n = w.shape[0]
    for name, value in (("n_chains", n_chains), ("n_samples", n_samples), ("thin", thin),
                        ("block_size", block_size)):
        if int(value) < 1:
            raise GenlabError(f"{name} must be >= 1, got {value}")
    if burn_in < 0:
        raise GenlabError(f"burn_in must be >= 0, got {burn_in}")
    if not (beta >= 0 and beta < float("inf")):
        raise GenlabError(f"beta must be a finite number >= 0, got {beta}")
    if order not in ORDERS:
        raise GenlabError(f"unknown sweep order {order!r}; choose one of {', '.join(ORDERS)}")
    check_allocation(sample_memory(n, n_chains, n_samples, burn_in, thin, dtype),
                     f"sampling {n_chains} chains x {n_samples} samples of {n} units", device,
                     "use fewer chains or samples")
    if generator is None:
        generator = torch.Generator(device=device).manual_seed(0)
    if init is None:
        x = random_spins(n_chains, n, generator, device, dtype)
    else:
        x = check_spins(init, n, "initial states").to(device=device, dtype=dtype)
        if x.shape[0] != n_chains:
            raise GenlabError(f"initial states have {x.shape[0]} rows for {n_chains} chains")
        x = x.clone().contiguous()
    total = burn_in + n_samples * thin
    samples = torch.empty(n_samples, n_chains, n, dtype=torch.int8, device=device)
    trace = torch.empty(total, n_chains, dtype=dtype, device=device)
    kept = 0
    for t in progress(range(total), total=total, desc="gibbs", enabled=show_progress):
        gibbs_sweep(x, w, b, beta, generator, order, block_size, backend)
        trace[t] = spin_energy(x, w, b)
        if t >= burn_in and (t - burn_in) % thin == thin - 1:
            samples[kept] = x.to(torch.int8)
            kept += 1
    return GibbsRun(samples, trace, x, total)
