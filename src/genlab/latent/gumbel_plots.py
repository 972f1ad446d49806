r"""The Gumbel-softmax at several temperatures: expectation and one sample per tau.

As in Jang, Gu & Poole (2017, Fig. 1): for a categorical distribution $\pi$ the top row
shows $\mathbb{E}[y]$ of the Gumbel-softmax sample
$y = \mathrm{softmax}((\log \pi + G) / \tau)$ (a Monte Carlo mean) and the bottom row one
sample, for each temperature $\tau$. Small $\tau$: $\mathbb{E}[y] \to \pi$ and samples are
nearly one-hot; large $\tau$: both tend to uniform.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from genlab.errors import GenlabError
from genlab.latent.gumbel import check_logits, gumbel_softmax
from genlab.memory import check_allocation, tensor_bytes
from genlab.plots import plt, save_figure

__all__ = ["TemperatureSweep", "temperature_sweep", "plot_temperature_sweep"]


@dataclass(frozen=True)
class TemperatureSweep:
    r"""What the temperature figure shows.

    Attributes:
        probs: ``(K,)`` the categorical probabilities $\pi = \mathrm{softmax}(\mathrm{logits})$.
        taus: the temperatures, length ``T``.
        expectation: ``(T, K)`` Monte Carlo means of $y$ over ``n_mc`` samples.
        sample: ``(T, K)`` one sample per temperature (the same noise for every tau).
        n_mc: how many samples each mean uses.
    """

    probs: torch.Tensor
    taus: tuple[float, ...]
    expectation: torch.Tensor
    sample: torch.Tensor
    n_mc: int


def temperature_sweep(logits: torch.Tensor, taus: Sequence[float], n_mc: int = 100_000,
                      generator: torch.Generator | None = None) -> TemperatureSweep:
    r"""Expectation and one sample of ``gumbel_softmax(logits, tau)`` for each tau.

    ``logits``: ``(K,)``. The single samples share one noise draw (a generator state
    saved before the first), so the figure shows one $G$ seen through different $\tau$.
    """
    logits = torch.as_tensor(logits, dtype=torch.float64)
    if logits.dim() != 1:
        raise GenlabError(f"logits must be one vector (K,), got shape {tuple(logits.shape)}")
    check_logits(logits)
    if not taus or any(not t > 0 for t in taus):
        raise GenlabError("give at least one temperature, every one > 0")
    # the (n_mc, K) noise, logits and softmax of one expectation, float64
    check_allocation(6 * tensor_bytes((n_mc, len(logits)), torch.float64),
                     f"a Monte Carlo expectation over {n_mc} samples of {len(logits)} "
                     "categories", "cpu", "use fewer samples")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    means, samples = [], []
    state = gen.get_state()
    for tau in taus:
        gen.set_state(state)
        samples.append(gumbel_softmax(logits, float(tau), generator=gen))
        means.append(gumbel_softmax(logits.expand(n_mc, -1), float(tau), generator=gen).mean(0))
    return TemperatureSweep(torch.softmax(logits, 0), tuple(float(t) for t in taus),
                            torch.stack(means), torch.stack(samples), n_mc)


def plot_temperature_sweep(sweep: TemperatureSweep, path: str | os.PathLike[str]) -> Path:
    r"""Bar charts: row 1 $\mathbb{E}[y]$ (with $\pi$ as dots), row 2 one sample, per $\tau$."""
    n_tau = len(sweep.taus)
    k = len(sweep.probs)
    fig, axes = plt.subplots(2, n_tau, figsize=(2.4 * n_tau, 4.2), squeeze=False, sharey="row")
    cats = range(1, k + 1)
    for j, tau in enumerate(sweep.taus):
        top, bottom = axes[0, j], axes[1, j]
        top.bar(cats, sweep.expectation[j].numpy(), color="tab:blue")
        top.plot(cats, sweep.probs.numpy(), "k.", label="softmax(logits)")
        top.set_title(f"tau = {tau:g}")
        bottom.bar(cats, sweep.sample[j].numpy(), color="tab:orange")
        for ax in (top, bottom):
            ax.set_ylim(0, 1)
            ax.set_xticks(list(cats))
            ax.tick_params(labelsize=7)
        bottom.set_xlabel("category")
    axes[0, 0].set_ylabel(f"expectation\n(mean of {sweep.n_mc})")
    axes[1, 0].set_ylabel("one sample")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Gumbel-softmax y = softmax((logits + G) / tau)")
    fig.tight_layout()
    return save_figure(fig, path)
