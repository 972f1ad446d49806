"""The encoder problem of Ackley, Hinton & Sejnowski (1985), for the general Boltzmann machine.

Two groups V1 and V2 of ``g`` visible units talk only through ``h`` hidden units: the
machine's connections are V1-V1, V2-V2, V1-H, V2-H and H-H, never V1-V2. The data are
the ``g`` patterns with unit ``k`` on (+1) and the others off (-1) in both groups. The
machine has learned the problem when, with V1 clamped to pattern ``k``, the most
probable state of V2 (hidden units summed out) is pattern ``k`` for every ``k``; with
``g = 4, h = 2`` the hidden units must then use all four of their states as a code.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from genlab.boltzmann.boltzmann import BoltzmannMachine
from genlab.boltzmann.exact import MAX_EXACT_UNITS, enumerate_states, state_index
from genlab.boltzmann.learning import BMTrainConfig, fit_boltzmann
from genlab.errors import GenlabError
from genlab.spins import spin_energy


def encoder_data(groups: int = 4) -> torch.Tensor:
    """The ``groups`` training patterns (groups, 2 groups) of ±1: V1 = V2 = one-hot."""
    one_hot = 2 * torch.eye(groups) - 1
    return torch.cat([one_hot, one_hot], dim=1)


def encoder_mask(groups: int = 4, hidden: int = 2) -> torch.Tensor:
    """(n, n) connectivity with units ordered V1, V2, H: everything except V1-V2."""
    n = 2 * groups + hidden
    mask = torch.ones(n, n)
    mask[:groups, groups:2 * groups] = 0
    mask[groups:2 * groups, :groups] = 0
    mask.fill_diagonal_(0)
    return mask


def _check_free_units(groups: int, hidden: int) -> None:
    """:func:`encoder_solved` enumerates the output group and the hidden units together."""
    if groups + hidden > MAX_EXACT_UNITS:
        raise GenlabError(f"checking the encoder enumerates the 2^(groups + hidden) states "
                          f"of its output group and hidden units; groups + hidden must be at "
                          f"most {MAX_EXACT_UNITS}, got {groups} + {hidden}")


def encoder_solved(model: BoltzmannMachine, groups: int = 4, beta: float = 1.0) -> bool:
    """Whether, for every pattern k, argmax_{V2} P(V2 | V1 = k) is pattern k (exactly)."""
    w, b = model.weights.double(), model.bias.double()
    free = model.n_units - groups                                  # V2 and H
    _check_free_units(groups, free - groups)
    rest = enumerate_states(free, device=w.device)                 # (2^free, free)
    patterns = encoder_data(groups).to(w)
    for k in range(groups):
        v1 = patterns[k, :groups].expand(rest.shape[0], groups)
        x = torch.cat([v1, rest], dim=1)
        logp = -beta * spin_energy(x, w, b)                        # (2^free,)
        v2 = state_index(rest[:, :groups])                         # (2^free,)
        probs = torch.zeros(1 << groups, dtype=torch.float64, device=w.device)
        probs = probs.index_add(0, v2, torch.exp(logp - logp.max()))
        if int(torch.argmax(probs)) != int(state_index(patterns[k, groups:])):
            return False
    return True


class EncoderRun(NamedTuple):
    """One training run: whether it solved the problem and after how many updates."""

    solved: bool
    updates: int


class SolveStatistics(NamedTuple):
    """What :func:`solve_statistics` returns."""

    solved: int                    # runs that solved the problem
    success_rate: float            # solved / runs
    median_updates: float | None   # median updates of the solved runs (None: none solved)
    max_updates: int | None        # the most updates a solved run needed


def solve_statistics(runs: list[EncoderRun]) -> SolveStatistics:
    """Over ``R`` independent runs of which the set ``S`` solved the problem: the count
    ``|S|``, the success rate ``|S| / R``, and the median and maximum of the updates
    ``u_r, r in S`` (the median of an even count is the mean of the two middle values)."""
    updates = sorted(r.updates for r in runs if r.solved)
    if not runs:
        raise GenlabError("no runs to summarise")
    if not updates:
        return SolveStatistics(0, 0.0, None, None)
    k = len(updates)
    median = float(updates[k // 2]) if k % 2 else (updates[k // 2 - 1] + updates[k // 2]) / 2
    return SolveStatistics(k, k / len(runs), median, updates[-1])


def train_encoder(seed: int, groups: int = 4, hidden: int = 2,
                  config: BMTrainConfig | None = None, check_every: int = 10,
                  device: torch.device | str = "cpu") -> EncoderRun:
    """Train the encoder from seed ``seed``, checking every ``check_every`` updates and
    stopping at the first check that finds it solved.

    The training set is the ``groups`` patterns, each repeated so that the batch
    (``config.batch_size``, a multiple of ``groups``) holds them all: one epoch is one
    update, and with Monte Carlo learning each repeat carries its own persistent hidden
    state, so the clamped phase averages over ``batch_size / groups`` samples per pattern.
    """
    cfg = config or encoder_config(hidden)
    _check_free_units(groups, hidden)   # before training, not at the first check
    if cfg.batch_size % groups:
        raise GenlabError(f"batch_size must be a multiple of {groups}, got {cfg.batch_size}")
    gen = torch.Generator(device=device).manual_seed(seed)
    solved = False

    def stop(epoch: int, model: BoltzmannMachine) -> bool:
        nonlocal solved
        if epoch % check_every == 0 or epoch == cfg.epochs:
            solved = encoder_solved(model, groups, cfg.beta)
        return solved

    data = encoder_data(groups).to(device).repeat(cfg.batch_size // groups, 1)
    result = fit_boltzmann(data, cfg, gen, device, encoder_mask(groups, hidden).to(device),
                           stop=stop)
    return EncoderRun(solved, result.updates)


def encoder_config(hidden: int = 2, epochs: int = 2000, method: str = "exact",
                   groups: int = 4, data_noise: float = 0.05) -> BMTrainConfig:
    """The settings used for the encoder: learning rate 0.05 and noisy clamping (each
    clamped bit flipped with probability ``data_noise`` per update, as the 1985 paper did
    in its own form). Exact gradient: momentum 0.9. Monte Carlo methods: momentum 0.5
    (0.9 lets the weights outrun the persistent chains), 2,000 free-phase chains and 50
    copies of each pattern, each with its own persistent hidden state, in the clamped
    phase."""
    exact = method == "exact"
    replicas = 1 if exact else 50
    return BMTrainConfig(n_hidden=hidden, epochs=epochs, batch_size=groups * replicas,
                         lr=0.05, momentum=0.9 if exact else 0.5, method=method,
                         n_chains=2000, sweeps=1, clamped_sweeps=1, max_exact_units=0,
                         data_noise=data_noise)
