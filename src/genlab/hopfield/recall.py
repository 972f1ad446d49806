"""The one result of recall from cues, for the binary and the modern Hopfield network."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Recall:
    r"""What ``recall`` returns for ``C`` cues on ``N`` units, binary or modern network.

    A sweep updates every unit once: one at a time (asynchronous binary dynamics), or all
    at once (synchronous binary dynamics, and each softmax update
    $\xi \leftarrow X \,\mathrm{softmax}(\beta X^\top \xi)$ of the modern network).

    Attributes:
        states: ``(C, N)`` final states: ±1 for a binary network, continuous for a modern one.
        nearest: ``(C,)`` int64 index of the stored pattern $x^\mu$ with the largest overlap
            (-1 when no patterns are stored).
        overlap: `(C,)` that overlap $m = \mathrm{sign}(x) \cdot x^\mu / N$
            ($\mathrm{sign}(0) = +1$).
        converged: ``(C,)`` bool, True when the last sweep changed no unit (modern: by more
            than the tolerance): a fixed point.
        cycled: ``(C,)`` bool, True when synchronous binary updates fell into a two-cycle;
            always False for asynchronous and modern updates, which reach fixed points.
        sweeps: ``(C,)`` int64, sweeps run for each cue, counting the last one.
        energy: ``(C,)`` final energies ``E(x)``.
        energy_history: ``(S + 1, C)`` the energy of the cue (row 0) and after every
            sweep; a cue that stopped earlier repeats its final energy.
        trajectory: ``(T, C, N)`` recorded states: the cues, then the state after every
            sweep (``record="sweeps"``) or, binary asynchronous, after every single-unit
            update that changed some cue (``record="updates"``); ``(0, C, N)`` when
            nothing was recorded.
    """

    states: torch.Tensor
    nearest: torch.Tensor
    overlap: torch.Tensor
    converged: torch.Tensor
    cycled: torch.Tensor
    sweeps: torch.Tensor
    energy: torch.Tensor
    energy_history: torch.Tensor
    trajectory: torch.Tensor


def nearest_patterns(states: torch.Tensor, patterns: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``(nearest, overlap)``, each ``(C,)``: for states ``(C, N)`` the stored pattern of
    `patterns` `(P, N)` with the largest $m_\mu = \mathrm{sign}(x) \cdot x^\mu / N$, and that
    overlap; ``(-1, 0)`` for every state when ``P = 0``."""
    c, n = states.shape
    if patterns.shape[0] == 0:
        return (torch.full((c,), -1, dtype=torch.int64, device=states.device),
                torch.zeros(c, dtype=states.dtype, device=states.device))
    signs = torch.where(states >= 0, 1.0, -1.0).to(states)
    overlap, nearest = (signs @ patterns.T / n).max(1)
    return nearest, overlap
