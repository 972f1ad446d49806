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

from genlab.energy.boltzmann import BoltzmannMachine
from genlab.energy.exact import enumerate_states, state_index
from genlab.energy.learning import BMTrainConfig, fit_boltzmann


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


def encoder_solved(model: BoltzmannMachine, groups: int = 4, beta: float = 1.0) -> bool:
    """Whether, for every pattern k, argmax_{V2} P(V2 | V1 = k) is pattern k (exactly)."""
    w, b = model.weights.double(), model.bias.double()
    free = model.n_units - groups                                  # V2 and H
    rest = enumerate_states(free, device=w.device)                 # (2^free, free)
    patterns = encoder_data(groups).to(w)
    for k in range(groups):
        v1 = patterns[k, :groups].expand(rest.shape[0], groups)
        x = torch.cat([v1, rest], dim=1)
        logp = beta * (0.5 * ((x @ w) * x).sum(-1) + x @ b)        # -beta E(x)
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


def train_encoder(seed: int, groups: int = 4, hidden: int = 2,
                  config: BMTrainConfig | None = None, check_every: int = 10,
                  device: torch.device | str = "cpu") -> EncoderRun:
    """Train the encoder from seed ``seed``, checking every ``check_every`` epochs and
    stopping at the first check that finds it solved. One epoch is one update on the
    ``groups`` patterns (the default batch is the whole set)."""
    cfg = config or encoder_config(hidden)
    gen = torch.Generator(device=device).manual_seed(seed)
    solved = False

    def stop(epoch: int, model: BoltzmannMachine) -> bool:
        nonlocal solved
        if epoch % check_every == 0 or epoch == cfg.epochs:
            solved = encoder_solved(model, groups, cfg.beta)
        return solved

    result = fit_boltzmann(encoder_data(groups).to(device), cfg, gen, device,
                           encoder_mask(groups, hidden).to(device), stop=stop)
    return EncoderRun(solved, result.updates)


def encoder_config(hidden: int = 2, epochs: int = 2000) -> BMTrainConfig:
    """The settings used for the encoder: PCD, the whole pattern set per update."""
    return BMTrainConfig(n_hidden=hidden, epochs=epochs, batch_size=4, lr=0.1, momentum=0.5,
                         n_chains=200, sweeps=1, clamped_sweeps=1, max_exact_units=0)
